/**
 * The gate and the request path (SPEC §18): requests/s and p99 of an
 * authenticated `GET /api/terminals` on termgate in exposed mode, against
 *   - a bare Hono app on the same runtime answering the same path with the
 *     same body (`{"terminals":[]}`): the whole request, termgate vs bare;
 *   - the same bare app reading the headers a gate must read (Host, Origin,
 *     Authorization): on Bun and Deno that first read builds the Headers object,
 *     a floor under any gate's cost that a handler that never looks does not pay;
 *   - termgate in local mode, the same route with no token: the token check's share;
 * all measured in the same run, alternating rounds. The load generator is `wrk`
 * (Debian's package: `apt-get install wrk`), in C, on the other CPU (taskset):
 * autocannon, in Node on one core, saturated before Bun and Deno did and
 * reported ratios near 1.0 that hid the server's cost.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cliCommand, serverEnv, tempHome, type Runtime } from '../test/harness.ts';
import { onCpu, ratio, RUNTIMES, runToEnd, scriptCommand, startPrinting, type Row, type Started } from './util.ts';

const SECONDS = Math.min(Number(process.env.BENCH_SECONDS ?? 4), 30);
const ROUNDS = Math.min(Number(process.env.BENCH_ROUNDS ?? 3), 10);
const CONNECTIONS = 50;
const WRK = process.env.WRK ?? 'wrk';
const PATH = '/api/terminals';

const bareCommand = (runtime: Runtime) => scriptCommand(runtime, `bench/bare/${runtime === 'node' ? 'node.mjs' : `${runtime}.ts`}`);

interface Load {
  rps: number;
  p99: number;
  /** Server CPU time (user + system, all threads) per request, in µs: steadier than req/s on a shared machine. */
  cpuUs: number;
}

/** A process's CPU time so far (user + system, every thread), in seconds. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100;

/** wrk's latency figures ("812.00us", "1.20ms", "2.01s") in ms. */
function millis(text: string): number {
  const match = /^([\d.]+)(us|ms|s)$/.exec(text)!;
  return Number(match[1]) * { us: 0.001, ms: 1, s: 1000 }[match[2] as 'us' | 'ms' | 's'];
}

async function load(server: Started, headers: Record<string, string>, seconds = SECONDS): Promise<Load> {
  const url = server.url + PATH;
  const headerArgs = Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  const cpuBefore = cpuSeconds(server.child.pid!);
  const out = await runToEnd(...onCpu(1, WRK, ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', ...headerArgs, url]), (seconds + 30) * 1000);
  const bad = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  const errors = /Socket errors: (.*)/.exec(out);
  if (bad || errors) throw new Error(`load on ${url} saw ${bad?.[1] ?? 0} non-2xx responses, socket errors: ${errors?.[1] ?? 'none'}`);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)![1]);
  const p99 = millis(/^\s+99%\s+(\S+)/m.exec(out)![1]!);
  const requests = Number(/(\d+) requests in/.exec(out)![1]);
  return { rps, p99, cpuUs: ((cpuSeconds(server.child.pid!) - cpuBefore) / requests) * 1e6 };
}

/** Says once, clearly, when wrk is missing (the bench cannot run without it). */
function requireWrk(): void {
  if (spawnSync(WRK, ['--version']).error) throw new Error(`the gate bench needs wrk (Debian: apt-get install wrk; or WRK=/path/to/wrk)`);
}

export async function gateBenchmark(): Promise<Row[]> {
  requireWrk();
  const rows: Row[] = [];
  for (const runtime of RUNTIMES) {
    const exposedHome = tempHome();
    const localHome = tempHome();
    const servers: Started[] = [];
    try {
      const start = async (command: [string, string[]], env?: Record<string, string>) => {
        const server = await startPrinting(...onCpu(0, ...command), env);
        servers.push(server);
        return server;
      };
      const exposed = await start(cliCommand(runtime, ['serve', '--host', '0.0.0.0', '--port', '0']), serverEnv(exposedHome));
      const local = await start(cliCommand(runtime, ['serve', '--port', '0']), serverEnv(localHome));
      const bare = await start(bareCommand(runtime));
      const bareHeaders = await start(bareCommand(runtime), { BARE_READS_HEADERS: '1' });
      const token = JSON.parse(readFileSync(join(exposedHome, 'config.json'), 'utf8')).authToken as string;
      // The same header to all three (the bare app and local mode ignore it, but it is parsed).
      const auth = { authorization: `Bearer ${token}` };
      const targets = { bare, bareHeaders, local, exposed };
      // Warm up (JIT), then alternate rounds so drift hits all alike.
      for (const server of Object.values(targets)) await load(server, auth, 2);
      const runs: Record<keyof typeof targets, Load[]> = { bare: [], bareHeaders: [], local: [], exposed: [] };
      for (let round = 0; round < ROUNDS; round++) {
        for (const [name, server] of Object.entries(targets)) runs[name as keyof typeof targets].push(await load(server, auth));
      }
      const mean = (name: keyof typeof targets, key: keyof Load) => runs[name].reduce((sum, run) => sum + run[key], 0) / runs[name].length;
      rows.push({
        runtime,
        'bare Hono req/s': Math.round(mean('bare', 'rps')),
        'termgate local req/s': Math.round(mean('local', 'rps')),
        'termgate exposed + token req/s': Math.round(mean('exposed', 'rps')),
        'whole request: exposed / bare (target ≥ 0.90×)': ratio(mean('exposed', 'rps'), mean('bare', 'rps')),
        'bare reading the gate\'s headers / bare': ratio(mean('bareHeaders', 'rps'), mean('bare', 'rps')),
        'same route: exposed / local': ratio(mean('exposed', 'rps'), mean('local', 'rps')),
        'server CPU µs/request bare / bare+headers / local / exposed': (['bare', 'bareHeaders', 'local', 'exposed'] as const).map((n) => mean(n, 'cpuUs').toFixed(1)).join(' / '),
        'CPU per request: bare / exposed': ratio(mean('bare', 'cpuUs'), mean('exposed', 'cpuUs')),
        'p99 ms bare / local / exposed': (['bare', 'local', 'exposed'] as const).map((n) => mean(n, 'p99').toFixed(2)).join(' / '),
      });
    } finally {
      await Promise.all(servers.map((server) => server.stop()));
      rmSync(exposedHome, { recursive: true, force: true });
      rmSync(localHome, { recursive: true, force: true });
    }
  }
  return rows;
}

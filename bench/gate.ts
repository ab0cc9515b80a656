/**
 * The gate's cost: requests/s and p99 latency of an authenticated GET on the
 * gated API in exposed mode, against the same route on a bare Hono app on the
 * same runtime, measured in the same run (autocannon as a separate Node process).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliCommand, ROOT, serverEnv, tempHome, type Runtime } from '../test/harness.ts';
import { onCpu, ratio, runToEnd, startPrinting, type Row, type Started } from './util.ts';

const RUNTIMES = (process.env.BENCH_RUNTIMES?.split(',') ?? ['node', 'bun', 'deno']) as Runtime[];
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BIN = join(ROOT, 'node_modules', '.bin');

function bareCommand(runtime: Runtime): [string, string[]] {
  switch (runtime) {
    case 'node':
      return [process.env.NODE ?? 'node', [join(ROOT, 'bench/bare/node.mjs')]];
    case 'bun':
      return [join(BIN, 'bun'), ['run', join(ROOT, 'bench/bare/bun.ts')]];
    case 'deno':
      return [join(BIN, 'deno'), ['run', '-A', '--quiet', join(ROOT, 'bench/bare/deno.ts')]];
  }
}

interface Load {
  rps: number;
  p99: number;
}

async function load(url: string, headers: Record<string, string>): Promise<Load> {
  const headerArgs = Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}=${v}`]);
  const out = await runToEnd(...onCpu(1, 'node', [
    join(ROOT, 'node_modules/autocannon/autocannon.js'),
    '-j',
    '-c',
    '50',
    '-d',
    String(SECONDS),
    ...headerArgs,
    url,
  ]));
  const result = JSON.parse(out);
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`load on ${url} saw ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { rps: result.requests.average, p99: result.latency.p99 };
}

export async function gateBenchmark(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const runtime of RUNTIMES) {
    const home = tempHome();
    const [command, args] = cliCommand(runtime, ['serve', '--host', '0.0.0.0', '--port', '0']);
    const [bareCmd, bareArgs] = bareCommand(runtime);
    let gated: Started | undefined;
    let bare: Started | undefined;
    try {
      gated = await startPrinting(...onCpu(0, command, args), serverEnv(home));
      bare = await startPrinting(...onCpu(0, bareCmd, bareArgs));
      const token = JSON.parse(readFileSync(join(home, 'config.json'), 'utf8')).authToken as string;
      const auth = { authorization: `Bearer ${token}` };
      // The same request to both (the bare app ignores the header, but parses it).
      // Warm both up (JIT), then alternate rounds so drift hits both alike.
      await load(`${bare.url}/api/tokens`, auth);
      await load(`${gated.url}/api/tokens`, auth);
      const bareRuns: Load[] = [];
      const gatedRuns: Load[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        bareRuns.push(await load(`${bare.url}/api/tokens`, auth));
        gatedRuns.push(await load(`${gated.url}/api/tokens`, auth));
      }
      const mean = (runs: Load[], key: keyof Load) => runs.reduce((sum, run) => sum + run[key], 0) / runs.length;
      const bareRps = mean(bareRuns, 'rps');
      const gatedRps = mean(gatedRuns, 'rps');
      rows.push({
        runtime,
        'bare req/s': Math.round(bareRps),
        'gated req/s': Math.round(gatedRps),
        'req/s ratio (target ≥ 0.90×)': ratio(gatedRps, bareRps),
        'bare p99 ms': mean(bareRuns, 'p99').toFixed(1),
        'gated p99 ms': mean(gatedRuns, 'p99').toFixed(1),
      });
    } finally {
      await Promise.all([gated?.stop(), bare?.stop()]);
    }
  }
  return rows;
}

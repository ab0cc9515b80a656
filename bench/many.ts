/**
 * Many terminals at once (SPEC §18):
 *   - 50 terminals each printing `head -c 8M /dev/zero | base64` (≈ 10.8 MB through
 *     its PTY, more than the 8 MiB scrollback, so a reader that falls a whole
 *     scrollback behind is cut), one WebSocket client each, all clients in one
 *     separate Node process (bench/ws-sink.mjs, SINK_PER_CLIENT); aggregate MB/s
 *     against 50 bare PTYs running the same command at once with no server
 *     (`script -qc CMD /dev/null | wc -c`), alternated in the same run. Every
 *     client must get every byte, in order, and none may be cut (4008).
 *   - Server RSS per idle terminal: 100 shells (the default shell, with shell
 *     integration) created and at their prompt, before and after; then again after
 *     one `GET /screen` each (which starts each terminal's screen emulator).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../test/harness.ts';
import { perRuntime, ratio, rssOf, sleep, type Row } from './util.ts';

const TERMINALS = Math.min(Number(process.env.BENCH_MANY_TERMINALS ?? 50), 60);
const MEGABYTES = Math.min(Number(process.env.BENCH_MANY_MB ?? 8), 32);
const COMMAND = `head -c ${MEGABYTES}M /dev/zero | base64`;
const IDLE = Math.min(Number(process.env.BENCH_IDLE_TERMINALS ?? 100), 200);
const ROUNDS = Math.min(Number(process.env.BENCH_MANY_ROUNDS ?? 2), 5);

interface Sink {
  bytes: number;
  seconds: number;
  contiguous: boolean;
  closedWith?: number;
}

function run(command: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      code === 0 ? resolve(out) : reject(new Error(`${command} exited ${code}`));
    });
  });
}

/** TERMINALS bare PTYs at once: total bytes and the aggregate rate (all bytes over the wall time of the slowest). */
async function bare(): Promise<{ bytes: number; rate: number; each: number }> {
  const start = performance.now();
  const counts = await Promise.all(
    Array.from({ length: TERMINALS }, () => run('sh', ['-c', `script -qc '${COMMAND}' /dev/null | wc -c`]).then((out) => Number(out.trim()))),
  );
  const seconds = (performance.now() - start) / 1000;
  const bytes = counts.reduce((sum, n) => sum + n, 0);
  return { bytes, rate: bytes / seconds, each: counts[0]! };
}

async function streamed(url: string): Promise<{ sinks: Sink[]; rate: number }> {
  const out = await run(process.env.NODE ?? 'node', [join(ROOT, 'bench/ws-sink.mjs'), url.replace(/^http/, 'ws') + '/ws', String(TERMINALS), COMMAND], {
    SINK_PER_CLIENT: '1',
  });
  const sinks = JSON.parse(out) as Sink[];
  const bytes = sinks.reduce((sum, s) => sum + s.bytes, 0);
  return { sinks, rate: bytes / Math.max(...sinks.map((s) => s.seconds)) };
}

async function api(base: string, method: string, path: string, body?: object): Promise<unknown> {
  const response = await fetch(base + path, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response.status === 204 ? undefined : response.json();
}

/** Server RSS after settling: the lowest of a few samples a little apart (a GC may be under way). */
async function settledRss(pid: number): Promise<number> {
  let low = Infinity;
  for (let i = 0; i < 5; i++) {
    await sleep(300);
    low = Math.min(low, rssOf(pid));
  }
  return low;
}

const mbps = (rate: number) => (rate / 1e6).toFixed(1);
const mib = (bytes: number) => (bytes / (1 << 20)).toFixed(2);

export function manyBenchmark(): Promise<Row[]> {
  return perRuntime(
    async (runtime, server) => {
      const pid = server.child.pid!;
      // Idle terminals first, in a fresh server: the default shell, at its prompt. One terminal and
      // one screen before the baseline, so code loaded on first use is not counted per terminal.
      const warm = ((await api(server.url, 'POST', '/api/terminals', {})) as { id: string }).id;
      await sleep(500);
      await api(server.url, 'GET', `/api/terminals/${warm}/screen`);
      await api(server.url, 'DELETE', `/api/terminals/${warm}`);
      const before = await settledRss(pid);
      const ids: string[] = [];
      for (let i = 0; i < IDLE; i++) ids.push(((await api(server.url, 'POST', '/api/terminals', {})) as { id: string }).id);
      // At the prompt: each has printed something, and nothing more since the last look.
      let used = 0;
      let last = '';
      for (let i = 0; i < 100; i++) {
        await sleep(200);
        const ends = await Promise.all(ids.map(async (id) => ((await api(server.url, 'GET', `/api/terminals/${id}/output?since=0`)) as { next: number }).next));
        if (ends.every((end) => end > 0) && ends.join() === last) {
          used = ends.reduce((sum, end) => sum + end, 0);
          break;
        }
        last = ends.join();
      }
      if (used === 0) throw new Error(`${IDLE} shells did not settle at their prompts`);
      const idle = await settledRss(pid);
      for (const id of ids) await api(server.url, 'GET', `/api/terminals/${id}/screen`);
      const screens = await settledRss(pid);
      for (const id of ids) await api(server.url, 'DELETE', `/api/terminals/${id}`);

      // Streaming: alternate bare and server rounds; the best of each counts (this machine is shared).
      let base = { bytes: 0, rate: 0, each: 0 };
      let best: { sinks: Sink[]; rate: number } | undefined;
      let cut = 0;
      let complete = true;
      for (let round = 0; round < ROUNDS; round++) {
        const b = await bare();
        if (b.rate > base.rate) base = b;
        const s = await streamed(server.url);
        cut += s.sinks.filter((sink) => sink.closedWith !== undefined).length;
        if (!s.sinks.every((sink) => sink.contiguous && sink.bytes === b.each && sink.closedWith === undefined)) complete = false;
        if (!best || s.rate > best.rate) best = s;
      }

      const perIdle = (idle - before) / IDLE;
      const perScreen = (screens - before) / IDLE;
      return {
        runtime,
        [`bare: ${TERMINALS} PTYs MB/s`]: mbps(base.rate),
        [`${TERMINALS} terminals, 1 client each MB/s`]: mbps(best!.rate),
        'aggregate / bare (target ≥ 0.80×)': ratio(best!.rate, base.rate),
        'all bytes, in order': complete ? 'yes' : 'NO',
        'clients cut (4008)': `${cut} of ${TERMINALS * ROUNDS}`,
        [`RSS before ${IDLE} idle MiB`]: mib(before),
        'RSS per idle terminal MiB (screen off)': mib(perIdle),
        'RSS per terminal MiB (after GET /screen)': mib(perScreen),
        'scrollback used per terminal KiB': (used / IDLE / 1024).toFixed(1),
      };
    },
    {
      config: (config) => {
        config.limits.maxTerminals = Math.max(config.limits.maxTerminals, IDLE, TERMINALS);
      },
    },
  );
}

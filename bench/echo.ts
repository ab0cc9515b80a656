/**
 * Keystroke echo through /ws vs a bare PTY (SPEC §18): `cat` in a PTY, one
 * character at a time, from the input frame leaving the client to the echoed
 * `output.data` arriving; the baseline is the same `cat` through node-pty with
 * no server, measured right before each runtime in the same run. A second
 * baseline is the floor under any WebSocket server: the round trip to a bare
 * WebSocket echo on the same runtime (bench/bare/ws-echo.mjs), plus the bare
 * PTY. The clients run in their own Node process (bench/echo-client.mjs).
 */
import { join } from 'node:path';
import { ROOT } from '../test/harness.ts';
import { perRuntime, runToEnd, scriptCommand, startPrinting, type Row } from './util.ts';
const COUNT = Math.min(Number(process.env.BENCH_ECHO_COUNT ?? 300), 2000);

async function latencies(target: string, env: Record<string, string> = {}): Promise<number[]> {
  const out = await runToEnd(process.env.NODE ?? 'node', [join(ROOT, 'bench/echo-client.mjs'), target, String(COUNT)], 120_000, env);
  return (JSON.parse(out) as number[]).sort((a, b) => a - b);
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
const ms = (value: number) => value.toFixed(2);
const diff = (value: number, base: number) => `${value >= base ? '+' : ''}${(value - base).toFixed(2)}`;

export function echoBenchmark(): Promise<Row[]> {
  return perRuntime(async (runtime, server) => {
    const bare = await latencies('bare');
    const echo = await startPrinting(...scriptCommand(runtime, 'bench/bare/ws-echo.mjs'));
    let plain: number[];
    try {
      plain = await latencies(`plain:${echo.url.replace(/^http/, 'ws')}/`);
    } finally {
      await echo.stop();
    }
    // Keys without an id (as a client sends them) and with one (each answered), in alternating
    // rounds on the same server: the first round finds a colder server than the second.
    const url = server.url.replace(/^http/, 'ws') + '/ws';
    const ws: number[] = [];
    const answered: number[] = [];
    for (let round = 0; round < 2; round++) {
      answered.push(...(await latencies(url, { ECHO_WITH_ID: '1' })));
      ws.push(...(await latencies(url)));
    }
    ws.sort((a, b) => a - b);
    answered.sort((a, b) => a - b);
    const [b50, b99, p50, w50, w99] = [percentile(bare, 50), percentile(bare, 99), percentile(plain, 50), percentile(ws, 50), percentile(ws, 99)];
    return {
      runtime,
      keystrokes: ws.length,
      'bare PTY p50 / p99 ms': `${ms(b50)} / ${ms(b99)}`,
      'bare WebSocket echo p50 ms': ms(p50),
      '/ws p50 / p99 ms': `${ms(w50)} / ${ms(w99)}`,
      'p50 vs bare PTY ms (target ≤ +0.5)': diff(w50, b50),
      'p99 vs bare PTY ms (target ≤ +2)': diff(w99, b99),
      'p50 vs floor (bare PTY + WebSocket echo) ms': diff(w50, b50 + p50),
      'keys sent with an id (each answered): p50 ms': ms(percentile(answered, 50)),
    };
  });
}

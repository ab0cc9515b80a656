/**
 * Keystroke echo through /ws vs a bare PTY (SPEC §18): `cat` in a PTY, one
 * character at a time, from the input frame leaving the client to the echoed
 * `output.data` arriving; the baseline is the same `cat` through node-pty with
 * no server, measured right before each runtime in the same run. The clients
 * run in their own Node process (bench/echo-client.mjs).
 */
import { join } from 'node:path';
import { ROOT } from '../test/harness.ts';
import { perRuntime, runToEnd, type Row } from './util.ts';
const COUNT = Math.min(Number(process.env.BENCH_ECHO_COUNT ?? 300), 2000);

async function latencies(target: string): Promise<number[]> {
  const out = await runToEnd(process.env.NODE ?? 'node', [join(ROOT, 'bench/echo-client.mjs'), target, String(COUNT)], 120_000);
  return (JSON.parse(out) as number[]).sort((a, b) => a - b);
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
const ms = (value: number) => value.toFixed(2);
const diff = (value: number, base: number) => `${value >= base ? '+' : ''}${(value - base).toFixed(2)}`;

export function echoBenchmark(): Promise<Row[]> {
  return perRuntime(async (runtime, server) => {
    const bare = await latencies('bare');
    const ws = await latencies(server.url.replace(/^http/, 'ws') + '/ws');
    const [b50, b99, w50, w99] = [percentile(bare, 50), percentile(bare, 99), percentile(ws, 50), percentile(ws, 99)];
    return {
      runtime,
      keystrokes: ws.length,
      'bare PTY p50 ms': ms(b50),
      'bare PTY p99 ms': ms(b99),
      '/ws p50 ms': ms(w50),
      '/ws p99 ms': ms(w99),
      'p50 vs bare ms': diff(w50, b50),
      'p99 vs bare ms': diff(w99, b99),
    };
  });
}

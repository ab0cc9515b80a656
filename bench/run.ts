/**
 * `run` of `true` over REST (SPEC §13, §18): with shell integration (the
 * command typed as it is, the shell's hooks report its end) and with the
 * marker method (a terminal created with shellIntegration: false), against
 * spawning `bash -c true`, all in the same run. One request at a time, each
 * timed from sending it to its answer.
 */
import { spawnSync } from 'node:child_process';
import { perRuntime, type Row } from './util.ts';

const COUNT = Math.min(Number(process.env.BENCH_RUN_COUNT ?? 200), 2000);

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
const ms = (value: number) => value.toFixed(2);

function spawnTimes(): number[] {
  const times: number[] = [];
  for (let i = 0; i < COUNT; i++) {
    const start = performance.now();
    spawnSync('bash', ['-c', 'true']);
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b);
}

async function runTimes(base: string, shellIntegration: boolean): Promise<number[]> {
  const post = (path: string, body: object) =>
    fetch(`${base}/api/terminals${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const terminal = (await (await post('', { command: 'bash', shellIntegration })).json()) as { id: string };
  try {
    // The first run waits for the shell's first prompt: not what is measured.
    await (await post(`/${terminal.id}/run`, { command: 'true' })).json();
    const times: number[] = [];
    for (let i = 0; i < COUNT; i++) {
      const start = performance.now();
      const answer = (await (await post(`/${terminal.id}/run`, { command: 'true' })).json()) as { exitCode: number; seq: number | null };
      times.push(performance.now() - start);
      if (answer.exitCode !== 0 || (answer.seq !== null) !== shellIntegration) throw new Error(`unexpected run answer ${JSON.stringify(answer)}`);
    }
    return times.sort((a, b) => a - b);
  } finally {
    await fetch(`${base}/api/terminals/${terminal.id}`, { method: 'DELETE' });
  }
}

export function runBenchmark(): Promise<Row[]> {
  return perRuntime(async (runtime, server) => {
    const spawned = spawnTimes();
    const integrated = await runTimes(server.url, true);
    const markers = await runTimes(server.url, false);
    return {
      runtime,
      runs: COUNT,
      'bash -c true p50 ms': ms(percentile(spawned, 50)),
      'integration p50 ms': ms(percentile(integrated, 50)),
      'integration p99 ms': ms(percentile(integrated, 99)),
      'markers p50 ms': ms(percentile(markers, 50)),
      'markers p99 ms': ms(percentile(markers, 99)),
    };
  });
}

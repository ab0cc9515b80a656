/**
 * A client that stops reading (SPEC §18, docs/websocket.md): one terminal
 * streams `head -c 60000000 /dev/zero | base64` (about 81 MB through the PTY)
 * to a healthy subscriber while a second subscriber has stopped reading (its
 * socket paused, in bench/ws-sink.mjs). Reports the server's RSS growth over a
 * baseline taken after a warm-up run of the same stream without the stalled
 * client, in the same server, against the same stream without the stalled
 * client (the control, alternated with it), and whether the healthy one got
 * every byte. Target: growth under 64 MB on every runtime. Bun returns freed
 * memory to the system when idle and takes it again under load, so its growth
 * over an idle baseline is larger at the same peak (docs/benchmarks.md).
 */
import { join } from 'node:path';
import { ROOT } from '../test/harness.ts';
import { perRuntime, rssOf, runToEnd, sleep, type Row } from './util.ts';

const COMMAND = 'head -c 60000000 /dev/zero | base64';
/** What COMMAND prints through a PTY: 76-character lines ending in \r\n. */
const EXPECTED = 80_000_000 + 2 * Math.ceil(80_000_000 / 76);
const ROUNDS = Math.min(Number(process.env.BENCH_STALLED_ROUNDS ?? 2), 5);

interface SinkResult {
  bytes: number;
  contiguous?: boolean;
  stalled?: boolean;
  closedWith?: number;
}

function sink(url: string, stalled: boolean): Promise<SinkResult[]> {
  return runToEnd(
    'env',
    [...(stalled ? ['SINK_STALLED=1'] : []), process.env.NODE ?? 'node', join(ROOT, 'bench/ws-sink.mjs'), url.replace(/^http/, 'ws') + '/ws', '1', COMMAND],
    180_000,
  ).then((out) => JSON.parse(out) as SinkResult[]);
}

const mb = (bytes: number) => (bytes / (1 << 20)).toFixed(0);


/** Runs the sink once while sampling the server's RSS every 50 ms: the peak, and what the clients saw. */
async function sampled(url: string, pid: number, stalled: boolean): Promise<{ peak: number; results: SinkResult[] }> {
  let peak = rssOf(pid);
  const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 50);
  try {
    const results = await sink(url, stalled);
    return { peak, results };
  } finally {
    clearInterval(sampler);
    await sleep(500);
  }
}

export function stalledBenchmark(): Promise<Row[]> {
  return perRuntime(async (runtime, server) => {
    const pid = server.child.pid!;
    // Streaming at full speed grows any runtime's heap to its working size; the baseline is taken after that.
    await sink(server.url, false);
    await sleep(500);
    const baseline = rssOf(pid);
    // Alternate the same stream without the stalled client (the control) and with it; the worst of each counts.
    let control = 0;
    let withStalled = 0;
    let allBytes = true;
    const codes: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      control = Math.max(control, (await sampled(server.url, pid, false)).peak - baseline);
      const { peak, results } = await sampled(server.url, pid, true);
      withStalled = Math.max(withStalled, peak - baseline);
      const healthy = results.find((r) => !r.stalled)!;
      if (!(healthy.contiguous && healthy.bytes === EXPECTED && healthy.closedWith === undefined)) allBytes = false;
      codes.push(results.find((r) => r.stalled)!.closedWith ?? -1);
    }
    return {
      runtime,
      'streamed MiB': mb(EXPECTED),
      'RSS after warm-up MiB': mb(baseline),
      'peak growth, no stalled client MiB': mb(control),
      'peak growth, stalled client MiB (target < 64)': mb(withStalled),
      'what the stalled client adds MiB': mb(withStalled - control),
      'peak RSS, stalled client MiB': mb(baseline + withStalled),
      'healthy client got every byte': allBytes ? 'yes' : 'NO',
      'stalled client closed with': codes.join(', '),
    };
  });
}

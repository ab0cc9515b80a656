/**
 * `npm run bench`: every benchmark, each reported as ratios against a baseline
 * measured in the same run. Run by Bun as a plain script runner; the servers
 * under test run under their own runtimes, the load generators as separate
 * processes. Pick some with `npm run bench -- gate stream`.
 */
import { echoBenchmark } from './echo.ts';
import { emulatorBenchmark } from './emulator.ts';
import { gateBenchmark } from './gate.ts';
import { persistentBenchmark } from './persistent.ts';
import { manyBenchmark } from './many.ts';
import { runBenchmark } from './run.ts';
import { stalledBenchmark } from './stalled.ts';
import { streamBenchmark } from './stream.ts';
import { pinningNote, printTable, type Row } from './util.ts';

const BENCHMARKS: Record<string, { title: string; run: () => Promise<Row[]> }> = {
  gate: { title: `Gate cost: authenticated GET in exposed mode vs bare Hono (same runtime, same run; ${pinningNote()})`, run: gateBenchmark },
  stream: { title: 'WebSocket output throughput vs a bare PTY (same command, same run)', run: streamBenchmark },
  run: { title: '`run` of `true` over REST: shell integration vs the marker method vs spawning `bash -c true` (same run)', run: runBenchmark },
  many: { title: 'Many terminals: 50 streaming at once, one WebSocket client each, vs 50 bare PTYs (same run); server RSS per idle terminal', run: manyBenchmark },
  stalled: { title: 'A client that stops reading while ~76 MiB stream to a healthy one: server RSS growth (same server, after a warm-up)', run: stalledBenchmark },
  emulator: { title: 'The screen emulator (@xterm/headless): parse rate, from a first GET /screen over the scrollback held', run: emulatorBenchmark },
  persistent: { title: 'Persistent terminals: output into the server vs a plain terminal (same command, same run); re-attach after kill -9', run: persistentBenchmark },
  echo: { title: 'Keystroke echo through /ws vs a bare PTY (`cat`, one character at a time, same run)', run: echoBenchmark },
};

const wanted = process.argv.slice(2);
for (const [name, benchmark] of Object.entries(BENCHMARKS)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  console.error(`running ${name}…`);
  printTable(benchmark.title, await benchmark.run());
}

/** ShellTracker.restore: a persistent terminal's records, rebuilt from its log by a new server, get back what the last server knew. */
import { describe, expect, it } from 'vitest';
import { OscScanner } from '../../../src/terminals/shell-integration/osc.ts';
import { INTEGRATION_PREFIXES, ShellTracker } from '../../../src/terminals/shell-integration/tracker.ts';
import type { CommandRecord } from '../../../src/terminals/types.ts';

const NONCE = 'n0nce';
const prompt = `\x1b]133;D;0;tg=${NONCE}\x07\x1b]133;A;tg=${NONCE}\x07$ \x1b]133;B;tg=${NONCE}\x07`;
const command = (line: string, output: string, code: number) =>
  `${line}\r\n\x1b]7770;cmd;${NONCE};${line}\x07\x1b]133;C;tg=${NONCE}\x07${output}\x1b]133;D;${code};tg=${NONCE}\x07\x1b]133;A;tg=${NONCE}\x07$ \x1b]133;B;tg=${NONCE}\x07`;

const noEvents = { started: () => {}, finished: () => {}, active: () => {}, cwd: () => {} };

/** A tracker fed `text` as it stands from stream offset `start` (a new server reading the log). */
function replay(text: string, start = 0): ShellTracker {
  const tracker = new ShellTracker('posix', NONCE, '/', noEvents);
  const scanner = new OscScanner(INTEGRATION_PREFIXES);
  for (const osc of scanner.push(new TextEncoder().encode(text), start)) tracker.handle(osc);
  return tracker;
}

describe('ShellTracker.restore', () => {
  const stream = prompt + command('make', 'ok\r\n', 0) + command('false', '', 1);

  it('gives rebuilt records the saved seq, times and source; numbers those from while no server ran after them', () => {
    const before = replay(prompt + command('make', 'ok\r\n', 0));
    const saved: CommandRecord[] = before.records().map((record) => ({ ...record, seq: 41, source: 'run', startedAt: '2020-01-01T00:00:00.000Z', finishedAt: '2020-01-01T00:00:01.000Z', durationMs: 1000 }));
    const tracker = replay(stream);
    tracker.restore(saved);
    const records = tracker.records();
    expect(records.map((record) => [record.seq, record.command, record.source, record.exitCode])).toEqual([
      [41, 'make', 'run', 0],
      [42, 'false', 'typed', 1],
    ]);
    expect(records[0]).toMatchObject({ startedAt: '2020-01-01T00:00:00.000Z', durationMs: 1000 });
    expect(tracker.record(42)?.outputOffset).toBe(replay(stream).records()[1]!.outputOffset);
  });

  it('keeps saved records whose output already left the log, as they were', () => {
    const whole = replay(stream);
    const saved = whole.records();
    // The log now starts after the first command.
    const cut = saved[1]!.startOffset - 5;
    const tracker = replay(stream.slice(cut), cut);
    tracker.restore(saved);
    expect(tracker.records()).toEqual(saved);
  });
});

/** Shell integration's pieces: how shells are launched, finding OSC sequences in a byte stream, and the records they make. */
import { describe, expect, it } from 'vitest';
import { integratedShell, integrationLaunch } from '../../../src/terminals/shell-integration/launch.ts';
import { OscScanner, stripIntegrationSequences, withoutLeadingControls } from '../../../src/terminals/shell-integration/osc.ts';
import { INTEGRATION_PREFIXES, MAX_COMMAND_RECORDS, ShellTracker } from '../../../src/terminals/shell-integration/tracker.ts';
import type { CommandRecord } from '../../../src/terminals/types.ts';

const bytes = (text: string) => new TextEncoder().encode(text);
const NONCE = 'n0nce';
const seq = {
  prompt: `\x1b]133;D;0;tg=${NONCE}\x07\x1b]133;A;tg=${NONCE}\x07$ \x1b]133;B;tg=${NONCE}\x07`,
  start: (line: string) => `\x1b]7770;cmd;${NONCE};${line}\x07\x1b]133;C;tg=${NONCE}\x07`,
  end: (code: number) => `\x1b]133;D;${code};tg=${NONCE}\x07`,
};

describe('launch', () => {
  it('integrates bash, zsh and fish started plainly (or as login shells), nothing else', () => {
    expect(integratedShell('/usr/bin/bash')).toBe('bash');
    expect(integratedShell('-zsh')).toBe('zsh');
    expect(integratedShell('/bin/sh')).toBeNull();
    const env = { PATH: '/bin' };
    expect(integrationLaunch('bash', [], env, '/d', 'x')).toEqual({ args: ['--init-file', '/d/bash-init.sh', '-i'], env: { PATH: '/bin', TERMGATE_SHELL_NONCE: 'x' } });
    expect(integrationLaunch('bash', ['-l'], env, '/d', 'x')?.env.TERMGATE_SHELL_LOGIN).toBe('1');
    expect(integrationLaunch('bash', ['--norc'], env, '/d', 'x')).toBeNull();
    expect(integrationLaunch('bash', ['-c', 'true'], env, '/d', 'x')).toBeNull();
    expect(integrationLaunch('zsh', [], { ZDOTDIR: '/u' }, '/d', 'x')?.env).toMatchObject({ ZDOTDIR: '/d/zsh', TERMGATE_USER_ZDOTDIR: '/u' });
    expect(integrationLaunch('fish', [], env, "/it's", 'x')?.args).toEqual(['--init-command', "source '/it\\'s/fish-init.fish'"]);
  });
});

describe('OscScanner', () => {
  it('finds sequences split anywhere across chunks, with their offsets', () => {
    const text = `ab\x1b[31mred\x1b]133;A;tg=1\x07x\x1b]0;title\x07\x1b]7770;cwd;1;/tmp\x1b\\y`;
    const whole = new OscScanner(INTEGRATION_PREFIXES).push(bytes(text), 100);
    expect(whole).toEqual([
      { start: 100 + text.indexOf('\x1b]133'), end: 100 + text.indexOf('x\x1b]0'), payload: '133;A;tg=1' },
      { start: 100 + text.indexOf('\x1b]7770'), end: 100 + text.length - 1, payload: '7770;cwd;1;/tmp' },
    ]);
    const scanner = new OscScanner(INTEGRATION_PREFIXES);
    const oneByOne = [...bytes(text)].flatMap((byte, i) => scanner.push(Uint8Array.of(byte), 100 + i));
    expect(oneByOne).toEqual(whole);
  });

  it('an ESC inside a sequence cancels it and may open the next one', () => {
    const found = new OscScanner(INTEGRATION_PREFIXES).push(bytes('\x1b]133;A\x1b]133;B;tg=1\x07'), 0);
    expect(found).toEqual([{ start: 7, end: 20, payload: '133;B;tg=1' }]);
  });

  it('strips integration sequences from text, and the controls fish prints before a command', () => {
    expect(stripIntegrationSequences('a\x1b]133;D;0\x07b\x1b]7;file://h/x\x07c\x1b]0;t\x07')).toBe('abc\x1b]0;t\x07');
    expect(withoutLeadingControls('\x1b[?2004l\x1b]0;ls\x07\x1b[30m\x1b(B\x1b[m\rhi\x1b[m')).toBe('hi\x1b[m');
  });
});

function tracked() {
  const events: string[] = [];
  const records: CommandRecord[] = [];
  const scanner = new OscScanner(INTEGRATION_PREFIXES);
  let offset = 0;
  const tracker = new ShellTracker('posix', NONCE, '/home', {
    started: (record) => events.push(`started ${record.seq}`),
    finished: (record) => {
      events.push(`finished ${record.seq} ${record.exitCode}`);
      records.push(record);
    },
    active: () => events.push('active'),
    cwd: (dir) => events.push(`cwd ${dir}`),
  });
  const feed = (text: string) => {
    const chunk = bytes(text);
    for (const osc of scanner.push(chunk, offset)) tracker.handle(osc);
    offset += chunk.length;
  };
  return { tracker, feed, events, records, offset: () => offset };
}

describe('ShellTracker', () => {
  it('makes a record per command with its offsets, exit code and cwd; only sequences with the nonce count', () => {
    const { tracker, feed, events, records, offset } = tracked();
    feed(seq.prompt);
    expect(tracker.active).toBe(true);
    const typedAt = offset();
    feed('ls /x\r\n');
    feed(seq.start('ls /x'));
    const outputAt = offset();
    feed('no such file\r\n');
    feed('\x1b]133;D;0\x07\x1b]133;D;0;tg=forged\x07'); // forged ends: ignored
    expect(tracker.current?.command).toBe('ls /x');
    const endAt = offset();
    feed(seq.end(2));
    feed(`\x1b]7770;cwd;${NONCE};/tmp\\x3bx\x07`);
    expect(events).toEqual(['active', 'started 1', 'finished 1 2', 'cwd /tmp;x']);
    expect(records[0]).toMatchObject({ seq: 1, command: 'ls /x', source: 'typed', cwd: '/home', exitCode: 2, startOffset: typedAt, outputOffset: outputAt, endOffset: endAt });
  });

  it('a D without a C (first prompt, Ctrl-C at the prompt) makes no record; a claimed command is the run\'s', () => {
    const { tracker, feed } = tracked();
    feed(seq.prompt + seq.end(130) + seq.prompt);
    expect(tracker.records()).toEqual([]);
    tracker.claimNext('echo from run');
    feed(seq.start('something else') + 'x' + seq.end(0));
    expect(tracker.records()).toMatchObject([{ seq: 1, command: 'echo from run', source: 'run', exitCode: 0 }]);
  });

  it('the shell exiting ends its command with the exit status; records are bounded', () => {
    const { tracker, feed, offset } = tracked();
    feed(seq.prompt + seq.start('exit 3') + 'exit\r\n');
    tracker.exited(3, offset());
    expect(tracker.records()[0]).toMatchObject({ exitCode: 3, endOffset: offset() });
    for (let i = 0; i < MAX_COMMAND_RECORDS + 5; i++) feed(seq.start(`c${i}`) + seq.end(0));
    const kept = tracker.records();
    expect(kept).toHaveLength(MAX_COMMAND_RECORDS);
    expect(kept.at(-1)!.seq).toBe(MAX_COMMAND_RECORDS + 6);
    expect(tracker.records(kept.at(-2)!.seq)).toHaveLength(1);
  });
});

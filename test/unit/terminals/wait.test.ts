/** `wait` over a scripted terminal: plain text across chunks, exact offsets, idle, exit, close, timeout, history. */
import { describe, expect, it } from 'vitest';
import type { TerminalEvent, TerminalManager } from '../../../src/terminals/types.ts';
import { PlainText, compilePattern, waitFor } from '../../../src/terminals/wait.ts';

const encoder = new TextEncoder();

/** Just what waitFor uses of a manager: output with offsets, events, exit. */
function scripted(initial = '') {
  const listeners = new Set<(event: TerminalEvent) => void>();
  let output = initial;
  let exited = false;
  const end = () => encoder.encode(output).length;
  const manager = {
    get: () => ({ id: 't', cols: 80, rows: 24, exited, exitCode: exited ? 0 : null }),
    outputEnd: end,
    read: (_id: string, since = 0) => ({
      data: new TextDecoder().decode(encoder.encode(output).subarray(since)),
      since,
      next: end(),
      dropped: 0,
    }),
    commands: () => [],
    subscribe: (listener: (event: TerminalEvent) => void) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  } as unknown as TerminalManager;
  const emit = (event: TerminalEvent) => {
    for (const listener of [...listeners]) listener(event);
  };
  return {
    manager,
    listeners,
    print(content: string) {
      const offset = end();
      output += content;
      emit({ type: 'output.data', terminalId: 't', content, offset, next: end() });
    },
    exit(code: number) {
      exited = true;
      emit({ type: 'terminal.exit', terminalId: 't', exitCode: code, signal: null });
    },
    close: () => emit({ type: 'terminal.closed', terminalId: 't' }),
  };
}

describe('PlainText', () => {
  it('drops escape sequences split across chunks and keeps exact offsets', () => {
    const plain = new PlainText();
    const chunks = ['ab\x1b[3', '1mcd\x1b]0;ti', 'tle\x07€f\r\n', '\x1b', '[0mg'];
    let offset = 0;
    for (const chunk of chunks) {
      plain.push(chunk, offset);
      offset += encoder.encode(chunk).length;
    }
    expect(plain.text).toBe('abcd€f\ng');
    const raw = chunks.join('');
    // Each plain character's offset points at that character in the raw bytes.
    for (const [index, char] of [...plain.text].entries()) {
      const at = plain.offsetOf(plain.text.indexOf(char, index));
      expect(new TextDecoder().decode(encoder.encode(raw).subarray(at)).startsWith(char), `${char} at ${at}`).toBe(true);
    }
    plain.trim(3);
    expect(plain.text).toBe('f\ng');
    expect(plain.offsetOf(2)).toBe(encoder.encode(raw).length - 1);
  });
});

describe('waitFor', () => {
  it('matches a pattern that arrives in pieces, reporting where it starts and ends', async () => {
    const t = scripted('old output: ready\r\n');
    const waiting = waitFor(t.manager, 't', { pattern: compilePattern('server (\\w+) on port 8080'), timeoutMs: 5000 });
    t.print('starting\r\nserver \x1b[1mlist');
    t.print('ening\x1b[0m on port 80');
    t.print('80\r\nmore');
    const result = await waiting;
    expect(result).toMatchObject({ reason: 'matched', match: 'server listening on port 8080' });
    const all = 'old output: ready\r\nstarting\r\nserver \x1b[1mlistening\x1b[0m on port 8080\r\nmore';
    expect(result.offset).toBe(all.indexOf('server'));
    expect(result.next).toBe(all.indexOf('\r\nmore'));
    expect(t.listeners.size).toBe(0);
  });

  it('looks at history from since, and only at new output without it', async () => {
    const t = scripted('$ make\r\nBUILD OK\r\n$ ');
    expect(await waitFor(t.manager, 't', { pattern: /BUILD OK/m, since: 0, timeoutMs: 1000 })).toMatchObject({ reason: 'matched', offset: 8, next: 16 });
    expect(await waitFor(t.manager, 't', { pattern: /BUILD OK/m, timeoutMs: 50 })).toMatchObject({ reason: 'timeout', next: 20 });
    expect(() => waitFor(t.manager, 't', { pattern: /x/, since: 999, timeoutMs: 50 })).toThrow(/since: 999 is past the end/);
  });

  it('answers idle once the output has been quiet for idleMs', async () => {
    const t = scripted();
    const started = Date.now();
    const waiting = waitFor(t.manager, 't', { idleMs: 150, timeoutMs: 5000 });
    const burst = setInterval(() => t.print('tick\r\n'), 20);
    setTimeout(() => clearInterval(burst), 300);
    const result = await waiting;
    expect(result.reason).toBe('idle');
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(result.next).toBe(t.manager.outputEnd('t'));
  });

  it('ends at the exit, at a close, and at the timeout', async () => {
    const a = scripted();
    const exited = waitFor(a.manager, 't', { pattern: /never/, timeoutMs: 5000 });
    a.exit(3);
    expect(await exited).toEqual({ reason: 'exited', next: 0, exitCode: 3 });
    expect(await waitFor(a.manager, 't', { exit: true, timeoutMs: 5000 })).toMatchObject({ reason: 'exited' });

    const b = scripted();
    const closed = waitFor(b.manager, 't', { idleMs: 10_000, timeoutMs: 5000 });
    b.close();
    expect(await closed).toEqual({ reason: 'exited', next: 0, closed: true });

    const c = scripted();
    const started = Date.now();
    expect(await waitFor(c.manager, 't', { pattern: /x/, timeoutMs: 100 })).toEqual({ reason: 'timeout', next: 0 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(c.listeners.size).toBe(0);
  });

  it('refuses a bad pattern, naming the field', () => {
    expect(() => compilePattern('(unclosed')).toThrow(/^pattern: not a valid regular expression/);
  });
});

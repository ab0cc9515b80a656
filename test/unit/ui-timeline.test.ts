/**
 * The dashboard's offset → row map counts the line feeds that move the cursor
 * (src/ui/page/timeline.js). The browser test (test/dashboard/second-round.test.ts)
 * checks the whole click-to-scroll; this pins the counting rules.
 */
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a browser module checked by its own tsconfig (src/ui/page), plain JS here
import { countNewlines, formatDuration } from '../../src/ui/page/timeline.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const count = (...parts: string[]): number => countNewlines(parts.map(bytes));

describe('dashboard timeline: countNewlines', () => {
  it('counts the line feeds of plain output', () => {
    expect(count('')).toBe(0);
    expect(count('a\r\nb\r\nc')).toBe(2);
    expect(count('\n\n\n')).toBe(3);
  });

  it('skips line feeds inside OSC strings, ended by BEL or ST', () => {
    // Shell integration's history report, as bash sends it: a newline inside the OSC.
    expect(count('echo x\r\n\x1b]7770;hist;nonce;    1  echo x\r\n\x07x\r\n')).toBe(2);
    expect(count('\x1b]0;title\nstill title\x1b\\after\n')).toBe(1);
    expect(count('\x1bP1;2|data\n\x1b\\\n')).toBe(1);
  });

  it('keeps its state across parts, as output arrives in chunks', () => {
    expect(count('a\n\x1b]7770;hi', 'st\n', 'ory\x07b\n')).toBe(2);
    expect(count('a\x1b', ']0;t\n\x07\n')).toBe(1);
  });

  it('counts after CSI sequences and after an ESC that started a new sequence inside a string', () => {
    expect(count('\x1b[2K\x1b[1;32mgreen\x1b[0m\n')).toBe(1);
    expect(count('\x1b]0;t\x1b[0m\n')).toBe(1);
    expect(count('\x1b\n')).toBe(1);
  });
});

describe('dashboard timeline: formatDuration', () => {
  it('reads as a person would say it', () => {
    expect(formatDuration(0)).toBe('0 ms');
    expect(formatDuration(999)).toBe('999 ms');
    expect(formatDuration(1500)).toBe('1.5 s');
    expect(formatDuration(42_000)).toBe('42 s');
    expect(formatDuration(125_000)).toBe('2 min 5 s');
  });
});

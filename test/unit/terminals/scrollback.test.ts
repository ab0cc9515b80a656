/** The ring-buffer scrollback and its byte offsets. */
import { describe, expect, it } from 'vitest';
import { Scrollback } from '../../../src/terminals/scrollback.ts';
const encode = (text: string) => new TextEncoder().encode(text);
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe('Scrollback', () => {
  it('keeps offsets growing and the newest bytes when it wraps', () => {
    const scrollback = new Scrollback(10);
    scrollback.write(encode('0123456'));
    expect([scrollback.start, scrollback.end]).toEqual([0, 7]);
    scrollback.write(encode('789abc'));
    expect([scrollback.start, scrollback.end]).toEqual([3, 13]);
    expect(decode(scrollback.slice(3, 13))).toBe('3456789abc');
    scrollback.write(encode('0123456789ABCDEFGHIJ')); // larger than the whole buffer
    expect([scrollback.start, scrollback.end]).toEqual([23, 33]);
    expect(decode(scrollback.slice(23, 33))).toBe('ABCDEFGHIJ');
  });

  it('grows on demand up to its capacity', () => {
    const scrollback = new Scrollback(300 * 1024);
    let written = '';
    for (let i = 0; i < 10000; i++) {
      const line = `line ${i} ${'x'.repeat(i % 97)}\n`;
      scrollback.write(encode(line));
      written += line;
    }
    const held = decode(scrollback.slice(scrollback.start, scrollback.end));
    expect(scrollback.end).toBe(encode(written).length);
    expect(scrollback.end - scrollback.start).toBe(300 * 1024);
    expect(written.endsWith(held)).toBe(true);
  });

  it('starts at a whole character after wrapping into one', () => {
    const scrollback = new Scrollback(8);
    scrollback.write(encode('😀😀😀')); // 12 bytes; a plain cut would start inside the second
    expect(scrollback.start).toBe(4);
    expect(decode(scrollback.slice(scrollback.start, scrollback.end))).toBe('😀😀');
    scrollback.write(encode('é')); // 14 bytes written: cut at 6 is inside a character
    expect(scrollback.start).toBe(8);
    expect(decode(scrollback.slice(scrollback.start, scrollback.end))).toBe('😀é');
    expect(scrollback.characterStart(10)).toBe(8);
    expect(scrollback.characterStart(12)).toBe(12);
  });

  it('can start at a later offset (a persistent terminal whose log was bounded), on a whole character', () => {
    const scrollback = new Scrollback(10, 500);
    expect([scrollback.start, scrollback.end]).toEqual([500, 500]);
    // The kept log began inside "é" (2 bytes): its continuation byte is not held.
    scrollback.write(new Uint8Array([0xa9, ...encode('abc')]));
    expect([scrollback.start, scrollback.end]).toEqual([501, 504]);
    expect(decode(scrollback.slice(501, 504))).toBe('abc');
    expect(() => new Scrollback(10, -1)).toThrow(RangeError);
  });
});

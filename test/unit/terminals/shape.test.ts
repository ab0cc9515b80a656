/** Output shaping: head + tail within maxBytes, one marker line, cuts between characters and outside escape sequences. */
import { describe, expect, it } from 'vitest';
import { MIN_MAX_BYTES, escapeEnd, headCut, joinParts, shapeBytes, shapeText, tailCut, utf8Bytes } from '../../../src/terminals/shape.ts';

const bytesOf = (text: string) => utf8Bytes(text).length;
const MARKER = /…\[(\d+) bytes omitted\]…/;

/** Splits a shaped text at its marker line. */
function parts(text: string): { head: string; omitted: number; tail: string } {
  const match = MARKER.exec(text)!;
  expect(match, text.slice(0, 200)).not.toBeNull();
  const head = text.slice(0, match.index);
  const tail = text.slice(match.index + match[0].length);
  expect(head === '' || head.endsWith('\n')).toBe(true);
  expect(tail.startsWith('\n')).toBe(true);
  return { head: head.slice(0, -1), omitted: Number(match[1]), tail: tail.slice(1) };
}

describe('shapeText', () => {
  it('returns text that fits as it is, with nothing omitted', () => {
    expect(shapeText('hello\n', 1000)).toEqual({ text: 'hello\n', omittedBytes: 0 });
    expect(shapeText('€'.repeat(100), 300)).toEqual({ text: '€'.repeat(100), omittedBytes: 0 });
    expect(shapeText('', MIN_MAX_BYTES)).toEqual({ text: '', omittedBytes: 0 });
  });

  it('keeps head and tail of long text within maxBytes, with the exact count between them', () => {
    const lines = Array.from({ length: 20_000 }, (_, i) => `line ${i}`);
    const text = `${lines.join('\n')}\n`;
    for (const maxBytes of [MIN_MAX_BYTES, 1000, 4096, 65_536]) {
      const shaped = shapeText(text, maxBytes);
      expect(bytesOf(shaped.text), `maxBytes ${maxBytes}`).toBeLessThanOrEqual(maxBytes);
      const { head, omitted, tail } = parts(shaped.text);
      expect(omitted).toBe(shaped.omittedBytes);
      // Whole lines on both sides (a line break was near), and the three add up to the input.
      expect(text.startsWith(`${head}\n`)).toBe(true);
      expect(text.endsWith(tail)).toBe(true);
      expect(head.startsWith('line 0\nline 1\n')).toBe(true);
      expect(tail.endsWith('line 19999\n')).toBe(true);
      expect(bytesOf(head) + 1 + omitted + bytesOf(tail)).toBe(bytesOf(text));
      expect(tail.startsWith('line ')).toBe(true);
      // Most of the budget is used.
      expect(bytesOf(shaped.text)).toBeGreaterThan(maxBytes * 0.6);
    }
  });

  it('reports the byte range it left out', () => {
    const bytes = utf8Bytes('x'.repeat(10_000));
    const shaped = shapeBytes(bytes, 1000);
    const [from, to] = shaped.omitted!;
    expect(to - from).toBe(shaped.omittedBytes);
    const { head, tail } = parts(shaped.text);
    expect(head.length + 1).toBe(from + 1); // the head, then the line break the marker added
    expect(tail.length).toBe(10_000 - to);
  });

  it('never cuts inside a UTF-8 character', () => {
    for (const filler of ['€', '😀', 'aé', 'ab€😀']) {
      const text = filler.repeat(5000);
      for (const maxBytes of [256, 257, 258, 259, 1001, 1002]) {
        const shaped = shapeText(text, maxBytes);
        expect(shaped.text).not.toContain('\ufffd');
        expect(bytesOf(shaped.text)).toBeLessThanOrEqual(maxBytes);
        const { head, tail } = parts(shaped.text);
        expect(text.startsWith(head)).toBe(true);
        expect(text.endsWith(tail)).toBe(true);
      }
    }
  });

  it('never cuts inside an escape sequence', () => {
    const pieces = ['\x1b[38;2;255;100;0m', 'colour', '\x1b]0;a window title\x07', '\x1b]8;;https://example.com/x\x1b\\', 'link', '\x1b(B', '\x1b[0m', 'text ', '\x1bP1$r0m\x1b\\'];
    const text = pieces.join('').repeat(400);
    for (let maxBytes = 256; maxBytes < 400; maxBytes++) {
      const shaped = shapeText(text, maxBytes);
      expect(bytesOf(shaped.text)).toBeLessThanOrEqual(maxBytes);
      const { head, tail } = parts(shaped.text);
      // Each side is a whole number of pieces: every sequence complete, none started and not finished.
      expect(endsOnPiece(head, pieces), `head at ${maxBytes}: ${JSON.stringify(head.slice(-30))}`).toBe(true);
      expect(startsOnPiece(tail, pieces), `tail at ${maxBytes}: ${JSON.stringify(tail.slice(0, 30))}`).toBe(true);
    }
  });

  it('does not cut into an escape sequence left open', () => {
    const text = `${'a'.repeat(100)}\x1b]0;${'b'.repeat(3000)}`;
    const shaped = shapeText(text, 300);
    expect(parts(shaped.text)).toEqual({ head: 'a'.repeat(100), omitted: 3004, tail: '' });
  });
});

/** Whether `text` is whole pieces, then part of a text piece (a cut inside text is fine, inside a sequence not). */
function endsOnPiece(text: string, pieces: string[]): boolean {
  const partials = pieces.filter((p) => !p.startsWith('\x1b')).flatMap((p) => Array.from({ length: p.length }, (_, k) => p.slice(0, k)));
  return partials.some((partial) => text.endsWith(partial) && wholePieces(text.slice(0, text.length - partial.length), pieces, 'end'));
}

/** Whether `text` is part of a text piece, then whole pieces. */
function startsOnPiece(text: string, pieces: string[]): boolean {
  const partials = pieces.filter((p) => !p.startsWith('\x1b')).flatMap((p) => Array.from({ length: p.length }, (_, k) => p.slice(p.length - k)));
  return partials.some((partial) => text.startsWith(partial) && wholePieces(text.slice(partial.length), pieces, 'start'));
}

function wholePieces(text: string, pieces: string[], from: 'start' | 'end'): boolean {
  let rest = text;
  while (rest !== '') {
    const piece = pieces.find((p) => (from === 'end' ? rest.endsWith(p) : rest.startsWith(p)));
    if (!piece) return false;
    rest = from === 'end' ? rest.slice(0, -piece.length) : rest.slice(piece.length);
  }
  return true;
}

describe('cut points', () => {
  it('prefers a nearby line break', () => {
    const bytes = utf8Bytes('aaaa\nbbbbbbbb\ncccc');
    expect(headCut(bytes, 8)).toBe(5);
    expect(headCut(bytes, 12)).toBe(12); // the break is more than half the budget back
    expect(tailCut(bytes, 8)).toBe(14);
    expect(headCut(bytes, 0)).toBe(0);
    expect(tailCut(bytes, 0)).toBe(bytes.length);
  });

  it('knows where escape sequences end, and which are incomplete', () => {
    const at = (text: string) => (i: number) => (i < text.length ? text.charCodeAt(i) : undefined);
    const end = (text: string) => escapeEnd(at(text), text.length, 0);
    expect(end('\x1b[31mX')).toBe(5);
    expect(end('\x1b[?2004hX')).toBe(8);
    expect(end('\x1b]0;title\x07X')).toBe(10);
    expect(end('\x1b]0;title\x1b\\X')).toBe(11);
    expect(end('\x1b(BX')).toBe(3);
    expect(end('\x1b7X')).toBe(2);
    expect(end('\x1b')).toBe(-1);
    expect(end('\x1b[3')).toBe(-1);
    expect(end('\x1b]0;tit')).toBe(-1);
    expect(end('\x1b]0;tit\x1b')).toBe(-1);
  });
});

describe('joinParts', () => {
  it('joins two pieces already apart with one marker counting both cuts', () => {
    const head = utf8Bytes('head line\n'.repeat(100));
    const tail = utf8Bytes('tail line\n'.repeat(100));
    const whole = joinParts(head, tail, 5000, 100_000);
    expect(parts(whole.text)).toMatchObject({ omitted: 5000 });
    expect(whole.omittedBytes).toBe(5000);
    const cut = joinParts(head, tail, 5000, 600);
    expect(bytesOf(cut.text)).toBeLessThanOrEqual(600);
    const { head: kept, omitted, tail: kept2 } = parts(cut.text);
    expect(omitted).toBe(cut.omittedBytes);
    expect(bytesOf(kept) + 1 + bytesOf(kept2) + omitted).toBe(head.length + tail.length + 5000);
    // A short head leaves its budget to the tail.
    const lopsided = joinParts(utf8Bytes('h\n'), tail, 10, 600);
    expect(bytesOf(parts(lopsided.text).tail)).toBeGreaterThan(450);
  });
});

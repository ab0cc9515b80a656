/** UTF-8 split across PTY reads: only an incomplete trailing character is held back. */
import { describe, expect, it } from 'vitest';
import { Utf8Chunker, completeLength } from '../../../src/terminals/utf8.ts';
const encode = (text: string) => new TextEncoder().encode(text);
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const SAMPLE = 'aé€😀z'; // 1 + 2 + 3 + 4 + 1 bytes

describe('UTF-8 chunking', () => {
  it('holds back only an incomplete trailing character', () => {
    const bytes = encode(SAMPLE);
    const boundaries = new Set([0, 1, 3, 6, 10, 11]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const complete = completeLength(bytes.subarray(0, cut));
      expect(boundaries.has(complete), `cut ${cut}`).toBe(true);
      expect(complete <= cut && cut - complete <= 3).toBe(true);
    }
    expect(completeLength(new Uint8Array([0x41, 0xff]))).toBe(2); // invalid bytes are not held
    expect(completeLength(new Uint8Array([0x80, 0x80, 0x80, 0x80]))).toBe(4);
  });

  it('reassembles text split at every pair of byte positions', () => {
    const bytes = encode(SAMPLE);
    for (let i = 0; i <= bytes.length; i++) {
      for (let j = i; j <= bytes.length; j++) {
        const chunker = new Utf8Chunker();
        const pieces = [bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)].map((piece) => chunker.push(piece));
        expect(chunker.flush().length).toBe(0);
        for (const piece of pieces) expect(decode(piece)).not.toContain('\ufffd');
        expect(pieces.map(decode).join('')).toBe(SAMPLE);
      }
    }
  });

  it('gives up an incomplete tail at flush', () => {
    const chunker = new Utf8Chunker();
    expect(chunker.push(new Uint8Array([0x41, 0xe2, 0x82])).length).toBe(1);
    expect([...chunker.flush()]).toEqual([0xe2, 0x82]);
  });
});

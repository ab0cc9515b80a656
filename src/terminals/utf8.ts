/**
 * UTF-8 boundaries in a byte stream. A PTY read can end inside a multi-byte
 * character; everything handed out (events, reads) must hold whole characters
 * and every offset must sit on a character boundary.
 */

/** True for a continuation byte (10xxxxxx), i.e. a position inside a character. */
export function isContinuation(byte: number): boolean {
  return (byte & 0xc0) === 0x80;
}

/** How many bytes the character starting with `lead` has; 1 for ASCII and for bytes that cannot start one. */
function sequenceLength(lead: number): number {
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 1;
}

/**
 * The length of the longest prefix of `bytes` that does not end inside a
 * character: a trailing lead byte whose continuation bytes have not arrived
 * yet is held back. Invalid bytes are not held (the decoder replaces them),
 * so at most 3 bytes are ever withheld.
 */
export function completeLength(bytes: Uint8Array): number {
  const length = bytes.length;
  for (let back = 1; back <= 3 && back <= length; back++) {
    const byte = bytes[length - back]!;
    if (isContinuation(byte)) continue;
    return sequenceLength(byte) > back ? length - back : length;
  }
  return length;
}

/** Joins two byte arrays (used for the held-back tail plus the next read). */
export function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a, 0);
  joined.set(b, a.length);
  return joined;
}

/**
 * Splits a byte stream into whole-character pieces. push() returns the bytes
 * that end on a character boundary and keeps an incomplete tail for the next
 * push; flush() gives up on the tail (at exit), leaving it to the decoder's
 * replacement character.
 */
export class Utf8Chunker {
  #pending: Uint8Array = new Uint8Array(0);

  push(chunk: Uint8Array): Uint8Array {
    const bytes = concatBytes(this.#pending, chunk);
    const cut = completeLength(bytes);
    this.#pending = bytes.slice(cut);
    return bytes.subarray(0, cut);
  }

  flush(): Uint8Array {
    const rest = this.#pending;
    this.#pending = new Uint8Array(0);
    return rest;
  }
}

/** Keeps a BOM as the character it is rather than stripping it from a piece's start. */
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** Decodes a whole-character piece (no state carried between calls). */
export function decodeUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

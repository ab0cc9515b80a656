/**
 * The holder's socket protocol (docs/persistent.md): frames of one type byte,
 * a 4-byte big-endian length and the payload. Output travels as raw bytes
 * (no base64 on the hot path); everything else is a little JSON or text.
 */

/** Server to holder. */
export const ATTACH = 0x41; // 'A': send what you keep, then follow live
export const INPUT = 0x49; // 'I': UTF-8 text to write to the PTY
export const RESIZE = 0x52; // 'R': {"cols","rows"}
export const KILL = 0x4b; // 'K': end the session, then the holder, and remove the files
/** Holder to server. */
export const HELLO = 0x48; // 'H': {"pid","start","end","cols","rows"}, then the kept output [start, end) as DATA
export const DATA = 0x44; // 'D': output bytes, in stream order
export const EXIT = 0x58; // 'X': {"code","signal"} after the last output
export const BUSY = 0x42; // 'B': another server is attached

const HEADER = 5;
/** A frame larger than this is a broken peer, not a message. */
const MAX_FRAME = 64 * 1024 * 1024;

export function frame(type: number, payload: Uint8Array | string = new Uint8Array(0)): Uint8Array {
  const body = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
  const out = new Uint8Array(HEADER + body.length);
  out[0] = type;
  new DataView(out.buffer).setUint32(1, body.length);
  out.set(body, HEADER);
  return out;
}

export const jsonFrame = (type: number, value: unknown) => frame(type, JSON.stringify(value));

/** Splits a byte stream into frames, across reads. */
export class FrameReader {
  #pending: Uint8Array = new Uint8Array(0);

  /** The frames completed by `chunk`; throws on a frame no peer of ours would send. */
  push(chunk: Uint8Array): { type: number; payload: Uint8Array }[] {
    let bytes = chunk;
    if (this.#pending.length > 0) {
      bytes = new Uint8Array(this.#pending.length + chunk.length);
      bytes.set(this.#pending, 0);
      bytes.set(chunk, this.#pending.length);
    }
    const frames: { type: number; payload: Uint8Array }[] = [];
    let at = 0;
    while (bytes.length - at >= HEADER) {
      const length = new DataView(bytes.buffer, bytes.byteOffset + at + 1, 4).getUint32(0);
      if (length > MAX_FRAME) throw new Error(`frame of ${length} bytes`);
      if (bytes.length - at < HEADER + length) break;
      frames.push({ type: bytes[at]!, payload: bytes.slice(at + HEADER, at + HEADER + length) });
      at += HEADER + length;
    }
    this.#pending = bytes.slice(at);
    return frames;
  }
}

export const text = (payload: Uint8Array) => new TextDecoder().decode(payload);

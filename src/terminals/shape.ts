/**
 * Output shaped for an LLM's context: text longer than `maxBytes` keeps its
 * head and its tail with one line `…[N bytes omitted]…` between them, never
 * silently cut (Codex's unified_exec and OpenHands bound output the same way).
 *
 * Cuts fall on UTF-8 character boundaries and never inside an escape sequence
 * (a CSI such as `ESC[31m`, an OSC such as a title or run's markers, DCS/APC
 * strings, two- and three-byte escapes); where a line break is near the cut
 * point, the cut moves to it, so the marker sits between whole lines.
 *
 * The escape-sequence grammar here is also what `wait` uses to find plain
 * text in a stream (escapeEnd).
 */
import { isContinuation } from './utf8.ts';

/** The answer's text and how much of the input it left out (0: nothing, the text is the input). */
export interface Shaped {
  text: string;
  omittedBytes: number;
  /** Shaping one piece: the byte range of the input left out, [from, to). */
  omitted?: [number, number];
}

/** The smallest maxBytes the schemas accept: room for the marker line and some text either side. */
export const MIN_MAX_BYTES = 256;

const ESC = 0x1b;
const BEL = 0x07;
const LF = 0x0a;
/** A string sequence (OSC, DCS…) longer than this is not looked for (an inline image can be megabytes). */
const MAX_SEQUENCE = 64 * 1024;
/** How far before a cut point the scan for an enclosing escape sequence starts. */
export const SCAN_WINDOW = MAX_SEQUENCE;

/** A code unit (string) or byte (UTF-8) at an index; undefined past the end. Escape sequences are ASCII in both. */
export type CodeAt = (index: number) => number | undefined;

/**
 * Where the escape sequence starting at `esc` (an ESC) ends: the index after
 * its last unit, or -1 when it is incomplete (the rest has not arrived). A
 * string sequence with no terminator within MAX_SEQUENCE ends there.
 */
export function escapeEnd(at: CodeAt, length: number, esc: number): number {
  const kind = at(esc + 1);
  if (kind === undefined) return -1;
  // CSI: parameters and intermediates 0x20–0x3f, then one final byte 0x40–0x7e.
  if (kind === 0x5b) {
    let i = esc + 2;
    for (let c = at(i); c !== undefined && c >= 0x20 && c <= 0x3f; c = at(++i));
    const final = at(i);
    if (final === undefined) return -1;
    return final >= 0x40 && final <= 0x7e ? i + 1 : i;
  }
  // OSC, DCS, SOS, PM, APC: a string up to BEL or ST (ESC \); CAN and SUB abort it.
  if (kind === 0x5d || kind === 0x50 || kind === 0x58 || kind === 0x5e || kind === 0x5f) {
    const limit = Math.min(length, esc + MAX_SEQUENCE);
    for (let i = esc + 2; i < limit; i++) {
      const c = at(i);
      if (c === BEL || c === 0x18 || c === 0x1a) return i + 1;
      if (c === ESC) {
        const next = at(i + 1);
        if (next === undefined) return -1;
        return next === 0x5c ? i + 2 : i;
      }
    }
    return limit === esc + MAX_SEQUENCE ? limit : -1;
  }
  // ESC, intermediates 0x20–0x2f, a final 0x30–0x7e (ESC 7, ESC ( B, ESC # 8…).
  let i = esc + 1;
  for (let c = at(i); c !== undefined && c >= 0x20 && c <= 0x2f; c = at(++i));
  const final = at(i);
  if (final === undefined) return -1;
  return final >= 0x30 && final <= 0x7e ? i + 1 : i;
}

/** The escape sequence that contains position `p` (start < p < end), if any. */
function enclosing(bytes: Uint8Array, p: number): [number, number] | undefined {
  const at: CodeAt = (i) => bytes[i];
  let i = Math.max(0, p - SCAN_WINDOW);
  for (;;) {
    const esc = bytes.indexOf(ESC, i);
    if (esc < 0 || esc >= p) return undefined;
    const found = escapeEnd(at, bytes.length, esc);
    const end = found < 0 ? bytes.length : found;
    if (end > p) return [esc, end];
    i = Math.max(end, esc + 1);
  }
}

/** The end of a head of at most `budget` bytes: on a line break when one is near, a whole character, outside escapes. */
export function headCut(bytes: Uint8Array, budget: number): number {
  if (budget >= bytes.length) return bytes.length;
  let p = Math.max(0, budget);
  if (p === 0) return 0;
  const lineEnd = bytes.lastIndexOf(LF, p - 1);
  if (lineEnd >= 0 && lineEnd + 1 >= p - Math.floor(budget / 2)) p = lineEnd + 1;
  while (p > 0 && isContinuation(bytes[p]!)) p--;
  const sequence = enclosing(bytes, p);
  return sequence ? sequence[0] : p;
}

/** The start of a tail of at most `budget` bytes: after a line break when one is near, a whole character, outside escapes. */
export function tailCut(bytes: Uint8Array, budget: number): number {
  if (budget >= bytes.length) return 0;
  let q = bytes.length - Math.max(0, budget);
  const lineEnd = bytes.indexOf(LF, q);
  if (lineEnd >= 0 && lineEnd + 1 <= q + Math.floor(budget / 2)) q = lineEnd + 1;
  return startOutside(bytes, q);
}

/** The first position at or after `q` that starts a whole character outside any escape sequence. */
export function startOutside(bytes: Uint8Array, q: number): number {
  while (q < bytes.length && isContinuation(bytes[q]!)) q++;
  for (let sequence = enclosing(bytes, q); sequence; sequence = enclosing(bytes, q)) {
    q = sequence[1];
    while (q < bytes.length && isContinuation(bytes[q]!)) q++;
  }
  return q;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

export function utf8Bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

export function omittedLine(bytes: number): string {
  return `…[${bytes} bytes omitted]…`;
}

/** The marker between head and tail, on a line of its own. */
function marker(head: string, omitted: number): string {
  return `${head === '' || head.endsWith('\n') ? '' : '\n'}${omittedLine(omitted)}\n`;
}

/** Bytes the marker may take, at most (two line breaks, the digits of the largest count). */
function markerBudget(total: number): number {
  return utf8Bytes(omittedLine(total)).length + 2;
}

/**
 * `text` within `maxBytes` (UTF-8): itself when it fits, else its head and
 * tail (about half each) with the marker line between them. The result never
 * exceeds maxBytes, given maxBytes ≥ MIN_MAX_BYTES.
 */
export function shapeText(text: string, maxBytes: number): Shaped {
  // A UTF-16 unit is at most 3 UTF-8 bytes: short text needs no encoding to know it fits.
  if (text.length * 3 <= maxBytes) return { text, omittedBytes: 0 };
  return shapeBytes(utf8Bytes(text), maxBytes);
}

/** shapeText for text already encoded (its offsets are what `read` reports). */
export function shapeBytes(bytes: Uint8Array, maxBytes: number): Shaped {
  if (bytes.length <= maxBytes) return { text: decoder.decode(bytes), omittedBytes: 0 };
  return joinParts(bytes, new Uint8Array(0), 0, maxBytes);
}

/**
 * Two pieces already apart (`omitted` bytes lay between them: render.ts cuts
 * raw output before rendering it) joined within maxBytes: the budget goes
 * half to each, what one does not need goes to the other, and whatever is cut
 * adds to the one count in the one marker.
 */
export function joinParts(head: Uint8Array, tail: Uint8Array, omitted: number, maxBytes: number): Shaped {
  if (omitted === 0 && head.length + tail.length <= maxBytes) {
    return { text: decoder.decode(head) + decoder.decode(tail), omittedBytes: 0 };
  }
  const available = Math.max(0, maxBytes - markerBudget(omitted + head.length + tail.length));
  let tailBudget = Math.min(tail.length, Math.ceil(available / 2));
  const headBudget = Math.min(head.length, available - tailBudget);
  tailBudget = Math.min(tail.length, available - headBudget);
  // One piece only (shapeBytes): the head and the tail both come from it.
  const single = tail.length === 0 ? head : undefined;
  let headEnd: number;
  let tailStart: number;
  let tailBytes: Uint8Array;
  if (single) {
    const half = Math.floor(available / 2);
    headEnd = headCut(single, half);
    tailStart = Math.max(headEnd, tailCut(single, available - half));
    tailBytes = single.subarray(tailStart);
    omitted += tailStart - headEnd;
  } else {
    headEnd = headCut(head, headBudget);
    tailStart = tailCut(tail, tailBudget);
    tailBytes = tail.subarray(tailStart);
    omitted += head.length - headEnd + tailStart;
  }
  const headText = decoder.decode((single ?? head).subarray(0, headEnd));
  if (omitted === 0) return { text: headText + decoder.decode(tailBytes), omittedBytes: 0 };
  return {
    text: headText + marker(headText, omitted) + decoder.decode(tailBytes),
    omittedBytes: omitted,
    ...(single ? { omitted: [headEnd, tailStart] as [number, number] } : {}),
  };
}

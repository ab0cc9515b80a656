/**
 * A persistent terminal's output on disk: append-only segment files
 * `output-<start offset>.log` in its session directory, mode 0600. A segment
 * that reaches the bound is closed and a new one begun; only the newest two
 * are kept, so at least `bound` bytes (and at most twice that) stay readable,
 * and `start` of what is read says how much rotated out.
 */
import { closeSync, openSync, readFileSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const SEGMENT = /^output-(\d{16})\.log$/;
const segmentName = (start: number) => `output-${String(start).padStart(16, '0')}.log`;

/** The segments in a directory, oldest first. */
function segments(dir: string): { start: number; path: string }[] {
  const found = readdirSync(dir)
    .map((name) => SEGMENT.exec(name))
    .filter((match) => match !== null)
    .map((match) => ({ start: Number(match[1]), path: join(dir, match[0]) }))
    .sort((a, b) => a.start - b.start);
  return found;
}


/** What the log holds: the newest `maxBytes` at most, and the stream offset of their first byte. */
export function readLog(dir: string, maxBytes: number): { start: number; bytes: Uint8Array } {
  const parts = segments(dir).map((segment) => ({ ...segment, bytes: readFileSync(segment.path) as Uint8Array }));
  if (parts.length === 0) return { start: 0, bytes: new Uint8Array(0) };
  // Keep the newest run of segments that join without a gap.
  let first = parts.length - 1;
  while (first > 0 && parts[first - 1]!.start + parts[first - 1]!.bytes.length === parts[first]!.start) first--;
  const kept = parts.slice(first);
  const end = kept[kept.length - 1]!.start + kept[kept.length - 1]!.bytes.length;
  const start = Math.max(kept[0]!.start, end - maxBytes);
  const out = new Uint8Array(end - start);
  for (const part of kept) {
    const from = Math.max(0, start - part.start);
    if (from < part.bytes.length) out.set(part.bytes.subarray(from), part.start + from - start);
  }
  return { start, bytes: out };
}

export class OutputLog {
  readonly #dir: string;
  readonly #bound: number;
  #fd: number;
  #segmentStart: number;
  #end: number;

  constructor(dir: string, bound: number) {
    this.#dir = dir;
    this.#bound = bound;
    this.#end = 0;
    this.#segmentStart = 0;
    this.#fd = openSync(join(dir, segmentName(0)), 'a', 0o600);
  }

  get end(): number {
    return this.#end;
  }

  /** Appends the bytes (the whole chunk to one segment: a chunk is never split). */
  append(bytes: Uint8Array): void {
    if (this.#end - this.#segmentStart >= this.#bound) this.#rotate();
    for (let written = 0; written < bytes.length; ) written += writeSync(this.#fd, bytes, written, bytes.length - written);
    this.#end += bytes.length;
  }

  #rotate(): void {
    closeSync(this.#fd);
    this.#segmentStart = this.#end;
    this.#fd = openSync(join(this.#dir, segmentName(this.#end)), 'a', 0o600);
    const all = segments(this.#dir);
    for (const old of all.slice(0, Math.max(0, all.length - 2))) rmSync(old.path, { force: true });
  }

  read(): { start: number; bytes: Uint8Array } {
    return readLog(this.#dir, this.#bound);
  }

  close(): void {
    try {
      closeSync(this.#fd);
    } catch {
      // closed already
    }
  }
}

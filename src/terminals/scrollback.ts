/**
 * A terminal's bounded scrollback: a ring buffer of output bytes addressed by
 * stream offsets. Offsets count every byte the terminal ever produced and only
 * grow; the buffer keeps the newest `capacity` bytes (rounded to a character
 * boundary). It grows on demand, so an idle terminal does not hold the whole
 * capacity in memory.
 */
import { isContinuation } from './utf8.ts';

const INITIAL_SIZE = 64 * 1024;

export class Scrollback {
  readonly capacity: number;
  #buffer: Uint8Array;
  /** Index in #buffer of the byte at offset `start`. */
  #head = 0;
  #length = 0;
  #end = 0;

  /** `start`: the offset of the first byte written (a persistent terminal's log may begin after 0). */
  constructor(capacity: number, start = 0) {
    if (!Number.isInteger(capacity) || capacity < 4) throw new RangeError('scrollback capacity must be an integer >= 4');
    if (!Number.isSafeInteger(start) || start < 0) throw new RangeError('scrollback start must be a non-negative integer');
    this.capacity = capacity;
    this.#buffer = new Uint8Array(Math.min(capacity, INITIAL_SIZE));
    this.#end = start;
  }

  /** Offset of the oldest byte still held. */
  get start(): number {
    return this.#end - this.#length;
  }

  /** Offset just past the newest byte: the total number of bytes ever written. */
  get end(): number {
    return this.#end;
  }

  /** Appends bytes that end on a character boundary; the oldest bytes leave when full. */
  write(bytes: Uint8Array): void {
    this.#end += bytes.length;
    const data = bytes.length > this.capacity ? bytes.subarray(bytes.length - this.capacity) : bytes;
    const wanted = Math.min(this.capacity, this.#length + data.length);
    if (wanted > this.#buffer.length) this.#grow(Math.min(this.capacity, Math.max(wanted, this.#buffer.length * 2)));

    const size = this.#buffer.length;
    const tail = (this.#head + this.#length) % size;
    const first = Math.min(data.length, size - tail);
    this.#buffer.set(data.subarray(0, first), tail);
    this.#buffer.set(data.subarray(first), 0);
    this.#length += data.length;
    if (this.#length > size) {
      this.#head = (this.#head + this.#length - size) % size;
      this.#length = size;
    }
    // The cut may have landed inside a character: the held part starts at the next whole one.
    for (let i = 0; i < 3 && this.#length > 0 && isContinuation(this.#byteAt(this.start)); i++) {
      this.#head = (this.#head + 1) % size;
      this.#length--;
    }
  }

  /** The byte at `offset` (which must be held). */
  #byteAt(offset: number): number {
    return this.#buffer[(this.#head + offset - this.start) % this.#buffer.length]!;
  }

  /** Moves `offset` (held, or `end`) back to the start of the character it points into. */
  characterStart(offset: number): number {
    let at = offset;
    for (let i = 0; i < 3 && at > this.start && at < this.#end && isContinuation(this.#byteAt(at)); i++) at--;
    return at;
  }

  /** The offset just past the character that starts at `offset` (held, below `end`). */
  characterEnd(offset: number): number {
    let at = offset + 1;
    while (at < this.#end && isContinuation(this.#byteAt(at))) at++;
    return at;
  }

  /** Copies the bytes [from, to); both must lie within [start, end]. */
  slice(from: number, to: number): Uint8Array {
    if (from < this.start || to > this.#end || from > to) throw new RangeError(`slice [${from}, ${to}) outside [${this.start}, ${this.#end}]`);
    const out = new Uint8Array(to - from);
    const size = this.#buffer.length;
    const begin = (this.#head + from - this.start) % size;
    const first = Math.min(out.length, size - begin);
    out.set(this.#buffer.subarray(begin, begin + first), 0);
    out.set(this.#buffer.subarray(0, out.length - first), first);
    return out;
  }

  #grow(size: number): void {
    // Straight into the new buffer (no intermediate copy: at 8 MiB that is garbage worth avoiding).
    const next = new Uint8Array(size);
    const first = Math.min(this.#length, this.#buffer.length - this.#head);
    next.set(this.#buffer.subarray(this.#head, this.#head + first), 0);
    next.set(this.#buffer.subarray(0, this.#length - first), first);
    this.#buffer = next;
    this.#head = 0;
  }
}

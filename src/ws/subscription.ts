/**
 * One connection's subscription to one terminal.
 *
 * Flow control. A subscription tracks `next`, the first byte offset its client
 * has not been sent. While the connection's send queue is below the high-water
 * mark, live output goes out as it arrives (live.ts). When the queue is above
 * it, or live output does not start exactly at `next`, the subscription lags:
 * live output skips it, and once the queue drains it catches up by reading the
 * terminal's scrollback from `next` (catch-up.ts). So the scrollback, held once
 * per terminal, is the only buffer, and a slow client costs the server at most
 * one high-water mark of queue; offsets make the seam exact, nothing sent twice
 * or skipped. A subscription that falls further behind than the scrollback
 * holds cannot be made whole: its connection is closed with 4008 and the
 * client resumes with `since`. When its terminal is closed while it lags, it
 * keeps a reader of that scrollback (the "tail") until it has the rest.
 */
import type { OutputReader, OutputSlice, TerminalManager } from '../terminals/types.ts';
import { CLOSE_SLOW_CONSUMER, type Session } from './session.ts';

/** Lifecycle events held for a lagging subscription before the client counts as stalled. */
const MAX_PENDING_EVENTS = 1024;
/**
 * How long a subscription may take nothing of a closed terminal's remaining
 * output before its connection is closed with 4008: until then the closed
 * terminal's scrollback is kept for it.
 */
export const TAIL_STALL_MS = 10_000;

export class Subscription {
  #next: number;
  #lagging: boolean;
  /** Lifecycle frames that happened at offset `at`, held until output up to `at` is sent. */
  readonly #pending: { at: number; frame: string }[] = [];
  #tail: OutputReader | undefined;
  /** When the tail last made progress: a client that stops taking it pins the scrollback. */
  #tailProgressAt = 0;

  /** Starts at `next`, lagging when that is before `end`, the end of the output so far (a replay). */
  constructor(
    readonly session: Session,
    readonly terminalId: string,
    next: number,
    end: number,
  ) {
    this.#next = next;
    this.#lagging = next < end;
  }

  /** The first byte offset not yet sent to this client. */
  get next(): number {
    return this.#next;
  }

  /** Live output skips it; the catch-up pump sends it the scrollback from `next`. */
  get lagging(): boolean {
    return this.#lagging;
  }

  /** Its terminal was closed while it was behind: it is taking the tail. */
  get closedTerminal(): boolean {
    return this.#tail !== undefined;
  }

  /** Sends an output frame that starts at `next` and ends at `end`, then the lifecycle frames held up to there. */
  send(frame: string, end: number): void {
    this.session.send(frame);
    this.#next = end;
    this.flushPending(end);
  }

  /** Live output no longer reaches it in order: the catch-up pump takes over. */
  lag(): void {
    this.#lagging = true;
  }

  /** Back at the end of the output: rejoins the live stream. True when it is done (its terminal was closed). */
  caughtUp(): boolean {
    this.#lagging = false;
    this.flushPending();
    return this.#tail !== undefined;
  }

  /** It fell further behind than the scrollback holds: its output cannot be made whole. */
  tooFarBehind(): void {
    this.session.close(
      CLOSE_SLOW_CONSUMER,
      `slow consumer: fell behind the scrollback at offset ${this.#next}; reconnect and subscribe with since`,
    );
  }

  /** Holds a lifecycle frame that happened at offset `at` until the output before it is sent; false when too many wait. */
  hold(at: number, frame: string): boolean {
    if (this.#pending.length >= MAX_PENDING_EVENTS) return false;
    this.#pending.push({ at, frame });
    return true;
  }

  /** Sends the held lifecycle frames that happened up to `upTo`. */
  flushPending(upTo = Infinity): void {
    while (this.#pending.length > 0 && this.#pending[0]!.at <= upTo) {
      this.session.sendControl(this.#pending.shift()!.frame);
    }
  }

  /** The terminal was closed while this was behind: keeps its scrollback until the rest is sent. */
  keepTail(reader: OutputReader): void {
    this.#tail = reader;
    this.#tailProgressAt = Date.now();
  }

  /** Up to `maxBytes` of scrollback from `next`, from the terminal or, once it is closed, from the tail. */
  read(terminals: TerminalManager, maxBytes: number): OutputSlice {
    return this.#tail ? this.#tail(this.#next, maxBytes) : terminals.read(this.terminalId, this.#next, maxBytes);
  }

  /** After a catch-up pass that started at offset `before`: whether the tail has gone TAIL_STALL_MS without progress. */
  tailStalled(before: number): boolean {
    if (this.#tail === undefined) return false;
    const now = Date.now();
    if (this.#next > before) this.#tailProgressAt = now;
    return this.#lagging && now - this.#tailProgressAt > TAIL_STALL_MS;
  }
}

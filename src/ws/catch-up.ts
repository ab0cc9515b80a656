/**
 * The catch-up pump: sends each lagging subscription the scrollback it is owed,
 * from its `next`, while its connection's queue is below the high-water mark,
 * until it is back at the end of the output and rejoins the live stream.
 * Runs on the drain signal, on the session's poll timer, and from live output.
 */
import type { TerminalManager } from '../terminals/types.ts';
import { outputFrame } from './frames.ts';
import type { Registry } from './registry.ts';
import { CLOSE_SLOW_CONSUMER, type Session, type WsLimits } from './session.ts';
import { TAIL_STALL_MS, type Subscription } from './subscription.ts';

/**
 * Catch-up reads (and so replay frames) end at multiples of this many bytes:
 * no frame is huge, and subscribers that lag together (ten readers in one slow
 * client) converge on the same chunks, which are then read, decoded and
 * serialised once and shared, as live frames are. Shared chunks are larger:
 * fewer, bigger frames are what lets Deno push ten copies of a fast stream; a
 * lone reader gets smaller ones, which the garbage collector frees sooner.
 */
const REPLAY_CHUNK_BYTES = 64 * 1024;
const SHARED_REPLAY_CHUNK_BYTES = 256 * 1024;
/**
 * Shared catch-up frames kept, and only for terminals with several
 * subscribers: cached frames that no one else reads are garbage-collector churn.
 */
const REPLAY_CACHE_ENTRIES = 16;

export class CatchUp {
  readonly #terminals: TerminalManager;
  readonly #registry: Registry;
  readonly #limits: () => WsLimits;
  /** `${terminalId} ${offset}` -> a whole catch-up chunk from that offset (output never changes once written). */
  readonly #cache = new Map<string, { frame: string; next: number }>();
  readonly #pump = (session: Session): void => this.pump(session);

  constructor(terminals: TerminalManager, registry: Registry, limits: () => WsLimits) {
    this.#terminals = terminals;
    this.#registry = registry;
    this.#limits = limits;
  }

  /** Pumps again on the session's poll timer (the drain event, where there is one, usually comes first). */
  schedule(session: Session): void {
    session.pollLater(this.#pump);
  }

  /** Sends the session's lagging subscriptions their backlog while its queue is below the high-water mark. */
  pump(session: Session): void {
    if (session.closing) return;
    const hwm = this.#limits().wsHighWaterBytes;
    session.pumped(session.connection.bufferedAmount() < hwm);
    const subs = this.#registry.ofSession(session);
    if (subs === undefined) return;
    let stillLagging = false;
    for (const sub of subs.values()) {
      const before = sub.next;
      while (sub.lagging && !session.closing && session.connection.bufferedAmount() < hwm) this.#sendBacklog(sub);
      if (session.closing) return;
      if (sub.tailStalled(before)) {
        return session.close(
          CLOSE_SLOW_CONSUMER,
          `slow consumer: took none of a closed terminal's remaining output for ${TAIL_STALL_MS / 1000} s`,
        );
      }
      if (sub.lagging) stillLagging = true;
    }
    if (stillLagging) this.schedule(session);
  }

  /** Drops the cached chunks of a forgotten terminal. */
  forget(terminalId: string): void {
    for (const key of this.#cache.keys()) if (key.startsWith(`${terminalId} `)) this.#cache.delete(key);
  }

  /** Sends the next chunk of scrollback a lagging subscription is owed, or ends its lag. */
  #sendBacklog(sub: Subscription): void {
    const end = this.#registry.end(sub.terminalId);
    if (end !== undefined && sub.next >= end) return this.#caughtUp(sub);
    const key = `${sub.terminalId} ${sub.next}`;
    let chunk = this.#cache.get(key);
    if (chunk === undefined) {
      const shared = (this.#registry.of(sub.terminalId)?.size ?? 0) > 1;
      const size = shared ? SHARED_REPLAY_CHUNK_BYTES : REPLAY_CHUNK_BYTES;
      const boundary = (Math.floor(sub.next / size) + 1) * size;
      let slice;
      try {
        slice = sub.read(this.#terminals, boundary - sub.next);
      } catch {
        // Unreadable: the terminal is gone (closing it hands over a tail, so this should not happen).
        sub.caughtUp();
        return this.#registry.remove(sub);
      }
      if (slice.since > sub.next) return sub.tooFarBehind();
      if (slice.next <= sub.next) return this.#caughtUp(sub);
      chunk = { frame: outputFrame(sub.terminalId, slice.data, sub.next, slice.next), next: slice.next };
      // Only whole chunks are shared: a partial one (up to the current end) grows later.
      // (The end may sit up to 3 bytes before the boundary, at the start of a character.)
      if (shared && slice.next > boundary - 4) {
        if (this.#cache.size >= REPLAY_CACHE_ENTRIES) this.#cache.delete(this.#cache.keys().next().value!);
        this.#cache.set(key, chunk);
      }
    }
    sub.send(chunk.frame, chunk.next);
  }

  #caughtUp(sub: Subscription): void {
    // Done when its terminal was closed meanwhile: the closed frame was the last one held.
    if (sub.caughtUp()) this.#registry.remove(sub);
  }
}

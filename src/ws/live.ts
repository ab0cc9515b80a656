/**
 * Live output: coalesced per terminal, serialised once, and the same string
 * sent to every subscriber that is exactly at its start and has room in its
 * send queue. Any other subscriber starts lagging and is left to the catch-up
 * pump (catch-up.ts).
 */
import type { CatchUp } from './catch-up.ts';
import { outputFrame } from './frames.ts';
import type { Registry } from './registry.ts';
import type { WsLimits } from './session.ts';

/**
 * Live output that keeps coming is coalesced per terminal until the next timer
 * tick (or this many bytes): a PTY hands out ~4 KB reads, and one socket write
 * per read is what limits throughput. The added latency is one timer tick.
 */
const BATCH_MAX_BYTES = 64 * 1024;

/**
 * Output that arrives for a terminal with nothing pending and no flush within
 * this long (about one timer tick) is sent at once (in a microtask, so output
 * delivered in the same task still shares its frame): a keystroke's echo after
 * an idle moment does not wait for the tick. Output that keeps coming arrives
 * within a tick of the last flush, or while a batch is pending, and is batched.
 */
const IDLE_MS = 1;

/**
 * A terminal whose last frame was at least this big was streaming (a PTY read
 * is at most about 4 KiB, so a full one means the program writes faster than it
 * is read): its next output waits for the tick even after a gap, unless it was
 * quiet for STREAM_QUIET_MS. With many terminals streaming at once each one's
 * reads come more than IDLE_MS apart, and sending every read at once made one
 * 4 KiB frame (and one socket write) per read. An echo is a few bytes.
 */
const STREAMING_FRAME_BYTES = 2048;
const STREAM_QUIET_MS = 50;

/** Live output of one terminal not yet sent: contiguous, from `offset` to `next`. */
interface Batch {
  parts: string[];
  offset: number;
  next: number;
}

export class LiveOutput {
  readonly #registry: Registry;
  readonly #catchUp: CatchUp;
  readonly #limits: () => WsLimits;
  readonly #batches = new Map<string, Batch>();
  /** When each terminal's output last went out (performance.now()); entries older than IDLE_MS mean idle. */
  readonly #lastSent = new Map<string, number>();
  /** Terminals whose last frame was STREAMING_FRAME_BYTES or more. */
  readonly #streaming = new Set<string>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.flushAll();
  };

  /** Terminals whose batch began after an idle moment: flushed in a microtask, not at the tick. */
  readonly #urgent = new Set<string>();
  readonly #onMicrotask = (): void => {
    for (const terminalId of [...this.#urgent]) this.flush(terminalId);
    this.#urgent.clear();
  };

  constructor(registry: Registry, catchUp: CatchUp, limits: () => WsLimits) {
    this.#registry = registry;
    this.#catchUp = catchUp;
    this.#limits = limits;
  }

  /** The hot path: collects output for the next batch (nothing at all when no one subscribes). */
  output(terminalId: string, content: string, offset: number, next: number): void {
    this.#registry.setEnd(terminalId, next);
    if (this.#registry.of(terminalId) === undefined) {
      this.#lastSent.delete(terminalId);
      this.#streaming.delete(terminalId);
      return;
    }
    let batch = this.#batches.get(terminalId);
    if (batch !== undefined && batch.next !== offset) {
      this.flush(terminalId);
      batch = undefined;
    }
    if (batch === undefined) {
      this.#batches.set(terminalId, (batch = { parts: [], offset, next }));
      const last = this.#lastSent.get(terminalId);
      // Idle terminal: send at the end of this task (what the same PTY read delivers still joins).
      const quiet = last === undefined ? Infinity : performance.now() - last;
      if (quiet > STREAM_QUIET_MS || (quiet > IDLE_MS && !this.#streaming.has(terminalId))) {
        this.#urgent.add(terminalId);
        if (this.#urgent.size === 1) queueMicrotask(this.#onMicrotask);
      }
    }
    batch.parts.push(content);
    batch.next = next;
    if (next - batch.offset >= BATCH_MAX_BYTES) this.flush(terminalId);
    else if (!this.#urgent.has(terminalId)) this.#timer ??= setTimeout(this.#onTimer, 0);
  }

  /** Sends the terminal's pending output now (before a lifecycle event or a new subscriber). */
  flush(terminalId: string): void {
    const batch = this.#batches.get(terminalId);
    if (batch === undefined) return;
    this.#batches.delete(terminalId);
    this.#urgent.delete(terminalId);
    const content = batch.parts.length === 1 ? batch.parts[0]! : batch.parts.join('');
    this.#sent(terminalId, performance.now());
    if (batch.next - batch.offset >= STREAMING_FRAME_BYTES) this.#streaming.add(terminalId);
    else this.#streaming.delete(terminalId);
    this.#fanOut(terminalId, content, batch.offset, batch.next);
  }

  flushAll(): void {
    for (const terminalId of [...this.#batches.keys()]) this.flush(terminalId);
  }

  /** Sends what is pending and stops the timer (shutdown). */
  stop(): void {
    this.flushAll();
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Notes when output went out; forgets entries that already mean quiet once there are many (closed terminals). */
  #sent(terminalId: string, now: number): void {
    this.#lastSent.delete(terminalId);
    if (this.#lastSent.size >= 64) {
      for (const [id, at] of this.#lastSent) {
        if (now - at <= STREAM_QUIET_MS) continue;
        this.#lastSent.delete(id);
        this.#streaming.delete(id);
      }
    }
    this.#lastSent.set(terminalId, now);
  }

  /** One piece of live output to every subscriber, serialised at most once. */
  #fanOut(terminalId: string, content: string, offset: number, next: number): void {
    const subs = this.#registry.of(terminalId);
    if (subs === undefined) return;
    const { wsHighWaterBytes, scrollbackBytes } = this.#limits();
    let frame: string | undefined;
    for (const sub of subs) {
      const session = sub.session;
      if (sub.lagging) {
        if (next - sub.next > scrollbackBytes) sub.tooFarBehind();
        // Catch up from here too when the queue has room: on a busy event loop
        // (Deno's, under a PTY at full speed) the pump's timer can fire 100 ms late.
        else if (session.connection.bufferedAmount() < wsHighWaterBytes) this.#catchUp.pump(session);
        continue;
      }
      if (offset === sub.next && session.connection.bufferedAmount() < wsHighWaterBytes) {
        frame ??= outputFrame(terminalId, content, offset, next);
        sub.send(frame, next);
      } else if (next > sub.next) {
        sub.lag();
        this.#catchUp.schedule(session);
      }
    }
  }
}

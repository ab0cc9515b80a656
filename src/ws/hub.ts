/**
 * The /ws protocol (SPEC §7), written once against WsConnection: sessions,
 * subscriptions with gapless replay, command frames, idle timeout, bounded
 * per-connection buffering and shutdown. See docs/websocket.md.
 *
 * Flow control. Every subscription tracks `next`, the first byte offset its
 * client has not been sent. While the connection's send queue is below the
 * high-water mark, live output goes out as it arrives (coalesced per timer
 * tick, one JSON string shared by all subscribers). When the queue is above
 * it, or live output does not start exactly at `next`, the subscription
 * "lags": live events are skipped for it, and once the queue drains it
 * catches up by reading the terminal's scrollback from `next` — so the
 * scrollback, held once per terminal, is the only buffer, and a slow client
 * costs the server at most one high-water mark of queue. Offsets make the seam
 * exact: nothing is sent twice, nothing is skipped. A subscription that falls
 * further behind than the scrollback holds cannot be made whole, so its
 * connection is closed with 4008 and the client resumes with `since`. When a
 * terminal is closed under a lagging subscription, the hub keeps a reader of
 * its scrollback (the "tail") until that subscription has the rest.
 */
import type { Context } from 'hono';
import { LOCAL, type Principal } from '../credentials.ts';
import { TermgateError } from '../errors.ts';
import { selectSubprotocol } from '../gate.ts';
import type { Platform, WsConnection, WsHandlers } from '../platform.ts';
import type { OutputReader, TerminalEvent, TerminalManager } from '../terminals/types.ts';
import { VERSION } from '../version.ts';
import { runCommand } from './commands.ts';
import {
  type ClientFrame,
  type FrameId,
  FrameError,
  errorFrame,
  lifecycleFrame,
  outputFrame,
  parseClientFrame,
  successFrame,
  welcomeFrame,
} from './frames.ts';

/** Close codes (documented in docs/websocket.md). */
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_IDLE = 4000;
/** The credential the connection was opened with was revoked (or rotated with closeSockets). */
export const CLOSE_TOKEN_REVOKED = 4001;
export const CLOSE_SLOW_CONSUMER = 4008;

/**
 * Catch-up reads (and so replay frames) end at multiples of this many bytes:
 * no frame is huge, and subscribers that lag together (ten readers in one slow
 * client) converge on the same chunks, which are then read, decoded and
 * serialised once and shared, as live frames are. Shared chunks are larger:
 * fewer, bigger frames are what lets Deno push ten copies of a fast stream;
 * a lone reader gets smaller ones, which the garbage collector frees sooner.
 */
const REPLAY_CHUNK_BYTES = 64 * 1024;
const SHARED_REPLAY_CHUNK_BYTES = 256 * 1024;
/**
 * Shared catch-up frames kept (about 256 KiB each), and only for terminals with
 * several subscribers: the churn of cached frames costs the garbage collector
 * (Deno's heap grew by 60 MB more over a 200 MB stream with one reader).
 */
const REPLAY_CACHE_ENTRIES = 16;
/**
 * Live output is coalesced per terminal until the next timer tick (or this
 * many bytes): a PTY hands out ~4 KB reads, and one socket write per read is
 * what limits throughput (on Node, writev was a fifth of the server's time).
 * The added latency is one timer tick.
 */
const BATCH_MAX_BYTES = 64 * 1024;
/**
 * How soon a lagging connection is looked at again when no drain signal comes
 * (Deno has none): 1 ms while it is making progress — an idle gap between the
 * queue draining and the next look is throughput lost — backing off to 64 ms
 * while it is not (a stalled reader).
 */
const PUMP_POLL_MIN_MS = 1;
const PUMP_POLL_MAX_MS = 64;
/** How long a closing socket gets to finish its closing handshake before it is dropped. */
const CLOSE_GRACE_MS = 2000;
/**
 * How long a subscription may take nothing of a closed terminal's remaining
 * output before its connection is closed with 4008: until then the closed
 * terminal's scrollback is kept for it.
 */
const TAIL_STALL_MS = 10_000;
/** Lifecycle events held for a lagging subscription before the client counts as stalled. */
const MAX_PENDING_EVENTS = 1024;
/**
 * A connection whose queue exceeds high-water by this much is not reading at
 * all: output alone never gets there (it stops at high-water plus one frame),
 * only answers and events piling up behind a stalled reader do.
 */
const CONTROL_ALLOWANCE_BYTES = 4 * 1024 * 1024;

interface Subscription {
  readonly session: Session;
  readonly terminalId: string;
  /** The first byte offset not yet sent to this client. */
  next: number;
  /** Live events are not sent; the subscription catches up from scrollback when the queue drains. */
  lagging: boolean;
  /** Lifecycle frames that happened at offset `at`, held until output up to `at` is sent. */
  pending: { at: number; frame: string }[];
  /**
   * Set when the terminal closed while this subscription was behind: its
   * scrollback, kept until the rest of the output (then terminal.closed) is sent.
   */
  tail: OutputReader | undefined;
  /** When the tail last made progress: a client that stops taking it is closed (it pins the scrollback). */
  tailProgressAt: number;
}

class Session {
  lastSeen = Date.now();
  closing = false;
  readonly subscriptions = new Map<string, Subscription>();
  pumpTimer: ReturnType<typeof setTimeout> | undefined;
  pumpDelay = PUMP_POLL_MIN_MS;
  killTimer: ReturnType<typeof setTimeout> | undefined;

  /** `principal`: who opened it, so revoking that credential can close it. */
  constructor(
    readonly connection: WsConnection,
    readonly principal: Principal,
  ) {}

  /** Sends a frame; a socket that refuses it is on its way out, and its close event will follow. */
  send(frame: string): void {
    try {
      this.connection.send(frame);
    } catch {
      this.closing = true;
    }
  }
}

export interface WsLimits {
  wsIdleTimeoutMs: number;
  wsHighWaterBytes: number;
  scrollbackBytes: number;
}

/** What the hub needs from the core (the Core itself in the server; a stand-in in unit tests). */
export interface WsHost {
  readonly platform: Pick<Platform, 'runtime' | 'upgradeWebSocket' | 'log'>;
  readonly config: { readonly current: { readonly limits: WsLimits } };
  readonly terminals: TerminalManager;
  onShutdown(hook: () => void | Promise<void>): void;
}

export class WsHub {
  readonly #core: WsHost;
  readonly #sessions = new Map<WsConnection, Session>();
  /** terminalId -> its subscriptions, for fan-out. */
  readonly #subscribers = new Map<string, Set<Subscription>>();
  /** terminalId -> end offset of its output, as seen in events. */
  readonly #ends = new Map<string, number>();
  /** terminalId -> live output not yet sent (contiguous, ends at #ends). */
  readonly #batches = new Map<string, { parts: string[]; offset: number; next: number }>();
  #batchTimer: ReturnType<typeof setTimeout> | undefined;
  /** `${terminalId} ${offset}` -> a whole catch-up chunk from that offset (output never changes once written). */
  readonly #replayCache = new Map<string, { frame: string; next: number }>();
  #detach: (() => void) | undefined;
  #sweep: ReturnType<typeof setInterval> | undefined;
  #shuttingDown = false;
  #allClosed: (() => void) | undefined;

  readonly handlers: WsHandlers = {
    onOpen: (connection) => this.#open(connection, LOCAL),
    onMessage: (connection, data) => this.#message(connection, data),
    onClose: (connection) => this.#closed(connection),
    onDrain: (connection) => {
      const session = this.#sessions.get(connection);
      if (session) this.#pump(session);
    },
  };

  constructor(core: WsHost) {
    this.#core = core;
    // One listener for every terminal and connection: events fan out from here.
    this.#detach = core.terminals.subscribe((event) => {
      try {
        this.#onTerminalEvent(event);
      } catch (error) {
        // The manager calls us from inside its PTY callbacks: never throw back into it.
        core.platform.log(`websocket: ${String(error)}`);
      }
    });
    core.onShutdown(() => this.shutdown());
  }

  /** Open connections (for tests and status). */
  get size(): number {
    return this.#sessions.size;
  }

  /** The /ws and /api/ws handler: the gate has already admitted the request, as `principal`. */
  upgrade(c: Context, principal: Principal): Response | Promise<Response> {
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
      throw new TermgateError('bad_request', 'upgrade: this endpoint speaks WebSocket only (send Upgrade: websocket)');
    }
    // Checked here so every runtime answers a broken handshake alike (Deno's upgrade would throw: a 500; Bun would upgrade).
    const connection = c.req.header('connection') ?? '';
    if (!connection.split(',').some((token) => token.trim().toLowerCase() === 'upgrade')) {
      throw new TermgateError('bad_request', 'upgrade: a WebSocket handshake needs "Connection: Upgrade"');
    }
    if (!c.req.header('sec-websocket-key') || c.req.header('sec-websocket-version') !== '13') {
      throw new TermgateError('bad_request', 'upgrade: Sec-WebSocket-Key and Sec-WebSocket-Version: 13 are required');
    }
    const protocol = selectSubprotocol(c.req.header('sec-websocket-protocol') ?? null);
    const handlers: WsHandlers = { ...this.handlers, onOpen: (connection) => this.#open(connection, principal) };
    return this.#core.platform.upgradeWebSocket(c, { protocol, handlers });
  }

  #limits(): WsLimits {
    return this.#core.config.current.limits;
  }

  // ---- connections -----------------------------------------------------------

  /** Closes every connection opened by a principal `matches` picks (a revoked token's), with `code`. */
  closeWhere(matches: (principal: Principal) => boolean, code: number, reason: string): number {
    let closed = 0;
    for (const session of this.#sessions.values()) {
      if (session.closing || !matches(session.principal)) continue;
      this.#closeSession(session, code, reason);
      closed++;
    }
    return closed;
  }

  #open(connection: WsConnection, principal: Principal): void {
    const session = new Session(connection, principal);
    this.#sessions.set(connection, session);
    if (this.#shuttingDown) {
      this.#closeSession(session, CLOSE_GOING_AWAY, 'server shutting down');
      return;
    }
    session.send(welcomeFrame(VERSION, this.#core.platform.runtime));
    this.#startSweep();
  }

  #closed(connection: WsConnection): void {
    const session = this.#sessions.get(connection);
    if (!session) return;
    session.closing = true;
    this.#dropSubscriptions(session);
    clearTimeout(session.pumpTimer);
    clearTimeout(session.killTimer);
    this.#sessions.delete(connection);
    if (this.#sessions.size === 0) {
      clearInterval(this.#sweep);
      this.#sweep = undefined;
      this.#allClosed?.();
    }
  }

  /** Starts the closing handshake; a peer that does not finish it in time is dropped. */
  #closeSession(session: Session, code: number, reason: string): void {
    if (session.closing) return;
    session.closing = true;
    this.#dropSubscriptions(session);
    clearTimeout(session.pumpTimer);
    session.killTimer = setTimeout(() => {
      session.connection.terminate?.();
      this.#closed(session.connection);
    }, CLOSE_GRACE_MS);
    try {
      session.connection.close(code, reason);
    } catch {
      this.#closed(session.connection);
    }
  }

  #startSweep(): void {
    const idle = this.#limits().wsIdleTimeoutMs;
    if (this.#sweep !== undefined || idle <= 0) return;
    this.#sweep = setInterval(() => this.#sweepIdle(), Math.max(20, Math.min(1000, Math.floor(idle / 4))));
  }

  #sweepIdle(): void {
    const idle = this.#limits().wsIdleTimeoutMs;
    if (idle <= 0) return;
    const now = Date.now();
    for (const session of this.#sessions.values()) {
      if (!session.closing && now - session.lastSeen > idle) {
        this.#closeSession(session, CLOSE_IDLE, `idle timeout: no frame for ${idle} ms (send {"type":"heartbeat"})`);
      }
    }
  }

  /** Sends an answer or lifecycle frame; a queue past every bound means the client stopped reading. */
  #sendControl(session: Session, frame: string): void {
    if (session.closing) return;
    session.send(frame);
    if (session.connection.bufferedAmount() > this.#limits().wsHighWaterBytes + CONTROL_ALLOWANCE_BYTES) {
      this.#closeSession(session, CLOSE_SLOW_CONSUMER, 'slow consumer: send queue over its limit; reconnect');
    }
  }

  // ---- client frames ---------------------------------------------------------

  #message(connection: WsConnection, data: string | ArrayBuffer): void {
    const session = this.#sessions.get(connection);
    if (!session || session.closing) return;
    session.lastSeen = Date.now();
    let frame: ClientFrame;
    try {
      frame = parseClientFrame(data);
    } catch (error) {
      const frameError = error instanceof FrameError ? error : undefined;
      const message = error instanceof Error ? error.message : 'frame: invalid';
      this.#sendControl(session, errorFrame(frameError?.id ?? null, 'bad_request', message, frameError?.type));
      return;
    }
    switch (frame.type) {
      case 'heartbeat':
        this.#sendControl(session, successFrame(frame.id, { time: new Date().toISOString() }, 'heartbeat'));
        return;
      case 'subscribe':
      case 'unsubscribe':
        try {
          if (frame.type === 'subscribe') this.#subscribe(session, frame.id, frame.terminalId, frame.since);
          else {
            const sub = session.subscriptions.get(frame.terminalId);
            if (sub) {
              // Held lifecycle frames (exit, closed) go to every connection, subscribed or not.
              this.#flushPending(sub, Infinity);
              this.#removeSubscription(sub);
            }
            this.#sendControl(session, successFrame(frame.id, { terminalId: frame.terminalId }, 'unsubscribe'));
          }
        } catch (error) {
          this.#sendError(session, frame.id, error, frame.type);
        }
        return;
      case 'command':
        void this.#command(session, frame.id, frame.command, frame.params);
        return;
    }
  }

  async #command(session: Session, id: FrameId, command: string, params: Record<string, unknown> | undefined): Promise<void> {
    try {
      const data = await runCommand(this.#core.terminals, command, params);
      this.#sendControl(session, successFrame(id, data ?? {}));
    } catch (error) {
      this.#sendError(session, id, error);
    }
  }

  #sendError(session: Session, id: FrameId | undefined, error: unknown, type?: string): void {
    if (error instanceof TermgateError) {
      this.#sendControl(session, errorFrame(id, error.code, error.message, type));
      return;
    }
    this.#core.platform.log(`websocket: internal error: ${String(error)}`);
    this.#sendControl(session, errorFrame(id, 'internal', 'internal server error', type));
  }

  // ---- subscriptions -----------------------------------------------------------

  /**
   * Reads and registers in one synchronous step: the manager delivers events
   * synchronously, so no output can slip in between the read and the
   * registration — the replay and the live stream meet at exactly `next`.
   */
  #subscribe(session: Session, id: FrameId | undefined, terminalId: string, since: number | undefined): void {
    const terminals = this.#core.terminals;
    const info = terminals.get(terminalId);
    // Pending live output goes to the existing subscribers; the new one starts after (or replays) it.
    this.#flushBatch(terminalId);
    const existing = session.subscriptions.get(terminalId);
    if (existing) this.#removeSubscription(existing);

    const sub: Subscription = { session, terminalId, next: 0, lagging: false, pending: [], tail: undefined, tailProgressAt: 0 };
    // Reading one character validates `since` (past the end is a bad_request) and finds where
    // the replay really starts (later, when older output already left the scrollback).
    const start = since === undefined ? undefined : terminals.read(terminalId, since, 1);
    const end = this.#ends.get(terminalId) ?? terminals.read(terminalId).next;
    sub.next = start?.since ?? end;
    sub.lagging = sub.next < end;
    const ack = { terminalId, since: sub.next, next: end, dropped: start?.dropped ?? 0 };
    session.subscriptions.set(terminalId, sub);
    let set = this.#subscribers.get(terminalId);
    if (!set) this.#subscribers.set(terminalId, (set = new Set()));
    set.add(sub);

    this.#sendControl(
      session,
      successFrame(id, { ...ack, exited: info.exited, exitCode: info.exitCode }, 'subscribe'),
    );
    if (sub.lagging) this.#pump(session);
  }

  #removeSubscription(sub: Subscription): void {
    sub.session.subscriptions.delete(sub.terminalId);
    const set = this.#subscribers.get(sub.terminalId);
    set?.delete(sub);
    if (set?.size === 0) {
      this.#subscribers.delete(sub.terminalId);
      if (sub.tail) this.#forgetTerminal(sub.terminalId);
    }
  }

  #forgetTerminal(terminalId: string): void {
    this.#ends.delete(terminalId);
    for (const key of this.#replayCache.keys()) if (key.startsWith(`${terminalId} `)) this.#replayCache.delete(key);
  }

  #dropSubscriptions(session: Session): void {
    for (const sub of session.subscriptions.values()) this.#removeSubscription(sub);
  }

  // ---- terminal events -----------------------------------------------------------

  #onTerminalEvent(event: TerminalEvent): void {
    if (event.type === 'output.data') {
      this.#onOutput(event.terminalId, event.content, event.offset, event.next);
      return;
    }
    // Output that happened before this event is sent before it.
    this.#flushBatch(event.terminalId);
    const frame = lifecycleFrame(event);
    const end = this.#ends.get(event.terminalId) ?? 0;
    for (const session of this.#sessions.values()) {
      const sub = session.subscriptions.get(event.terminalId);
      if (session.closing) {
        if (sub && event.type === 'terminal.closed') this.#removeSubscription(sub);
        continue;
      }
      if (sub && event.type === 'terminal.closed') {
        // Still owed output: keep the scrollback and finish at the client's pace; closed follows it.
        if (sub.lagging) {
          sub.tail = this.#core.terminals.reader(event.terminalId);
          sub.tailProgressAt = Date.now();
        } else {
          this.#flushPending(sub, Infinity);
          this.#removeSubscription(sub);
        }
      }
      if (sub?.lagging) {
        if (sub.pending.length >= MAX_PENDING_EVENTS) {
          this.#closeSession(session, CLOSE_SLOW_CONSUMER, 'slow consumer: too many events queued; reconnect and subscribe with since');
        } else sub.pending.push({ at: end, frame });
      } else this.#sendControl(session, frame);
    }
    if (event.type === 'terminal.closed' && !this.#subscribers.has(event.terminalId)) this.#forgetTerminal(event.terminalId);
  }

  /** The hot path: collects output for the next batch (nothing at all when no one subscribes). */
  #onOutput(terminalId: string, content: string, offset: number, next: number): void {
    this.#ends.set(terminalId, next);
    if (!this.#subscribers.has(terminalId)) return;
    let batch = this.#batches.get(terminalId);
    if (batch !== undefined && batch.next !== offset) {
      this.#flushBatch(terminalId);
      batch = undefined;
    }
    if (batch === undefined) this.#batches.set(terminalId, (batch = { parts: [], offset, next }));
    batch.parts.push(content);
    batch.next = next;
    if (next - batch.offset >= BATCH_MAX_BYTES) this.#flushBatch(terminalId);
    else this.#batchTimer ??= setTimeout(() => this.#flushBatches(), 0);
  }

  #flushBatches(): void {
    this.#batchTimer = undefined;
    for (const terminalId of [...this.#batches.keys()]) this.#flushBatch(terminalId);
  }

  #flushBatch(terminalId: string): void {
    const batch = this.#batches.get(terminalId);
    if (batch === undefined) return;
    this.#batches.delete(terminalId);
    const content = batch.parts.length === 1 ? batch.parts[0]! : batch.parts.join('');
    this.#send(terminalId, content, batch.offset, batch.next);
  }

  /** One piece of live output to every subscriber, serialised at most once. */
  #send(terminalId: string, content: string, offset: number, next: number): void {
    const subs = this.#subscribers.get(terminalId);
    if (subs === undefined) return;
    const { wsHighWaterBytes, scrollbackBytes } = this.#limits();
    let frame: string | undefined;
    for (const sub of subs) {
      const session = sub.session;
      if (sub.lagging) {
        if (next - sub.next > scrollbackBytes) this.#tooFarBehind(sub);
        // Catch up from here too when the queue has room: on a busy event loop
        // (Deno's, under a PTY at full speed) the pump's timer can fire 100 ms late.
        else if (session.connection.bufferedAmount() < wsHighWaterBytes) this.#pump(session);
        continue;
      }
      if (offset === sub.next && session.connection.bufferedAmount() < wsHighWaterBytes) {
        frame ??= outputFrame(terminalId, content, offset, next);
        session.send(frame);
        sub.next = next;
      } else if (next > sub.next) {
        sub.lagging = true;
        this.#schedulePump(session);
      }
    }
  }

  #tooFarBehind(sub: Subscription): void {
    this.#closeSession(
      sub.session,
      CLOSE_SLOW_CONSUMER,
      `slow consumer: fell behind the scrollback at offset ${sub.next}; reconnect and subscribe with since`,
    );
  }

  // ---- catching up -----------------------------------------------------------------

  #schedulePump(session: Session): void {
    if (session.pumpTimer !== undefined || session.closing) return;
    // The drain event (where the runtime has one) usually comes first; the
    // timer is the fallback that needs nothing from the runtime.
    session.pumpTimer = setTimeout(() => {
      session.pumpTimer = undefined;
      this.#pump(session);
    }, session.pumpDelay);
  }

  /** Sends lagging subscriptions' backlog while the connection's queue is below the high-water mark. */
  #pump(session: Session): void {
    if (session.closing) return;
    clearTimeout(session.pumpTimer);
    session.pumpTimer = undefined;
    const hwm = this.#limits().wsHighWaterBytes;
    const progressed = session.connection.bufferedAmount() < hwm;
    session.pumpDelay = progressed ? PUMP_POLL_MIN_MS : Math.min(PUMP_POLL_MAX_MS, session.pumpDelay * 2);
    let stillLagging = false;
    for (const sub of session.subscriptions.values()) {
      const before = sub.next;
      while (sub.lagging && !session.closing && session.connection.bufferedAmount() < hwm) {
        this.#sendBacklog(sub);
      }
      if (sub.tail && sub.next > before) sub.tailProgressAt = Date.now();
      if (session.closing) return;
      if (sub.tail && sub.lagging && Date.now() - sub.tailProgressAt > TAIL_STALL_MS) {
        return this.#closeSession(
          session,
          CLOSE_SLOW_CONSUMER,
          `slow consumer: took none of a closed terminal's remaining output for ${TAIL_STALL_MS / 1000} s`,
        );
      }
      if (sub.lagging) stillLagging = true;
    }
    if (stillLagging) this.#schedulePump(session);
  }

  /** Sends the next frame of scrollback a lagging subscription is owed, or ends its lag. */
  #sendBacklog(sub: Subscription): void {
    const end = this.#ends.get(sub.terminalId);
    if (end !== undefined && sub.next >= end) return this.#caughtUp(sub);
    const key = `${sub.terminalId} ${sub.next}`;
    let chunk = this.#replayCache.get(key);
    if (chunk === undefined) {
      const shared = (this.#subscribers.get(sub.terminalId)?.size ?? 0) > 1;
      const size = shared ? SHARED_REPLAY_CHUNK_BYTES : REPLAY_CHUNK_BYTES;
      const boundary = (Math.floor(sub.next / size) + 1) * size;
      let slice;
      try {
        slice = sub.tail
          ? sub.tail(sub.next, boundary - sub.next)
          : this.#core.terminals.read(sub.terminalId, sub.next, boundary - sub.next);
      } catch {
        // Unreadable: the terminal is gone (closed events hand over a tail, so this should not happen).
        sub.lagging = false;
        this.#flushPending(sub, Infinity);
        return this.#removeSubscription(sub);
      }
      if (slice.since > sub.next) return this.#tooFarBehind(sub);
      if (slice.next <= sub.next) return this.#caughtUp(sub);
      chunk = { frame: outputFrame(sub.terminalId, slice.data, sub.next, slice.next), next: slice.next };
      // Only whole chunks are shared: a partial one (up to the current end) grows later.
      // (The end may sit up to 3 bytes before the boundary, at the start of a character.)
      if (shared && slice.next > boundary - 4) {
        if (this.#replayCache.size >= REPLAY_CACHE_ENTRIES) this.#replayCache.delete(this.#replayCache.keys().next().value!);
        this.#replayCache.set(key, chunk);
      }
    }
    sub.session.send(chunk.frame);
    sub.next = chunk.next;
    this.#flushPending(sub, sub.next);
  }

  #caughtUp(sub: Subscription): void {
    sub.lagging = false;
    this.#flushPending(sub, Infinity);
    // The terminal was closed meanwhile: its closed frame was the last pending one.
    if (sub.tail) this.#removeSubscription(sub);
  }

  #flushPending(sub: Subscription, upTo: number): void {
    while (sub.pending.length > 0 && sub.pending[0]!.at <= upTo) {
      this.#sendControl(sub.session, sub.pending.shift()!.frame);
    }
  }

  // ---- shutdown -------------------------------------------------------------------

  /** Closes every socket with 1001 and waits (briefly) for the closing handshakes. */
  async shutdown(): Promise<void> {
    this.#shuttingDown = true;
    this.#detach?.();
    this.#detach = undefined;
    this.#flushBatches();
    clearTimeout(this.#batchTimer);
    if (this.#sessions.size > 0) {
      const done = new Promise<void>((resolve) => {
        this.#allClosed = resolve;
        setTimeout(resolve, CLOSE_GRACE_MS + 100);
      });
      for (const session of [...this.#sessions.values()]) {
        this.#closeSession(session, CLOSE_GOING_AWAY, 'server shutting down');
      }
      await done;
    }
    clearInterval(this.#sweep);
    this.#sweep = undefined;
  }
}


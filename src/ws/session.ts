/**
 * One WebSocket connection: sending, the bound on what may queue behind a
 * client that stopped reading, closing with a grace period, the idle check,
 * and the poll timer the catch-up pump falls back on.
 */
import type { Principal } from '../credentials.ts';
import type { WsConnection } from '../platform.ts';

/** Close codes (documented in docs/websocket.md). */
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_IDLE = 4000;
/** The credential the connection was opened with was revoked (or rotated with closeSockets). */
export const CLOSE_TOKEN_REVOKED = 4001;
export const CLOSE_SLOW_CONSUMER = 4008;

/** How long a closing socket gets to finish its closing handshake before it is dropped. */
export const CLOSE_GRACE_MS = 2000;
/**
 * A connection whose queue exceeds high-water by this much is not reading at
 * all: output alone never gets there (it stops at high-water plus one frame),
 * only answers and events piling up behind a stalled reader do.
 */
const CONTROL_ALLOWANCE_BYTES = 4 * 1024 * 1024;
/**
 * How soon a lagging connection is looked at again when no drain signal comes
 * (Deno has none): 1 ms while it is making progress — an idle gap between the
 * queue draining and the next look is throughput lost — backing off to 64 ms
 * while it is not (a stalled reader).
 */
const POLL_MIN_MS = 1;
const POLL_MAX_MS = 64;

export interface WsLimits {
  wsIdleTimeoutMs: number;
  wsHighWaterBytes: number;
  scrollbackBytes: number;
}

/** What a session needs from the hub (one object shared by every session). */
export interface SessionHost {
  limits(): WsLimits;
  /** The session takes no more frames: drop its subscriptions. May be called again when it is gone. */
  stopped(session: Session): void;
  /** The socket is gone for good (called once): forget the session. */
  gone(session: Session): void;
}

export class Session {
  /** When the client last sent a frame. */
  lastSeen = Date.now();
  readonly #host: SessionHost;
  #closing = false;
  #gone = false;
  #killTimer: ReturnType<typeof setTimeout> | undefined;
  #pollTimer: ReturnType<typeof setTimeout> | undefined;
  #pollDelay = POLL_MIN_MS;

  /** `principal`: who opened it, so revoking that credential can close it. */
  constructor(
    readonly connection: WsConnection,
    readonly principal: Principal,
    host: SessionHost,
  ) {
    this.#host = host;
  }

  /** Closing or gone: nothing more is sent. */
  get closing(): boolean {
    return this.#closing;
  }

  /** Sends a frame; a socket that refuses it is on its way out, and its close event will follow. */
  send(frame: string): void {
    try {
      this.connection.send(frame);
    } catch {
      this.#closing = true;
    }
  }

  /** Sends an answer or lifecycle frame, which is never skipped; a queue past every bound means the client stopped reading. */
  sendControl(frame: string): void {
    if (this.#closing) return;
    this.send(frame);
    if (this.connection.bufferedAmount() > this.#host.limits().wsHighWaterBytes + CONTROL_ALLOWANCE_BYTES) {
      this.close(CLOSE_SLOW_CONSUMER, 'slow consumer: send queue over its limit; reconnect');
    }
  }

  /** Closes it with 4000 when the client has sent no frame for more than `idleMs`. */
  closeIfIdle(now: number, idleMs: number): void {
    if (!this.#closing && now - this.lastSeen > idleMs) {
      this.close(CLOSE_IDLE, `idle timeout: no frame for ${idleMs} ms (send {"type":"heartbeat"})`);
    }
  }

  /** Starts the closing handshake; a peer that does not finish it within CLOSE_GRACE_MS is dropped. */
  close(code: number, reason: string): void {
    if (this.#closing) return;
    this.#stop();
    this.#killTimer = setTimeout(() => {
      this.connection.terminate?.();
      this.gone();
    }, CLOSE_GRACE_MS);
    try {
      this.connection.close(code, reason);
    } catch {
      this.gone();
    }
  }

  /** The socket is gone: its close event came, or it was dropped. */
  gone(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#stop();
    clearTimeout(this.#killTimer);
    this.#host.gone(this);
  }

  #stop(): void {
    this.#closing = true;
    this.#host.stopped(this);
    clearTimeout(this.#pollTimer);
    this.#pollTimer = undefined;
  }

  /** The catch-up pump is running now: its pending poll is void, and the next one waits longer unless the queue had room. */
  pumped(progressed: boolean): void {
    clearTimeout(this.#pollTimer);
    this.#pollTimer = undefined;
    this.#pollDelay = progressed ? POLL_MIN_MS : Math.min(POLL_MAX_MS, this.#pollDelay * 2);
  }

  /**
   * Runs `pump` after the poll delay unless a run is already due. The drain
   * event (where the runtime has one) usually comes first; this timer is the
   * fallback that needs nothing from the runtime.
   */
  pollLater(pump: (session: Session) => void): void {
    if (this.#pollTimer !== undefined || this.#closing) return;
    this.#pollTimer = setTimeout(() => {
      this.#pollTimer = undefined;
      pump(this);
    }, this.#pollDelay);
  }
}

/**
 * The open connections, one Session each from open to gone: the idle sweep
 * over them, closing those of a revoked credential, and closing all of them
 * at shutdown.
 */
import type { Principal } from '../credentials.ts';
import type { WsConnection } from '../platform.ts';
import { CLOSE_GOING_AWAY, CLOSE_GRACE_MS, Session, type SessionHost, type WsLimits } from './session.ts';

export class Connections {
  readonly #sessions = new Map<WsConnection, Session>();
  readonly #limits: () => WsLimits;
  readonly #host: SessionHost;
  #sweep: ReturnType<typeof setInterval> | undefined;
  #shuttingDown = false;
  #allClosed: (() => void) | undefined;

  /** `stopped`: a session takes no more frames (closing, or gone), so its subscriptions can go. */
  constructor(limits: () => WsLimits, stopped: (session: Session) => void) {
    this.#limits = limits;
    this.#host = { limits, stopped, gone: (session) => this.#gone(session) };
  }

  get size(): number {
    return this.#sessions.size;
  }

  get(connection: WsConnection): Session | undefined {
    return this.#sessions.get(connection);
  }

  [Symbol.iterator](): IterableIterator<Session> {
    return this.#sessions.values();
  }

  /** A socket opened: its session, or undefined while shutting down (the socket is closed with 1001 at once). */
  open(connection: WsConnection, principal: Principal): Session | undefined {
    const session = new Session(connection, principal, this.#host);
    this.#sessions.set(connection, session);
    if (this.#shuttingDown) {
      session.close(CLOSE_GOING_AWAY, 'server shutting down');
      return undefined;
    }
    const idle = this.#limits().wsIdleTimeoutMs;
    if (this.#sweep === undefined && idle > 0) {
      this.#sweep = setInterval(() => this.#sweepIdle(), Math.max(20, Math.min(1000, Math.floor(idle / 4))));
    }
    return session;
  }

  /** Closes every connection opened by a principal `matches` picks (a revoked token's), with `code`. */
  closeWhere(matches: (principal: Principal) => boolean, code: number, reason: string): number {
    let closed = 0;
    for (const session of this.#sessions.values()) {
      if (session.closing || !matches(session.principal)) continue;
      session.close(code, reason);
      closed++;
    }
    return closed;
  }

  /** Closes every socket with 1001, refuses new ones, and waits (briefly) for the closing handshakes. */
  async shutdown(): Promise<void> {
    this.#shuttingDown = true;
    if (this.#sessions.size > 0) {
      const done = new Promise<void>((resolve) => {
        this.#allClosed = resolve;
        setTimeout(resolve, CLOSE_GRACE_MS + 100);
      });
      for (const session of [...this.#sessions.values()]) session.close(CLOSE_GOING_AWAY, 'server shutting down');
      await done;
    }
    clearInterval(this.#sweep);
    this.#sweep = undefined;
  }

  #sweepIdle(): void {
    const idle = this.#limits().wsIdleTimeoutMs;
    if (idle <= 0) return;
    const now = Date.now();
    for (const session of this.#sessions.values()) session.closeIfIdle(now, idle);
  }

  #gone(session: Session): void {
    this.#sessions.delete(session.connection);
    if (this.#sessions.size === 0) {
      clearInterval(this.#sweep);
      this.#sweep = undefined;
      this.#allClosed?.();
    }
  }
}

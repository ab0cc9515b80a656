/**
 * The /ws protocol (docs/websocket.md), written once against
 * WsConnection. The hub dispatches client frames and terminal events and
 * wires the parts: handshake.ts (the upgrade checks), connections.ts (the open
 * sessions), session.ts (one connection), subscription.ts (one subscription,
 * and how flow control works), registry.ts (who subscribes to what), live.ts
 * (live output) and catch-up.ts (the scrollback a lagging subscription is owed).
 */
import type { Context } from 'hono';
import type { AuditLog } from '../audit.ts';
import { LOCAL, type Principal } from '../credentials.ts';
import { requireVisible, seesTerminal } from '../scopes.ts';
import { TermgateError } from '../errors.ts';
import type { Platform, WsConnection, WsHandlers } from '../platform.ts';
import type { TerminalEvent, TerminalManager } from '../terminals/types.ts';
import { VERSION } from '../version.ts';
import { CatchUp } from './catch-up.ts';
import { runCommand } from './commands.ts';
import { Connections } from './connections.ts';
import {
  type ClientFrame,
  type FrameId,
  FrameError,
  errorFrame,
  lifecycleFrame,
  parseClientFrame,
  successFrame,
  welcomeFrame,
} from './frames.ts';
import { checkHandshake } from './handshake.ts';
import { LiveOutput } from './live.ts';
import { Registry } from './registry.ts';
import { CLOSE_SLOW_CONSUMER, CLOSE_TOKEN_REVOKED, type Session, type WsLimits } from './session.ts';
import { Subscription } from './subscription.ts';

export { CLOSE_GOING_AWAY, CLOSE_IDLE, CLOSE_SLOW_CONSUMER, CLOSE_TOKEN_REVOKED, type WsLimits } from './session.ts';

/** What the hub needs from the core (the Core itself in the server; a stand-in in unit tests). */
export interface WsHost {
  readonly platform: Pick<Platform, 'runtime' | 'upgradeWebSocket' | 'log'>;
  readonly config: { readonly current: { readonly limits: WsLimits } };
  readonly terminals: TerminalManager;
  /** Where command frames that change something are recorded (absent: not recorded). */
  readonly audit?: AuditLog | undefined;
  onShutdown(hook: () => void | Promise<void>): void;
}

type LifecycleEvent = Exclude<TerminalEvent, { type: 'output.data' }>;

export class WsHub {
  readonly #core: WsHost;
  readonly #welcome: string;
  readonly #connections: Connections;
  readonly #registry: Registry;
  readonly #catchUp: CatchUp;
  readonly #live: LiveOutput;
  #detach: (() => void) | undefined;

  readonly handlers: WsHandlers = {
    onOpen: (connection) => this.#open(connection, LOCAL, () => true),
    onMessage: (connection, data) => this.#message(connection, data),
    onClose: (connection) => this.#connections.get(connection)?.gone(),
    onDrain: (connection) => {
      const session = this.#connections.get(connection);
      if (session) this.#catchUp.pump(session);
    },
  };

  constructor(core: WsHost) {
    this.#core = core;
    this.#welcome = welcomeFrame(VERSION, core.platform.runtime);
    const limits = (): WsLimits => core.config.current.limits;
    this.#registry = new Registry((terminalId) => this.#catchUp.forget(terminalId));
    this.#catchUp = new CatchUp(core.terminals, this.#registry, limits);
    this.#live = new LiveOutput(this.#registry, this.#catchUp, limits);
    this.#connections = new Connections(limits, (session) => this.#registry.dropSession(session));
    // One listener for every terminal and connection: events fan out from here.
    this.#detach = core.terminals.subscribe((event) => {
      try {
        if (event.type === 'output.data') this.#live.output(event.terminalId, event.content, event.offset, event.next);
        else this.#lifecycle(event);
      } catch (error) {
        // The manager calls us from inside its PTY callbacks: never throw back into it.
        core.platform.log(`websocket: ${String(error)}`);
      }
    });
    core.onShutdown(() => this.shutdown());
  }

  /** Open connections (for tests and status). */
  get size(): number {
    return this.#connections.size;
  }

  /**
   * The /ws and /api/ws handler: the gate has already admitted the request, as
   * `principal`. `stillAdmitted` is asked again when the socket opens, which on
   * some runtimes (Deno) is a task later: a token revoked in between must not
   * get a socket.
   */
  upgrade(c: Context, principal: Principal, stillAdmitted: () => boolean = () => true): Response | Promise<Response> {
    const protocol = checkHandshake((name) => c.req.header(name));
    const handlers: WsHandlers = { ...this.handlers, onOpen: (connection) => this.#open(connection, principal, stillAdmitted) };
    return this.#core.platform.upgradeWebSocket(c, { protocol, handlers });
  }

  /** Closes every connection opened by a principal `matches` picks (a revoked token's), with `code`. */
  closeWhere(matches: (principal: Principal) => boolean, code: number, reason: string): number {
    return this.#connections.closeWhere(matches, code, reason);
  }

  /** Closes every socket with 1001 and waits (briefly) for the closing handshakes. */
  async shutdown(): Promise<void> {
    this.#detach?.();
    this.#detach = undefined;
    this.#live.stop();
    await this.#connections.shutdown();
  }

  #open(connection: WsConnection, principal: Principal, stillAdmitted: () => boolean): void {
    const session = this.#connections.open(connection, principal);
    if (session === undefined) return;
    if (!stillAdmitted()) session.close(CLOSE_TOKEN_REVOKED, 'token revoked');
    else session.send(this.#welcome);
  }

  // ---- client frames ---------------------------------------------------------

  #message(connection: WsConnection, data: string | ArrayBuffer): void {
    const session = this.#connections.get(connection);
    if (!session || session.closing) return;
    session.lastSeen = Date.now();
    let frame: ClientFrame;
    try {
      frame = parseClientFrame(data);
    } catch (error) {
      const frameError = error instanceof FrameError ? error : undefined;
      const message = error instanceof Error ? error.message : 'frame: invalid';
      session.sendControl(errorFrame(frameError?.id ?? null, 'bad_request', message, frameError?.type));
      return;
    }
    switch (frame.type) {
      case 'heartbeat':
        session.sendControl(successFrame(frame.id, { time: new Date().toISOString() }, 'heartbeat'));
        return;
      case 'subscribe':
        try {
          this.#subscribe(session, frame.id, frame.terminalId, frame.since);
        } catch (error) {
          this.#sendError(session, frame.id, error, frame.type);
        }
        return;
      case 'unsubscribe': {
        const sub = this.#registry.get(session, frame.terminalId);
        if (sub) {
          // Held lifecycle frames (exit, closed) go to every connection, subscribed or not.
          sub.flushPending();
          this.#registry.remove(sub);
        }
        session.sendControl(successFrame(frame.id, { terminalId: frame.terminalId }, 'unsubscribe'));
        return;
      }
      case 'command':
        void this.#command(session, frame.id, frame.command, frame.params);
        return;
    }
  }

  /**
   * Reads and registers in one synchronous step: the manager delivers events
   * synchronously, so no output can slip in between the read and the
   * registration — the replay and the live stream meet at exactly `next`.
   */
  #subscribe(session: Session, id: FrameId | undefined, terminalId: string, since: number | undefined): void {
    const terminals = this.#core.terminals;
    // Subscribing is reading (every scope may); a terminal the token may not see does not exist for it.
    requireVisible(session.principal, terminalId);
    const info = terminals.get(terminalId);
    // Pending live output goes to the existing subscribers; the new one starts after (or replays) it.
    this.#live.flush(terminalId);
    const existing = this.#registry.get(session, terminalId);
    if (existing) this.#registry.remove(existing);
    // Reading one character validates `since` (past the end is a bad_request) and finds where
    // the replay really starts (later, when older output already left the scrollback).
    const start = since === undefined ? undefined : terminals.read(terminalId, since, 1);
    const end = this.#registry.end(terminalId) ?? terminals.outputEnd(terminalId);
    const sub = new Subscription(session, terminalId, start?.since ?? end, end);
    this.#registry.add(sub);
    const ack = { terminalId, since: sub.next, next: end, dropped: start?.dropped ?? 0, exited: info.exited, exitCode: info.exitCode };
    session.sendControl(successFrame(id, ack, 'subscribe'));
    if (sub.lagging) this.#catchUp.pump(session);
  }

  /**
   * Without an id, only a failure is answered (id null, type "command", the
   * message naming the command): an answer to every keystroke wakes the
   * client while the echo is on its way, about 0.2 ms of echo latency here.
   */
  async #command(session: Session, id: FrameId | undefined, command: string, params: Record<string, unknown> | undefined): Promise<void> {
    try {
      // Scope and terminal checks per frame, in invoke(): a refused frame is answered (forbidden), the connection stays open.
      const data = await runCommand(this.#core.terminals, command, params, { principal: session.principal, door: 'ws', audit: this.#core.audit });
      if (id !== undefined) session.sendControl(successFrame(id, data ?? {}));
    } catch (error) {
      if (id !== undefined) this.#sendError(session, id, error);
      else if (error instanceof TermgateError) session.sendControl(errorFrame(null, error.code, `${command}: ${error.message}`, 'command'));
      else this.#sendError(session, undefined, error, 'command');
    }
  }

  #sendError(session: Session, id: FrameId | undefined, error: unknown, type?: string): void {
    if (error instanceof TermgateError) {
      session.sendControl(errorFrame(id, error.code, error.message, type));
      return;
    }
    this.#core.platform.log(`websocket: internal error: ${String(error)}`);
    session.sendControl(errorFrame(id, 'internal', 'internal server error', type));
  }

  // ---- terminal events -------------------------------------------------------

  /** Created, resized, exit, closed: to every connection; command events to the terminal's subscribers; after the output that came before. */
  #lifecycle(event: LifecycleEvent): void {
    this.#live.flush(event.terminalId);
    const frame = lifecycleFrame(event);
    const end = this.#registry.end(event.terminalId) ?? 0;
    const closed = event.type === 'terminal.closed';
    // A command's events concern those who watch its terminal; the terminal's own events go to everyone.
    const subscribersOnly = event.type === 'command.started' || event.type === 'command.finished';
    for (const session of this.#connections) {
      // A token limited to other terminals never hears of this one.
      if (!seesTerminal(session.principal, event.terminalId)) continue;
      const sub = this.#registry.get(session, event.terminalId);
      if (subscribersOnly && !sub) continue;
      if (session.closing) {
        if (sub && closed) this.#registry.remove(sub);
        continue;
      }
      if (sub && closed) {
        // Still owed output: keep the scrollback and finish at the client's pace; closed follows it.
        if (sub.lagging) sub.keepTail(this.#core.terminals.reader(event.terminalId));
        else {
          sub.flushPending();
          this.#registry.remove(sub);
        }
      }
      if (!sub?.lagging) session.sendControl(frame);
      else if (!sub.hold(end, frame)) {
        session.close(CLOSE_SLOW_CONSUMER, 'slow consumer: too many events queued; reconnect and subscribe with since');
      }
    }
    if (closed) this.#registry.closed(event.terminalId);
  }
}

// @ts-check
/**
 * The /ws stream (docs/websocket.md) with reconnect.
 *
 * Each subscription remembers `next`, the offset just after the last byte the
 * page has shown. After a drop it is renewed with `since: next`, so the server
 * replays exactly what was missed. Output is also deduplicated here by offset,
 * so even an overlapping replay can never print anything twice.
 *
 * In exposed mode the token travels as the `bearer.<token>` subprotocol next to
 * `termgate.v1` (the server answers `termgate.v1`, never echoing the secret),
 * so it stays out of URLs and logs.
 */
import { auth } from './api.js';

/** Well inside the server's idle timeout (60 s by default). */
const HEARTBEAT_MS = 20_000;
/** Reconnect delays; the last one repeats. */
const RETRY_MS = [200, 500, 1000, 2000, 4000, 8000];
const COMMAND_TIMEOUT_MS = 15_000;
/** Commands typed while disconnected wait, up to this much, and are sent on reconnect. */
const MAX_QUEUED_CHARS = 64 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * @typedef {object} Sink where one terminal's output goes
 * @property {(text: string, next: number) => void} write `next`: the offset after `text`
 * @property {(droppedBytes: number) => void} dropped older output had left the server's scrollback
 * @property {(state: { exited: boolean, exitCode: number | null }) => void} status
 * @property {() => void} gone the terminal no longer exists
 * @property {() => void} [subscribed] the server confirmed the subscription (also each renewal): from
 *   here on this terminal's events reach the page, so what is fetched now misses nothing
 * @property {(next: number) => Promise<number>} [resume] before a renewal after a reconnect: the
 *   offset to resume from (`next`, to replay what was missed; or a later one, when the sink
 *   reloaded itself from a screen snapshot instead)
 */

/**
 * @typedef {object} Subscription
 * @property {Sink} sink
 * @property {number} next offset after the last byte shown (0: nothing shown yet)
 */

/** @typedef {'connecting' | 'open' | 'reconnecting'} StreamState */

export class Stream {
  /** @type {WebSocket | null} */
  #ws = null;
  #welcomed = false;
  /** Whether a connection was ever welcomed: later welcomes are renewals (Sink.resume). */
  #renewing = false;
  #attempt = 0;
  #nextId = 1;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #heartbeat;
  /** @type {Map<string, Subscription>} */
  #subscriptions = new Map();
  /** Answers awaited, by frame id; `sent` is false while the frame waits in the queue. @type {Map<string, { resolve: (data: any) => void, reject: (error: Error) => void, timer: ReturnType<typeof setTimeout>, sent: boolean }>} */
  #pending = new Map();
  /** Command frames waiting for a connection. @type {string[]} */
  #queue = [];
  #queuedChars = 0;
  #onState;
  #onEvent;
  #onWelcome;
  #onSendFailed;
  /**
   * Frames sent by send() on this socket, and how many of them a heartbeat's
   * answer has confirmed (the server handles a socket's frames in order). If
   * the socket dies with some unconfirmed, they may not have arrived.
   */
  #sentKeys = 0;
  #confirmedKeys = 0;
  #heartbeatCovers = 0;

  /**
   * @param {object} handlers
   * @param {(state: StreamState, detail: string) => void} handlers.onState
   * @param {(event: { type: string, terminalId: string, data: any }) => void} handlers.onEvent lifecycle events (created, exit, closed, resized)
   * @param {() => void} handlers.onWelcome each (re)connection, after subscriptions were renewed
   * @param {(message: string) => void} handlers.onSendFailed a command sent with send() failed (the message names it)
   */
  constructor({ onState, onEvent, onWelcome, onSendFailed }) {
    this.#onState = onState;
    this.#onEvent = onEvent;
    this.#onWelcome = onWelcome;
    this.#onSendFailed = onSendFailed;
  }

  connect() {
    this.#welcomed = false;
    this.#onState(this.#attempt === 0 ? 'connecting' : 'reconnecting', '');
    const url = new URL('/ws', location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const protocols = auth.token ? ['termgate.v1', `bearer.${auth.token}`] : ['termgate.v1'];
    const ws = new WebSocket(url, protocols);
    this.#ws = ws;
    ws.onmessage = (message) => {
      if (typeof message.data === 'string') this.#frame(message.data);
    };
    ws.onclose = (close) => {
      if (this.#ws !== ws) return;
      this.#ws = null;
      this.#lost(close.code, close.reason);
    };
  }

  /**
   * Streams a terminal into `sink` (replacing an earlier subscription), from offset `since`
   * (0: everything the server still holds).
   * @param {string} terminalId
   * @param {Sink} sink
   * @param {number} [since]
   */
  subscribe(terminalId, sink, since = 0) {
    this.#subscriptions.set(terminalId, { sink, next: since });
    if (this.#welcomed) this.#sendSubscribe(terminalId);
  }

  /** @param {string} terminalId */
  unsubscribe(terminalId) {
    if (!this.#subscriptions.delete(terminalId)) return;
    if (this.#welcomed) this.#send({ type: 'unsubscribe', terminalId });
  }

  /**
   * A command frame without an id, for keystrokes: the server answers only a
   * failure (onSendFailed), so no answer to each key wakes the page while the
   * echo is on its way (docs/websocket.md). Queued like command() while disconnected.
   * @param {string} command e.g. "terminal.input"
   * @param {Record<string, unknown>} params
   */
  send(command, params) {
    const frame = JSON.stringify({ type: 'command', command, params });
    if (this.#welcomed && this.#ws?.readyState === WebSocket.OPEN) {
      this.#ws.send(frame);
      this.#sentKeys++;
    }
    else if (this.#queuedChars + frame.length > MAX_QUEUED_CHARS) this.#onSendFailed(`${command}: not connected, too much input waiting; dropped`);
    else {
      this.#queue.push(frame);
      this.#queuedChars += frame.length;
    }
  }

  /**
   * A command frame; resolves with the answer's `data`. While disconnected the
   * frame waits (bounded) and goes out after reconnecting.
   * @param {string} command e.g. "terminal.input"
   * @param {Record<string, unknown>} params
   * @returns {Promise<any>}
   */
  command(command, params) {
    const id = `c${this.#nextId++}`;
    const frame = JSON.stringify({ id, type: 'command', command, params });
    return new Promise((resolve, reject) => {
      const sent = this.#welcomed;
      if (sent) this.#ws?.send(frame);
      else if (this.#queuedChars + frame.length > MAX_QUEUED_CHARS) {
        reject(new Error('not connected: too much input waiting, dropped'));
        return;
      } else {
        this.#queue.push(frame);
        this.#queuedChars += frame.length;
      }
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${command}: no answer in ${COMMAND_TIMEOUT_MS / 1000} s`));
      }, COMMAND_TIMEOUT_MS);
      this.#pending.set(id, { resolve, reject, timer, sent });
    });
  }

  /** @param {object} frame */
  #send(frame) {
    this.#ws?.send(JSON.stringify(frame));
  }

  /**
   * A subscription again after a reconnect, from where its sink says (see Sink.resume).
   * @param {string} terminalId
   */
  async #renew(terminalId) {
    const subscription = this.#subscriptions.get(terminalId);
    if (!subscription) return;
    const ws = this.#ws;
    if (subscription.sink.resume) {
      const since = await subscription.sink.resume(subscription.next).catch(() => subscription.next);
      // Replaced, unsubscribed or disconnected meanwhile: the next welcome renews it.
      if (this.#subscriptions.get(terminalId) !== subscription || this.#ws !== ws || !this.#welcomed) return;
      subscription.next = since;
    }
    this.#sendSubscribe(terminalId);
  }

  /** @param {string} terminalId */
  #sendSubscribe(terminalId) {
    const subscription = this.#subscriptions.get(terminalId);
    if (!subscription) return;
    const id = `s${this.#nextId++}`;
    this.#pending.set(id, {
      resolve: (/** @type {any} */ ack) => {
        if (this.#subscriptions.get(terminalId) !== subscription) return;
        if (ack.dropped > 0) subscription.sink.dropped(ack.dropped);
        if (ack.since > subscription.next) subscription.next = ack.since;
        subscription.sink.status({ exited: ack.exited, exitCode: ack.exitCode });
        subscription.sink.subscribed?.();
      },
      reject: (error) => {
        if (this.#subscriptions.get(terminalId) !== subscription) return;
        if (/** @type {any} */ (error).code === 'not_found') {
          this.#subscriptions.delete(terminalId);
          subscription.sink.gone();
        }
      },
      timer: setTimeout(() => this.#pending.delete(id), COMMAND_TIMEOUT_MS),
      sent: true,
    });
    this.#send({ id, type: 'subscribe', terminalId, since: subscription.next });
  }

  /** @param {string} text */
  #frame(text) {
    /** @type {any} */
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    if (frame.type === 'event' && frame.event) {
      const event = frame.event;
      if (event.type === 'output.data') this.#output(event.terminalId, event.data);
      else this.#onEvent(event);
      return;
    }
    if (frame.id === 'welcome') {
      this.#welcome();
      return;
    }
    if (frame.id === null && frame.type === 'heartbeat') {
      this.#confirmedKeys = this.#heartbeatCovers;
      return;
    }
    if (frame.id === null && frame.type === 'command' && frame.success === false) {
      this.#onSendFailed(frame.error?.message ?? 'a command failed');
      return;
    }
    const pending = frame.id === null || frame.id === undefined ? undefined : this.#pending.get(String(frame.id));
    if (!pending) return;
    this.#pending.delete(String(frame.id));
    clearTimeout(pending.timer);
    if (frame.success) pending.resolve(frame.data);
    else pending.reject(Object.assign(new Error(frame.error?.message ?? 'failed'), { code: frame.error?.code }));
  }

  #welcome() {
    this.#welcomed = true;
    this.#attempt = 0;
    this.#onState('open', '');
    clearInterval(this.#heartbeat);
    this.#heartbeat = setInterval(() => {
      this.#heartbeatCovers = this.#sentKeys;
      this.#send({ type: 'heartbeat' });
    }, HEARTBEAT_MS);
    const renewal = this.#renewing;
    this.#renewing = true;
    for (const terminalId of this.#subscriptions.keys()) {
      if (renewal) void this.#renew(terminalId);
      else this.#sendSubscribe(terminalId);
    }
    const queued = this.#queue.splice(0);
    this.#queuedChars = 0;
    for (const frame of queued) this.#ws?.send(frame);
    for (const pending of this.#pending.values()) pending.sent = true;
    this.#onWelcome();
  }

  /**
   * @param {string} terminalId
   * @param {{ content: string, offset: number, next: number }} data
   */
  #output(terminalId, { content, offset, next }) {
    const subscription = this.#subscriptions.get(terminalId);
    if (!subscription || next <= subscription.next) return;
    let text = content;
    if (offset < subscription.next) {
      // Overlaps what was shown: keep only the bytes after it.
      text = decoder.decode(encoder.encode(content).subarray(subscription.next - offset));
    }
    subscription.next = next;
    subscription.sink.write(text, next);
  }

  /**
   * @param {number} code
   * @param {string} reason
   */
  #lost(code, reason) {
    clearInterval(this.#heartbeat);
    this.#welcomed = false;
    // Keys sent without an id are never pending: say that some may not have arrived.
    if (this.#sentKeys > this.#confirmedKeys) this.#onSendFailed('connection lost: the last keys typed may not have arrived');
    this.#sentKeys = this.#confirmedKeys = this.#heartbeatCovers = 0;
    // Frames that went out on the lost socket get no answer; queued ones still go.
    for (const [id, pending] of this.#pending) {
      if (!pending.sent) continue;
      clearTimeout(pending.timer);
      pending.reject(new Error('connection lost'));
      this.#pending.delete(id);
    }
    const delay = RETRY_MS[Math.min(this.#attempt, RETRY_MS.length - 1)] ?? 8000;
    this.#attempt++;
    this.#onState('reconnecting', reason || `closed (${code})`);
    setTimeout(() => this.connect(), delay);
  }
}

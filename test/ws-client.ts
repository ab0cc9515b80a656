/**
 * A /ws client for tests and benchmarks (the `ws` package), plus a raw
 * upgrade request (node:http) for checks on the handshake itself: status,
 * headers and the selected subprotocol, with any Host or protocol list.
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import WebSocket from 'ws';

export interface OutputData {
  content: string;
  offset: number;
  next: number;
}

export type Frame = Record<string, any>;

export interface OpenOptions {
  protocols?: string[];
  headers?: Record<string, string>;
  /** For wss://: trust this CA (PEM), as a test certificate needs (test/tls-fixture.ts). */
  ca?: string;
  /** A node:net `lookup` (test/tls-fixture.ts lookupTo): reach a proxy's name on loopback. */
  lookup?: (...args: any[]) => void;
  /** Called for each output.data event instead of storing it (high-volume streams). */
  onOutput?: (terminalId: string, data: OutputData) => void;
  /**
   * Called with only the offsets of each output.data event, read from the end of
   * the frame without parsing it: a reader cheap enough to keep up with a PTY
   * on a busy machine.
   */
  onOutputOffsets?: (offset: number, next: number) => void;
}

const OUTPUT_PREFIX = Buffer.from('{"type":"event","event":{"type":"output.data"');
const OFFSETS = /"offset":(\d+),"next":(\d+)\}\}\}$/;

/** Output of one terminal as received: the text and whether every frame started where the last ended. */
export class Received {
  readonly chunks: string[] = [];
  start = -1;
  next = -1;
  contiguous = true;

  add(data: OutputData): void {
    if (this.start < 0) this.start = data.offset;
    else if (data.offset !== this.next) this.contiguous = false;
    this.next = data.next;
    this.chunks.push(data.content);
  }

  get text(): string {
    return this.chunks.join('');
  }
}

export class TestSocket {
  /** Every frame except output.data, in arrival order. */
  readonly frames: Frame[] = [];
  /** Output per terminal (when no onOutput handler was given). */
  readonly output = new Map<string, Received>();
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters: { match: (frame: Frame) => boolean; resolve: (frame: Frame) => void }[] = [];
  #ids = 0;

  private constructor(
    readonly ws: WebSocket,
    options: OpenOptions,
  ) {
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('message', (data, isBinary) => {
      const bytes = data as Buffer;
      if (options.onOutputOffsets && !isBinary && bytes.length > OUTPUT_PREFIX.length && bytes.subarray(0, OUTPUT_PREFIX.length).equals(OUTPUT_PREFIX)) {
        const match = OFFSETS.exec(bytes.toString('latin1', Math.max(0, bytes.length - 64)))!;
        options.onOutputOffsets(Number(match[1]), Number(match[2]));
        return;
      }
      const frame = JSON.parse(isBinary ? Buffer.from(data as Buffer).toString('utf8') : data.toString());
      if (frame.type === 'event' && frame.event?.type === 'output.data') {
        const { terminalId, data: output } = frame.event;
        if (options.onOutput) options.onOutput(terminalId, output);
        else {
          let received = this.output.get(terminalId);
          if (!received) this.output.set(terminalId, (received = new Received()));
          received.add(output);
        }
        this.#check(frame);
        return;
      }
      this.frames.push(frame);
      this.#check(frame);
    });
  }

  static open(url: string, options: OpenOptions = {}): Promise<TestSocket> {
    const ws = new WebSocket(url, options.protocols ?? [], {
      headers: options.headers,
      ...(options.ca === undefined ? {} : { ca: options.ca }),
      ...(options.lookup === undefined ? {} : { lookup: options.lookup }),
      perMessageDeflate: false,
      // A high-volume reader skips re-validating the server's UTF-8, to keep up on a busy machine.
      skipUTF8Validation: options.onOutputOffsets !== undefined,
    });
    const socket = new TestSocket(ws, options);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(socket));
      ws.once('error', reject);
      ws.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused: ${response.statusCode}`)));
    });
  }

  #check(frame: Frame): void {
    for (const waiter of [...this.#waiters]) {
      if (waiter.match(frame)) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve(frame);
      }
    }
  }

  /** The first frame (already received or still to come) that matches. */
  waitFor(match: (frame: Frame) => boolean, timeoutMs = 10_000, what = 'frame'): Promise<Frame> {
    const seen = this.frames.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.findIndex((w) => w.resolve === done), 1);
        reject(new Error(`timed out waiting for ${what}; frames so far: ${JSON.stringify(this.frames).slice(-2000)}`));
      }, timeoutMs);
      const done = (frame: Frame) => {
        clearTimeout(timer);
        resolve(frame);
      };
      this.#waiters.push({ match, resolve: done });
    });
  }

  /** The answer with this id. */
  answer(id: string | number, timeoutMs = 10_000): Promise<Frame> {
    return this.waitFor((f) => f.id === id && 'success' in f, timeoutMs, `answer ${id}`);
  }

  /** An event of `type` for `terminalId`. */
  event(type: string, terminalId: string, timeoutMs = 10_000): Promise<Frame> {
    return this.waitFor(
      (f) => f.type === 'event' && f.event.type === type && f.event.terminalId === terminalId,
      timeoutMs,
      `${type} of ${terminalId}`,
    );
  }

  send(frame: string | Uint8Array | object): void {
    this.ws.send(typeof frame === 'string' || frame instanceof Uint8Array ? frame : JSON.stringify(frame));
  }

  /** Sends a frame with a fresh id and waits for its answer. */
  async request(frame: object, timeoutMs = 10_000): Promise<Frame> {
    const id = `r${++this.#ids}`;
    this.send({ ...frame, id });
    return this.answer(id, timeoutMs);
  }

  /** A command; resolves with its data, throws with its error. */
  async command<T = any>(command: string, params: object = {}, timeoutMs = 10_000): Promise<T> {
    const answer = await this.request({ type: 'command', command, params }, timeoutMs);
    if (!answer.success) throw new Error(`${command}: ${answer.error.code}: ${answer.error.message}`);
    return answer.data as T;
  }

  /** Waits until this terminal's output reaches `next` (or the text matches). */
  async outputUntil(terminalId: string, done: (received: Received) => boolean, timeoutMs = 10_000): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const received = this.output.get(terminalId);
      if (received && done(received)) return received;
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for output of ${terminalId}: ${JSON.stringify(received?.text.slice(-500))}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  close(): Promise<{ code: number; reason: string }> {
    this.ws.close();
    return this.closed;
  }
}

export const wsUrl = (httpUrl: string, path = '/ws') => httpUrl.replace(/^http/, 'ws') + path;

export interface RawUpgrade {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A bare upgrade request: shows exactly what the server answers (101 or a refusal) to any headers ('' leaves one out). */
export function rawUpgrade(url: string, headers: Record<string, string> = {}): Promise<RawUpgrade> {
  const target = new URL(url);
  const sent: Record<string, string> = {
    connection: 'Upgrade',
    upgrade: 'websocket',
    'sec-websocket-version': '13',
    'sec-websocket-key': randomBytes(16).toString('base64'),
    ...headers,
  };
  for (const [name, value] of Object.entries(sent)) if (value === '') delete sent[name];
  return new Promise((resolve, reject) => {
    const request = httpRequest({
      host: target.hostname,
      port: target.port,
      path: target.pathname + target.search,
      setHost: !Object.keys(headers).some((h) => h.toLowerCase() === 'host'),
      headers: sent,
      timeout: 10_000,
    });
    request.on('upgrade', (response, socket) => {
      socket.destroy();
      resolve({ status: response.statusCode ?? 0, headers: response.headers, body: '' });
    });
    request.on('response', (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    });
    request.on('timeout', () => request.destroy(new Error('upgrade request timed out')));
    request.on('error', reject);
    request.end();
  });
}

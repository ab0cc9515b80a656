/**
 * The API listener and how it moves (docs/connections.md): start, rebind to another host
 * or port inside the same process, close. The sequence lives here once; each
 * runtime only supplies `listen` (bind) and `Listening.close` (stop accepting).
 *
 * Why the two orders: on Linux, 0.0.0.0:P cannot be bound while 127.0.0.1:P
 * is, so a move that keeps the port closes first and binds second, re-binding
 * the old address if the new bind fails. A move to another port binds the new
 * port first, so a taken port costs nothing (409, old listener untouched), and
 * only then closes the old one.
 *
 * Closing never cuts a request in flight, so the client that asked for the
 * rebind gets its answer on the old connection.
 */
import { TermgateError } from './errors.ts';
import { type Mode, modeForBindHost } from './gate.ts';
import type { FetchHandler, Listen, Listening } from './platform.ts';

export interface ListenState {
  host: string;
  port: number;
  mode: Mode;
}

/**
 * A runtime may release a closed port a few milliseconds late (Deno does), so
 * a same-port bind is retried on EADDRINUSE for about a second.
 */
const RELEASE_RETRY_DELAYS_MS = [0, 5, 10, 20, 40, 80, 160, 250, 400];

export function isAddressInUse(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'EADDRINUSE';
}

export function urlFor(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export class Listener {
  readonly #listen: Listen;
  readonly #fetch: FetchHandler;
  readonly #log: (line: string) => void;
  #state: ListenState = { host: '127.0.0.1', port: 0, mode: 'local' };
  #current: Listening | undefined;
  /** Start, rebind and close run one at a time (two PUTs at once must not interleave). */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(listen: Listen, fetch: FetchHandler, log: (line: string) => void) {
    this.#listen = listen;
    this.#fetch = fetch;
    this.#log = log;
  }

  get state(): ListenState {
    return this.#state;
  }

  get url(): string {
    return urlFor(this.#state.host, this.#state.port);
  }

  /** Binds for the first time. Errors (EADDRINUSE…) reach the caller as the runtime threw them. */
  start(host: string, port: number): Promise<ListenState> {
    return this.#serial(async () => {
      this.#current = await this.#listen(host, port, this.#fetch);
      return this.#adopt(host, this.#current.port);
    });
  }

  /**
   * Moves the listener to host:port. Throws `conflict` naming the port when it
   * is taken; the old listener then keeps serving exactly as before.
   */
  rebind(host: string, port: number): Promise<ListenState> {
    return this.#serial(() => this.#moveFrom(this.#state, host, port));
  }

  async #moveFrom(from: ListenState, host: string, port: number): Promise<ListenState> {
    const old = this.#current;
    if (old === undefined) throw new TermgateError('internal', 'the server is not listening');
    if (host === from.host && port === from.port) return from;

    if (port !== from.port) {
      let next: Listening;
      try {
        next = await this.#listen(host, port, this.#fetch);
      } catch (error) {
        throw this.#bindError(error, host, port);
      }
      this.#current = next;
      const to = this.#adopt(host, next.port);
      await old.close().catch((error) => this.#log(`closing the old listener: ${String(error)}`));
      return to;
    }

    await old.close();
    try {
      this.#current = await this.#bindReleased(host, port);
      return this.#adopt(host, port);
    } catch (error) {
      try {
        this.#current = await this.#bindReleased(from.host, from.port);
      } catch (again) {
        this.#current = undefined;
        this.#log(`could not bind ${urlFor(host, port)} nor re-bind ${urlFor(from.host, from.port)}: ${String(again)}`);
        throw new TermgateError('internal', `the server lost its listener: ${String(again)}; restart termgate`);
      }
      throw this.#bindError(error, host, port);
    }
  }

  /** Stops accepting. Requests in flight still get their answers. */
  close(): Promise<void> {
    return this.#serial(async () => {
      const current = this.#current;
      this.#current = undefined;
      await current?.close();
    });
  }

  #adopt(host: string, port: number): ListenState {
    this.#state = { host, port, mode: modeForBindHost(host) };
    return this.#state;
  }

  async #bindReleased(host: string, port: number): Promise<Listening> {
    for (let attempt = 0; ; attempt++) {
      const delay = RELEASE_RETRY_DELAYS_MS[attempt];
      if (delay === undefined) throw Object.assign(new Error(`${urlFor(host, port)} stayed in use`), { code: 'EADDRINUSE' });
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      try {
        return await this.#listen(host, port, this.#fetch);
      } catch (error) {
        if (!isAddressInUse(error)) throw error;
      }
    }
  }

  #bindError(error: unknown, host: string, port: number): TermgateError {
    if (isAddressInUse(error)) {
      return new TermgateError(
        'conflict',
        `apiPort: port ${port} is already in use on ${host}; the server still listens on ${this.url}`,
      );
    }
    const code = (error as { code?: unknown } | null)?.code;
    return new TermgateError(
      'internal',
      `could not listen on ${urlFor(host, port)}${typeof code === 'string' ? ` (${code})` : ''}; the server still listens on ${this.url}`,
    );
  }

  #serial<T>(step: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(step);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

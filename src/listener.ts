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
 *
 * TLS and a Unix socket (docs/tls-and-unix.md) are fixed for the listener's
 * life: every bind, a rebind's too, uses the same options. A Unix-socket
 * listener is in local mode (only who can open the 0600 socket reaches it) and
 * does not move: there is no host or port to move to.
 */
import { TermgateError } from './errors.ts';
import { type Mode, modeForBindHost } from './gate.ts';
import type { FetchHandler, Listen, ListenOptions, Listening } from './platform.ts';

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

export function urlFor(host: string, port: number, scheme: 'http' | 'https' = 'http'): string {
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** How a Unix-socket listener names itself: in the listen line, `url` and the settings' bindHost. */
export function unixUrlFor(path: string): string {
  return `unix:${path}`;
}

export class Listener {
  readonly #listen: Listen;
  readonly #fetch: FetchHandler;
  readonly #log: (line: string) => void;
  readonly #options: ListenOptions;
  #state: ListenState = { host: '127.0.0.1', port: 0, mode: 'local' };
  #current: Listening | undefined;
  /** Start, rebind and close run one at a time (two PUTs at once must not interleave). */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(listen: Listen, fetch: FetchHandler, log: (line: string) => void, options: ListenOptions = {}) {
    this.#listen = listen;
    this.#fetch = fetch;
    this.#log = log;
    this.#options = options;
  }

  /** Serving HTTPS/WSS (--tls-cert/--tls-key). */
  get secure(): boolean {
    return this.#options.tls !== undefined;
  }

  get state(): ListenState {
    return this.#state;
  }

  get url(): string {
    const unixPath = this.#options.unixPath;
    return unixPath === undefined ? urlFor(this.#state.host, this.#state.port, this.secure ? 'https' : 'http') : unixUrlFor(unixPath);
  }

  /** Binds for the first time. Errors (EADDRINUSE…) reach the caller as the runtime threw them. */
  start(host: string, port: number): Promise<ListenState> {
    return this.#serial(async () => {
      this.#current = await this.#listen(host, port, this.#fetch, this.#options);
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
    if (this.#options.unixPath !== undefined) {
      throw new TermgateError(
        'conflict',
        `the server listens on the Unix socket ${this.#options.unixPath}: it has no host or port to move to (expose, apiPort); restart it without --unix for TCP`,
      );
    }

    if (port !== from.port) {
      let next: Listening;
      try {
        next = await this.#listen(host, port, this.#fetch, this.#options);
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
    const unixPath = this.#options.unixPath;
    this.#state = unixPath === undefined ? { host, port, mode: modeForBindHost(host) } : { host: unixUrlFor(unixPath), port: 0, mode: 'local' };
    return this.#state;
  }

  async #bindReleased(host: string, port: number): Promise<Listening> {
    for (let attempt = 0; ; attempt++) {
      const delay = RELEASE_RETRY_DELAYS_MS[attempt];
      if (delay === undefined) throw Object.assign(new Error(`${urlFor(host, port)} stayed in use`), { code: 'EADDRINUSE' });
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      try {
        return await this.#listen(host, port, this.#fetch, this.#options);
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

/**
 * The core: one object holding the config, credentials, gate and listener
 * state, and one web-standard `fetch` that every runtime serves unchanged.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ConfigStore } from './config.ts';
import { Credentials } from './credentials.ts';
import { TermgateError, errorResponse } from './errors.ts';
import { Gate, type GatePolicy, type Mode, modeForBindHost, pathOf } from './gate.ts';
import type { FetchHandler, Listening, Platform } from './platform.ts';
import { authRoutes } from './routes/auth.ts';
import { settingsRoutes } from './routes/settings.ts';
import { VERSION } from './version.ts';

/** How long the interface-address list is trusted before it is read again. */
const INTERFACE_CACHE_MS = 5000;

export interface CoreOptions {
  platform: Platform;
  config: ConfigStore;
}

export interface ListenState {
  host: string;
  port: number;
  mode: Mode;
}

export class Core {
  readonly platform: Platform;
  readonly config: ConfigStore;
  readonly credentials: Credentials;
  readonly gate: Gate;
  readonly app: Hono;
  /** Where the server listens now (updated by start/rebind). */
  listening: ListenState = { host: '127.0.0.1', port: 0, mode: 'local' };
  #listener: Listening | undefined;
  #interfaceHosts: { at: number; hosts: ReadonlySet<string> } = { at: -Infinity, hosts: new Set() };
  readonly #shutdownHooks: (() => void | Promise<void>)[] = [];

  constructor({ platform, config }: CoreOptions) {
    this.platform = platform;
    this.config = config;
    this.credentials = new Credentials(config, platform.envToken);
    this.gate = new Gate(this.credentials, () => this.#policy());
    this.app = this.#buildApp();
  }

  /** The one handler every runtime serves: gate first, then the routes. */
  readonly fetch: FetchHandler = (request, env) => {
    try {
      const verdict = this.gate.check(request, pathOf(request.url));
      if (verdict === null) return this.app.fetch(request, env);
      if (verdict instanceof Response) return verdict;
      return verdict.then((refusal) => refusal ?? this.app.fetch(request, env), errorResponse);
    } catch (error) {
      return errorResponse(error);
    }
  };

  #policy(): GatePolicy {
    const config = this.config.current;
    return {
      mode: this.listening.mode,
      allowedHosts: config.allowedHosts,
      allowedOrigins: config.allowedOrigins,
      interfaceHosts: () => this.#cachedInterfaceHosts(),
    };
  }

  #cachedInterfaceHosts(): ReadonlySet<string> {
    const now = Date.now();
    if (now - this.#interfaceHosts.at > INTERFACE_CACHE_MS) {
      const hosts = this.platform.system
        .interfaceAddresses()
        .map((address) => (address.includes(':') ? `[${address.toLowerCase()}]` : address));
      this.#interfaceHosts = { at: now, hosts: new Set(hosts) };
    }
    return this.#interfaceHosts.hosts;
  }

  health() {
    return {
      status: 'ok',
      name: 'termgate',
      version: VERSION,
      runtime: this.platform.runtime,
      mode: this.listening.mode,
    };
  }

  #buildApp(): Hono {
    const app = new Hono();
    const limits = this.config.current.limits;

    app.on(['GET', 'HEAD'], ['/health', '/api/health'], (c) => c.json(this.health()));
    // Only where a body is expected: on Node, bodyLimit touching `request.body`
    // of a GET turns @hono/node-server's lightweight request into a full one (-50% req/s).
    app.on(
      ['POST', 'PUT', 'PATCH'],
      '/api/*',
      bodyLimit({
        maxSize: limits.maxBodyBytes,
        onError: () => {
          throw new TermgateError('payload_too_large', `body: larger than the limit of ${limits.maxBodyBytes} bytes`);
        },
      }),
    );
    app.route('/api', authRoutes(this));
    app.route('/api/settings', settingsRoutes(this));

    app.notFound(() => new TermgateError('not_found', 'no such route').toResponse());
    app.onError((error) => {
      if (!(error instanceof TermgateError)) this.platform.log(`internal error: ${String(error)}`);
      return errorResponse(error);
    });
    return app;
  }

  /** Registers cleanup to run on shutdown (terminals, WebSockets). */
  onShutdown(hook: () => void | Promise<void>): void {
    this.#shutdownHooks.push(hook);
  }

  async start(host: string, port: number): Promise<ListenState> {
    this.#listener = await this.platform.listen(host, port, this.fetch);
    this.listening = { host, port: this.#listener.port, mode: modeForBindHost(host) };
    return this.listening;
  }

  get url(): string {
    const { host, port } = this.listening;
    const shown = host.includes(':') ? `[${host}]` : host;
    return `http://${shown}:${port}`;
  }

  /** Stop accepting, close WebSockets and terminals, write pending state. */
  async shutdown(): Promise<void> {
    for (const hook of this.#shutdownHooks.splice(0)) {
      try {
        await hook();
      } catch (error) {
        this.platform.log(`shutdown: ${String(error)}`);
      }
    }
    await this.credentials.flush().catch((error) => this.platform.log(`shutdown: ${String(error)}`));
    await this.#listener?.close();
    this.#listener = undefined;
  }
}

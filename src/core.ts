/**
 * The core: one object holding the config, credentials, gate and listener
 * state, and one web-standard `fetch` that every runtime serves unchanged.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ConfigStore } from './config.ts';
import { Credentials } from './credentials.ts';
import { TermgateError, errorResponse } from './errors.ts';
import { Gate, type GatePolicy, interfaceHostsCache, pathOf, WS_PATHS } from './gate.ts';
import { Listener, type ListenState } from './listener.ts';
import type { FetchHandler, Platform } from './platform.ts';
import { authRoutes } from './routes/auth.ts';
import { settingsRoutes } from './routes/settings.ts';
import { terminalRoutes } from './routes/terminals.ts';
import { uiRoutes } from './routes/ui.ts';
import { Terminals } from './terminals/manager.ts';
import type { TerminalManager } from './terminals/types.ts';
import { VERSION } from './version.ts';
import { WsHub } from './ws/hub.ts';

/** How long the interface-address list is trusted before it is read again. */
const INTERFACE_CACHE_MS = 5000;
/** How often the server looks for changes another process made to the config file. */
const CONFIG_FOLLOW_MS = 1000;

export interface CoreOptions {
  platform: Platform;
  config: ConfigStore;
}

export type { ListenState } from './listener.ts';

export class Core {
  readonly platform: Platform;
  readonly config: ConfigStore;
  readonly credentials: Credentials;
  readonly gate: Gate;
  readonly app: Hono;
  /** The API listener: start, rebind (PUT /api/settings/connections), close. */
  readonly listener: Listener;
  /** The /ws stream (SPEC §7). */
  readonly ws: WsHub;
  /** Every terminal (SPEC §6): REST, /ws and, through REST, MCP use this one manager. */
  readonly terminals: TerminalManager;
  readonly #interfaceHosts: () => ReadonlySet<string>;
  readonly #shutdownHooks: (() => void | Promise<void>)[] = [];
  #followTimer: ReturnType<typeof setInterval> | undefined;

  constructor({ platform, config }: CoreOptions) {
    this.platform = platform;
    this.config = config;
    this.credentials = new Credentials(config, platform.envToken);
    this.#interfaceHosts = interfaceHostsCache(() => platform.system.interfaceAddresses(), INTERFACE_CACHE_MS);
    this.gate = new Gate(this.credentials, () => this.#policy(), WS_PATHS);
    this.listener = new Listener(platform.listen, this.fetch, (line) => platform.log(line));
    this.terminals = new Terminals({
      pty: platform.pty,
      system: platform.system,
      limits: () => this.config.current.limits,
      log: (line) => platform.log(line),
    });
    this.ws = new WsHub(this);
    // After the hub's hook: WebSockets get their close frame, then every terminal's session is killed.
    this.onShutdown(() => this.terminals.closeAll());
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
      interfaceHosts: this.#interfaceHosts,
    };
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

    app.on(['GET', 'HEAD'], ['/health', '/api/health'], (c) => c.json(this.health()));
    // Only where a body is expected: on Node, bodyLimit touching `request.body`
    // of a GET turns @hono/node-server's lightweight request into a full one (-50% req/s).
    // The limit is read per request, so a change to the config file applies without a restart.
    app.on(['POST', 'PUT', 'PATCH'], '/api/*', (c, next) => {
      const maxSize = this.config.current.limits.maxBodyBytes;
      return bodyLimit({
        maxSize,
        onError: () => {
          throw new TermgateError('payload_too_large', `body: larger than the limit of ${maxSize} bytes`);
        },
      })(c, next);
    });
    for (const path of WS_PATHS) app.get(path, (c) => this.ws.upgrade(c));
    app.route('/api', authRoutes(this));
    app.route('/api/settings', settingsRoutes(this));
    app.route('/api/terminals', terminalRoutes(this));
    app.route('/', uiRoutes());

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

  /** Where the server listens now; its mode drives the gate. */
  get listening(): ListenState {
    return this.listener.state;
  }

  async start(host: string, port: number): Promise<ListenState> {
    const state = await this.listener.start(host, port);
    this.#followConfigFile();
    return state;
  }

  /**
   * Re-reads the config file every second for changes made by another process
   * (tokens revoked or rotated by the CLI, allowed hosts edited by hand). The
   * bind address and ports are not followed: they change through the API.
   */
  #followConfigFile(): void {
    if (this.#followTimer !== undefined) return;
    this.#followTimer = setInterval(() => {
      this.config.follow().then(
        (changed) => changed && this.platform.log(`config: ${this.config.storage.path} changed on disk; reloaded`),
        (error) => this.platform.log(`config: ${error instanceof Error ? error.message : String(error)}; keeping the config in memory`),
      );
    }, CONFIG_FOLLOW_MS);
    this.onShutdown(() => clearInterval(this.#followTimer));
  }

  get url(): string {
    return this.listener.url;
  }

  /** Stop accepting, close WebSockets and terminals, write pending state. */
  async shutdown(): Promise<void> {
    await this.listener.close().catch((error) => this.platform.log(`shutdown: ${String(error)}`));
    for (const hook of this.#shutdownHooks.splice(0)) {
      try {
        await hook();
      } catch (error) {
        this.platform.log(`shutdown: ${String(error)}`);
      }
    }
    await this.credentials.flush().catch((error) => this.platform.log(`shutdown: ${String(error)}`));
    await this.config.settled();
  }
}

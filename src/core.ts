/**
 * The core: one object holding the config, credentials, gate and listener
 * state, and one web-standard `fetch` that every runtime serves unchanged.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { type AuditDetails, AuditLog, type Door } from './audit.ts';
import type { ConfigStore } from './config.ts';
import { Credentials, LOCAL, PUBLIC, type Principal } from './credentials.ts';
import { DOOR_HEADER, verifiedDoor } from './door.ts';
import { TermgateError, errorResponse } from './errors.ts';
import { Gate, type GatePolicy, interfaceHostsCache, pathOf, presentedCredentials, type Verdict, WS_PATHS } from './gate.ts';
import { Listener, type ListenState } from './listener.ts';
import type { FetchHandler, ListenOptions, Platform } from './platform.ts';
import { type RouteDoc, openApiDocument } from './openapi.ts';
import { AUDIT_ROUTE_DOCS, auditRoutes } from './routes/audit.ts';
import { AUTH_ROUTE_DOCS, authRoutes } from './routes/auth.ts';
import { SETTINGS_ROUTE_DOCS, settingsRoutes } from './routes/settings.ts';
import { terminalRoutes } from './routes/terminals.ts';
import { UI_ROUTE_DOCS, uiRoutes } from './routes/ui.ts';
import { hasScope, routeScope, scopeRefusal } from './scopes.ts';
import type { Caller } from './terminals/operations.ts';
import { PtyTerminalManager } from './terminals/manager.ts';
import type { TerminalManager } from './terminals/types.ts';
import { VERSION } from './version.ts';
import { CLOSE_TOKEN_REVOKED, WsHub } from './ws/hub.ts';

/** How long the interface-address list is trusted before it is read again. */
const INTERFACE_CACHE_MS = 5000;
/** How often the server looks for changes another process made to the config file. */
const CONFIG_FOLLOW_MS = 1000;

export interface CoreOptions {
  platform: Platform;
  config: ConfigStore;
  /** TLS, or a Unix socket instead of TCP (docs/tls-and-unix.md); fixed for the server's life. */
  listen?: ListenOptions | undefined;
  /** `serve --require-token`: ask for a token on loopback too, for this run (the config's requireToken does it for every run). */
  requireToken?: boolean | undefined;
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
  /** The /ws stream (docs/websocket.md). */
  readonly ws: WsHub;
  /** Every terminal (docs/terminals.md): REST, /ws and, through REST, MCP use this one manager. */
  readonly terminals: TerminalManager;
  /** The audit log (docs/security.md): one line per state-changing operation, through every door. */
  readonly audit: AuditLog;
  readonly #requireTokenFlag: boolean;
  readonly #interfaceHosts: () => ReadonlySet<string>;
  readonly #shutdownHooks: (() => void | Promise<void>)[] = [];
  /** The gate's verdict per admitted request, for the routes and the hub (local requests are not stored). */
  readonly #principals = new WeakMap<Request, Principal>();
  /** Requests that came through the MCP sidecar (proved by its door key); the rest are REST. */
  readonly #doors = new WeakMap<Request, Door>();
  /** Rotations that closed the main token's sockets: a socket admitted before one must not open after it. */
  #socketClosingRotations = 0;
  #followTimer: ReturnType<typeof setInterval> | undefined;

  constructor({ platform, config, listen, requireToken }: CoreOptions) {
    this.platform = platform;
    this.config = config;
    this.#requireTokenFlag = requireToken === true;
    this.audit = new AuditLog(platform.audit, () => this.config.current.audit.recordInput, (line) => platform.log(line));
    this.credentials = new Credentials(config, platform.envToken);
    this.#interfaceHosts = interfaceHostsCache(() => platform.system.interfaceAddresses(), INTERFACE_CACHE_MS);
    this.gate = new Gate(this.credentials, () => this.#policy(), WS_PATHS);
    this.listener = new Listener(platform.listen, this.fetch, (line) => platform.log(line), listen);
    this.terminals = new PtyTerminalManager({
      pty: platform.pty,
      sessions: platform.sessions,
      persistentByDefault: () => this.config.current.terminals.persistent,
      system: platform.system,
      limits: () => this.config.current.limits,
      log: (line) => platform.log(line),
    });
    this.ws = new WsHub(this);
    config.onChange(() => this.#closeRevokedSockets());
    // After the hub's hook: WebSockets get their close frame, then every terminal's session is killed.
    this.onShutdown(() => this.terminals.closeAll());
    this.app = this.#buildApp();
  }

  /** The one handler every runtime serves: gate first, then the routes. */
  readonly fetch: FetchHandler = (request, env) => {
    try {
      const path = pathOf(request.url);
      const verdict = this.gate.check(request, path);
      if (verdict instanceof Promise) return verdict.then((later) => this.#admit(request, env, path, later), errorResponse);
      return this.#admit(request, env, path, verdict);
    } catch (error) {
      return errorResponse(error);
    }
  };

  #admit(request: Request, env: unknown, path: string, verdict: Verdict): Response | Promise<Response> {
    if (verdict instanceof Response) return verdict;
    if (request.headers.has(DOOR_HEADER)) return this.#throughDoor(request, env, path, verdict).catch(errorResponse);
    return this.#route(request, env, path, verdict, 'rest');
  }

  /**
   * Scopes (docs/security.md), default deny: every /api route needs admin
   * unless scopes.ts says otherwise; the terminal routes check their
   * operation's scope themselves. Checked here rather than in a hono
   * middleware, so a terminal route is one handler, not a middleware chain.
   * `path` is the raw one, and the app routes on that same raw path
   * (#buildApp), so the route checked is the route served.
   */
  #route(request: Request, env: unknown, path: string, principal: Principal, door: Door): Response | Promise<Response> {
    if (principal.scope !== 'admin' && (path === '/api' || path.startsWith('/api/'))) {
      const needed = routeScope(path);
      if (needed !== null && !hasScope(principal, needed)) return scopeRefusal(principal, needed, `${request.method} ${path}`).toResponse();
    }
    this.#principals.set(request, principal);
    if (door !== 'rest') this.#doors.set(request, door);
    return this.app.fetch(request, env);
  }

  /**
   * A request that says it comes from the MCP sidecar (src/door.ts). Without
   * the right door key the claim is ignored. With it, the token the sidecar
   * forwards (its MCP client's) decides, in local mode too, so a read-only
   * MCP client is read-only; a client the sidecar admitted without a token is
   * "local", and refused when this server requires a token.
   */
  async #throughDoor(request: Request, env: unknown, path: string, verdict: Principal): Promise<Response> {
    const door = await verifiedDoor(request, this.config.current.jwtSecret);
    if (door === null) return this.#route(request, env, path, verdict, 'rest');
    let principal = verdict;
    // Only the sidecar's own (admin) credential may say its client was local: never a way up from a named token.
    if (door.clientLocal && (verdict.kind === 'main' || verdict.kind === 'local')) {
      if (this.requireToken) {
        return new TermgateError(
          'unauthorized',
          'this termgate requires a token (--require-token), and the MCP client presented none to the sidecar: configure the MCP client to send "Authorization: Bearer <token>"',
        ).toResponse();
      }
      principal = LOCAL;
    } else if (verdict === LOCAL) {
      const [token] = presentedCredentials(request, false);
      const found = token === undefined ? null : await this.credentials.identify(token);
      if (found === null) return this.gate.refuseCredential();
      principal = found;
    }
    return this.#route(request, env, path, principal, door.door);
  }

  #carryVerdict(from: Request, to: Request): void {
    const principal = this.#principals.get(from);
    const door = this.#doors.get(from);
    if (principal !== undefined) this.#principals.set(to, principal);
    if (door !== undefined) this.#doors.set(to, door);
  }

  /**
   * Who the gate admitted `request` as (routes and the WebSocket hub ask).
   * Fails closed: every admitted request is recorded, so one it does not know
   * (a Request some layer rebuilt without carrying the verdict over) is
   * nobody in particular, never local. Recorded rather than derived from the
   * mode, which can change while a request runs (the PUT that exposes).
   */
  principalOf(request: Request): Principal {
    return this.#principals.get(request) ?? PUBLIC;
  }

  /** Who asked, through which door, and where its audit line goes (the terminal routes ask). */
  callerOf(request: Request): Caller {
    return { principal: this.principalOf(request), door: this.#doors.get(request) ?? 'rest', audit: this.audit };
  }

  /** An audit line for a state-changing request outside the operation table (tokens, rotate, settings). */
  auditRequest(request: Request, op: string, details?: AuditDetails): void {
    this.audit.record(this.#doors.get(request) ?? 'rest', this.principalOf(request), op, details);
  }

  /** Whether a token is asked for on loopback too (--require-token or the config's requireToken). */
  get requireToken(): boolean {
    return this.#requireTokenFlag || this.config.current.requireToken;
  }

  /**
   * Ends every WebSocket whose credential no longer opens the gate: a named
   * token revoked (through the API, the CLI or an edit of the file), or, with
   * `mainRotated`, the main token after a rotation that asked for it.
   */
  #closeRevokedSockets(mainRotated = false): void {
    const closed = this.ws.closeWhere(
      (principal) => (mainRotated && principal.kind === 'main') || !this.credentials.stillValid(principal),
      CLOSE_TOKEN_REVOKED,
      mainRotated ? 'token rotated' : 'token revoked',
    );
    if (closed > 0) this.platform.log(`closed ${closed} WebSocket(s) opened with a ${mainRotated ? 'rotated' : 'revoked'} token`);
  }

  /** Mints a new main token; with `closeSockets`, WebSockets opened with the old one are closed too. */
  async rotateToken(closeSockets: boolean): Promise<string> {
    const token = await this.credentials.rotate();
    if (closeSockets) {
      this.#socketClosingRotations++;
      this.#closeRevokedSockets(true);
    }
    return token;
  }

  #policy(): GatePolicy {
    const config = this.config.current;
    return {
      mode: this.listening.mode,
      allowedHosts: config.allowedHosts,
      allowedOrigins: config.allowedOrigins,
      requireToken: this.requireToken,
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
    // Routes match the raw path, the one the gate and the scope check read: hono's default
    // decodes it first, and then /%61pi/tokens would reach /api/tokens past a check of the raw one.
    const app = new Hono({ getPath: (request) => pathOf(request.url) });

    app.on(['GET', 'HEAD'], ['/health', '/api/health'], (c) => c.json(this.health()));
    // Only where a body is expected: on Node, bodyLimit touching `request.body`
    // of a GET turns @hono/node-server's lightweight request into a full one (-50% req/s).
    // The limit is read per request, so a change to the config file applies without a restart.
    app.on(['POST', 'PUT', 'PATCH'], '/api/*', async (c, next) => {
      // A browser's cross-site "simple" POST is text/plain; the Origin check stops it, and this too.
      if (declaresBody(c.req.raw) && !isJson(c.req.header('content-type'))) {
        throw new TermgateError('unsupported_media_type', 'Content-Type: a request body must be application/json');
      }
      const maxSize = this.config.current.limits.maxBodyBytes;
      const limit = bodyLimit({
        maxSize,
        onError: () => {
          throw new TermgateError('payload_too_large', `body: larger than the limit of ${maxSize} bytes`);
        },
      });
      // A chunked body is read here, before the route: a broken one (Deno passes bad chunk framing on
      // as a read error) is the client's mistake. Errors of the route itself go on as they are.
      let routed = false;
      const admitted = c.req.raw;
      try {
        return await limit(c, () => {
          routed = true;
          // bodyLimit may hand the route a new Request (wrapping the body): it is still who the gate admitted.
          if (c.req.raw !== admitted) this.#carryVerdict(admitted, c.req.raw);
          return next();
        });
      } catch (error) {
        if (routed || error instanceof TermgateError) throw error;
        throw new TermgateError('bad_request', 'body: could not be read (broken chunked framing or a cut connection)');
      }
    });
    for (const path of WS_PATHS) {
      app.get(path, (c) => {
        const principal = this.principalOf(c.req.raw);
        const rotations = this.#socketClosingRotations;
        const stillAdmitted = () => this.credentials.stillValid(principal) && (principal.kind !== 'main' || rotations === this.#socketClosingRotations);
        return this.ws.upgrade(c, principal, stillAdmitted);
      });
    }
    let openApi: Record<string, unknown> | undefined;
    app.get('/api/openapi.json', (c) => c.json((openApi ??= openApiDocument(ROUTE_DOCS))));
    app.route('/api', authRoutes(this));
    app.route('/api/settings', settingsRoutes(this));
    app.route('/api/terminals', terminalRoutes(this.terminals, (request) => this.callerOf(request)));
    app.route('/api/audit', auditRoutes(this.audit));
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
    // Only once the port is ours: a server that finds another termgate there must not take its terminals.
    await this.terminals.adopt();
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
    await this.audit.settled();
    await this.config.settled();
  }
}

const Health = z.object({ status: z.literal('ok'), name: z.literal('termgate'), version: z.string(), runtime: z.string(), mode: z.enum(['local', 'exposed']) });

/** Every route besides the terminal operations, for the OpenAPI document (a test checks none is missing). */
const ROUTE_DOCS: RouteDoc[] = [
  ...['/health', '/api/health'].flatMap((path): RouteDoc[] =>
    (['GET', 'HEAD'] as const).map((method) => ({ method, path, summary: 'Health: always open, no credential', success: { status: 200, schema: Health }, open: true })),
  ),
  ...[...WS_PATHS].map(
    (path): RouteDoc => ({
      method: 'GET',
      path,
      summary: 'The WebSocket stream (docs/websocket.md): subprotocol termgate.v1; in exposed mode the token as bearer.<token> or ?token=',
      success: { status: 101, description: 'Switching Protocols' },
    }),
  ),
  { method: 'GET', path: '/api/openapi.json', summary: 'This document', success: { status: 200, schema: z.looseObject({ openapi: z.string() }) } },
  ...AUTH_ROUTE_DOCS,
  ...AUDIT_ROUTE_DOCS,
  ...SETTINGS_ROUTE_DOCS,
  ...UI_ROUTE_DOCS,
];

function declaresBody(request: Request): boolean {
  const length = request.headers.get('content-length');
  return request.headers.has('transfer-encoding') || (length !== null && length.trim() !== '0');
}

function isJson(contentType: string | undefined): boolean {
  const mediaType = contentType?.split(';', 1)[0]!.trim().toLowerCase();
  return mediaType === 'application/json';
}

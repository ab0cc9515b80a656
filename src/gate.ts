/**
 * The auth gate (README: Security model): one function from a request to the
 * Principal it comes as, or a refusal Response. REST routes and WebSocket
 * upgrades share it.
 *
 * Order: a well-formed Host; health is then open; then Host (DNS rebinding), Origin (cross-site
 * requests and WebSocket hijacking), and, in exposed mode only, a credential.
 * The mode follows the bind address, never the client's address.
 */
import { type Credentials, LOCAL, PUBLIC, type Principal } from './credentials.ts';
import { TermgateError } from './errors.ts';

export type Mode = 'local' | 'exposed';

export interface GatePolicy {
  readonly mode: Mode;
  readonly allowedHosts: readonly string[];
  readonly allowedOrigins: readonly string[];
  /** Ask for a token in local mode too (`--require-token`, config `requireToken`). */
  readonly requireToken?: boolean;
  /** This machine's interface addresses, IPv6 in brackets, lowercase. */
  interfaceHosts(): ReadonlySet<string>;
}

export const HEALTH_PATHS: ReadonlySet<string> = new Set(['/health', '/api/health']);
export const WS_SUBPROTOCOL = 'termgate.v1';
/** Where the API serves its WebSocket; only upgrades there may carry `?token=` or `bearer.<token>`. */
export const WS_PATHS: ReadonlySet<string> = new Set(['/ws', '/api/ws']);
const BEARER_PROTOCOL_PREFIX = 'bearer.';

/**
 * Both challenges, as one header line: every runtime's Response folds repeated
 * headers into one comma-separated list (RFC 9110 §11.6.1 allows it). Basic
 * comes first because browsers read the first challenge of a line, and Basic
 * is what makes them show their native prompt.
 */
const CHALLENGES: [string, string][] = [['WWW-Authenticate', 'Basic realm="termgate", Bearer realm="termgate"']];

/** Loopback bind addresses put the server in local mode; anything else is exposed. */
export function modeForBindHost(bindHost: string): Mode {
  const host = bindHost.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || isLoopbackIPv4(host) ? 'local' : 'exposed';
}

const LOOPBACK_IPV4 = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function isLoopbackIPv4(host: string): boolean {
  if (host === '127.0.0.1') return true; // nearly every local request: skip the regex
  const match = LOOPBACK_IPV4.exec(host);
  return match !== null && Number(match[1]) <= 255 && Number(match[2]) <= 255 && Number(match[3]) <= 255;
}

/** A registered name or IPv4 address, or an IPv6 literal in brackets: two Host headers joined by a comma are neither. */
const HOSTNAME = /^(?:[a-z0-9_~-][a-z0-9._~-]*|\[[0-9a-f:.]+\])$/;

/** Splits a Host header into a lowercase hostname (IPv6 keeps its brackets); null when malformed. */
export function hostnameOf(hostHeader: string): string | null {
  const value = hostHeader.trim().toLowerCase();
  let hostname: string;
  let rest: string;
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    if (end < 0) return null;
    hostname = value.slice(0, end + 1);
    rest = value.slice(end + 1);
  } else {
    const colon = value.indexOf(':');
    hostname = colon < 0 ? value : value.slice(0, colon);
    rest = colon < 0 ? '' : value.slice(colon);
  }
  if (!HOSTNAME.test(hostname) || (rest !== '' && !/^:\d{1,5}$/.test(rest))) return null;
  return hostname;
}

/**
 * This machine's interface addresses as Host values (IPv6 in brackets), read
 * again at most every `ttlMs`: a NIC may change while the server runs, but
 * listing interfaces on every request would cost more than the whole gate.
 */
export function interfaceHostsCache(read: () => string[], ttlMs = 5000): () => ReadonlySet<string> {
  let cached: { at: number; hosts: ReadonlySet<string> } = { at: -Infinity, hosts: new Set() };
  return () => {
    const now = Date.now();
    if (now - cached.at > ttlMs) {
      const hosts = read().map((address) => (address.includes(':') ? `[${address.toLowerCase()}]` : address));
      cached = { at: now, hosts: new Set(hosts) };
    }
    return cached.hosts;
  };
}

function hostAllowed(hostname: string, policy: GatePolicy): boolean {
  if (hostname === 'localhost' || hostname.endsWith('.localhost')) return true;
  if (hostname === '[::1]' || isLoopbackIPv4(hostname)) return true;
  if (policy.mode !== 'exposed') return false;
  return policy.interfaceHosts().has(hostname) || policy.allowedHosts.some((h) => h.toLowerCase() === hostname);
}

/** The fast path of a request URL, without building a URL object. */
export function pathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('://') + 3);
  if (start < 0) return '/';
  const query = url.indexOf('?', start);
  return query < 0 ? url.slice(start) : url.slice(start, query);
}

export function isWebSocketUpgrade(request: Request): boolean {
  return request.headers.get('upgrade')?.toLowerCase() === 'websocket';
}

/** The offered subprotocols, tolerant of lists with or without spaces after commas. */
export function offeredProtocols(header: string | null): string[] {
  if (!header) return [];
  return header
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
}

/**
 * Which subprotocol to answer with: `termgate.v1` when offered (so a
 * `bearer.<token>` is never echoed), else an offered `bearer.<token>` (so a
 * client that offered only that completes its handshake), else none.
 */
export function selectSubprotocol(header: string | null): string | null {
  const offered = offeredProtocols(header);
  if (offered.includes(WS_SUBPROTOCOL)) return WS_SUBPROTOCOL;
  return offered.find((p) => p.startsWith(BEARER_PROTOCOL_PREFIX)) ?? null;
}

/** Every credential the request presents, in the forms the gate allows. */
export function presentedCredentials(request: Request, upgrade: boolean): string[] {
  const found: string[] = [];
  const authorization = request.headers.get('authorization');
  if (authorization) {
    const space = authorization.indexOf(' ');
    const scheme = space < 0 ? '' : authorization.slice(0, space).toLowerCase();
    const value = space < 0 ? '' : authorization.slice(space + 1).trim();
    if (scheme === 'bearer' && value) found.push(value);
    if (scheme === 'basic' && value) {
      const decoded = decodeBase64(value);
      const colon = decoded === null ? -1 : decoded.indexOf(':');
      if (decoded !== null && colon >= 0) found.push(decoded.slice(colon + 1));
    }
  }
  if (upgrade) {
    const query = new URL(request.url).searchParams.get('token');
    if (query) found.push(query);
    for (const protocol of offeredProtocols(request.headers.get('sec-websocket-protocol'))) {
      if (protocol.startsWith(BEARER_PROTOCOL_PREFIX)) found.push(protocol.slice(BEARER_PROTOCOL_PREFIX.length));
    }
  }
  return found;
}

function decodeBase64(value: string): string | null {
  try {
    const binary = atob(value);
    const bytes = Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

const UNAUTHORIZED = () =>
  new TermgateError(
    'unauthorized',
    'a valid token is required in exposed mode (and with --require-token): send "Authorization: Bearer <token>" (WebSocket: ?token= or the bearer.<token> subprotocol)',
    CHALLENGES,
  ).toResponse();

/** Failed credentials allowed per second before the gate answers 429 (valid credentials are never counted or refused). */
export const FAILURES_PER_SECOND = 20;
const WINDOW_MS = 1000;

/**
 * Counts failed credentials over a sliding second. Beyond the limit a failed
 * credential is answered 429 with Retry-After instead of 401. Only the answer
 * to a failure changes: a valid credential is checked first and let through,
 * so a flood of bad guesses never slows a valid client. (Guessing a 256-bit
 * token is hopeless anyway; the 429 tells a misbehaving client to back off.)
 */
export class FailureThrottle {
  /** Times of the last `limit` failures, a ring. */
  readonly #times: number[];
  #next = 0;

  constructor(
    readonly limit = FAILURES_PER_SECOND,
    readonly now: () => number = Date.now,
  ) {
    this.#times = new Array<number>(limit).fill(-Infinity);
  }

  /** Records one failure; the refusal to send for it. */
  fail(): Response {
    const now = this.now();
    // The oldest of the last `limit` failures: within the window, this one is past the limit.
    const oldest = this.#times[this.#next]!;
    this.#times[this.#next] = now;
    this.#next = (this.#next + 1) % this.limit;
    if (now - oldest >= WINDOW_MS) return UNAUTHORIZED();
    const retryAfter = Math.max(1, Math.ceil((oldest + WINDOW_MS - now) / 1000));
    return new TermgateError(
      'rate_limited',
      `too many failed credentials (more than ${this.limit} a second); retry after ${retryAfter} s`,
      [['Retry-After', String(retryAfter)], ...CHALLENGES],
    ).toResponse();
  }
}

/** The gate's answer: who the request is from, or the refusal to send instead. */
export type Verdict = Principal | Response;

export class Gate {
  readonly #credentials: Credentials;
  readonly #policy: () => GatePolicy;
  readonly #webSocketPaths: ReadonlySet<string>;
  readonly #throttle = new FailureThrottle();

  /** `webSocketPaths`: where upgrades are served (none for the MCP sidecar). */
  constructor(credentials: Credentials, policy: () => GatePolicy, webSocketPaths: ReadonlySet<string> = new Set()) {
    this.#credentials = credentials;
    this.#policy = policy;
    this.#webSocketPaths = webSocketPaths;
  }

  /** A Principal: let the request through, as that principal. A Response: send it instead. */
  check(request: Request, path: string): Verdict | Promise<Verdict> {
    const hostHeader = request.headers.get('host');
    const hostname = hostHeader === null ? null : hostnameOf(hostHeader);
    // RFC 9112 §3.2: a missing, repeated or malformed Host is the client's error (400), not a refusal;
    // also on /health, which is open to any well-formed request.
    if (hostname === null) {
      return new TermgateError('bad_request', 'Host: exactly one well-formed Host header (name or address, optional :port) is required').toResponse();
    }
    if (HEALTH_PATHS.has(path) && (request.method === 'GET' || request.method === 'HEAD')) return PUBLIC;
    const policy = this.#policy();
    if (!hostAllowed(hostname, policy)) {
      return new TermgateError(
        'host_not_allowed',
        'Host header is not allowed: use localhost or 127.0.0.1 (in exposed mode also this machine\'s addresses or a name in allowedHosts)',
      ).toResponse();
    }

    const origin = request.headers.get('origin');
    // The server's own origin has the scheme it is served with: https:// behind --tls-cert (every runtime's request.url says so).
    const scheme = request.url.startsWith('https:') ? 'https' : 'http';
    if (origin !== null && origin !== `${scheme}://${hostHeader!.trim().toLowerCase()}` && !policy.allowedOrigins.includes(origin)) {
      return new TermgateError(
        'origin_not_allowed',
        'Origin is not allowed: only the server\'s own pages and origins listed in allowedOrigins may call it',
      ).toResponse();
    }

    if (policy.mode === 'local' && policy.requireToken !== true) return LOCAL;

    // Fast path: a valid main token in Authorization needs no further header reads.
    const authorization = request.headers.get('authorization');
    if (authorization !== null && authorization.startsWith('Bearer ')) {
      const principal = this.#credentials.identify(authorization.slice(7).trim());
      if (principal !== null && !(principal instanceof Promise)) return principal;
    }
    // The URL and subprotocol forms only on a real upgrade: elsewhere a token in a URL would end up in logs.
    const upgrade = request.method === 'GET' && this.#webSocketPaths.has(path) && isWebSocketUpgrade(request);
    const presented = presentedCredentials(request, upgrade);
    if (presented.length === 0) return UNAUTHORIZED();
    return this.#anyValid(presented);
  }

  /** The answer to a credential that failed outside check() (the MCP door's forwarded token): counted like the rest. */
  refuseCredential(): Response {
    return this.#throttle.fail();
  }

  #anyValid(presented: string[]): Verdict | Promise<Verdict> {
    const pending: Promise<Principal | null>[] = [];
    for (const token of presented) {
      const principal = this.#credentials.identify(token);
      if (principal instanceof Promise) pending.push(principal);
      else if (principal !== null) return principal;
    }
    if (pending.length === 0) return this.#throttle.fail();
    return Promise.all(pending).then((principals) => principals.find((p) => p !== null) ?? this.#throttle.fail());
  }
}

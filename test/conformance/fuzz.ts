/**
 * Fuzz: a few thousand generated, mostly malformed requests per runtime, over
 * raw TCP (node:http would refuse to send most of them), against a local and
 * an exposed server. The server must answer every one without a 5xx of its
 * own making, must not hang on any, and must not keep a file descriptor per
 * request afterwards.
 *
 * Everything is drawn from one seeded PRNG, and the seed is printed, so a
 * failure replays with FUZZ_SEED=<seed> (the bytes differ only in the port and
 * the token). FUZZ_VERBOSE=1 lists every failing request, not one per group.
 *
 * Never sent, whatever the draw: anything that changes state (rotating the
 * token, creating tokens or terminals, rebinding the listener). See changesState.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFds, savedConfig, settledFds, startServer, type RunningServer, type Runtime } from '../harness.ts';
import type { Target } from './suite.ts';

const REQUESTS_PER_SERVER = 1500;
const CONCURRENCY = 16;
const DEADLINE_MS = 5000;
/** No new request starts after this, so a server that hangs on everything still ends the test in time. */
const RUN_BUDGET_MS = 30_000;
const FD_TOLERANCE = 8;
const FD_SETTLE_MS = 3000;
const MAX_BODY = 64 * 1024;

// ---------------------------------------------------------------------------
// Seeded randomness

/** mulberry32: tiny, fast, and the same sequence on every machine for a seed. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Rng {
  readonly #next: () => number;
  constructor(seed: number) {
    this.#next = mulberry32(seed);
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.#next() * n);
  }
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }
  chance(p: number): boolean {
    return this.#next() < p;
  }
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }
  /** Picks from [weight, value] pairs. */
  weighted<T>(items: readonly (readonly [number, T])[]): T {
    let roll = this.#next() * items.reduce((sum, [weight]) => sum + weight, 0);
    for (const [weight, value] of items) {
      roll -= weight;
      if (roll < 0) return value;
    }
    return items[items.length - 1]![1];
  }
  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
  hex(n: number): string {
    let out = '';
    for (let i = 0; i < n; i++) out += '0123456789abcdef'[this.int(16)];
    return out;
  }
  /** Printable ASCII, the kind of text a header value may carry. */
  text(n: number): string {
    let out = '';
    for (let i = 0; i < n; i++) out += String.fromCharCode(0x21 + this.int(0x5e));
    return out;
  }
}

function fuzzSeed(): number {
  const given = process.env.FUZZ_SEED;
  if (given === undefined || given === '') return Math.floor(Math.random() * 2 ** 31);
  const seed = Number(given);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`FUZZ_SEED: must be a non-negative integer, got ${JSON.stringify(given)}`);
  return seed;
}

// ---------------------------------------------------------------------------
// Kinds of generated request

/**
 * What a generated request is about; failures are grouped by it and the
 * runtime allow-list is keyed by it. `mayClose`: the message is garbage (or
 * incomplete and half-closed), so dropping the connection without an answer
 * is a fair reaction; everywhere else the server owes an answer.
 */
const KINDS = {
  rest: { weight: 24, mayClose: false },
  /** A method no server here knows, but a valid token: it deserves an answer (501, 405, 400). */
  'unknown-method': { weight: 4, mayClose: false },
  /** A "method" that is not a token ("GET(", "DE LETE"): the request line itself is garbage. */
  'invalid-method': { weight: 1, mayClose: true },
  'connect-method': { weight: 2, mayClose: false },
  body: { weight: 12, mayClose: false },
  'content-length-invalid': { weight: 4, mayClose: false },
  'content-length-huge': { weight: 2, mayClose: false },
  /** Content-Length larger than the body sent, then half-closed: the message never completes. */
  'content-length-short': { weight: 2, mayClose: true },
  chunked: { weight: 5, mayClose: false },
  /** Chunked framing broken inside the body (size line, chunk data). */
  'chunked-bad-body': { weight: 3, mayClose: false },
  /** Transfer-Encoding / Content-Length header combinations that make the framing invalid. */
  'chunked-bad-header': { weight: 2, mayClose: false },
  'ws-upgrade': { weight: 12, mayClose: false },
  'ws-without-connection': { weight: 4, mayClose: false },
  /** Connection: Upgrade with an Upgrade other than websocket (h2c, foo, empty). */
  'upgrade-other': { weight: 2, mayClose: false },
  /** An Upgrade header other than websocket, without Upgrade in Connection. */
  'upgrade-header-only': { weight: 3, mayClose: false },
  'two-hosts': { weight: 4, mayClose: false },
  http10: { weight: 3, mayClose: false },
  // Raw garbage on the wire: half-closed after writing, so a server waiting for more sees the end.
  'http2-request-line': { weight: 1, mayClose: true },
  /** The h2c prior-knowledge preface: an HTTP/2 SETTINGS frame is a fair answer too. */
  'http2-preface': { weight: 1, mayClose: true },
  'no-version': { weight: 1, mayClose: true },
  'binary-garbage': { weight: 1, mayClose: true },
  'empty-lines': { weight: 1, mayClose: true },
  'long-request-line': { weight: 1, mayClose: true },
  'lf-only': { weight: 1, mayClose: true },
  'header-without-colon': { weight: 1, mayClose: true },
} as const satisfies Record<string, { weight: number; mayClose: boolean }>;

type Kind = keyof typeof KINDS;
const KIND_NAMES = Object.keys(KINDS) as Kind[];

/**
 * 5xx answers that come from a runtime's own HTTP parser, before termgate
 * sees the request: termgate cannot change them. An entry applies only when
 * the answer carries no termgate error body. That is necessary, not enough
 * (an adapter's own 500, like @hono/node-server's, has none either), so the
 * list is narrow, by runtime and kind; add an entry only with evidence that
 * the parser wrote it, and say why.
 */
interface ParserAllowance {
  runtime: Runtime;
  kind: Kind;
  status: number;
  why: string;
}
const BUN_505 = 'Bun (uWebSockets) answers "HTTP/1.1 505 HTTP Version Not Supported" + Connection: close, no Date, no body';
const RUNTIME_PARSER_5XX: readonly ParserAllowance[] = [
  { runtime: 'bun', kind: 'http2-request-line', status: 505, why: `${BUN_505}, to "GET / HTTP/2.0"` },
  { runtime: 'bun', kind: 'no-version', status: 505, why: `${BUN_505}, to a request line without a version` },
  { runtime: 'bun', kind: 'invalid-method', status: 505, why: `${BUN_505}, to a non-ASCII byte in the method ("G\\xe9T")` },
  { runtime: 'bun', kind: 'lf-only', status: 505, why: `${BUN_505}: it reads "HTTP/1.1\\n…" as the version` },
];

/**
 * Connections a runtime's own HTTP parser closes without an answer, before
 * termgate sees the request (nothing is left open: the fd check still holds).
 * Bun drops a request line whose method it does not know (FOO, BREW, lowercase
 * get); Deno (hyper) drops a chunked body whose framing is broken inside the
 * data, even where termgate would have refused the headers first (strace: no
 * write at all).
 */
const RUNTIME_PARSER_CLOSES: readonly { runtime: Runtime; kind: Kind }[] = [
  { runtime: 'bun', kind: 'unknown-method' },
  { runtime: 'deno', kind: 'chunked-bad-body' },
];

// ---------------------------------------------------------------------------
// Never change state

const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Percent-decodes until nothing changes, tolerating broken escapes. */
function decodeFully(value: string): string {
  let current = value;
  for (let round = 0; round < 5; round++) {
    const next = current.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    if (next === current) break;
    current = next;
  }
  return current;
}

/**
 * True when a request might reach a route that changes state: rotating the
 * token, named tokens, settings (rebind), or creating a terminal. Deliberately
 * broader than the routes: with any method but GET/HEAD/OPTIONS (in any case,
 * since fetch normalises "post" to POST), a target that mentions auth, tokens or
 * settings anywhere, after decoding and dot-segment removal, is never sent, nor
 * one that ends at the terminals collection.
 */
function changesState(method: string, target: string): boolean {
  if (SAFE_METHODS.has(method.toUpperCase())) return false;
  const path = decodeFully(target.split('?')[0] ?? '').replace(/\\/g, '/').toLowerCase();
  let resolved: string;
  try {
    resolved = decodeFully(new URL(path.replace(/\/+/g, '/'), 'http://x').pathname).toLowerCase();
  } catch {
    return true;
  }
  return [path, resolved].some((p) => /auth|token|setting|mcp/.test(p) || /terminals\/*$/.test(p) || /^\/*api\/*$/.test(p));
}

// ---------------------------------------------------------------------------
// Generating requests

interface Context {
  rng: Rng;
  port: number;
  /** The server's real main token: some requests carry it, so they pass the gate in exposed mode. */
  token: string;
}

interface FuzzRequest {
  kind: Kind;
  /** Method and target, for the state guard and the report. */
  method: string;
  target: string;
  /** The variant choices, for the report. */
  label: string;
  bytes: Buffer;
  /** HEAD: the answer has headers only. */
  head: boolean;
  /** End our side after writing (see KINDS). */
  halfClose: boolean;
}

interface Draft {
  method: string;
  target: string;
  labels: string[];
  bytes: Buffer;
  halfClose?: boolean;
}

function message(requestLine: string, headers: string[], body?: Buffer, eol = '\r\n'): Buffer {
  const head = Buffer.from([requestLine, ...headers, '', ''].join(eol), 'latin1');
  return body === undefined ? head : Buffer.concat([head, body]);
}

function terminalId({ rng }: Context): string {
  return rng.pick(['x', 'nope', rng.hex(8), `t_${rng.hex(12)}`, '0', '-1', 'a'.repeat(rng.between(100, 300)), '%e2%98%83', 'A%20B']);
}

/** A path with odd bytes and %-escapes (some broken, some of "/" and "."); never a real route but by chance. */
function garbagePath(ctx: Context): string {
  const { rng } = ctx;
  const pieces = ['%00', '%2e', '%2e%2e', '%2f', '%5c', '%ff', '%zz', '%', '%e2%98%83', '~', '..', ';', '@', ':', '*', '!', "'", '(', ')', '$'];
  let path = rng.pick(['/', '/api/', '/ui/', '/api/terminals/', '/ws/', '//']);
  const count = rng.between(1, 12);
  for (let i = 0; i < count; i++) path += rng.chance(0.4) ? rng.pick(pieces) : rng.chance(0.2) ? '/' : rng.text(rng.between(1, 6)).replace(/[?#%]/g, 'q');
  return path;
}

function longPath({ rng }: Context): string {
  return rng.pick(['/api/terminals/', '/', '/ui/', '/health/']) + 'a'.repeat(rng.between(2000, 8000));
}

function anyPath(ctx: Context): string {
  const { rng } = ctx;
  const path = rng.weighted<() => string>([
    [6, () => '/health'],
    [4, () => '/api/health'],
    [3, () => '/ws'],
    [3, () => '/api/ws'],
    [6, () => '/api/terminals'],
    [5, () => `/api/terminals/${terminalId(ctx)}`],
    [3, () => '/api/terminals/x/input'],
    [3, () => `/api/terminals/${terminalId(ctx)}/${rng.pick(['input', 'resize', 'run', 'output'])}`],
    [4, () => '/api/tokens'],
    [4, () => '/api/settings/connections'],
    [3, () => '/ui/'],
    [1, () => '/ui'],
    [1, () => '/'],
    [1, () => '/api/nope'],
    [6, () => garbagePath(ctx)],
    [2, () => longPath(ctx)],
  ])();
  if (!rng.chance(0.15)) return path;
  return path + rng.pick(['?token=' + rng.hex(64), '?since=-1', '?a=%zz', '?tail=0&since=1', '?', '?x=' + 'y'.repeat(500)]);
}

/** Host header lines; `value` is what an "own" Origin is built from. */
function hostHeader({ rng, port }: Context): { label: string; lines: string[]; value: string | null } {
  const [label, value] = rng.weighted<readonly [string, string | null]>([
    [30, ['valid', `127.0.0.1:${port}`]],
    [6, ['localhost', 'localhost']],
    [4, ['localhost-port', `localhost:${port}`]],
    [6, ['evil', 'evil.example']],
    [3, ['empty', '']],
    [3, [':1', ':1']],
    [3, ['a b', 'a b']],
    [3, ['localhost:abc', 'localhost:abc']],
    [3, ['[::1', '[::1']],
    [4, ['none', null]],
  ]);
  return { label: `host=${label}`, lines: value === null ? [] : [`Host: ${value}`], value };
}

function originHeader({ rng, port }: Context, host: string | null): { label: string; lines: string[] } {
  const choice = rng.weighted([
    [6, 'none'],
    [3, 'own'],
    [2, 'evil'],
  ] as const);
  if (choice === 'none') return { label: 'origin=none', lines: [] };
  const origin = choice === 'own' ? `http://${host || `127.0.0.1:${port}`}` : 'http://evil.example';
  return { label: `origin=${choice}`, lines: [`Origin: ${origin}`] };
}

function authHeader({ rng, token }: Context): { label: string; lines: string[] } {
  const [label, value] = rng.weighted<readonly [string, string | null]>([
    [8, ['none', null]],
    [2, ['bearer-garbage', `Bearer ${rng.text(rng.between(1, 80))}`]],
    [2, ['basic-garbage', `Basic ${Buffer.from(rng.text(rng.between(1, 40))).toString('base64')}`]],
    [1, ['basic-bad-base64', `Basic ${rng.pick(['!!!', '%%%%', 'YWJj=ZGVm', '\u00e9\u00e9', '='])}`]],
    [2, ['tg-token', `Bearer tg_${rng.hex(64)}`]],
    [3, ['real-bearer', `Bearer ${token}`]],
    [1, ['real-basic', `Basic ${Buffer.from(`${rng.text(4)}:${token}`).toString('base64')}`]],
  ]);
  return { label: `auth=${label}`, lines: value === null ? [] : [`Authorization: ${value}`] };
}

/** Host, Origin and Authorization, each drawn independently: the gate's three inputs. */
function gateHeaders(ctx: Context): { labels: string[]; lines: string[] } {
  const host = hostHeader(ctx);
  const origin = originHeader(ctx, host.value);
  const auth = authHeader(ctx);
  return { labels: [host.label, origin.label, auth.label], lines: [...host.lines, ...origin.lines, ...auth.lines] };
}

function connectionHeader({ rng }: Context): { label: string; lines: string[] } {
  const value = rng.pick([null, 'close', 'keep-alive']);
  return { label: `connection=${value ?? 'none'}`, lines: value === null ? [] : [`Connection: ${value}`] };
}

function contentType({ rng }: Context): string[] {
  const value = rng.pick([null, 'application/json', 'text/plain', 'multipart/form-data; boundary=fuzz', 'application/json; charset=latin1']);
  return value === null ? [] : [`Content-Type: ${value}`];
}

function body(ctx: Context): { label: string; bytes: Buffer } {
  const { rng } = ctx;
  const json = () => JSON.stringify(rng.pick([{ data: rng.text(rng.between(0, 200)) }, { cols: rng.between(-5, 2000), rows: rng.between(-5, 900) }, { command: 'true' }, [], null, { data: 5 }]));
  const [label, make] = rng.weighted<readonly [string, () => Buffer]>([
    [4, ['json', () => Buffer.from(json())]],
    [2, ['json-truncated', () => { const text = json(); return Buffer.from(text.slice(0, rng.int(Math.max(1, text.length)))); }]],
    [1, ['json-deep', () => Buffer.from('['.repeat(rng.between(100, 5000)))]],
    [2, ['binary', () => rng.bytes(rng.between(1, 2048))]],
    [1, ['huge', () => rng.bytes(rng.between(16 * 1024, MAX_BODY))]],
    [1, ['empty', () => Buffer.alloc(0)]],
  ]);
  return { label: `body=${label}`, bytes: make() };
}

const OTHER_METHODS = ['POST', 'PUT', 'DELETE', 'PATCH'] as const;
const UNKNOWN_METHODS = ['FOO', 'get', 'post', 'G3T', 'PROPFIND', 'BREW', 'M-SEARCH', 'X'.repeat(200), 'PRI', 'SOURCE', 'QUERY'];
const INVALID_METHODS = ['GET(', 'DE LETE', '{}', 'G\u00e9T', '"GET"'];

const GENERATORS: Record<Kind, (ctx: Context) => Draft> = {
  rest(ctx) {
    const { rng } = ctx;
    const method = rng.weighted<string>([
      [10, 'GET'],
      [3, 'HEAD'],
      [2, 'OPTIONS'],
      [3, 'DELETE'],
      [2, rng.pick(OTHER_METHODS)],
    ]);
    const target = anyPath(ctx);
    const gate = gateHeaders(ctx);
    const connection = connectionHeader(ctx);
    return {
      method,
      target,
      labels: [...gate.labels, connection.label],
      bytes: message(`${method} ${target} HTTP/1.1`, [...gate.lines, ...connection.lines]),
    };
  },

  'unknown-method'(ctx) {
    const method = ctx.rng.pick(UNKNOWN_METHODS);
    const target = anyPath(ctx);
    const gate = gateHeaders(ctx);
    return { method, target, labels: gate.labels, bytes: message(`${method} ${target} HTTP/1.1`, [...gate.lines, 'Connection: close']) };
  },

  'invalid-method'(ctx) {
    const method = ctx.rng.pick(INVALID_METHODS);
    const target = anyPath(ctx);
    return raw(method, target, message(`${method} ${target} HTTP/1.1`, [`Host: 127.0.0.1:${ctx.port}`]));
  },

  'connect-method'(ctx) {
    // Origin-form, or authority-form naming this very server: nothing here asks to reach another address.
    const target = ctx.rng.pick(['/health', '/api/terminals', `127.0.0.1:${ctx.port}`, `localhost:${ctx.port}`]);
    const gate = gateHeaders(ctx);
    return { method: 'CONNECT', target, labels: gate.labels, bytes: message(`CONNECT ${target} HTTP/1.1`, gate.lines) };
  },

  body(ctx) {
    const { rng } = ctx;
    const method = rng.weighted<string>([
      [6, 'POST'],
      [2, 'PUT'],
      [2, 'PATCH'],
      [1, 'DELETE'],
      [1, 'GET'],
    ]);
    const target = rng.weighted<() => string>([
      [5, () => `/api/terminals/${terminalId(ctx)}/${rng.pick(['input', 'resize', 'run'])}`],
      [3, () => '/api/terminals/x/input'],
      [1, () => `/api/terminals/${terminalId(ctx)}`],
      [1, () => '/health'],
      [1, () => '/ui/'],
      [1, () => '/ws'],
      [2, () => garbagePath(ctx)],
    ])();
    const gate = gateHeaders(ctx);
    const payload = body(ctx);
    return {
      method,
      target,
      labels: [...gate.labels, payload.label],
      bytes: message(
        `${method} ${target} HTTP/1.1`,
        [...gate.lines, ...contentType(ctx), `Content-Length: ${payload.bytes.length}`],
        payload.bytes,
      ),
    };
  },

  'content-length-invalid'(ctx) {
    const { rng } = ctx;
    const payload = Buffer.from(JSON.stringify({ data: 'x' }));
    const [label, lines] = rng.pick<readonly [string, string[]]>([
      ['negative', ['Content-Length: -1']],
      ['negative-big', [`Content-Length: -${payload.length}`]],
      ['non-numeric', ['Content-Length: abc']],
      ['hex', ['Content-Length: 0x10']],
      ['float', ['Content-Length: 1.5']],
      ['exponent', ['Content-Length: 1e3']],
      ['list-differing', [`Content-Length: ${payload.length}, ${payload.length + 1}`]],
      ['two-differing', [`Content-Length: ${payload.length}`, `Content-Length: ${payload.length + 3}`]],
      ['overflow', ['Content-Length: 99999999999999999999999999']],
      ['empty', ['Content-Length: ']],
      ['plus', [`Content-Length: +${payload.length}`]],
    ]);
    const target = rng.pick(['/api/terminals/x/input', `/api/terminals/${terminalId(ctx)}/input`, '/health', '/api/terminals']);
    const method = target === '/api/terminals' ? 'GET' : rng.pick(['POST', 'GET']);
    const gate = gateHeaders(ctx);
    return {
      method,
      target,
      labels: [...gate.labels, `content-length=${label}`],
      bytes: message(`${method} ${target} HTTP/1.1`, [...gate.lines, 'Content-Type: application/json', ...lines], payload),
    };
  },

  'content-length-huge'(ctx) {
    // Far above maxBodyBytes (1 MiB): the answer (413, or the route's) must not wait for the body.
    const { rng } = ctx;
    const method = rng.pick(['POST', 'PUT', 'PATCH']);
    const target = rng.pick(['/api/terminals/x/input', `/api/terminals/${terminalId(ctx)}/input`, '/health', '/ui/']);
    const gate = gateHeaders(ctx);
    const length = rng.pick([2 * 1024 * 1024, 10 ** 10, 2 ** 53 - 1]);
    return {
      method,
      target,
      labels: [...gate.labels, `content-length=${length}`],
      bytes: message(`${method} ${target} HTTP/1.1`, [...gate.lines, 'Content-Type: application/json', `Content-Length: ${length}`], Buffer.from('{"data":"')),
    };
  },

  'content-length-short'(ctx) {
    const { rng } = ctx;
    const payload = body(ctx);
    const target = rng.pick(['/api/terminals/x/input', `/api/terminals/${terminalId(ctx)}/run`, '/health']);
    const gate = gateHeaders(ctx);
    const missing = rng.between(1, 1000);
    return {
      method: 'POST',
      target,
      labels: [...gate.labels, payload.label, `missing=${missing}`],
      bytes: message(`POST ${target} HTTP/1.1`, [...gate.lines, `Content-Length: ${payload.bytes.length + missing}`], payload.bytes),
      halfClose: true,
    };
  },

  chunked(ctx) {
    const { rng } = ctx;
    const payload = body(ctx).bytes;
    const parts: Buffer[] = [];
    for (let offset = 0; offset < payload.length; ) {
      const size = Math.min(payload.length - offset, rng.between(1, 4096));
      const extension = rng.chance(0.1) ? ';ext=1' : '';
      parts.push(Buffer.from(`${size.toString(16)}${extension}\r\n`), payload.subarray(offset, offset + size), Buffer.from('\r\n'));
      offset += size;
    }
    parts.push(Buffer.from(rng.chance(0.1) ? '0\r\nX-Trailer: 1\r\n\r\n' : '0\r\n\r\n'));
    const target = rng.pick(['/api/terminals/x/input', `/api/terminals/${terminalId(ctx)}/resize`, '/health', '/api/nope']);
    const gate = gateHeaders(ctx);
    return {
      method: 'POST',
      target,
      labels: [...gate.labels, `chunks=${parts.length / 3}`],
      bytes: message(`POST ${target} HTTP/1.1`, [...gate.lines, ...contentType(ctx), 'Transfer-Encoding: chunked'], Buffer.concat(parts)),
    };
  },

  'chunked-bad-body'(ctx) {
    // Each is wrong at once (not merely unfinished), so a parser can tell without waiting for more.
    const [label, chunks] = ctx.rng.pick<readonly [string, string]>([
      ['size-not-hex', 'zz\r\nhello\r\n0\r\n\r\n'],
      ['size-negative', '-5\r\nhello\r\n0\r\n\r\n'],
      ['size-overflow', 'ffffffffffffffffffffff\r\nhello\r\n0\r\n\r\n'],
      ['data-longer-than-size', '2\r\nhello world\r\n0\r\n\r\n'],
      ['no-crlf-after-data', '5\r\nhelloXY0\r\n\r\n'],
      ['nul-in-extension', '5;\u0000\r\nhello\r\n0\r\n\r\n'],
    ]);
    return brokenChunked(ctx, label, ['Transfer-Encoding: chunked'], chunks);
  },

  'chunked-bad-header'(ctx) {
    // RFC 9112 §6.1, §6.3: invalid framing in the headers; the body itself is well-formed.
    const [label, headers] = ctx.rng.pick<readonly [string, string[]]>([
      ['with-content-length', ['Transfer-Encoding: chunked', 'Content-Length: 3']],
      ['chunked-not-last', ['Transfer-Encoding: chunked, identity']],
      ['two-te-headers', ['Transfer-Encoding: chunked', 'Transfer-Encoding: chunked']],
      ['te-misspelt', ['Transfer-Encoding: chunkedx']],
    ]);
    return brokenChunked(ctx, label, headers, '5\r\nhello\r\n0\r\n\r\n');
  },

  'ws-upgrade'(ctx) {
    const { rng } = ctx;
    const method = rng.weighted<string>([
      [8, 'GET'],
      [1, 'HEAD'],
      [1, 'POST'],
      [1, 'OPTIONS'],
    ]);
    const path = rng.weighted<() => string>([
      [4, () => '/ws'],
      [4, () => '/api/ws'],
      [1, () => '/health'],
      [1, () => '/api/terminals'],
      [1, () => anyPath(ctx)],
    ])();
    const target = rng.chance(0.2) ? `${path}?token=${rng.pick([ctx.token, rng.hex(64)])}` : path;
    const labels: string[] = [];
    const lines: string[] = [];
    const add = (label: string, line: string | null) => {
      labels.push(label);
      if (line !== null) lines.push(line);
    };
    const gate = gateHeaders(ctx);
    labels.push(...gate.labels);
    lines.push(...gate.lines);
    const upgrade = rng.pick(['websocket', 'WebSocket']);
    add(`upgrade=${upgrade}`, `Upgrade: ${upgrade}`);
    const connection = rng.pick(['Upgrade', 'upgrade', 'keep-alive, Upgrade']);
    add(`connection=${connection}`, `Connection: ${connection}`);
    const [keyLabel, key] = rng.weighted<readonly [string, string | null]>([
      [6, ['valid', rng.bytes(16).toString('base64')]],
      [1, ['invalid', rng.pick(['not-base64!', 'AAAA', '', rng.text(30)])]],
      [1, ['absent', null]],
    ]);
    add(`key=${keyLabel}`, key === null ? null : `Sec-WebSocket-Key: ${key}`);
    const version = rng.weighted<string | null>([
      [6, '13'],
      [1, '8'],
      [1, null],
    ]);
    add(`version=${version ?? 'absent'}`, version === null ? null : `Sec-WebSocket-Version: ${version}`);
    const [protocolLabel, protocol] = rng.weighted<readonly [string, string | null]>([
      [4, ['none', null]],
      [2, ['termgate.v1', 'termgate.v1']],
      [1, ['bearer-real', `bearer.${ctx.token}`]],
      [1, ['bearer-garbage', `bearer.${rng.hex(64)}, termgate.v1`]],
      [1, ['junk', rng.pick([',,,', 'a b', rng.text(20)])]],
    ]);
    add(`protocol=${protocolLabel}`, protocol === null ? null : `Sec-WebSocket-Protocol: ${protocol}`);
    return { method, target, labels, bytes: message(`${method} ${target} HTTP/1.1`, lines) };
  },

  'ws-without-connection'(ctx) {
    const { rng } = ctx;
    const target = rng.pick(['/ws', '/api/ws', '/ws', '/api/ws', '/api/terminals', '/health']);
    const gate = gateHeaders(ctx);
    const connection = rng.pick([null, 'keep-alive', 'close']);
    return {
      method: 'GET',
      target,
      labels: [...gate.labels, `connection=${connection ?? 'none'}`],
      bytes: message(`GET ${target} HTTP/1.1`, [
        ...gate.lines,
        'Upgrade: websocket',
        ...(connection === null ? [] : [`Connection: ${connection}`]),
        `Sec-WebSocket-Key: ${rng.bytes(16).toString('base64')}`,
        'Sec-WebSocket-Version: 13',
      ]),
    };
  },

  'upgrade-other'(ctx) {
    const { rng } = ctx;
    const method = rng.pick(['GET', 'GET', 'OPTIONS', 'HEAD', 'POST']);
    const target = method === 'POST' ? '/api/terminals/x/input' : anyPath(ctx);
    const gate = gateHeaders(ctx);
    const upgrade = rng.pick(['h2c', 'foo', '']);
    const connection = rng.pick(['Upgrade', 'Upgrade, HTTP2-Settings']);
    const settings = connection.includes('HTTP2-Settings') ? ['HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA'] : [];
    const payload = method === 'POST' ? Buffer.from('{"data":"x"}') : undefined;
    return {
      method,
      target,
      labels: [...gate.labels, `upgrade=${upgrade || 'empty'}`, `connection=${connection}`],
      bytes: message(
        `${method} ${target} HTTP/1.1`,
        [...gate.lines, `Upgrade: ${upgrade}`, `Connection: ${connection}`, ...settings, ...(payload ? [`Content-Length: ${payload.length}`] : [])],
        payload,
      ),
    };
  },

  'upgrade-header-only'(ctx) {
    const { rng } = ctx;
    const method = rng.pick(['GET', 'HEAD', 'OPTIONS']);
    const target = anyPath(ctx);
    const gate = gateHeaders(ctx);
    const upgrade = rng.pick(['h2c', 'foo', '', 'websocket, h2c']);
    const connection = connectionHeader(ctx);
    return {
      method,
      target,
      labels: [...gate.labels, `upgrade=${upgrade || 'empty'}`, connection.label],
      bytes: message(`${method} ${target} HTTP/1.1`, [...gate.lines, `Upgrade: ${upgrade}`, ...connection.lines]),
    };
  },

  'two-hosts'(ctx) {
    const { rng, port } = ctx;
    const method = rng.pick(['GET', 'GET', 'HEAD', 'OPTIONS']);
    const target = anyPath(ctx);
    const values = [`127.0.0.1:${port}`, 'localhost', 'evil.example', `localhost:${port}`];
    const first = rng.pick(values);
    const second = rng.pick(values);
    const auth = authHeader(ctx);
    return {
      method,
      target,
      labels: [`hosts=${first},${second}`, auth.label],
      bytes: message(`${method} ${target} HTTP/1.1`, [`Host: ${first}`, ...auth.lines, `Host: ${second}`]),
    };
  },

  http10(ctx) {
    const { rng } = ctx;
    const method = rng.pick(['GET', 'HEAD']);
    const target = anyPath(ctx);
    const gate = gateHeaders(ctx);
    const keepAlive = rng.chance(0.3) ? ['Connection: keep-alive'] : [];
    return { method, target, labels: gate.labels, bytes: message(`${method} ${target} HTTP/1.0`, [...gate.lines, ...keepAlive]) };
  },

  'http2-request-line'(ctx) {
    return raw('GET', '/', message('GET / HTTP/2.0', [`Host: 127.0.0.1:${ctx.port}`]));
  },

  'http2-preface'() {
    return raw('PRI', '*', Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'));
  },

  'no-version'(ctx) {
    return raw('GET', '/', Buffer.from(ctx.rng.pick(['GET /\r\n\r\n', 'GET /', 'GET /health\r\n']), 'latin1'));
  },

  'binary-garbage'(ctx) {
    return raw('', '/', Buffer.concat([Buffer.from([0, 1]), ctx.rng.bytes(ctx.rng.between(0, 512)), Buffer.from('\r\n\r\n')]));
  },

  'empty-lines'(ctx) {
    return raw('', '/', Buffer.from('\r\n'.repeat(ctx.rng.between(2, 20)), 'latin1'));
  },

  'long-request-line'(ctx) {
    const target = '/' + 'a'.repeat(10 * 1024);
    return raw('GET', target, message(`GET ${target} HTTP/1.1`, [`Host: 127.0.0.1:${ctx.port}`]));
  },

  'lf-only'(ctx) {
    return raw('GET', '/health', message('GET /health HTTP/1.1', [`Host: 127.0.0.1:${ctx.port}`], undefined, '\n'));
  },

  'header-without-colon'(ctx) {
    return raw('GET', '/health', message('GET /health HTTP/1.1', [`Host: 127.0.0.1:${ctx.port}`, ctx.rng.pick(['NoColonHere', 'X-Foo bar', ' folded'])]));
  },
};

function brokenChunked(ctx: Context, label: string, framing: string[], chunks: string): Draft {
  const target = ctx.rng.pick(['/api/terminals/x/input', `/api/terminals/${terminalId(ctx)}/input`, '/health', '/api/terminals']);
  const method = target === '/api/terminals' ? 'GET' : 'POST';
  const gate = gateHeaders(ctx);
  return {
    method,
    target,
    labels: [...gate.labels, `framing=${label}`],
    bytes: message(`${method} ${target} HTTP/1.1`, [...gate.lines, 'Content-Type: application/json', ...framing], Buffer.from(chunks, 'latin1')),
  };
}

function raw(method: string, target: string, bytes: Buffer): Draft {
  return { method, target, labels: [], bytes, halfClose: true };
}

/** The whole run for one server, drawn up front so the sequence does not depend on timing. */
function generate(rng: Rng, port: number, token: string, count: number): FuzzRequest[] {
  const ctx: Context = { rng, port, token };
  const kinds = KIND_NAMES.map((kind) => [KINDS[kind].weight, kind] as const);
  const requests: FuzzRequest[] = [];
  for (let i = 0; i < count; i++) {
    const kind = rng.weighted(kinds);
    let draft = GENERATORS[kind](ctx);
    // Redraw (a bounded number of times) whatever could change state; GET /health as the last resort.
    for (let attempt = 0; attempt < 20 && changesState(draft.method, draft.target); attempt++) draft = GENERATORS[kind](ctx);
    if (changesState(draft.method, draft.target)) draft = { method: 'GET', target: '/health', labels: [], bytes: message('GET /health HTTP/1.1', [`Host: 127.0.0.1:${port}`]) };
    requests.push({
      kind,
      method: draft.method,
      target: draft.target,
      label: [`${draft.method} ${draft.target.length > 60 ? draft.target.slice(0, 60) + '…' : draft.target}`, ...draft.labels].join(' '),
      bytes: draft.bytes,
      head: draft.method === 'HEAD',
      halfClose: draft.halfClose ?? false,
    });
  }
  return requests;
}

// ---------------------------------------------------------------------------
// Sending over raw TCP

type Outcome = number | 'http2-settings' | 'closed-without-answer' | 'no-answer' | 'malformed-answer' | 'connect-failed' | 'not-sent';

interface Result {
  outcome: Outcome;
  /** The start of the answer (latin1), for the report. */
  answer: string;
  /** The answer is termgate's own (its JSON error or content type): the request got past the runtime's parser. */
  fromTermgate: boolean;
}

interface ParsedHead {
  status: number;
  headerEnd: number;
  headers: Map<string, string>;
}

/** An HTTP/2 SETTINGS frame on stream 0: a server that speaks h2c answering its preface. */
function isHttp2Settings(data: Buffer): boolean {
  return data.length >= 9 && data[3] === 0x04 && data.readUInt32BE(5) === 0;
}

function parseHead(data: Buffer): ParsedHead | null | 'malformed' {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return data.length >= 8 && !data.subarray(0, 8).toString('latin1').startsWith('HTTP/') ? 'malformed' : null;
  const lines = data.subarray(0, end).toString('latin1').split('\r\n');
  const match = /^HTTP\/\d\.\d (\d{3})/.exec(lines[0] ?? '');
  if (!match) return 'malformed';
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { status: Number(match[1]), headerEnd: end + 4, headers };
}

/** Whether a chunked body starting at `from` has arrived in full (last chunk and trailers). */
function chunkedComplete(data: Buffer, from: number): boolean {
  let at = from;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd < 0) return false;
    const size = parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size)) return true; // not chunked after all: give up waiting, the status is what counts
    if (size === 0) return data.indexOf('\r\n\r\n', lineEnd) >= 0 || data.subarray(lineEnd, lineEnd + 4).toString('latin1') === '\r\n\r\n';
    at = lineEnd + 2 + size + 2;
    if (at > data.length) return false;
  }
}

/** Whether the whole answer is in: its framing says so (Content-Length, chunked, no body), or it is a 101. */
function answerComplete(data: Buffer, head: ParsedHead, isHead: boolean): boolean {
  if (head.status === 101 || isHead || head.status === 204 || head.status === 304 || (head.status >= 100 && head.status < 200)) return true;
  const length = head.headers.get('content-length');
  if (length !== undefined && /^\d+$/.test(length)) return data.length - head.headerEnd >= Number(length);
  if (head.headers.get('transfer-encoding')?.toLowerCase().includes('chunked')) return chunkedComplete(data, head.headerEnd);
  return false; // read until the peer closes
}

function send(port: number, request: FuzzRequest): Promise<Result> {
  return new Promise((resolve) => {
    let data = Buffer.alloc(0);
    let connected = false;
    let settled = false;
    const socket = connect({ host: '127.0.0.1', port });
    const finish = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      socket.destroy();
      const answer = data.subarray(0, 600).toString('latin1');
      // termgate's error body, or (HEAD, no body) its JSON content type: runtimes' parsers send neither.
      const fromTermgate = answer.includes('{"error":{"code":') || /\r\ncontent-type: application\/json/i.test(answer);
      resolve({ outcome, answer, fromTermgate });
    };
    const current = (): Outcome => {
      if (!connected) return 'connect-failed';
      if (data.length === 0) return 'closed-without-answer';
      if (isHttp2Settings(data)) return 'http2-settings';
      const head = parseHead(data);
      return head === null || head === 'malformed' ? 'malformed-answer' : head.status;
    };
    const deadline = setTimeout(() => {
      // Headers in but the body still coming counts as answered: the status is what this test checks.
      const outcome = current();
      finish(outcome === 'closed-without-answer' ? 'no-answer' : outcome);
    }, DEADLINE_MS);
    socket.on('connect', () => {
      connected = true;
      socket.write(request.bytes);
      if (request.halfClose) socket.end();
    });
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const head = parseHead(data);
      if (isHttp2Settings(data)) finish('http2-settings');
      else if (head === 'malformed') finish('malformed-answer');
      else if (head !== null && answerComplete(data, head, request.head)) finish(head.status);
    });
    // A reset after (part of) an answer still counts as that answer; close follows error.
    socket.on('error', () => undefined);
    socket.on('close', () => finish(current()));
  });
}

/** Runs every request, CONCURRENCY at a time; none starts after RUN_BUDGET_MS. */
async function sendAll(port: number, requests: FuzzRequest[]): Promise<Result[]> {
  const results: Result[] = requests.map(() => ({ outcome: 'not-sent', answer: '', fromTermgate: false }));
  const started = Date.now();
  let next = 0;
  const worker = async () => {
    while (next < requests.length && Date.now() - started < RUN_BUDGET_MS) {
      const index = next++;
      results[index] = await send(port, requests[index]!);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return results;
}

// ---------------------------------------------------------------------------
// File descriptors of the serving process

/** The inode of the socket listening on `port`, from /proc/net/tcp{,6}. */
function listeningInode(port: number): string {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[3] === '0A' && fields[1]?.endsWith(`:${hexPort}`) && fields[9]) return fields[9];
    }
  }
  throw new Error(`no socket listens on port ${port}`);
}

function holdsSocket(pid: number, inode: string): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`;
      } catch {
        return false; // closed while we looked
      }
    });
  } catch {
    return false;
  }
}

/** The child processes of `pid`, from the ppid field of /proc/<n>/stat. */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // gone already
    }
  }
  return children;
}

/**
 * The process that holds the listening socket: the one whose fds the
 * requests would leak. node_modules/.bin/bun and deno are the real binaries
 * (not wrappers) today, so that is the process we started; searching the
 * descendants keeps this right if one becomes a launcher.
 */
function servingPid(server: RunningServer): number {
  const root = server.process.pid;
  if (root === undefined) throw new Error('server has no pid');
  const inode = listeningInode(server.port);
  const queue = [root];
  for (let seen = 0; queue.length > 0 && seen < 100; seen++) {
    const pid = queue.shift()!;
    if (holdsSocket(pid, inode)) return pid;
    queue.push(...childrenOf(pid));
  }
  throw new Error(`no process under pid ${root} holds the socket listening on ${server.port}`);
}

/** What each open fd points at ("socket:[123]", "anon_inode:[eventfd]", a path). */
function fdTargets(pid: number): Map<string, string> {
  const targets = new Map<string, string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      targets.set(fd, readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {
      // closed while we looked
    }
  }
  return targets;
}

/** The fds opened since `before`, counted by type: what a leak (or drift) consists of. */
function newFds(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [fd, target] of after) {
    if (before.get(fd) === target) continue;
    const type = target.replace(/:\[\d+\]$/, '').replace(/^\/.*/, 'file');
    counts[type] = (counts[type] ?? 0) + 1;
  }
  return counts;
}

// ---------------------------------------------------------------------------
// Judging

function histogram(results: readonly Result[]): Record<string, number> {
  const counts = new Map<Outcome, number>();
  for (const { outcome } of results) counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
  const keys = [...counts.keys()].sort((a, b) => (typeof a === typeof b ? (a < b ? -1 : 1) : typeof a === 'number' ? -1 : 1));
  return Object.fromEntries(keys.map((key) => [String(key), counts.get(key)!]));
}

function allowedParser5xx(runtime: Runtime, request: FuzzRequest, result: Result): boolean {
  return (
    !result.fromTermgate &&
    RUNTIME_PARSER_5XX.some((entry) => entry.runtime === runtime && entry.kind === request.kind && entry.status === result.outcome)
  );
}

/** Why this answer is wrong, or null. */
function problemOf(runtime: Runtime, request: FuzzRequest, result: Result): string | null {
  const { outcome } = result;
  if (outcome === 'no-answer') return `no answer in ${DEADLINE_MS / 1000} s`;
  if (outcome === 'not-sent') return 'not sent (run budget spent)';
  if (outcome === 'connect-failed') return 'connect failed (server gone?)';
  if (outcome === 'malformed-answer') return 'answer is not HTTP/1.x';
  if (outcome === 'http2-settings') return request.kind === 'http2-preface' ? null : 'answered in HTTP/2';
  if (outcome === 'closed-without-answer') {
    const parserCloses = RUNTIME_PARSER_CLOSES.some((entry) => entry.runtime === runtime && entry.kind === request.kind);
    return KINDS[request.kind].mayClose || parserCloses ? null : 'closed without an answer';
  }
  if (outcome >= 500 && !allowedParser5xx(runtime, request, result)) return `${outcome}${result.fromTermgate ? " (termgate's answer)" : ''}`;
  // RFC 9112 §3.2: more than one Host line is a 400, whatever the route.
  if (request.kind === 'two-hosts' && outcome !== 400) return `${outcome} for two Host headers (want 400)`;
  return null;
}

function printable(bytes: Buffer, max = 300): string {
  const text = bytes.subarray(0, max).toString('latin1');
  return JSON.stringify(bytes.length > max ? `${text}… (${bytes.length} bytes)` : text);
}

/** One line per (kind, problem), with a count and the first example, raw. */
function report(runtime: Runtime, requests: readonly FuzzRequest[], results: readonly Result[]): string[] {
  const groups = new Map<string, { count: number; request: FuzzRequest; result: Result; labels: string[] }>();
  requests.forEach((request, index) => {
    const result = results[index]!;
    const problem = problemOf(runtime, request, result);
    if (problem === null) return;
    const key = `${request.kind}: ${problem}`;
    const group = groups.get(key);
    if (group) {
      group.count++;
      group.labels.push(request.label);
    } else groups.set(key, { count: 1, request, result, labels: [request.label] });
  });
  const lines: string[] = [];
  for (const [key, { count, request, result, labels }] of groups) {
    lines.push(`${key} ×${count}\n    e.g. ${request.label}\n    request: ${printable(request.bytes)}` + (result.answer ? `\n    answer: ${JSON.stringify(result.answer.slice(0, 300))}` : ''));
    if (process.env.FUZZ_VERBOSE) for (const label of labels) lines.push(`      ${label}`);
  }
  return lines;
}

/** GET /health over the same raw path: 200 when the server still serves. */
async function healthStatus(port: number): Promise<Outcome> {
  const bytes = message('GET /health HTTP/1.1', [`Host: 127.0.0.1:${port}`, 'Connection: close']);
  return (await send(port, { kind: 'rest', method: 'GET', target: '/health', label: 'health', bytes, head: false, halfClose: false })).outcome;
}

// ---------------------------------------------------------------------------

export function fuzzChecks({ runtime }: Target): void {
  describe('fuzz', () => {
    const servers: Partial<Record<'local' | 'exposed', RunningServer>> = {};
    const seed = fuzzSeed();

    beforeAll(async () => {
      console.log(`[${runtime}] fuzz seed ${seed} (replay: FUZZ_SEED=${seed} npm test)`);
      [servers.local, servers.exposed] = await Promise.all([startServer(runtime), startServer(runtime, { host: '0.0.0.0' })]);
    });
    afterAll(async () => {
      await Promise.all([servers.local?.stop(), servers.exposed?.stop()]);
    });

    for (const [mode, stream] of [
      ['local', 0],
      ['exposed', 1],
    ] as const) {
      it(`${mode}: every generated request gets an answer, no 5xx of termgate's, no fd kept`, { timeout: 90_000 }, async () => {
        const server = servers[mode]!;
        const tag = `[${runtime} ${mode}]`;
        const token = savedConfig(server).authToken;
        // Each mode its own stream of the one seed, so either replays alone.
        const requests = generate(new Rng(seed + stream * 0x9e3779b9), server.port, token, REQUESTS_PER_SERVER);
        for (const request of requests) if (changesState(request.method, request.target)) throw new Error(`refusing to send ${request.label}`);

        const pid = servingPid(server);
        expect(await healthStatus(server.port)).toBe(200); // warms up whatever the first request opens
        const fdsBefore = openFds(pid);
        const targetsBefore = fdTargets(pid);
        const started = Date.now();
        const results = await sendAll(server.port, requests);
        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        // Waiting for the full return, not just the tolerance, tells slow cleanup from a leak.
        const fdsAfter = await settledFds(pid, fdsBefore, 0, FD_SETTLE_MS);
        const opened = newFds(targetsBefore, fdTargets(pid));
        const health = await healthStatus(server.port);

        const sent = results.filter((r) => r.outcome !== 'not-sent').length;
        console.log(`${tag} ${sent} requests in ${seconds} s (pid ${pid}); statuses ${JSON.stringify(histogram(results))}; fds ${fdsBefore} → ${fdsAfter} (new: ${JSON.stringify(opened)})`);
        const problems = report(runtime, requests, results);
        if (problems.length > 0) console.log(`${tag} fuzz failures (seed ${seed}):\n  ${problems.join('\n  ')}`);

        expect.soft(problems, `${tag} requests answered wrongly (seed ${seed})`).toEqual([]);
        expect.soft(Math.abs(fdsAfter - fdsBefore), `${tag} open fds ${fdsBefore} → ${fdsAfter}`).toBeLessThanOrEqual(FD_TOLERANCE);
        expect.soft(health, `${tag} /health after the run`).toBe(200);
      });
    }
  });
}

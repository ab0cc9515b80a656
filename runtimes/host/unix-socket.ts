/**
 * The Unix socket of `--unix PATH` (docs/tls-and-unix.md), with node:net and
 * node:http, which behave alike on Node, Bun and Deno: creating it 0600, telling
 * a stale socket file from a live one, and HTTP over it for the CLI and the MCP
 * sidecar (`fetch` cannot reach a Unix socket on all three runtimes).
 */
import { chmodSync, lstatSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import type { Listen } from '../../src/platform.ts';

/** Owner read/write only: who cannot open the socket file cannot reach the server. */
const SOCKET_MODE = 0o600;
const CONNECT_PROBE_TIMEOUT_MS = 2000;

/**
 * `listen`, with a Unix socket created 0600 from the start: the umask is
 * tightened while the runtime binds (no moment in which another user could
 * connect), and the mode set again afterwards in case a runtime ignored it.
 */
export function privateUnixSockets(listen: Listen): Listen {
  return async (host, port, fetch, options) => {
    const path = options?.unixPath;
    if (path === undefined) return listen(host, port, fetch, options);
    const before = process.umask(0o177);
    let listening;
    try {
      listening = await listen(host, port, fetch, options);
    } finally {
      process.umask(before);
    }
    try {
      chmodSync(path, SOCKET_MODE);
    } catch (error) {
      await listening.close();
      throw error;
    }
    return listening;
  };
}

/** What is at a socket path now: nothing, a socket nobody listens on, a socket someone listens on, or another file. */
export type SocketPathState = 'absent' | 'stale' | 'live' | 'not-a-socket';

export async function socketPathState(path: string): Promise<SocketPathState> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return 'absent';
  }
  if (!isSocket) return 'not-a-socket';
  return new Promise((resolve) => {
    const socket = connect(path);
    const done = (state: SocketPathState) => {
      socket.destroy();
      resolve(state);
    };
    socket.setTimeout(CONNECT_PROBE_TIMEOUT_MS, () => done('live'));
    socket.once('connect', () => done('live'));
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code === 'ECONNREFUSED' || error.code === 'ENOENT' ? 'stale' : 'live'));
  });
}

/** Removes a socket file nobody listens on (left by a server that was killed); only a socket, never another file. */
export function removeStaleSocket(path: string): void {
  if (lstatSync(path).isSocket()) rmSync(path);
}

/**
 * Removes the server's own socket file after its listener closed. Node and Bun
 * remove it on close; Deno's shutdown does so a moment later, after the
 * process may have exited, which would leave a stale file behind.
 */
export function removeOwnSocket(path: string): void {
  try {
    removeStaleSocket(path);
  } catch {
    // already gone
  }
}

/**
 * The URL form of a socket path, as docker-py and requests-unixsocket write it:
 * `http+unix://` and the percent-encoded path as the host. `unixFetch` reads it.
 */
export function unixSocketUrl(path: string): string {
  return `http+unix://${encodeURIComponent(path)}`;
}

export function isUnixSocketUrl(url: string): boolean {
  return url.startsWith('http+unix://');
}

/**
 * A fetch over a Unix socket, for `http+unix://<encoded path>/<request path>`
 * URLs: method, headers, a string body, an AbortSignal. The answer is read
 * whole before it resolves (the CLI and the sidecar read every answer whole).
 * Host is `localhost`, which the gate admits on a socket server.
 */
export function unixFetch(input: string, init: RequestInit = {}): Promise<Response> {
  const url = new URL(input);
  const socketPath = decodeURIComponent(url.host);
  const headers: Record<string, string> = { host: 'localhost' };
  new Headers(init.headers).forEach((value, name) => (headers[name] = value));
  const body = init.body === undefined || init.body === null ? undefined : String(init.body);
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
  const signal = init.signal ?? undefined;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const request = httpRequest({ socketPath, path: url.pathname + url.search, method: init.method ?? 'GET', headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.once('error', reject);
      response.once('end', () => {
        signal?.removeEventListener('abort', abort);
        const status = response.statusCode ?? 502;
        const answer = new Headers();
        for (const [name, value] of Object.entries(response.headers)) {
          for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value]) answer.append(name, one);
        }
        const noBody = status === 204 || status === 304 || (init.method ?? 'GET') === 'HEAD';
        resolve(new Response(noBody ? null : Buffer.concat(chunks), { status, statusText: response.statusMessage ?? '', headers: answer }));
      });
    });
    const abort = () => request.destroy(signal!.reason instanceof Error ? signal!.reason : new Error(String(signal!.reason)));
    signal?.addEventListener('abort', abort, { once: true });
    request.once('error', (error) => {
      signal?.removeEventListener('abort', abort);
      reject(error);
    });
    request.end(body);
  });
}

/** The fetch that reaches `url`: over the socket for `http+unix://`, else the runtime's own. */
export function fetchFor(url: string): (input: string, init?: RequestInit) => Promise<Response> {
  return isUnixSocketUrl(url) ? unixFetch : (input, init) => fetch(input, init);
}

/** A URL as people read it: `unix:/path` for a socket URL, any other URL as it is. */
export function displayUrl(url: string): string {
  return isUnixSocketUrl(url) ? `unix:${decodeURIComponent(new URL(url).host)}` : url;
}

/**
 * The CLI as a client of a running termgate: find it on the configured port
 * (its /health says "termgate"), then call the same REST API any client uses,
 * so a change made through the CLI takes effect at once, without a restart.
 */
import { urlFor } from '../../src/listener.ts';
import { displayUrl, fetchFor, unixSocketUrl } from '../host/unix-socket.ts';
import { CliError } from './errors.ts';

const PROBE_TIMEOUT_MS = 2000;
const CALL_TIMEOUT_MS = 30_000;

/** What GET /health says, on the API ("termgate") and on the MCP sidecar ("termgate-mcp") alike. */
export interface Health {
  name: string;
  version: string;
  runtime: string;
  mode: 'local' | 'exposed';
}

export interface RemoteServer {
  /** The URL the CLI reaches it at (through loopback for a wildcard bind; `http+unix://…` for a Unix socket). */
  url: string;
  health: Health;
}

/** The URL this machine reaches a server bound to host:port at: loopback for a wildcard bind. */
export function reachableUrl(host: string, port: number): string {
  return urlFor(host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host, port);
}

/** The one /health probe: what answers at `url` when it says it is `name`, else null (nothing, or something else, answers). */
export async function probeHealth(url: string, name: 'termgate' | 'termgate-mcp' = 'termgate'): Promise<Health | null> {
  try {
    const response = await fetchFor(url)(`${url}/health`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    const health = (await response.json()) as Partial<Health>;
    return health.name === name ? (health as Health) : null;
  } catch {
    return null;
  }
}

/** The termgate (or, with `name`, its sidecar) answering on host:port, by default on 127.0.0.1, or on the Unix socket `unix`. */
export async function findServer(
  port: number,
  { host = '127.0.0.1', name = 'termgate', unix }: { host?: string; name?: 'termgate' | 'termgate-mcp'; unix?: string | undefined } = {},
): Promise<RemoteServer | null> {
  const url = unix === undefined ? reachableUrl(host, port) : unixSocketUrl(unix);
  const health = await probeHealth(url, name);
  return health === null ? null : { url, health };
}

/**
 * One API call. The token is sent only when the server is exposed (in local
 * mode it is not needed, and not sending it keeps it away from whatever
 * happens to answer on the port). Errors become one line from the server's
 * own `{"error":{"message"}}`.
 */
export async function callServer<T = unknown>(
  server: RemoteServer,
  token: () => Promise<string | undefined>,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (server.health.mode === 'exposed') {
    const secret = await token();
    if (secret) headers.authorization = `Bearer ${secret}`;
  }
  let response: Response;
  try {
    response = await fetchFor(server.url)(server.url + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
  } catch (error) {
    throw new CliError(`termgate at ${displayUrl(server.url)} did not answer ${method} ${path}: ${(error as Error).message}`);
  }
  // A local server started with --require-token asks for the token (401): once more, with it.
  if (response.status === 401 && headers.authorization === undefined && (await token())) {
    await response.body?.cancel();
    return callServer(server.health.mode === 'exposed' ? server : { ...server, health: { ...server.health, mode: 'exposed' } }, token, method, path, body);
  }
  const text = await response.text();
  let json: unknown = undefined;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON: reported below by status
  }
  if (!response.ok) {
    const message = (json as { error?: { message?: string } } | undefined)?.error?.message ?? `HTTP ${response.status}`;
    const hint =
      response.status === 401 ? ' (the token in the config file or TERMGATE_TOKEN does not match this server)' : '';
    throw new CliError(`${message}${hint}`);
  }
  return json as T;
}

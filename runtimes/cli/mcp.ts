/**
 * `termgate mcp` (docs/mcp.md): the MCP sidecar as its own process, on any of the
 * three runtimes. It binds through the runtime's `listen` (the same one the
 * API uses), so no runtime needs code of its own for it.
 */
import { resolve } from 'node:path';
import { isAddressInUse, unixUrlFor, urlFor } from '../../src/listener.ts';
import { MCP_PATH, McpSidecar } from '../../src/mcp/sidecar.ts';
import { envApiUrl, envPort, envToken } from '../host/env.ts';
import { configStorage, openConfig } from '../host/home.ts';
import { nodeSystem } from '../host/system.ts';
import { displayUrl, fetchFor, privateUnixSockets, removeOwnSocket, unixSocketUrl } from '../host/unix-socket.ts';
import { CliError } from './errors.ts';
import { listenError } from './listen-error.ts';
import { findServer, probeHealth } from './remote.ts';
import { type TransportOptions, listenOptions, unixSocketTaken } from './transport.ts';
import { stopOnSignals } from './shutdown.ts';
import type { RuntimeWiring } from './wiring.ts';

/** A long run_command may hold a response open; it is the API's to finish, not ours to wait for. */
const SHUTDOWN_GRACE_MS = 3000;

export interface McpOptions extends TransportOptions {
  host?: string | undefined;
  port?: number | undefined;
  apiUrl?: string | undefined;
  /** --api-unix: the API's Unix socket (instead of apiUrl). */
  apiUnix?: string | undefined;
  dev: boolean;
}

export async function mcp(wiring: RuntimeWiring, options: McpOptions): Promise<void> {
  const listen = await listenOptions(options, 'termgate-mcp');
  if (listen === 'running') return process.exit(0);
  const storage = configStorage(options.dev);
  const config = await openConfig(storage, options.dev);

  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? envPort('TERMGATE_MCP_PORT') ?? config.current.mcpPort;
  const api = options.apiUnix === undefined ? apiUrl(options.apiUrl) : unixSocketUrl(resolve(options.apiUnix));
  const sidecar = new McpSidecar({
    config,
    runtime: wiring.runtime,
    // A Unix socket is local, as the API's is: only who can open it connects.
    bindHost: listen.unixPath === undefined ? host : '127.0.0.1',
    apiUrl: api,
    apiFetch: api === undefined ? undefined : fetchFor(api),
    envToken: envToken(),
    interfaceAddresses: () => nodeSystem.interfaceAddresses(),
    log: (line) => console.error(`termgate mcp: ${line}`),
  });

  let listening;
  try {
    listening = await privateUnixSockets(wiring.listen)(host, port, sidecar.fetch, listen);
  } catch (error) {
    if (listen.unixPath !== undefined) throw isAddressInUse(error) ? unixSocketTaken(listen.unixPath) : listenError(error, unixUrlFor(listen.unixPath));
    if (!isAddressInUse(error)) throw listenError(error, `${host}:${port}`, host);
    const existing = await findServer(port, { host, name: 'termgate-mcp' });
    if (existing) {
      console.log(`termgate mcp is already running at ${existing.url}${MCP_PATH}`);
      return process.exit(0);
    }
    throw new CliError(`port ${port} on ${host} is in use by another program; choose another with --port`);
  }

  // On a socket the MCP path is said apart: `unix:/run/x.sock/mcp` would read as another file.
  const url =
    listen.unixPath === undefined
      ? `${urlFor(host, listening.port, listen.tls ? 'https' : 'http')}${MCP_PATH}`
      : `${unixUrlFor(listen.unixPath)} (path ${MCP_PATH},`;
  const details = `mode: ${sidecar.mode}, api: ${displayUrl(sidecar.api.baseUrl)}, runtime: ${wiring.runtime})`;
  console.log(`termgate mcp listening on ${url}${listen.unixPath === undefined ? ' (' : ' '}${details}`);
  void warnIfApiDown(api ?? sidecar.api.baseUrl);

  stopOnSignals({
    name: 'termgate mcp',
    graceMs: SHUTDOWN_GRACE_MS,
    exitCodeWhenSlow: 0,
    cleanup: async () => {
      await listening.close().catch(() => undefined);
      if (listen.unixPath !== undefined) removeOwnSocket(listen.unixPath);
      await sidecar.credentials.flush().catch(() => undefined);
      await config.settled();
    },
  });
}

/** The API's origin from --api-url, else TERMGATE_API_URL, else TERMGATE_PORT on loopback; undefined: the config's apiPort. */
function apiUrl(flag: string | undefined): string | undefined {
  const given = flag ?? envApiUrl();
  if (given !== undefined) {
    let url: URL;
    try {
      url = new URL(given);
    } catch {
      throw new CliError(`--api-url: not a URL: "${given}"`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`--api-url: must be http:// or https://, got "${given}"`);
    return url.origin;
  }
  const port = envPort('TERMGATE_PORT');
  return port === undefined ? undefined : urlFor('127.0.0.1', port);
}

/** Not fatal: the API may start after the sidecar; tools report errors until it does. */
async function warnIfApiDown(api: string): Promise<void> {
  if ((await probeHealth(api)) === null) {
    console.error(`termgate mcp: no termgate API answers at ${displayUrl(api)} yet; tools will report errors until it runs`);
  }
}

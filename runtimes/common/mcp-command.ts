/**
 * `termgate mcp` (SPEC §9): the MCP sidecar as its own process, on any of the
 * three runtimes. It binds through the runtime's `listen` (the same one the
 * API uses), so no runtime needs code of its own for it.
 */
import { isAddressInUse, urlFor } from '../../src/listener.ts';
import { MCP_PATH, McpSidecar } from '../../src/mcp/sidecar.ts';
import { CliError } from './cli-error.ts';
import { configStorage, envToken, openConfig } from './home.ts';
import { nodeSystem } from './system.ts';
import type { RuntimeWiring } from './wiring.ts';

const SHUTDOWN_GRACE_MS = 3000;

export const MCP_HELP = `usage: termgate mcp [--host H] [--port P] [--api-url URL] [--dev]

Starts the MCP sidecar: Streamable-HTTP MCP at http://127.0.0.1:42032/mcp with tools to list,
create, type into, read, run commands in, resize and close terminals. It calls the API over HTTP
with the token from the config file, read afresh for every request (a rotation applies at once).

  --host H        bind address (default 127.0.0.1); a non-loopback address requires a token
                  (the API's authToken, TERMGATE_TOKEN or a named token) as "Authorization: Bearer"
  --port P        MCP port 1024-65535 (default: TERMGATE_MCP_PORT, else the config's mcpPort; 0 = any free port)
  --api-url URL   the API to call (default: TERMGATE_API_URL, else http://127.0.0.1:<TERMGATE_PORT or apiPort>)
  --dev           development profile: ports 42051/42052 and config.dev.json`;

export interface McpOptions {
  host?: string | undefined;
  port?: number | undefined;
  apiUrl?: string | undefined;
  dev: boolean;
}

export async function mcp(wiring: RuntimeWiring, options: McpOptions): Promise<void> {
  const storage = configStorage(options.dev);
  const config = await openConfig(storage, options.dev);

  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? envPort('TERMGATE_MCP_PORT') ?? config.current.mcpPort;
  const sidecar = new McpSidecar({
    config,
    runtime: wiring.runtime,
    bindHost: host,
    apiUrl: apiUrl(options.apiUrl),
    envToken: envToken(),
    interfaceAddresses: () => nodeSystem.interfaceAddresses(),
    log: (line) => console.error(`termgate mcp: ${line}`),
  });

  let listening;
  try {
    listening = await wiring.listen(host, port, sidecar.fetch);
  } catch (error) {
    if (!isAddressInUse(error)) throw new CliError(`cannot listen on ${host}:${port}: ${error instanceof Error ? error.message : String(error)}`);
    const existing = await probeSidecar(host, port);
    if (existing) {
      console.log(`termgate mcp is already running at ${existing}${MCP_PATH}`);
      return process.exit(0);
    }
    throw new CliError(`port ${port} on ${host} is in use by another program; choose another with --port`);
  }

  const url = `${urlFor(host, listening.port)}${MCP_PATH}`;
  console.log(`termgate mcp listening on ${url} (mode: ${sidecar.mode}, api: ${sidecar.api.baseUrl}, runtime: ${wiring.runtime})`);
  void warnIfApiDown(sidecar.api.baseUrl);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`termgate mcp: ${signal}, shutting down`);
    // A long run_command may hold a response open; it is the API's to finish, not ours to wait for.
    const forced = setTimeout(() => process.exit(0), SHUTDOWN_GRACE_MS);
    await listening.close().catch(() => undefined);
    await sidecar.credentials.flush().catch(() => undefined);
    await config.settled();
    clearTimeout(forced);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

function apiUrl(flag: string | undefined): string | undefined {
  const given = flag ?? (process.env.TERMGATE_API_URL || undefined);
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

function envPort(name: string): number | undefined {
  const value = process.env[name];
  if (value === undefined || value === '') return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1024 || port > 65535) {
    throw new CliError(`${name}: must be a whole number from 1024 to 65535, got "${value}"`);
  }
  return port;
}

/** The URL of a termgate sidecar answering on host:port (through loopback for a wildcard bind), else null. */
async function probeSidecar(host: string, port: number): Promise<string | null> {
  const url = urlFor(host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host, port);
  try {
    const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
    const body = (await response.json()) as { name?: unknown };
    return body.name === 'termgate-mcp' ? url : null;
  } catch {
    return null;
  }
}

/** Not fatal: the API may start after the sidecar; tools report errors until it does. */
async function warnIfApiDown(api: string): Promise<void> {
  try {
    await fetch(`${api}/health`, { signal: AbortSignal.timeout(2000) }).then((response) => response.body?.cancel());
  } catch {
    console.error(`termgate mcp: the API at ${api} does not answer yet; tools will report errors until it runs`);
  }
}

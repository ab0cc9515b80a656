/**
 * `termgate mcp` (docs/mcp.md): the MCP sidecar as its own process, on any of the
 * three runtimes. It binds through the runtime's `listen` (the same one the
 * API uses), so no runtime needs code of its own for it.
 */
import { isAddressInUse, urlFor } from '../../src/listener.ts';
import { MCP_PATH, McpSidecar } from '../../src/mcp/sidecar.ts';
import { envApiUrl, envPort, envToken } from '../host/env.ts';
import { configStorage, openConfig } from '../host/home.ts';
import { nodeSystem } from '../host/system.ts';
import { CliError } from './errors.ts';
import { listenError } from './listen-error.ts';
import { findServer, probeHealth } from './remote.ts';
import { stopOnSignals } from './shutdown.ts';
import type { RuntimeWiring } from './wiring.ts';

/** A long run_command may hold a response open; it is the API's to finish, not ours to wait for. */
const SHUTDOWN_GRACE_MS = 3000;

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
    if (!isAddressInUse(error)) throw listenError(error, host, port);
    const existing = await findServer(port, { host, name: 'termgate-mcp' });
    if (existing) {
      console.log(`termgate mcp is already running at ${existing.url}${MCP_PATH}`);
      return process.exit(0);
    }
    throw new CliError(`port ${port} on ${host} is in use by another program; choose another with --port`);
  }

  const url = `${urlFor(host, listening.port)}${MCP_PATH}`;
  console.log(`termgate mcp listening on ${url} (mode: ${sidecar.mode}, api: ${sidecar.api.baseUrl}, runtime: ${wiring.runtime})`);
  void warnIfApiDown(sidecar.api.baseUrl);

  stopOnSignals({
    name: 'termgate mcp',
    graceMs: SHUTDOWN_GRACE_MS,
    exitCodeWhenSlow: 0,
    cleanup: async () => {
      await listening.close().catch(() => undefined);
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
    console.error(`termgate mcp: no termgate API answers at ${api} yet; tools will report errors until it runs`);
  }
}

/**
 * `termgate status`, `expose on|off` and `token …`. Each goes through the
 * running server when one answers on the configured port (so the change is
 * live at once) and straight to the config file otherwise, through the same
 * ConfigStore/Credentials code the server uses (locked read-modify-write).
 */
import { type Config, ConfigError, ConfigStore, DEV_PORTS, PROD_PORTS, parseConfig } from '../../src/config.ts';
import { Credentials, type NamedTokenInfo } from '../../src/credentials.ts';
import { maskToken } from '../../src/routes/settings.ts';
import { CliError, EXIT_NOT_RUNNING } from './cli-error.ts';
import type { FileConfigStorage } from './config-file.ts';
import { configStorage, envToken, openConfig } from './home.ts';
import { callServer, findServer, type RemoteServer } from './remote.ts';

export interface CommandContext {
  dev: boolean;
  /** The API port to look for a running server on. */
  port: number;
  storage: FileConfigStorage;
  envToken: string | undefined;
}

/** What a command prints: `human` by default, `json` with --json. */
export interface Outcome {
  human: string;
  json: unknown;
  exitCode?: number;
}

type Via = 'server' | 'file';

/** The saved config, without creating it (null when there is none yet). */
export async function readSavedConfig(storage: FileConfigStorage): Promise<Config | null> {
  const text = await storage.read();
  if (text === null) return null;
  try {
    return parseConfig(text, storage.path);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message);
    throw error;
  }
}

export function envPort(): number | undefined {
  const value = process.env.TERMGATE_PORT;
  if (value === undefined || value === '') return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1024 || port > 65535) {
    throw new CliError(`TERMGATE_PORT: must be a whole number from 1024 to 65535, got "${value}"`);
  }
  return port;
}

export async function commandContext(options: { dev: boolean; port: number | undefined }): Promise<CommandContext> {
  const storage = configStorage(options.dev);
  const defaults = options.dev ? DEV_PORTS : PROD_PORTS;
  const port = options.port ?? envPort() ?? (await readSavedConfig(storage))?.apiPort ?? defaults.api;
  return { dev: options.dev, port, storage, envToken: envToken() };
}

/** The token a CLI call presents to an exposed server, read when needed (it may have been rotated). */
function tokenFor(ctx: CommandContext): () => Promise<string | undefined> {
  return async () => ctx.envToken ?? (await readSavedConfig(ctx.storage))?.authToken;
}

function openStore(ctx: CommandContext): Promise<ConfigStore> {
  return openConfig(ctx.storage, ctx.dev);
}

/** Runs `remote` against the server when one answers, else `local` on the config file. */
async function either<T>(
  ctx: CommandContext,
  remote: (server: RemoteServer) => Promise<T>,
  local: (store: ConfigStore, credentials: Credentials) => Promise<T>,
): Promise<{ via: Via; server: RemoteServer | null; result: T }> {
  const server = await findServer(ctx.port);
  if (server) return { via: 'server', server, result: await remote(server) };
  const store = await openStore(ctx);
  return { via: 'file', server: null, result: await local(store, new Credentials(store, ctx.envToken)) };
}

function savedNote(ctx: CommandContext): string {
  return `termgate is not running on port ${ctx.port}: saved to ${ctx.storage.path}`;
}

// ---- status -------------------------------------------------------------------

interface ConnectionsView {
  apiPort: number;
  mcpPort: number;
  expose: boolean;
  mode: string;
  url: string;
  reachableAt: string[];
  token: string;
}

export async function status(ctx: CommandContext): Promise<Outcome> {
  const server = await findServer(ctx.port);
  const saved = await readSavedConfig(ctx.storage);
  if (!server) {
    const json = { running: false, port: ctx.port, config: ctx.storage.path, expose: saved?.expose ?? false };
    return {
      json,
      exitCode: EXIT_NOT_RUNNING,
      human: `termgate is not running on port ${ctx.port} (config: ${ctx.storage.path}${saved ? '' : ', not created yet'})`,
    };
  }
  const settings = await callServer<ConnectionsView>(server, tokenFor(ctx), 'GET', '/api/settings/connections').catch(
    () => null,
  );
  const json = {
    running: true,
    url: server.url,
    runtime: server.health.runtime,
    version: server.health.version,
    mode: server.health.mode,
    port: ctx.port,
    config: ctx.storage.path,
    listeningOn: settings?.url ?? null,
    reachableAt: settings?.reachableAt ?? [],
    mcpPort: settings?.mcpPort ?? saved?.mcpPort ?? null,
    token: settings?.token ?? null,
  };
  const lines = [
    `termgate ${json.version} is running at ${server.url} (runtime: ${json.runtime}, mode: ${json.mode})`,
    `  listening on ${json.listeningOn ?? 'unknown (the settings API refused the token)'}`,
  ];
  if (json.mode === 'exposed') {
    lines.push(`  reachable at ${reachableUrls(json.reachableAt, ctx.port).join(', ') || 'no network address found'}`);
  }
  if (json.token) lines.push(`  token ${json.token}`);
  lines.push(`  config ${ctx.storage.path}`);
  return { json, human: lines.join('\n') };
}

function reachableUrls(addresses: string[], port: number): string[] {
  return addresses.map((address) => `http://${address.includes(':') ? `[${address}]` : address}:${port}`);
}

// ---- expose -------------------------------------------------------------------

const LAN_WARNING =
  'warning: this machine\'s terminals are now reachable from your local network; every request except /health needs the token (`termgate token show`).';

export async function expose(ctx: CommandContext, on: boolean): Promise<Outcome> {
  const { via, result } = await either(
    ctx,
    (server) => callServer<ConnectionsView>(server, tokenFor(ctx), 'PUT', '/api/settings/connections', { expose: on }),
    async (store) => {
      await store.update((config) => {
        config.expose = on;
      });
      return null;
    },
  );
  if (result === null) {
    const when = `termgate will listen on ${on ? '0.0.0.0' : '127.0.0.1'} when it starts`;
    return {
      json: { via, expose: on, running: false, config: ctx.storage.path },
      human: `${savedNote(ctx)}; ${when}${on ? `\n${LAN_WARNING}` : ''}`,
    };
  }
  const lines = [`termgate now listens on ${result.url} (mode: ${result.mode})`];
  if (result.expose) {
    lines.push(`reachable at ${reachableUrls(result.reachableAt, result.apiPort).join(', ') || 'no network address found'}`);
    lines.push(LAN_WARNING);
  }
  return { json: { via, ...result }, human: lines.join('\n') };
}

// ---- token --------------------------------------------------------------------

export async function tokenCreate(ctx: CommandContext, name: string): Promise<Outcome> {
  const { via, result } = await either(
    ctx,
    (server) =>
      callServer<{ name: string; token: string; createdAt: string }>(server, tokenFor(ctx), 'POST', '/api/tokens', {
        name,
      }),
    async (_store, credentials) => {
      const { token, createdAt } = await credentials.create(name);
      return { name, token, createdAt };
    },
  );
  return {
    json: { via, ...result },
    human: `created token "${result.name}"; it is shown only this once:\n${result.token}${via === 'file' ? `\n(${savedNote(ctx)})` : ''}`,
  };
}

export async function tokenList(ctx: CommandContext): Promise<Outcome> {
  const { via, result: tokens } = await either(
    ctx,
    async (server) =>
      (await callServer<{ tokens: NamedTokenInfo[] }>(server, tokenFor(ctx), 'GET', '/api/tokens')).tokens,
    async (_store, credentials) => credentials.list(),
  );
  const rows = tokens.map((t) => [t.name, t.createdAt, t.lastUsedAt ?? 'never']);
  const human =
    tokens.length === 0 ? 'no named tokens (create one with `termgate token create NAME`)' : table([['NAME', 'CREATED', 'LAST USED'], ...rows]);
  return { json: { via, tokens }, human };
}

export async function tokenRevoke(ctx: CommandContext, name: string): Promise<Outcome> {
  const { via } = await either(
    ctx,
    (server) => callServer(server, tokenFor(ctx), 'DELETE', `/api/tokens/${encodeURIComponent(name)}`),
    (_store, credentials) => credentials.revoke(name),
  );
  return {
    json: { via, name, revoked: true },
    human: `revoked token "${name}"${via === 'file' ? ` (${savedNote(ctx)})` : ''}`,
  };
}

export async function tokenRotate(ctx: CommandContext, closeSockets: boolean): Promise<Outcome> {
  const { via, result: token } = await either(
    ctx,
    async (server) =>
      (await callServer<{ token: string }>(server, tokenFor(ctx), 'POST', '/api/auth/rotate', closeSockets ? { closeSockets } : undefined)).token,
    (_store, credentials) => credentials.rotate(),
  );
  let effect = via === 'server' ? 'the old token stopped working' : savedNote(ctx);
  if (closeSockets) effect += via === 'server' ? '; WebSockets opened with it were closed' : '; no server answered, so no WebSocket was closed';
  return { json: { via, token, closedSockets: closeSockets && via === 'server' }, human: `new token (${effect}):\n${token}` };
}

export async function tokenShow(ctx: CommandContext): Promise<Outcome> {
  const { via, result } = await either(
    ctx,
    async (server) => (await callServer<{ token: string }>(server, tokenFor(ctx), 'GET', '/api/settings/token')).token,
    async (_store, credentials) => credentials.mainToken,
  );
  return { json: { via, token: result, masked: maskToken(result) }, human: result };
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n');
}

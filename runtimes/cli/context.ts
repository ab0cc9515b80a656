/**
 * What `status`, `expose` and `token` act on: the termgate running on the
 * configured port when one answers (so a change is live at once), else the
 * config file, through the same ConfigStore/Credentials code the server uses
 * (locked read-modify-write).
 */
import { type Config, ConfigStore, DEV_PORTS, PROD_PORTS, parseConfig } from '../../src/config.ts';
import { Credentials } from '../../src/credentials.ts';
import type { FileConfigStorage } from '../host/config-file.ts';
import { envPort, envToken } from '../host/env.ts';
import { configStorage, openConfig } from '../host/home.ts';
import { resolve } from 'node:path';
import { CliError } from './errors.ts';
import { callServer, findServer, type RemoteServer } from './remote.ts';

export interface CommandContext {
  dev: boolean;
  /** The API port to look for a running server on. */
  port: number;
  /** --unix: look for it on this Unix socket instead (an absolute path). */
  unix?: string | undefined;
  storage: FileConfigStorage;
  envToken: string | undefined;
}

/** What a command prints: `human` by default, `json` with --json. */
export interface Outcome {
  human: string;
  json: unknown;
  exitCode?: number;
}

export type Via = 'server' | 'file';

/** The saved config, without creating it (null when there is none yet); a corrupt one is a ConfigError naming it. */
export async function readSavedConfig(storage: FileConfigStorage): Promise<Config | null> {
  const text = await storage.read();
  return text === null ? null : parseConfig(text, storage.path);
}

/** The port: --port, else TERMGATE_PORT, else the saved apiPort, else the profile's default. */
export async function commandContext(options: { dev: boolean; port: number | undefined; unix?: string | undefined }): Promise<CommandContext> {
  const storage = configStorage(options.dev);
  const defaults = options.dev ? DEV_PORTS : PROD_PORTS;
  const port = options.port ?? envPort('TERMGATE_PORT') ?? (await readSavedConfig(storage))?.apiPort ?? defaults.api;
  return { dev: options.dev, port, unix: options.unix === undefined ? undefined : resolve(options.unix), storage, envToken: envToken() };
}

/** The token a CLI call presents to an exposed server, read when needed (it may have been rotated). */
export function tokenFor(ctx: CommandContext): () => Promise<string | undefined> {
  return async () => ctx.envToken ?? (await readSavedConfig(ctx.storage))?.authToken;
}

/** Runs `remote` against the server when one answers, else `local` on the config file. */
export async function either<T>(
  ctx: CommandContext,
  remote: (server: RemoteServer) => Promise<T>,
  local: (store: ConfigStore, credentials: Credentials) => Promise<T>,
): Promise<{ via: Via; server: RemoteServer | null; result: T }> {
  const server = await findServer(ctx.port, { unix: ctx.unix });
  if (server) {
    await sameHome(ctx, server);
    return { via: 'server', server, result: await remote(server) };
  }
  const store = await openConfig(ctx.storage, ctx.dev);
  return { via: 'file', server: null, result: await local(store, new Credentials(store, ctx.envToken)) };
}

/** Where the CLI looks for the server: "on port P" or "at unix:PATH". */
export function whereLooked(ctx: CommandContext): string {
  return ctx.unix === undefined ? `on port ${ctx.port}` : `at unix:${ctx.unix}`;
}

export function savedNote(ctx: CommandContext): string {
  return `termgate is not running ${whereLooked(ctx)}: saved to ${ctx.storage.path}`;
}

/** The server's config file when it is not this CLI's (another TERMGATE_HOME or profile), else null. */
export function otherConfigFile(ctx: CommandContext, view: { configFile?: string } | null): string | null {
  const theirs = view?.configFile;
  return theirs !== undefined && resolve(theirs) !== resolve(ctx.storage.path) ? theirs : null;
}

/**
 * The server that answers on the port must use this CLI's config file: one of another
 * TERMGATE_HOME (or profile) on the same port would otherwise have its token shown,
 * rotated or its exposure changed by a CLI that meant another install.
 */
export async function sameHome(ctx: CommandContext, server: RemoteServer): Promise<void> {
  const view = await callServer<{ configFile?: string }>(server, tokenFor(ctx), 'GET', '/api/settings/connections').catch(() => null);
  const theirs = otherConfigFile(ctx, view);
  if (theirs !== null) {
    throw new CliError(
      `the termgate ${whereLooked(ctx)} uses ${theirs}, not this CLI's ${ctx.storage.path} ` +
        '(another TERMGATE_HOME or profile): pass the --port (or TERMGATE_PORT) of the server of this home',
    );
  }
}

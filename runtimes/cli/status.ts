/** `termgate status`: whether termgate runs on the configured port, where it listens and in which mode. */
import { type CommandContext, type Outcome, otherConfigFile, readSavedConfig, tokenFor, whereLooked } from './context.ts';
import { EXIT_NOT_RUNNING } from './errors.ts';
import { displayUrl } from '../host/unix-socket.ts';
import { callServer, findServer } from './remote.ts';

/** The part of GET /api/settings/connections the CLI shows. */
export interface ConnectionsView {
  apiPort: number;
  mcpPort: number;
  expose: boolean;
  mode: string;
  url: string;
  reachableAt: string[];
  token: string;
  configFile?: string;
}

export async function status(ctx: CommandContext): Promise<Outcome> {
  const server = await findServer(ctx.port, { unix: ctx.unix });
  const saved = await readSavedConfig(ctx.storage);
  if (!server) {
    const json = { running: false, port: ctx.port, config: ctx.storage.path, expose: saved?.expose ?? false };
    return {
      json,
      exitCode: EXIT_NOT_RUNNING,
      human: `termgate is not running ${whereLooked(ctx)} (config: ${ctx.storage.path}${saved ? '' : ', not created yet'})`,
    };
  }
  const settings = await callServer<ConnectionsView>(server, tokenFor(ctx), 'GET', '/api/settings/connections').catch(
    () => null,
  );
  const json = {
    running: true,
    url: displayUrl(server.url),
    runtime: server.health.runtime,
    version: server.health.version,
    mode: server.health.mode,
    port: ctx.port,
    config: ctx.storage.path,
    listeningOn: settings?.url ?? null,
    reachableAt: settings?.reachableAt ?? [],
    mcpPort: settings?.mcpPort ?? saved?.mcpPort ?? null,
    token: settings?.token ?? null,
    /** The config file the server uses, when it is not this CLI's (another TERMGATE_HOME on the same port). */
    otherConfig: otherConfigFile(ctx, settings),
  };
  const lines = [
    `termgate ${json.version} is running at ${json.url} (runtime: ${json.runtime}, mode: ${json.mode})`,
    `  listening on ${json.listeningOn ?? 'unknown (the settings API refused the token)'}`,
  ];
  if (json.mode === 'exposed') {
    lines.push(`  reachable at ${reachableUrls(json.reachableAt, ctx.port).join(', ') || 'no network address found'}`);
  }
  if (json.token) lines.push(`  token ${json.token}`);
  if (json.otherConfig) lines.push(`  config ${json.otherConfig}: not this CLI's ${ctx.storage.path} (another TERMGATE_HOME or profile)`);
  else lines.push(`  config ${ctx.storage.path}`);
  return { json, human: lines.join('\n') };
}

export function reachableUrls(addresses: string[], port: number): string[] {
  return addresses.map((address) => `http://${address.includes(':') ? `[${address}]` : address}:${port}`);
}

/** `termgate expose on|off`: rebinds a running server at once and saves the setting, or only saves it. */
import { type CommandContext, either, type Outcome, savedNote, tokenFor } from './context.ts';
import { callServer } from './remote.ts';
import { type ConnectionsView, reachableUrls } from './status.ts';

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

/** `termgate token create|list|revoke|rotate|show`: named tokens and the main token. */
import type { NamedTokenInfo } from '../../src/credentials.ts';
import { maskToken } from '../../src/credentials.ts';
import { type CommandContext, either, type Outcome, savedNote, tokenFor } from './context.ts';
import type { TokenLimits } from './program.ts';
import { callServer } from './remote.ts';

export async function tokenCreate(ctx: CommandContext, name: string, limits: TokenLimits = { scope: undefined, terminals: undefined }): Promise<Outcome> {
  const { scope, terminals } = limits;
  const { via, result } = await either(
    ctx,
    (server) =>
      callServer<{ name: string; token: string; scope: string; terminals?: string[]; createdAt: string }>(server, tokenFor(ctx), 'POST', '/api/tokens', {
        name,
        ...(scope === undefined ? {} : { scope }),
        ...(terminals === undefined ? {} : { terminals }),
      }),
    async (_store, credentials) => {
      const created = await credentials.create(name, { scope, terminals });
      return { name, token: created.token, scope: created.scope, ...(created.terminals ? { terminals: created.terminals } : {}), createdAt: created.createdAt };
    },
  );
  const limited = result.terminals ? `, terminals ${result.terminals.join(', ')}` : '';
  return {
    json: { via, ...result },
    human: `created token "${result.name}" (scope ${result.scope}${limited}); it is shown only this once:\n${result.token}${via === 'file' ? `\n(${savedNote(ctx)})` : ''}`,
  };
}

export async function tokenList(ctx: CommandContext): Promise<Outcome> {
  const { via, result: tokens } = await either(
    ctx,
    async (server) =>
      (await callServer<{ tokens: NamedTokenInfo[] }>(server, tokenFor(ctx), 'GET', '/api/tokens')).tokens,
    async (_store, credentials) => credentials.list(),
  );
  const rows = tokens.map((t) => [t.name, t.scope, t.terminals?.join(',') ?? 'all', t.createdAt, t.lastUsedAt ?? 'never']);
  const human =
    tokens.length === 0
      ? 'no named tokens (create one with `termgate token create NAME`)'
      : table([['NAME', 'SCOPE', 'TERMINALS', 'CREATED', 'LAST USED'], ...rows]);
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

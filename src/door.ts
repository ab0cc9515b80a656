/**
 * How the API knows a request came from its own MCP sidecar (the "mcp" door
 * of the audit log), so that no REST client can claim it.
 *
 * The sidecar calls REST like any client, with the token its MCP client
 * presented (or, for a client it admitted without one, the token from the
 * config file). It adds `x-termgate-door: mcp` and a door key: a hash of the
 * config's jwtSecret, which only a process that can read the 0600 config file
 * knows (and such a process can read the main token too, so it could do
 * anything anyway). Without the right key the door headers are ignored: the
 * request is a REST request, judged and named by its own credential.
 *
 * `x-termgate-client: local` says the sidecar admitted its client without a
 * token (its local mode). The API then names the line "local", not after the
 * sidecar's token, and refuses it when the API itself requires a token
 * (`--require-token`): the sidecar is no way around that.
 */
import { constantTimeEqual, sha256Hex } from './hex.ts';

export const DOOR_HEADER = 'x-termgate-door';
export const DOOR_KEY_HEADER = 'x-termgate-door-key';
export const DOOR_CLIENT_HEADER = 'x-termgate-client';

let cached: { secret: string; key: Promise<string> } | undefined;

/** The door key for a config's jwtSecret (cached: it changes only with the file). */
export function doorKey(jwtSecret: string): Promise<string> {
  if (cached?.secret !== jwtSecret) cached = { secret: jwtSecret, key: sha256Hex(`termgate mcp door\n${jwtSecret}`) };
  return cached.key;
}

/** What a request proves about its door: null when it claims none, or its key is wrong. */
export async function verifiedDoor(request: Request, jwtSecret: string): Promise<{ door: 'mcp'; clientLocal: boolean } | null> {
  if (request.headers.get(DOOR_HEADER) !== 'mcp') return null;
  const presented = request.headers.get(DOOR_KEY_HEADER);
  if (presented === null || !constantTimeEqual(presented, await doorKey(jwtSecret))) return null;
  return { door: 'mcp', clientLocal: request.headers.get(DOOR_CLIENT_HEADER) === 'local' };
}

/**
 * Settings → Connections (docs/connections.md). PUT saves and applies in the same process:
 * the listener moves (Listener.rebind) and, since the gate's mode follows the
 * bind address, exposing turns the token check on for the very next request.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import type { AuditDetails } from '../audit.ts';
import type { ConfigStore } from '../config.ts';
import { type Credentials, maskToken } from '../credentials.ts';
import type { ListenState, Listener } from '../listener.ts';
import type { Platform } from '../platform.ts';
import { TermgateError } from '../errors.ts';
import type { RouteDoc } from '../openapi.ts';
import { readBody } from '../validate.ts';

export const LOOPBACK_HOST = '127.0.0.1';
export const EXPOSED_HOST = '0.0.0.0';


const DNS_NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
const IPV6 = /^[0-9a-f:.]+$/;

const port = z
  .number({ error: 'must be a whole number from 1024 to 65535' })
  .int('must be a whole number from 1024 to 65535')
  .min(1024, 'must be a whole number from 1024 to 65535')
  .max(65535, 'must be a whole number from 1024 to 65535');

/**
 * A name the Host header may carry in exposed mode: a DNS name or an IP,
 * without scheme or port. Stored lowercase, IPv6 in brackets, which is how the
 * gate compares Host headers.
 */
const allowedHost = z.string().transform((value, ctx) => {
  const host = value.trim().toLowerCase();
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  if (bare.includes(':') && IPV6.test(bare)) return `[${bare}]`;
  if (DNS_NAME.test(host)) return host;
  ctx.addIssue({ code: 'custom', message: `"${value}" is not a hostname or IP address (no scheme, port or path)` });
  return z.NEVER;
});

/** An origin as browsers send it: http(s)://host[:port], nothing after. Stored normalised (URL.origin). */
const allowedOrigin = z.string().transform((value, ctx) => {
  if (/^https?:\/\/[^/?#@\s]+$/i.test(value)) {
    try {
      const origin = new URL(value).origin;
      if (origin !== 'null') return origin;
    } catch {
      // falls through to the issue below
    }
  }
  ctx.addIssue({ code: 'custom', message: `"${value}" is not an origin of the form http(s)://host[:port]` });
  return z.NEVER;
});

/** Every field optional: a client (the CLI's `expose on`) may send only what it changes. */
const ConnectionsBody = z.strictObject({
  apiPort: port.optional(),
  mcpPort: port.optional(),
  expose: z.boolean({ error: 'must be true or false' }).optional(),
  allowedHosts: z.array(allowedHost).max(256).optional(),
  allowedOrigins: z.array(allowedOrigin).max(256).optional(),
});
type ConnectionsBody = z.infer<typeof ConnectionsBody>;

/** What the settings routes need (the Core provides it). */
export interface SettingsDeps {
  readonly config: ConfigStore;
  readonly listener: Pick<Listener, 'rebind'>;
  readonly listening: ListenState;
  readonly url: string;
  readonly credentials: Pick<Credentials, 'mainToken' | 'fixedByEnv'>;
  readonly platform: Pick<Platform, 'listen' | 'log'> & { readonly system: Pick<Platform['system'], 'interfaceAddresses'> };
  /** The audit line of a change made through `request`. */
  auditRequest(request: Request, op: string, details?: AuditDetails): void;
}

function connectionsView(core: SettingsDeps) {
  const config = core.config.current;
  const { host, port, mode } = core.listening;
  return {
    apiPort: port,
    mcpPort: config.mcpPort,
    expose: mode === 'exposed',
    bindHost: host,
    mode,
    url: core.url,
    reachableAt: core.platform.system.interfaceAddresses(),
    token: maskToken(core.credentials.mainToken),
    tokenFromEnv: core.credentials.fixedByEnv,
    allowedHosts: config.allowedHosts,
    allowedOrigins: config.allowedOrigins,
    /** What the next start uses; differs from the live values when `serve --host/--port` overrode them. */
    saved: { apiPort: config.apiPort, expose: config.expose },
    /** The config file this server uses: the CLI checks it is its own before acting through the server. */
    configFile: core.config.storage.path,
  };
}

/** Free to bind on loopback right now (checked by binding it briefly). */
async function portFree(core: SettingsDeps, port: number): Promise<boolean> {
  try {
    const probe = await core.platform.listen(LOOPBACK_HOST, port, () => new Response(null, { status: 503 }));
    await probe.close();
    return true;
  } catch {
    return false;
  }
}

async function applyConnections(core: SettingsDeps, body: ConnectionsBody): Promise<boolean> {
  const from = core.listening;
  const saved = core.config.current;
  // Only a change of exposure moves the host, so a client that re-sends the
  // current state does not move a listener started with `serve --host`.
  const host =
    body.expose === undefined || body.expose === (from.mode === 'exposed')
      ? from.host
      : body.expose
        ? EXPOSED_HOST
        : LOOPBACK_HOST;
  const port = body.apiPort ?? from.port;
  const mcpPort = body.mcpPort ?? saved.mcpPort;
  if (mcpPort === port) {
    const field = body.mcpPort !== undefined ? 'mcpPort' : 'apiPort';
    throw new TermgateError('bad_request', `${field}: the API and the MCP sidecar need different ports (both ${port})`);
  }
  if (body.mcpPort !== undefined && body.mcpPort !== saved.mcpPort && !(await portFree(core, body.mcpPort))) {
    throw new TermgateError('conflict', `mcpPort: port ${body.mcpPort} is already in use`);
  }

  const moved = host !== from.host || port !== from.port;
  if (moved) await core.listener.rebind(host, port);
  try {
    await core.config.update((config) => {
      if (body.apiPort !== undefined) config.apiPort = body.apiPort;
      if (body.mcpPort !== undefined) config.mcpPort = body.mcpPort;
      if (body.expose !== undefined) config.expose = body.expose;
      if (body.allowedHosts !== undefined) config.allowedHosts = [...new Set(body.allowedHosts)];
      if (body.allowedOrigins !== undefined) config.allowedOrigins = [...new Set(body.allowedOrigins)];
    });
  } catch (error) {
    // Saved and applied go together: a failed save moves the listener back.
    if (moved) {
      await core.listener
        .rebind(from.host, from.port)
        .catch((again) => core.platform.log(`moving the listener back: ${String(again)}`));
    }
    throw error;
  }
  if (moved) core.platform.log(`now listening on ${core.url} (mode: ${core.listening.mode})`);
  return moved;
}

const ConnectionsView = z.looseObject({
  apiPort: z.number(),
  mcpPort: z.number(),
  expose: z.boolean(),
  bindHost: z.string(),
  mode: z.enum(['local', 'exposed']),
  url: z.string(),
  reachableAt: z.array(z.string()),
  token: z.string().describe('masked: ••••…last4'),
  tokenFromEnv: z.boolean(),
  allowedHosts: z.array(z.string()),
  allowedOrigins: z.array(z.string()),
  saved: z.object({ apiPort: z.number(), expose: z.boolean() }),
  configFile: z.string().describe('the config file this server uses'),
});

export const SETTINGS_ROUTE_DOCS: RouteDoc[] = [
  { method: 'GET', path: '/api/settings/connections', summary: 'Where the server listens, its mode and the saved settings', success: { status: 200, schema: ConnectionsView } },
  {
    method: 'PUT',
    path: '/api/settings/connections',
    summary: 'Save and apply: the listener rebinds in the same process',
    body: ConnectionsBody,
    success: { status: 200, schema: ConnectionsView.extend({ rebound: z.boolean() }) },
    errors: ['conflict', 'config_unreadable'],
  },
  { method: 'GET', path: '/api/settings/token', summary: 'The main token, in full', success: { status: 200, schema: z.object({ token: z.string() }) } },
];

export function settingsRoutes(core: SettingsDeps): Hono {
  const app = new Hono();
  /** One PUT at a time, so the listener and the saved config cannot end up describing different PUTs. */
  let applying: Promise<unknown> = Promise.resolve();

  app.get('/connections', (c) => c.json(connectionsView(core)));

  app.put('/connections', async (c) => {
    const body = await readBody(c, ConnectionsBody);
    const run = applying.then(() => applyConnections(core, body));
    applying = run.catch(() => undefined);
    const moved = await run;
    core.auditRequest(c.req.raw, 'settings.connections');
    // After a move this connection belongs to the old listener: ask the client
    // to reconnect (to the new one) for its next request.
    return c.json({ ...connectionsView(core), rebound: moved }, 200, moved ? { connection: 'close' } : {});
  });

  app.get('/token', (c) => c.json({ token: core.credentials.mainToken }));

  return app;
}

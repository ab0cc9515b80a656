/** Credentials over REST: rotate, named tokens, and the JWT scaffolding the gate ignores. */
import { Hono } from 'hono';
import { SignJWT } from 'jose';
import { z } from 'zod';
import type { AuditDetails } from '../audit.ts';
import { SCOPES } from '../config.ts';
import type { Credentials } from '../credentials.ts';
import { TermgateError } from '../errors.ts';
import type { RouteDoc } from '../openapi.ts';
import type { TerminalManager } from '../terminals/types.ts';
import { readBody } from '../validate.ts';

const JWT_NOTE =
  'Compatibility scaffolding for monitors only: the auth gate does NOT accept this JWT. ' +
  'Authenticate with the authToken (Authorization: Bearer <token>) or a named token instead.';

const CreateTokenBody = z.strictObject({
  name: z.string(),
  scope: z.enum(SCOPES, { error: 'must be "read", "write" or "admin"' }).optional().describe('What the token may do (default write); docs/security.md.'),
  terminals: z
    .array(z.string().min(1).max(256))
    .min(1)
    .max(1024)
    .optional()
    .describe('Only these terminals (ids of open terminals): the token sees and touches no other. Not with scope admin.'),
});
/** `closeSockets`: also end the WebSockets opened with the old token (by default they stay open). */
const RotateBody = z.strictObject({ closeSockets: z.boolean().optional() });

const Token = z.object({ token: z.string() });
const NamedToken = z.object({
  name: z.string(),
  scope: z.enum(SCOPES),
  terminals: z.array(z.string()).optional(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
});

export const AUTH_ROUTE_DOCS: RouteDoc[] = [
  {
    method: 'POST',
    path: '/api/auth/token',
    summary: 'A JWT for monitors (compatibility only: the gate does not accept it)',
    success: { status: 200, schema: z.object({ token: z.string(), note: z.string() }) },
  },
  {
    method: 'POST',
    path: '/api/auth/rotate',
    summary: 'A new main token; the old one fails at once (closeSockets: its WebSockets are closed too)',
    body: RotateBody,
    success: { status: 200, schema: Token },
    errors: ['conflict', 'config_unreadable'],
  },
  { method: 'GET', path: '/api/tokens', summary: 'Named tokens (no secrets)', success: { status: 200, schema: z.object({ tokens: z.array(NamedToken) }) } },
  {
    method: 'POST',
    path: '/api/tokens',
    summary: 'Create a named token (the secret is shown once)',
    body: CreateTokenBody,
    success: {
      status: 201,
      schema: z.object({ name: z.string(), token: z.string(), scope: z.enum(SCOPES), terminals: z.array(z.string()).optional(), createdAt: z.string() }),
    },
    errors: ['conflict', 'config_unreadable', 'forbidden'],
  },
  {
    method: 'DELETE',
    path: '/api/tokens/{name}',
    summary: 'Revoke a named token; its WebSockets are closed',
    success: { status: 204 },
    errors: ['not_found', 'config_unreadable'],
  },
];

/** What the credential routes need (the Core provides it). */
export interface AuthDeps {
  readonly credentials: Pick<Credentials, 'list' | 'create' | 'revoke'>;
  readonly config: { readonly current: { readonly jwtSecret: string } };
  /** A token limited to terminals may name only terminals that exist. */
  readonly terminals: Pick<TerminalManager, 'get'>;
  rotateToken(closeSockets: boolean): Promise<string>;
  /** The audit line of a change made through `request`. */
  auditRequest(request: Request, op: string, details?: AuditDetails): void;
}

export function authRoutes(core: AuthDeps): Hono {
  const app = new Hono();

  app.post('/auth/token', async (c) => {
    const secret = new Uint8Array(
      core.config.current.jwtSecret.match(/../g)!.map((byte) => parseInt(byte, 16)),
    );
    const token = await new SignJWT({ scope: 'monitor' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('termgate')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(secret);
    return c.json({ token, note: JWT_NOTE });
  });

  app.post('/auth/rotate', async (c) => {
    const { closeSockets } = await readBody(c, RotateBody);
    const token = await core.rotateToken(closeSockets ?? false);
    core.auditRequest(c.req.raw, 'auth.rotate');
    return c.json({ token });
  });

  app.get('/tokens', (c) => c.json({ tokens: core.credentials.list() }));

  app.post('/tokens', async (c) => {
    const { name, scope, terminals } = await readBody(c, CreateTokenBody);
    terminals?.forEach((id, index) => {
      try {
        core.terminals.get(id);
      } catch {
        throw new TermgateError('bad_request', `terminals.${index}: no open terminal has the id ${JSON.stringify(id)}`);
      }
    });
    const created = await core.credentials.create(name, { scope, terminals });
    core.auditRequest(c.req.raw, 'token.create', { name: created.name });
    const { token, createdAt } = created;
    return c.json({ name: created.name, token, scope: created.scope, ...(created.terminals ? { terminals: created.terminals } : {}), createdAt }, 201);
  });

  app.delete('/tokens/:name', async (c) => {
    const name = c.req.param('name');
    await core.credentials.revoke(name);
    core.auditRequest(c.req.raw, 'token.revoke', { name });
    return c.body(null, 204);
  });

  app.all('/auth/*', () => {
    throw new TermgateError('not_found', 'no such route');
  });

  return app;
}

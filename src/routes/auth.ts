/** Credentials over REST: rotate, named tokens, and the JWT scaffolding the gate ignores. */
import { Hono } from 'hono';
import { SignJWT } from 'jose';
import { z } from 'zod';
import type { Credentials } from '../credentials.ts';
import { TermgateError } from '../errors.ts';
import type { RouteDoc } from '../openapi.ts';
import { readBody } from '../validate.ts';

const JWT_NOTE =
  'Compatibility scaffolding for monitors only: the auth gate does NOT accept this JWT. ' +
  'Authenticate with the authToken (Authorization: Bearer <token>) or a named token instead.';

const CreateTokenBody = z.strictObject({ name: z.string() });
/** `closeSockets`: also end the WebSockets opened with the old token (by default they stay open). */
const RotateBody = z.strictObject({ closeSockets: z.boolean().optional() });

const Token = z.object({ token: z.string() });
const NamedToken = z.object({ name: z.string(), createdAt: z.string(), lastUsedAt: z.string().nullable() });

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
    success: { status: 201, schema: z.object({ name: z.string(), token: z.string(), createdAt: z.string() }) },
    errors: ['conflict', 'config_unreadable'],
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
  rotateToken(closeSockets: boolean): Promise<string>;
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
    return c.json({ token: await core.rotateToken(closeSockets ?? false) });
  });

  app.get('/tokens', (c) => c.json({ tokens: core.credentials.list() }));

  app.post('/tokens', async (c) => {
    const { name } = await readBody(c, CreateTokenBody);
    const created = await core.credentials.create(name);
    return c.json({ name: created.name, token: created.token, createdAt: created.createdAt }, 201);
  });

  app.delete('/tokens/:name', async (c) => {
    await core.credentials.revoke(c.req.param('name'));
    return c.body(null, 204);
  });

  app.all('/auth/*', () => {
    throw new TermgateError('not_found', 'no such route');
  });

  return app;
}

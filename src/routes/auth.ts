/** Credentials over REST: rotate, named tokens, and the JWT scaffolding the gate ignores. */
import { Hono } from 'hono';
import { SignJWT } from 'jose';
import { z } from 'zod';
import type { Core } from '../core.ts';
import { TermgateError } from '../errors.ts';
import { readBody } from '../validate.ts';

const JWT_NOTE =
  'Compatibility scaffolding for monitors only: the auth gate does NOT accept this JWT. ' +
  'Authenticate with the authToken (Authorization: Bearer <token>) or a named token instead.';

const CreateTokenBody = z.strictObject({ name: z.string() });
/** `closeSockets`: also end the WebSockets opened with the old token (by default they stay open, SPEC §4). */
const RotateBody = z.strictObject({ closeSockets: z.boolean().optional() });

export function authRoutes(core: Core): Hono {
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

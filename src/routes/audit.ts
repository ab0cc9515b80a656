/** `GET /api/audit?limit=` (admin): the last lines of the audit log (docs/security.md). */
import { Hono } from 'hono';
import { z } from 'zod';
import type { AuditLog } from '../audit.ts';
import type { RouteDoc } from '../openapi.ts';
import { parseWith } from '../validate.ts';

export const AUDIT_DEFAULT_LIMIT = 100;
export const AUDIT_MAX_LIMIT = 10_000;

const limitMessage = `must be a whole number from 1 to ${AUDIT_MAX_LIMIT}`;
const AuditQuery = z.strictObject({
  limit: z
    .number({ error: limitMessage })
    .int(limitMessage)
    .min(1, limitMessage)
    .max(AUDIT_MAX_LIMIT, limitMessage)
    .optional()
    .describe(`At most this many entries, the newest (default ${AUDIT_DEFAULT_LIMIT}).`),
});

const AuditEntry = z.looseObject({
  time: z.string().describe('ISO 8601'),
  door: z.enum(['rest', 'ws', 'mcp']),
  token: z.string().describe('The named token\'s name, "main" or "local": never a secret.'),
  op: z.string().describe('terminal.create, terminal.input, …, token.create, token.revoke, auth.rotate, settings.connections'),
  terminalId: z.string().optional(),
  bytes: z.number().int().optional(),
  name: z.string().optional().describe('token.create / token.revoke: the token it was about.'),
  text: z.string().optional().describe('Only with config audit.recordInput: what was typed, or the command line.'),
  keys: z.array(z.string()).optional().describe('Only with config audit.recordInput: the key names pressed.'),
});

export const AUDIT_ROUTE_DOCS: RouteDoc[] = [
  {
    method: 'GET',
    path: '/api/audit',
    summary: 'The audit log: one entry per state-changing operation, oldest first (admin)',
    query: AuditQuery,
    success: { status: 200, schema: z.object({ entries: z.array(AuditEntry), file: z.string().nullable() }) },
    errors: ['forbidden'],
  },
];

export function auditRoutes(audit: AuditLog): Hono {
  const app = new Hono();
  app.get('/', async (c) => {
    const raw = c.req.query();
    const query: Record<string, unknown> = { ...raw };
    if (raw.limit !== undefined && /^\d+$/.test(raw.limit)) query.limit = Number(raw.limit);
    const { limit } = parseWith(AuditQuery, query);
    return c.json({ entries: await audit.recent(limit ?? AUDIT_DEFAULT_LIMIT), file: audit.path });
  });
  return app;
}

/** The terminals REST API (SPEC §6), behind the gate like every /api route. */
import { Hono } from 'hono';
import { z } from 'zod';
import type { Core } from '../core.ts';
import { TermgateError } from '../errors.ts';
import { readBody } from '../validate.ts';

export const MAX_COLS = 1000;
export const MAX_ROWS = 500;
/** Longest `run` timeout: long enough for builds, short enough that a forgotten run cannot pin a request for ever. */
export const MAX_RUN_TIMEOUT_MS = 10 * 60 * 1000;

const NO_NUL = (value: string) => !value.includes('\0');
const text = (max: number) => z.string().max(max).refine(NO_NUL, 'must not contain NUL characters');
const cols = z.number().int().min(1).max(MAX_COLS);
const rows = z.number().int().min(1).max(MAX_ROWS);

const CreateBody = z.strictObject({
  command: text(4096).min(1).optional(),
  args: z.array(text(65536)).max(1024).optional(),
  cwd: text(4096).min(1).optional(),
  env: z
    .record(z.string().regex(/^[^=\0]+$/, 'names must be non-empty, without "=" or NUL'), text(65536))
    .optional(),
  cols: cols.optional(),
  rows: rows.optional(),
  name: z.string().min(1).max(200).optional(),
});

const InputBody = z.strictObject({ data: z.string() });
const ResizeBody = z.strictObject({ cols, rows });
const RunBody = z.strictObject({
  command: text(65536).refine((value) => value.trim() !== '', 'must not be empty'),
  timeoutMs: z.number().int().min(1).max(MAX_RUN_TIMEOUT_MS).optional(),
});

/** A query parameter that must be a non-negative integer, if present. */
function offsetParam(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const number = /^\d{1,15}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(number)) throw new TermgateError('bad_request', `${name}: must be a non-negative integer, got ${JSON.stringify(value)}`);
  return number;
}

export function terminalRoutes(core: Core): Hono {
  const app = new Hono();
  const terminals = () => core.terminals;

  app.get('/', (c) => c.json({ terminals: terminals().list() }));

  app.post('/', async (c) => {
    const body = await readBody(c, CreateBody);
    return c.json(await terminals().create(body), 201);
  });

  app.get('/:id', (c) => c.json(terminals().get(c.req.param('id'))));

  app.delete('/:id', async (c) => {
    await terminals().close(c.req.param('id'));
    return c.body(null, 204);
  });

  app.post('/:id/input', async (c) => {
    const id = c.req.param('id');
    terminals().get(id); // 404 before 400: an unknown terminal is the bigger mistake
    const { data } = await readBody(c, InputBody);
    terminals().input(id, data);
    return c.body(null, 204);
  });

  app.post('/:id/resize', async (c) => {
    const id = c.req.param('id');
    terminals().get(id);
    const { cols, rows } = await readBody(c, ResizeBody);
    terminals().resize(id, cols, rows);
    return c.json(terminals().get(id));
  });

  app.get('/:id/output', (c) => {
    const id = c.req.param('id');
    terminals().get(id);
    const since = offsetParam(c.req.query('since'), 'since');
    const limit = offsetParam(c.req.query('limit'), 'limit');
    const tail = offsetParam(c.req.query('tail'), 'tail');
    if (limit === 0) throw new TermgateError('bad_request', 'limit: must be at least 1');
    if (tail !== undefined) {
      if (since !== undefined || limit !== undefined) throw new TermgateError('bad_request', 'tail: cannot be combined with since or limit');
      if (tail === 0) throw new TermgateError('bad_request', 'tail: must be at least 1');
      return c.json(terminals().readTail(id, tail));
    }
    return c.json(terminals().read(id, since, limit));
  });

  app.post('/:id/run', async (c) => {
    const id = c.req.param('id');
    terminals().get(id);
    const { command, timeoutMs } = await readBody(c, RunBody);
    return c.json(await terminals().run(id, command, timeoutMs));
  });

  return app;
}

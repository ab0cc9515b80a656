/**
 * The terminals REST API, built from the operation table: each operation's
 * method and path, its parameters from the path, the query (GET) or the JSON
 * body, and its success status. Behind the gate like every /api route.
 */
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import { TermgateError } from '../errors.ts';
import { authorizeOperation } from '../scopes.ts';
import { type AnyOperation, type Caller, LOCAL_CALLER, OPERATIONS, invoke, requireTerminal, takesTerminal } from '../terminals/operations.ts';
import type { TerminalManager } from '../terminals/types.ts';
import { readBody } from '../validate.ts';

const PREFIX = '/api/terminals';

/** Hono's path syntax for an operation, relative to where the routes are mounted. */
function routePath(op: AnyOperation): string {
  const path = op.rest.path.slice(PREFIX.length);
  return path === '' ? '/' : path;
}

/**
 * Query values are text; the schema says which fields are numbers or
 * booleans. A value that does not look like one stays text, so the schema's
 * own message ("expected number") names the field, as it does at every door.
 */
function fromQuery(op: AnyOperation, query: Record<string, string>): Record<string, unknown> {
  const shape = op.params.shape as Record<string, z.ZodType>;
  const input: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(query)) {
    const kind = Object.hasOwn(shape, key) ? baseType(shape[key]!) : 'string';
    if (kind === 'number' && /^-?\d+(\.\d+)?$/.test(value)) input[key] = Number(value);
    else if (kind === 'boolean' && (value === 'true' || value === 'false')) input[key] = value === 'true';
    else input[key] = value;
  }
  return input;
}

function baseType(schema: z.ZodType): string {
  let inner: z.ZodType = schema;
  while (inner.def.type === 'optional' || inner.def.type === 'default' || inner.def.type === 'nullable') {
    inner = (inner.def as unknown as { innerType: z.ZodType }).innerType;
  }
  return inner.def.type;
}

/** `callerOf`: who the gate admitted the request as, through which door (the Core knows). */
export function terminalRoutes(terminals: TerminalManager, callerOf: (request: Request) => Caller = () => LOCAL_CALLER): Hono {
  const app = new Hono();
  for (const op of OPERATIONS as readonly AnyOperation[]) {
    const inPath = routePath(op).includes(':');
    // Not async: a read answered at once stays a Response, not a promise of one (see invoke).
    app.on(op.rest.method, routePath(op), (c): Response | Promise<Response> => {
      // Path values are text too (a command's :seq is a number): the schema says which.
      const path = inPath ? fromQuery(op, c.req.param() as Record<string, string>) : {};
      const caller = callerOf(c.req.raw);
      if (op.rest.method === 'POST') {
        // The scope, then an unknown terminal (the bigger mistake): said before the body is read.
        // Without a body, invoke() makes the same checks in the same order.
        if (takesTerminal(op)) requireTerminal(terminals, path.terminalId, op, caller.principal);
        else authorizeOperation(op, caller.principal, undefined);
        return readBody(c, objectBody).then((body) => {
          if (Object.hasOwn(body, 'terminalId')) throw new TermgateError('bad_request', 'terminalId: goes in the path, not in the body');
          return answer(c, op, invoke(op, terminals, { ...body, ...path }, caller));
        });
      }
      const input = c.req.url.includes('?') ? { ...fromQuery(op, c.req.query()), ...path } : path;
      return answer(c, op, invoke(op, terminals, input, caller));
    });
  }
  return app;
}

function answer(c: Context, op: AnyOperation, result: unknown): Response | Promise<Response> {
  if (result instanceof Promise) return result.then((value) => answer(c, op, value));
  return op.rest.status === 204 ? c.body(null, 204) : c.json(result as object, op.rest.status);
}

/** Any JSON object: the operation's own schema checks its fields. */
const objectBody = z.looseObject({});

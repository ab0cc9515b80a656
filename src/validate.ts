/** Request-body validation with zod: every failure is a 400 whose message names the field. */
import type { Context } from 'hono';
import type { z } from 'zod';
import { TermgateError } from './errors.ts';

export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'body: invalid';
  const field = issue.path.length > 0 ? issue.path.join('.') : 'body';
  if (issue.code === 'unrecognized_keys') return `${issue.keys.join(', ')}: unknown field`;
  return `${field}: ${issue.message}`;
}

export function parseWith<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new TermgateError('bad_request', describeIssue(result.error));
  return result.data;
}

/** Reads a JSON body (an empty body counts as `{}`) and validates it. */
export async function readBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  const text = await c.req.text();
  let json: unknown = {};
  if (text.trim() !== '') {
    try {
      json = JSON.parse(text);
    } catch {
      throw new TermgateError('bad_request', 'body: not valid JSON');
    }
  }
  return parseWith(schema, json);
}

/** Request-body validation with zod: every failure is a 400 whose message names the field. */
import type { Context } from 'hono';
import { type z, toJSONSchema } from 'zod';
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

/**
 * A schema as JSON Schema, without its `$schema` key (OpenAPI and MCP embed it
 * in documents of their own). Draft 2020-12 is OpenAPI 3.1's; MCP clients validate with draft 7.
 */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output', target: 'draft-2020-12' | 'draft-7' = 'draft-2020-12'): Record<string, unknown> {
  const { $schema: _, ...rest } = toJSONSchema(schema, { io, target, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

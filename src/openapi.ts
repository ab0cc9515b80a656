/**
 * `GET /api/openapi.json`: an OpenAPI 3.1 document built from the same zod
 * schemas the server validates with (zod 4's own JSON Schema output, whose
 * draft 2020-12 is what OpenAPI 3.1 uses): the terminal operations from their
 * table, the other routes from the descriptions their modules export.
 */
import { z } from 'zod';
import { ERROR_STATUS, type ErrorCode } from './errors.ts';
import { type AnyOperation, OPERATIONS } from './terminals/operations.ts';
import { jsonSchemaOf } from './validate.ts';
import { VERSION } from './version.ts';

/** One REST route as the document shows it. */
export interface RouteDoc {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';
  /** OpenAPI's syntax: `{name}` for a path parameter. */
  path: string;
  summary: string;
  /** Query parameters (GET) as one object schema. */
  query?: z.ZodObject;
  body?: z.ZodType;
  success: { status: number; schema?: z.ZodType; description?: string; mediaType?: string };
  /** Errors this route can answer beyond those every gated route can (see COMMON_ERRORS). */
  errors?: ErrorCode[];
  /** Open to everyone (health): no credential, no gate errors. */
  open?: boolean;
}


/** What the gate and the error handler can answer on any route behind the gate. */
const COMMON_ERRORS: ErrorCode[] = ['bad_request', 'unauthorized', 'host_not_allowed', 'forbidden', 'rate_limited', 'internal'];
const BODY_ERRORS: ErrorCode[] = ['payload_too_large', 'unsupported_media_type'];

function terminalRouteDocs(): RouteDoc[] {
  return (OPERATIONS as readonly AnyOperation[]).map((op) => {
    const path = op.rest.path.replace(/:(\w+)/g, '{$1}');
    const inPath = new Set([...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]!));
    const own = Object.fromEntries(Object.entries(op.params.shape).filter(([name]) => !inPath.has(name)));
    const rest = z.strictObject(own);
    const errors: ErrorCode[] = path.includes('{terminalId}') ? ['not_found'] : [];
    if (op.name === 'create') errors.push('too_many_terminals');
    if (op.name === 'run' || op.name === 'input' || op.name === 'resize') errors.push('conflict');
    if (op.name === 'run') errors.push('terminal_busy');
    return {
      method: op.rest.method,
      path,
      summary: op.summary,
      ...(op.rest.method === 'POST' ? { body: rest } : Object.keys(own).length > 0 ? { query: rest } : {}),
      success: op.rest.status === 204 ? { status: 204 } : { status: op.rest.status, schema: op.result },
      errors,
    };
  });
}


const STATUS_TEXT: Record<number, string> = { 101: 'Switching Protocols', 200: 'OK', 201: 'Created', 204: 'No Content', 308: 'Permanent Redirect' };

function operationObject(route: RouteDoc): Record<string, unknown> {
  const parameters: Record<string, unknown>[] = [];
  for (const match of route.path.matchAll(/\{(\w+)\}/g)) {
    parameters.push({ name: match[1], in: 'path', required: true, schema: { type: 'string' } });
  }
  if (route.query) {
    for (const [name, schema] of Object.entries(route.query.shape as Record<string, z.ZodType>)) {
      parameters.push({ name, in: 'query', required: !schema.safeParse(undefined).success, schema: jsonSchemaOf(schema, 'input'), description: schema.description });
    }
  }
  const responses: Record<string, unknown> = {};
  const { success } = route;
  responses[String(success.status)] = {
    description: success.description ?? STATUS_TEXT[success.status] ?? 'OK',
    ...(success.schema ? { content: { [success.mediaType ?? 'application/json']: { schema: jsonSchemaOf(success.schema, 'output') } } } : {}),
  };
  const codes = new Set<ErrorCode>([...(route.open ? [] : COMMON_ERRORS), ...(route.body ? BODY_ERRORS : []), ...(route.errors ?? [])]);
  for (const code of codes) {
    const status = String(ERROR_STATUS[code]);
    const existing = responses[status] as { description: string } | undefined;
    responses[status] = {
      description: existing ? `${existing.description}, ${code}` : code,
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    };
  }
  return {
    summary: route.summary,
    operationId: `${route.method.toLowerCase()}${route.path.replace(/\{(\w+)\}/g, 'By-$1').replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase())}`,
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchemaOf(route.body, 'input') } } } } : {}),
    responses,
    ...(route.open ? { security: [] } : {}),
  };
}

/** The whole document; `routes` are the routes beside the terminal operations. */
export function openApiDocument(routes: readonly RouteDoc[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of [...routes, ...terminalRouteDocs()]) {
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operationObject(route);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'termgate',
      version: VERSION,
      description: 'A local terminal API server: real PTYs over REST, a WebSocket stream and an MCP sidecar. See the README for the security model.',
    },
    servers: [{ url: 'http://127.0.0.1:42031' }],
    security: [{ bearer: [] }, { basic: [] }],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'The authToken or a named tg_… token (its scope decides what it may do: docs/security.md); needed in exposed mode or with --require-token.' },
        basic: { type: 'http', scheme: 'basic', description: 'Any user name, the token as the password.' },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: { code: { type: 'string', enum: Object.keys(ERROR_STATUS) }, message: { type: 'string' } },
            },
          },
        },
      },
    },
  };
}

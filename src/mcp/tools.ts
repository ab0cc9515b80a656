/**
 * The sidecar's MCP tools, one for each operation of the table
 * (src/terminals/operations.ts): its tool name, description and JSON Schemas
 * come from there, and a call is that operation's REST request to the API, so
 * the API validates it exactly as it validates REST and WebSocket input.
 * Beyond the table: text answers default to maxBytes 64 KiB (an agent's
 * context), and `read_output` takes waitMs (wait for output to arrive and
 * settle, built on the API's wait: no polling).
 *
 * A result carries its value once: a JSON text of the fields for the model,
 * the operation's bulk text (run's output, read's data) as a text block of its
 * own, verbatim (not JSON-escaped, so it stays within maxBytes), and
 * structuredContent with the fields but not the bulk text again.
 *
 * A tool that fails answers `isError: true` with a sentence (the API's error
 * message, code and status), never a crash of the sidecar.
 */
// @ts-types: see sidecar.ts (the SDK's wildcard export confuses `deno check`).
// @ts-types="@modelcontextprotocol/sdk/types"
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { TermgateError } from '../errors.ts';
import { type AnyOperation, LIMITS, OPERATIONS } from '../terminals/operations.ts';
import { jsonSchemaOf, parseWith } from '../validate.ts';
import { type ApiClient, ApiError } from './api-client.ts';

/** Extra time an HTTP call gets beyond what the operation may block for (interrupt + answer). */
const HTTP_MARGIN_MS = 15_000;
/** Text answers' maxBytes when the call gives none. */
export const DEFAULT_MAX_BYTES = LIMITS.mcpMaxBytes;
const MAX_WAIT_MS = 30_000;
/** read_output with waitMs: output quiet this long counts as a finished reply. */
const SETTLE_MS = 200;

const WaitMs = z
  .number()
  .int()
  .min(0)
  .max(MAX_WAIT_MS)
  .optional()
  .describe('Wait up to this many milliseconds for output to arrive after `since`, then until it has been quiet for 0.2 s (default 0: answer at once). Not with tail.');

/** JSON Schema for a tool: draft 7, which MCP clients validate with. */
const jsonSchema = (schema: z.ZodType, io: 'input' | 'output') => jsonSchemaOf(schema, io, 'draft-7') as Tool['inputSchema'];

function paramsOf(op: AnyOperation): z.ZodObject {
  let params = op.params;
  const shape = params.shape as Record<string, z.ZodType>;
  if (shape.maxBytes) {
    params = params.extend({
      maxBytes: shape.maxBytes.describe(`${shape.maxBytes.description?.replace(/ Default through REST.*$/, '') ?? ''} Default here: ${DEFAULT_MAX_BYTES}.`),
    });
  }
  return op.name === 'read' ? params.extend({ waitMs: WaitMs }) : params;
}

/** The result as structuredContent carries it: without the bulk text, which is sent once, as a text block. */
function resultOf(op: AnyOperation): z.ZodType {
  const result = op.name === 'read' ? (op.result as z.ZodObject).extend({ terminalId: z.string() }) : op.result;
  const bulk = op.mcp.bulk;
  if (bulk === undefined || !(result instanceof z.ZodObject) || !(bulk in result.shape)) return result;
  return result.omit({ [bulk]: true } as Record<string, true>);
}

/** The tool list, built once per process: the stateless sidecar serves it on a fresh server for every request. */
export const TOOLS: readonly Tool[] = (OPERATIONS as readonly AnyOperation[]).map((op) => ({
  name: op.mcp.tool,
  title: op.mcp.title,
  description: op.mcp.description,
  inputSchema: jsonSchema(paramsOf(op), 'input'),
  outputSchema: jsonSchema(resultOf(op), 'output'),
  annotations: {
    title: op.mcp.title,
    readOnlyHint: op.readOnly,
    destructiveHint: op.mcp.destructive,
    idempotentHint: op.readOnly,
    openWorldHint: op.name === 'run' || op.name === 'input',
  },
}));

const BY_TOOL: ReadonlyMap<string, AnyOperation> = new Map((OPERATIONS as readonly AnyOperation[]).map((op) => [op.mcp.tool, op]));

/** Runs one tool call; every failure becomes a tool error with a sentence, never a throw. */
export async function callTool(api: ApiClient, name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> {
  const op = BY_TOOL.get(name);
  if (!op) return failure(`unknown tool "${name}"; the tools are ${[...BY_TOOL.keys()].join(', ')}`);
  try {
    const withDefaults = { ...op.mcp.defaults, ...args };
    if ('maxBytes' in op.params.shape && withDefaults.maxBytes === undefined) withDefaults.maxBytes = DEFAULT_MAX_BYTES;
    const value = op.name === 'read' ? await readOutput(api, op, withDefaults) : await forward(api, op, withDefaults);
    return present(op, value);
  } catch (error) {
    // The API's own answers already name their code and status; a refusal made here says them too.
    if (error instanceof ApiError) return failure(error.message);
    if (error instanceof TermgateError) return failure(`${error.message} (${error.code} ${error.status})`);
    return failure(error instanceof Error ? error.message : String(error));
  }
}

/**
 * The value once: the fields as compact JSON text (and structuredContent), the bulk text as a block of its own.
 * Compact, as a model reads every indent: list_commands' 50 records took 40% more text pretty-printed.
 */
function present(op: AnyOperation, value: unknown): CallToolResult {
  const bulk = op.mcp.bulk;
  const fields = value as Record<string, unknown>;
  if (bulk === undefined || typeof fields[bulk] !== 'string') {
    return { content: [{ type: 'text', text: JSON.stringify(value) }], structuredContent: fields };
  }
  const { [bulk]: text, ...rest } = fields;
  return {
    content: [
      { type: 'text', text: JSON.stringify({ ...rest, [bulk]: `(the next text block, ${byteLength(text as string)} bytes)` }) },
      { type: 'text', text: text as string },
    ],
    structuredContent: rest,
  };
}

function failure(text: string): CallToolResult {
  return { content: [{ type: 'text', text }], isError: true };
}

/** The operation's REST request: `:terminalId` into the path, the rest into the query (GET) or the body. */
function restRequest(op: AnyOperation, args: Record<string, unknown>): { path: string; body?: unknown } {
  const { terminalId, ...rest } = args;
  let path = op.rest.path;
  if (path.includes(':terminalId')) {
    if (typeof terminalId !== 'string' || terminalId === '') throw new TermgateError('bad_request', 'terminalId: must be a non-empty string');
    path = path.replace(':terminalId', encodeURIComponent(terminalId));
  } else if (terminalId !== undefined) rest.terminalId = terminalId;
  // Other path parameters (a command's :seq) go in the path as text; the API checks them.
  path = path.replace(/:(\w+)/g, (_, name: string) => {
    const value = rest[name];
    delete rest[name];
    return encodeURIComponent(typeof value === 'string' ? value : JSON.stringify(value ?? ''));
  });
  if (op.rest.method === 'POST') return { path, body: rest };
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(rest)) if (value !== undefined) query.set(key, typeof value === 'string' ? value : JSON.stringify(value));
  const search = query.toString();
  return { path: search === '' ? path : `${path}?${search}` };
}

async function forward(api: ApiClient, op: AnyOperation, args: Record<string, unknown>): Promise<unknown> {
  const { path, body } = restRequest(op, args);
  // The API validates the arguments; until it has, a value that is not a sane number must not size a timeout.
  const blocks = op.blocksForMs?.(args as never);
  const waitMs = typeof blocks === 'number' && Number.isSafeInteger(blocks) && blocks > 0 ? Math.min(blocks, 3_600_000) : 0;
  const answer = await api.request(op.rest.method, path, { body, timeoutMs: waitMs > 0 ? waitMs + HTTP_MARGIN_MS : undefined });
  // A 204 route has no body: the operation says what the other doors answer instead.
  if (op.rest.status === 204 && op.acknowledge) return op.acknowledge(args as never);
  // Only the fields the tool's output schema declares (clients validate against it strictly).
  const parsed = op.result.safeParse(answer);
  return parsed.success ? parsed.data : answer;
}

type ReadParams = { terminalId: string; since?: number; tail?: number; waitMs?: number };

/** read: the operation's read, after waiting (waitMs) through the API's wait for output to arrive and then to settle. */
async function readOutput(api: ApiClient, op: AnyOperation, args: Record<string, unknown>): Promise<unknown> {
  // Checked here too (the operation's schema plus waitMs), since waitMs never reaches the API.
  const params = parseWith(paramsOf(op), args) as ReadParams;
  const { waitMs = 0, ...read } = params;
  if (waitMs > 0) {
    if (read.tail !== undefined) throw new TermgateError('bad_request', 'tail: cannot be combined with since or waitMs');
    const wait = operation('wait');
    const started = Date.now();
    const since = read.since ?? 0;
    // Output already there (the end is past since): only the settling is left to wait for.
    const { next: end } = (await forward(api, op, { terminalId: read.terminalId, tail: 1 })) as { next: number };
    const arrived =
      end > since
        ? { reason: 'matched' }
        : ((await forward(api, wait, { terminalId: read.terminalId, since, pattern: '[\\s\\S]', timeoutMs: waitMs })) as { reason: string });
    const left = waitMs - (Date.now() - started);
    if (arrived.reason === 'matched' && left > 0) {
      await forward(api, wait, { terminalId: read.terminalId, idleMs: Math.min(SETTLE_MS, left), timeoutMs: left });
    }
  }
  return { terminalId: read.terminalId, ...((await forward(api, op, read)) as object) };
}

function operation(name: string): AnyOperation {
  return (OPERATIONS as readonly AnyOperation[]).find((op) => op.name === name)!;
}

const encoder = new TextEncoder();
const byteLength = (text: string) => encoder.encode(text).length;

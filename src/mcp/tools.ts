/**
 * The sidecar's MCP tools, one for each operation of the table
 * (src/terminals/operations.ts): its tool name, description and JSON Schemas
 * come from there, and a call is that operation's REST request to the API, so
 * the API validates it exactly as it validates REST and WebSocket input.
 * `read_output` adds what only an agent needs (waiting for output to settle,
 * a byte cap, plain text).
 *
 * A tool that fails answers `isError: true` with a sentence (the API's error
 * message, code and status), never a crash of the sidecar.
 */
// @ts-types: see sidecar.ts (the SDK's wildcard export confuses `deno check`).
// @ts-types="@modelcontextprotocol/sdk/types"
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import stripAnsi from 'strip-ansi';
import { z } from 'zod';
import { TermgateError } from '../errors.ts';
import { type AnyOperation, OPERATIONS, OutputSlice } from '../terminals/operations.ts';
import type { OutputSlice as Slice } from '../terminals/types.ts';
import { jsonSchemaOf, parseWith } from '../validate.ts';
import { type ApiClient, ApiError } from './api-client.ts';

/** Extra time an HTTP call gets beyond what the operation may block for (interrupt + answer). */
const HTTP_MARGIN_MS = 15_000;
/** read_output's default cap: large enough for a screenful of logs, small enough for an agent's context. */
export const DEFAULT_READ_MAX_BYTES = 64 * 1024;
const MAX_READ_BYTES = 1024 * 1024;
const MAX_WAIT_MS = 30_000;
const POLL_INTERVAL_MS = 100;
/** read_output with waitMs: output quiet this long counts as a finished reply. */
const SETTLE_MS = 200;

/** What read_output takes beyond the read operation's own parameters. */
const ReadExtras = z.strictObject({
  waitMs: z
    .number()
    .int()
    .min(0)
    .max(MAX_WAIT_MS)
    .optional()
    .describe('Wait up to this many milliseconds for output to arrive and settle (default 0: answer at once with what is there).'),
  maxBytes: z
    .number()
    .int()
    .min(4)
    .max(MAX_READ_BYTES)
    .optional()
    .describe(`Return at most this many bytes (default ${DEFAULT_READ_MAX_BYTES}); the rest waits for the next call.`),
  plain: z
    .boolean()
    .optional()
    .describe('Plain text: ANSI escape sequences (colours, cursor moves, titles) removed, \\n line ends, a line redrawn after \\r shown as redrawn. Offsets still count raw bytes.'),
});

const ReadAnswer = OutputSlice.extend({
  terminalId: z.string(),
  more: z.boolean().describe('True when more output is already waiting past `next` (the answer was capped at maxBytes).'),
});

/** JSON Schema for a tool: draft 7, which MCP clients validate with. */
const jsonSchema = (schema: z.ZodType, io: 'input' | 'output') => jsonSchemaOf(schema, io, 'draft-7') as Tool['inputSchema'];

function paramsOf(op: AnyOperation): z.ZodObject {
  if (op.name !== 'read') return op.params;
  // `limit` is the API's; the tool's own cap is maxBytes.
  return op.params.omit({ limit: true }).extend({
    ...ReadExtras.shape,
    tail: op.params.shape.tail!.describe('Instead of since: only the last this many bytes (at most maxBytes), e.g. 2000 for the recent screen. Not with since or waitMs.'),
  });
}

/** The tool list, built once per process: the stateless sidecar serves it on a fresh server for every request. */
export const TOOLS: readonly Tool[] = (OPERATIONS as readonly AnyOperation[]).map((op) => ({
  name: op.mcp.tool,
  title: op.mcp.title,
  description: op.mcp.description,
  inputSchema: jsonSchema(paramsOf(op), 'input'),
  outputSchema: jsonSchema(op.name === 'read' ? ReadAnswer : op.result, 'output'),
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
    const value = op.name === 'read' ? await readOutput(api, op, args) : await forward(api, op, args);
    return { content: [{ type: 'text', text: JSON.stringify(value, null, 2) }], structuredContent: value as Record<string, unknown> };
  } catch (error) {
    // The API's own answers already name their code and status; a refusal made here says them too.
    if (error instanceof ApiError) return failure(error.message);
    if (error instanceof TermgateError) return failure(`${error.message} (${error.code} ${error.status})`);
    return failure(error instanceof Error ? error.message : String(error));
  }
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function readOutput(api: ApiClient, op: AnyOperation, args: Record<string, unknown>): Promise<z.infer<typeof ReadAnswer>> {
  // Checked here too (the same schema as the API's, plus the extras), since the extras never reach the API.
  const params = parseWith(paramsOf(op), args) as { terminalId: string; since?: number; tail?: number } & z.infer<typeof ReadExtras>;
  const { terminalId, since, tail, waitMs = 0, maxBytes = DEFAULT_READ_MAX_BYTES, plain = false } = params;
  const slice = (rest: Record<string, unknown>) => api.request<Slice>('GET', restRequest(op, { terminalId, ...rest }).path);
  const answer = (read: Slice) => {
    const capped = capSlice(read, maxBytes);
    return { terminalId, ...capped, data: plain ? plainText(capped.data) : capped.data };
  };
  if (tail !== undefined) {
    if (since !== undefined || waitMs > 0) throw new TermgateError('bad_request', 'tail: cannot be combined with since or waitMs');
    return answer(await slice({ tail: Math.min(tail, maxBytes) }));
  }
  // Asking for 4 bytes more than maxBytes makes `more` exact: the API stops at most 3 bytes short of
  // its limit (a character boundary), so an answer within maxBytes means the end was reached.
  const read = (from: unknown) => slice({ limit: maxBytes + 4, since: from });
  let current = await read(since);
  // Bounded by waitMs: first wait for some output…
  const deadline = Date.now() + waitMs;
  while (current.data === '' && Date.now() < deadline) {
    await sleep(Math.min(POLL_INTERVAL_MS, Math.max(0, deadline - Date.now())));
    const later = await read(current.next);
    current = { ...later, dropped: current.dropped + later.dropped };
  }
  // …then until it has been quiet for SETTLE_MS, so a reply that arrives in pieces (an echo, then
  // the result, then the prompt) comes whole. A gap (dropped output) is never papered over.
  while (waitMs > 0 && current.data !== '' && current.next - current.since < maxBytes && Date.now() < deadline) {
    await sleep(Math.min(SETTLE_MS, Math.max(0, deadline - Date.now())));
    const later = await read(current.next);
    if (later.data === '' || later.dropped > 0) break;
    current = { ...current, data: current.data + later.data, next: later.next };
  }
  return answer(current);
}

const encoder = new TextEncoder();

/**
 * Terminal output as text for reading: no escape sequences, `\n` line ends,
 * and a lone `\r` (a progress bar, a redrawn prompt) overwriting the start of
 * its line as it does on screen. Not a terminal emulator: cursor moves are
 * dropped with the other escape sequences, not applied.
 */
export function plainText(data: string): string {
  return stripAnsi(data)
    .replace(/\r+\n/g, '\n')
    .split('\n')
    .map(overlayCarriageReturns)
    .join('\n');
}

function overlayCarriageReturns(line: string): string {
  if (!line.includes('\r')) return line;
  let screen = '';
  for (const part of line.split('\r')) screen = part + screen.slice(part.length);
  return screen;
}

/**
 * Caps a slice at `maxBytes`, cutting on a UTF-8 character boundary, and moves
 * `next` to the end of what is returned, so the offset contract still holds:
 * the caller continues with since = next and misses nothing. (If the text's
 * byte length does not match the offsets, e.g. invalid UTF-8 the API replaced,
 * the slice is returned whole rather than guessed at.)
 */
export function capSlice(slice: Slice, maxBytes: number): Slice & { more: boolean } {
  const { data, since, next, dropped } = slice;
  // A UTF-16 code unit never takes more than 3 bytes in UTF-8: short text needs no encoding to know it fits.
  if (data.length * 3 <= maxBytes) return { data, since, next, dropped, more: false };
  const bytes = encoder.encode(data);
  if (bytes.length <= maxBytes || bytes.length !== next - since) return { data, since, next, dropped, more: false };
  let cut = maxBytes;
  while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
  // Never an empty answer while output is waiting (a caller looping on `more` must progress): one whole character.
  if (cut === 0) for (cut = 1; cut < bytes.length && (bytes[cut]! & 0xc0) === 0x80; ) cut++;
  return {
    data: new TextDecoder().decode(bytes.subarray(0, cut)),
    since,
    next: since + cut,
    dropped,
    more: true,
  };
}

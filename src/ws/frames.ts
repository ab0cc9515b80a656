/**
 * The /ws wire format (docs/websocket.md): what a client may send, checked with zod, and
 * the frames the server sends, built as strings. Output frames are the hot
 * path: they are assembled by hand once per event and shared by every
 * subscriber, never rebuilt per connection.
 */
import { z } from 'zod';
import { TermgateError } from '../errors.ts';
import type { TerminalEvent } from '../terminals/types.ts';
import { describeIssue } from '../validate.ts';

/** A client's correlation id, echoed in the answer. */
const FrameId = z.union([z.string().max(256), z.number()]);
export type FrameId = z.infer<typeof FrameId>;

const TerminalId = z.string().min(1).max(256);

// Client frames are plain objects (not strict): a client may add fields of its
// own (timestamps, tracing) without being refused.
export const ClientFrame = z.discriminatedUnion('type', [
  z.object({ type: z.literal('heartbeat'), id: FrameId.optional() }),
  z.object({
    type: z.literal('subscribe'),
    id: FrameId.optional(),
    terminalId: TerminalId,
    since: z.number().int().min(0).optional(),
  }),
  z.object({ type: z.literal('unsubscribe'), id: FrameId.optional(), terminalId: TerminalId }),
  z.object({
    type: z.literal('command'),
    // Without an id a command is answered only when it fails (keystrokes: docs/websocket.md).
    id: FrameId.optional(),
    command: z.string().min(1).max(64),
    params: z.record(z.string(), z.unknown()).optional(),
  }),
]);
export type ClientFrame = z.infer<typeof ClientFrame>;

const FRAME_TYPES = 'heartbeat, subscribe, unsubscribe or command';

/** Frame types whose answers carry `type`, so they can be told apart without an id. */
const TYPED_ANSWERS: ReadonlySet<string> = new Set(['heartbeat', 'subscribe', 'unsubscribe']);

/** A malformed frame: a bad_request that also knows which frame it answers. */
export class FrameError extends TermgateError {
  constructor(
    message: string,
    /** The id of the frame, when it could be read, so the error can be correlated. */
    readonly id: FrameId | null,
    /** The frame's type when it is one whose answers carry it (heartbeat, subscribe, unsubscribe). */
    readonly type?: string,
  ) {
    super('bad_request', message);
  }
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Parses one incoming message; throws FrameError (naming the field) when it is not a valid frame. */
export function parseClientFrame(data: string | ArrayBuffer): ClientFrame {
  let text: string;
  if (typeof data === 'string') text = data;
  else {
    try {
      text = decoder.decode(data);
    } catch {
      throw new FrameError('frame: binary frame is not valid UTF-8 JSON', null);
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new FrameError('frame: not valid JSON', null);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new FrameError('frame: must be a JSON object', null);
  }
  const raw = json as { id?: unknown; type?: unknown };
  const id = typeof raw.id === 'string' || typeof raw.id === 'number' ? raw.id : null;
  if (typeof raw.type !== 'string') throw new FrameError(`type: required, one of ${FRAME_TYPES}`, id);
  const result = ClientFrame.safeParse(json);
  if (!result.success) {
    // An id-less command is answered only when it fails, with type "command" and its name first (hub.ts).
    const idless = raw.type === 'command' && id === null;
    const type = TYPED_ANSWERS.has(raw.type) || idless ? raw.type : undefined;
    const named = (message: string) => (idless && typeof (raw as { command?: unknown }).command === 'string' ? `${(raw as { command: string }).command}: ${message}` : message);
    const issue = result.error.issues[0];
    if (issue?.code === 'invalid_union' && issue.path.length === 1 && issue.path[0] === 'type') {
      throw new FrameError(`type: unknown frame type ${JSON.stringify(raw.type)}, expected ${FRAME_TYPES}`, id);
    }
    if (issue?.path.length === 1 && issue.path[0] === 'id') {
      throw new FrameError(named('id: a string (up to 256 characters) or a number'), id, type);
    }
    throw new FrameError(named(describeIssue(result.error)), id, type);
  }
  return result.data;
}

// ---- server frames -------------------------------------------------------------

export function welcomeFrame(version: string, runtime: string): string {
  return JSON.stringify({ id: 'welcome', success: true, data: { version, mode: runtime } });
}

/** The answer to a client frame. `type` echoes heartbeat/subscribe/unsubscribe so id-less frames can be told apart. */
export function successFrame(id: FrameId | null | undefined, data: unknown, type?: string): string {
  return JSON.stringify(type === undefined ? { id: id ?? null, success: true, data } : { id: id ?? null, type, success: true, data });
}

export function errorFrame(id: FrameId | null | undefined, code: string, message: string, type?: string): string {
  const error = { code, message };
  return JSON.stringify(type === undefined ? { id: id ?? null, success: false, error } : { id: id ?? null, type, success: false, error });
}

/** One output event, serialised once and sent as is to every subscriber. */
export function outputFrame(terminalId: string, content: string, offset: number, next: number): string {
  return (
    '{"type":"event","event":{"type":"output.data","terminalId":' +
    JSON.stringify(terminalId) +
    ',"data":{"content":' +
    JSON.stringify(content) +
    ',"offset":' +
    offset +
    ',"next":' +
    next +
    '}}}'
  );
}

type LifecycleEvent = Exclude<TerminalEvent, { type: 'output.data' }>;

/** A lifecycle event (created, resized, exit, closed) or a command event, in the same envelope as output. */
export function lifecycleFrame(event: LifecycleEvent): string {
  let data: unknown;
  switch (event.type) {
    case 'terminal.created':
      data = event.terminal;
      break;
    case 'terminal.resized':
      data = { cols: event.cols, rows: event.rows };
      break;
    case 'terminal.exit':
      data = { exitCode: event.exitCode, signal: event.signal };
      break;
    case 'terminal.closed':
      data = {};
      break;
    case 'command.started':
    case 'command.finished':
      data = event.command;
      break;
  }
  return JSON.stringify({ type: 'event', event: { type: event.type, terminalId: event.terminalId, data } });
}

/**
 * Every terminal operation, defined once: its parameters and result (zod), its
 * limits and defaults, what it does, and where each door puts it. REST
 * (src/routes/terminals.ts), WebSocket command frames (src/ws/commands.ts),
 * MCP tools (src/mcp/tools.ts) and the OpenAPI document (src/openapi.ts) are
 * built from this table, so the same bad input gets the same code and the
 * same message naming the field through every door.
 */
import { z } from 'zod';
import { TermgateError } from '../errors.ts';
import { parseWith } from '../validate.ts';
import { LIMITS } from './limits.ts';
import type { TerminalManager } from './types.ts';
import { screensOf } from './screen.ts';
import { encodeKeys, isKnownKey } from './keys.ts';

export { LIMITS };


const noNul = (max: number) =>
  z
    .string()
    .max(max)
    .refine((value) => !value.includes('\0'), 'must not contain NUL characters');
const offset = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const byteCount = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

export const TerminalId = z.string().min(1).max(256).describe("The terminal's id, as returned when it was created or listed.");

export const Terminal = z.object({
  id: z.string(),
  name: z.string(),
  command: z.string(),
  args: z.array(z.string()),
  cwd: z.string(),
  cols: z.number().int(),
  rows: z.number().int(),
  pid: z.number().int(),
  createdAt: z.string().describe('ISO 8601'),
  exited: z.boolean(),
  exitCode: z.number().int().nullable(),
});

export const OutputSlice = z.object({
  data: z.string().describe('Output text: raw terminal bytes as UTF-8, whole characters only (escape sequences and \\r\\n included).'),
  since: offset.describe('Offset of the first byte of data.'),
  next: offset.describe('Offset after the last byte: pass it as `since` to continue exactly where this read ended.'),
  dropped: offset.describe('Bytes before `since` that had already left the bounded scrollback.'),
});

export const RunResult = z.object({
  output: z.string().describe('What the command printed: \\n line endings, trailing newlines removed.'),
  exitCode: z.number().int().nullable().describe('Its exit status; null when it timed out.'),
  timedOut: z.boolean(),
  durationMs: z.number(),
  truncated: z.boolean().describe('The output was longer than the scrollback and only its end is here.'),
});

export type HttpMethod = 'GET' | 'POST' | 'DELETE';

export interface Operation<P extends z.ZodObject = z.ZodObject, R extends z.ZodType = z.ZodType> {
  /** The WebSocket command is `terminal.<name>`. */
  readonly name: string;
  /** One line, for OpenAPI and lists. */
  readonly summary: string;
  /** REST: method, path (`:terminalId` is the parameter of that name) and success status (204: no body). */
  readonly rest: { readonly method: HttpMethod; readonly path: string; readonly status: 200 | 201 | 204 };
  readonly params: P;
  readonly result: R;
  /** Reads only, changes nothing (MCP's readOnlyHint; the scopes of wave 2 build on it). */
  readonly readOnly: boolean;
  /** The MCP tool: its name and the description an agent reads (which tool to use next, what comes back). */
  readonly mcp: { readonly tool: string; readonly title: string; readonly description: string; readonly destructive: boolean };
  /** For a 204 route: the result, built from the params alone, that the other doors answer with. */
  readonly acknowledge?: (params: z.infer<P>) => z.infer<R>;
  /** How long the operation may block by design (run's timeout): a client's HTTP timeout must leave room for it. */
  readonly blocksForMs?: (params: Partial<z.infer<P>>) => number;
  handle(terminals: TerminalManager, params: z.infer<P>): z.infer<R> | Promise<z.infer<R>>;
}

const operation = <P extends z.ZodObject, R extends z.ZodType>(definition: Operation<P, R>): Operation<P, R> => definition;

const closedAnswer = ({ terminalId }: { terminalId: string }) => ({ terminalId, closed: true as const });
const inputAnswer = ({ terminalId, data }: { terminalId: string; data: string }) => ({ terminalId, bytes: utf8Length(data) });

const KeyName = z.string().superRefine((value, ctx) => {
  if (!isKnownKey(value)) ctx.addIssue({ code: 'custom', message: `unknown key ${JSON.stringify(value)}` });
});
const keyList = (keys: string | string[]) => (typeof keys === 'string' ? [keys] : keys);

const terminalPath = (rest = '') => `/api/terminals/:terminalId${rest}`;

export const OPERATIONS = [
  operation({
    name: 'list',
    summary: 'List terminals',
    rest: { method: 'GET', path: '/api/terminals', status: 200 },
    params: z.strictObject({}),
    result: z.object({ terminals: z.array(Terminal) }),
    readOnly: true,
    mcp: {
      tool: 'list_terminals',
      title: 'List terminals',
      description:
        'List the terminals open on the termgate server: for each its id, name, command, cwd, size (cols x rows), pid, ' +
        'and whether its process has exited (with the exit code). Use an id with the other tools.',
      destructive: false,
    },
    handle: (terminals) => ({ terminals: terminals.list() }),
  }),
  operation({
    name: 'create',
    summary: 'Create a terminal (a real PTY)',
    rest: { method: 'POST', path: '/api/terminals', status: 201 },
    params: z.strictObject({
      command: noNul(4096).min(1).optional().describe("Program to run, looked up in PATH, e.g. \"bash\". Default: the user's shell."),
      args: z.array(noNul(65536)).max(1024).optional().describe('Arguments, passed as they are (no shell involved).'),
      cwd: noNul(4096).min(1).optional().describe("Working directory (must exist). Default: the user's home directory."),
      env: z
        .record(z.string().regex(/^[^=\0]+$/, 'names must be non-empty, without "=" or NUL'), noNul(65536))
        .optional()
        .describe("Variables added to the server's environment."),
      cols: z.number().int().min(1).max(LIMITS.maxCols).optional().describe(`Width in columns (default ${LIMITS.defaultCols}).`),
      rows: z.number().int().min(1).max(LIMITS.maxRows).optional().describe(`Height in rows (default ${LIMITS.defaultRows}).`),
      name: z.string().min(1).max(200).optional().describe('A label shown in lists and the dashboard (default terminal-N).'),
    }),
    result: Terminal,
    readOnly: false,
    mcp: {
      tool: 'create_terminal',
      title: 'Create a terminal',
      description:
        "Open a new terminal on the user's machine: a real PTY running `command` (default: the user's login shell). " +
        'Returns the terminal; keep its `id` for run_command, send_input, read_output, resize_terminal and close_terminal. ' +
        'Close it with close_terminal when you are done.',
      destructive: false,
    },
    handle: (terminals, params) => terminals.create(params),
  }),
  operation({
    name: 'get',
    summary: 'One terminal',
    rest: { method: 'GET', path: terminalPath(), status: 200 },
    params: z.strictObject({ terminalId: TerminalId }),
    result: Terminal,
    readOnly: true,
    mcp: {
      tool: 'get_terminal',
      title: 'Get a terminal',
      description: "One terminal's details: name, command, cwd, size, pid, and whether it has exited (with its exit code).",
      destructive: false,
    },
    handle: (terminals, { terminalId }) => terminals.get(terminalId),
  }),
  operation({
    name: 'close',
    summary: 'Close a terminal: ends its whole session',
    rest: { method: 'DELETE', path: terminalPath(), status: 204 },
    params: z.strictObject({ terminalId: TerminalId }),
    result: z.object({ terminalId: z.string(), closed: z.literal(true) }),
    readOnly: false,
    mcp: {
      tool: 'close_terminal',
      title: 'Close a terminal',
      description:
        'Close a terminal: kills its program and everything it started (its whole session), and forgets it. ' +
        'Its output can no longer be read afterwards.',
      destructive: true,
    },
    acknowledge: closedAnswer,
    handle: async (terminals, params) => {
      await terminals.close(params.terminalId);
      return closedAnswer(params);
    },
  }),
  operation({
    name: 'input',
    summary: 'Type into a terminal',
    rest: { method: 'POST', path: terminalPath('/input'), status: 204 },
    params: z.strictObject({
      terminalId: TerminalId,
      data: z.string().describe('Text or key sequence, as keystrokes: "\\r" is Enter, "\\u0003" Ctrl-C, "\\u001b[A" arrow up.'),
    }),
    result: z.object({ terminalId: z.string(), bytes: z.number().int().describe('UTF-8 bytes written.') }),
    readOnly: false,
    mcp: {
      tool: 'send_input',
      title: 'Send input',
      description:
        'Type text into a terminal, exactly as keystrokes. End a line with "\\n" to press Enter. Control keys are characters: ' +
        '"\\u0003" is Ctrl-C, "\\u0004" Ctrl-D, "\\u001b" Escape, "\\u001b[A" arrow up. Does not wait for any output: ' +
        'follow with read_output (waitMs helps). To run a command and get its output and exit code, prefer run_command.',
      destructive: true,
    },
    acknowledge: inputAnswer,
    handle: (terminals, params) => {
      terminals.input(params.terminalId, params.data);
      return inputAnswer(params);
    },
  }),
  operation({
    name: 'resize',
    summary: 'Resize a terminal (the program gets SIGWINCH)',
    rest: { method: 'POST', path: terminalPath('/resize'), status: 200 },
    params: z.strictObject({
      terminalId: TerminalId,
      cols: z.number().int().min(1).max(LIMITS.maxCols).describe('Width in columns.'),
      rows: z.number().int().min(1).max(LIMITS.maxRows).describe('Height in rows.'),
    }),
    result: Terminal,
    readOnly: false,
    mcp: {
      tool: 'resize_terminal',
      title: 'Resize a terminal',
      description:
        "Change a terminal's size in columns and rows, as resizing its window would: the program in it is told " +
        '(SIGWINCH), so full-screen programs redraw and `tput cols` reports the new width. Returns the terminal.',
      destructive: false,
    },
    handle: (terminals, { terminalId, cols, rows }) => {
      terminals.resize(terminalId, cols, rows);
      return terminals.get(terminalId);
    },
  }),
  operation({
    name: 'read',
    summary: 'Read output by byte offset, or its tail',
    rest: { method: 'GET', path: terminalPath('/output'), status: 200 },
    params: z.strictObject({
      terminalId: TerminalId,
      since: offset.optional().describe('Byte offset to read from: the `next` of the previous read (default 0, the start).'),
      limit: byteCount.optional().describe('At most this many bytes (default: all that is held).'),
      tail: byteCount.optional().describe('Instead of since/limit: only the last this many bytes, starting on a whole character.'),
    }),
    result: OutputSlice,
    readOnly: true,
    mcp: {
      tool: 'read_output',
      title: 'Read output',
      description:
        'Read what a terminal printed, starting at byte offset `since`. First call: omit `since` (from the start; `dropped` ' +
        'says how much already left the scrollback); then pass the `next` of the previous answer, so you never miss or repeat output. `data` is ' +
        'raw terminal text (it may hold ANSI escape sequences and \\r\\n). With waitMs, waits up to that long for output ' +
        'to arrive, then until it has been quiet for 0.2 s, so a reply that comes in pieces arrives whole. ' +
        'If `more` is true, call again at once with since = next. To see only what the terminal shows now, pass `tail` ' +
        '(e.g. 2000) instead of `since`. Pass plain: true for text without escape sequences.',
      destructive: false,
    },
    handle: (terminals, { terminalId, since, limit, tail }) => {
      if (tail === undefined) return terminals.read(terminalId, since, limit);
      if (since !== undefined || limit !== undefined) throw new TermgateError('bad_request', 'tail: cannot be combined with since or limit');
      return terminals.readTail(terminalId, tail);
    },
  }),
  operation({
    name: 'run',
    summary: "Run one command line in the terminal's shell and wait for it",
    rest: { method: 'POST', path: terminalPath('/run'), status: 200 },
    params: z.strictObject({
      terminalId: TerminalId,
      command: noNul(65536)
        .refine((value) => value.trim() !== '', 'must not be empty')
        .describe('The command line, e.g. "ls -la" or "npm test 2>&1 | tail -20".'),
      timeoutMs: z
        .number()
        .int()
        .min(1)
        .max(LIMITS.maxRunTimeoutMs)
        .optional()
        .describe(
          `How long to wait in ms (default ${LIMITS.defaultRunTimeoutMs}); then it is interrupted as Ctrl-C would. ` +
            "Keep it below your client's own request timeout (MCP clients often use 60000).",
        ),
    }),
    result: RunResult,
    readOnly: false,
    mcp: {
      tool: 'run_command',
      title: 'Run a command',
      description:
        'Run one shell command line in a terminal and wait for it to finish. Returns its `output` (the text it printed), ' +
        'its `exitCode` (0 = success) and `durationMs`. If it runs longer than timeoutMs it is interrupted as Ctrl-C would, ' +
        'the answer says `timedOut: true`, and the terminal stays usable. The terminal must run a shell (the default of ' +
        'create_terminal); state such as the current directory or exported variables carries over between calls. ' +
        'Use this for commands that finish; for interactive programs use send_input and read_output.',
      destructive: true,
    },
    blocksForMs: ({ timeoutMs }) => timeoutMs ?? LIMITS.defaultRunTimeoutMs,
    handle: (terminals, { terminalId, command, timeoutMs }) => terminals.run(terminalId, command, timeoutMs ?? LIMITS.defaultRunTimeoutMs),
  }),
  operation({
    name: 'screen',
    summary: 'What the terminal shows now, as an emulator renders it',
    rest: { method: 'GET', path: terminalPath('/screen'), status: 200 },
    params: z.strictObject({
      terminalId: TerminalId,
      scrollback: z.number().int().min(0).max(10000).optional().describe('Also up to this many lines above the screen, in `scrollback` (oldest first).'),
      format: z.enum(['lines', 'ansi']).optional().describe('"lines" (default): the screen as text lines; "ansi": a serialized snapshot to write into a fresh xterm.js.'),
    }),
    result: z.object({
      cols: z.number().int().optional(),
      rows: z.number().int().optional(),
      cursor: z.object({ x: z.number().int(), y: z.number().int(), visible: z.boolean() }).optional(),
      altScreen: z.boolean().optional().describe('A full-screen program switched to the alternate screen.'),
      title: z.string().optional(),
      lines: z.array(z.string()).optional().describe('One string per row, trailing spaces trimmed.'),
      scrollback: z.array(z.string()).optional().describe('With scrollback=N: up to N lines above the screen, oldest first.'),
      data: z.string().optional().describe('With format=ansi (then only data and offset): the screen serialized as escape sequences.'),
      offset: offset.describe('The output byte the snapshot reflects: live output continues from here.'),
    }),
    readOnly: true,
    mcp: {
      tool: 'read_screen',
      title: 'Read the screen',
      description:
        'What a terminal shows right now, as a terminal emulator renders it: one text line per row (colours and cursor moves ' +
        'applied, progress lines in their final state), the cursor position, whether a full-screen program (alternate screen) ' +
        'is active, and the window title. Best for full-screen programs (vim, top, less) and prompts. Pass scrollback: N for ' +
        'N lines above the screen. Send keys with send_keys.',
      destructive: false,
    },
    handle: async (terminals, { terminalId, scrollback, format }) => {
      const screen = screensOf(terminals).screen(terminalId);
      if (format === 'ansi') return screen.ansi();
      return screen.snapshot(scrollback ?? 0);
    },
  }),
  operation({
    name: 'keys',
    summary: 'Press keys in a terminal, encoded for its current modes',
    rest: { method: 'POST', path: terminalPath('/keys'), status: 204 },
    params: z.strictObject({
      terminalId: TerminalId,
      keys: z
        .union([z.array(KeyName).min(1).max(1024), KeyName])
        .describe(
          'Key names, pressed in order (one name alone is one key): Enter, Tab, S-Tab, Escape, Backspace, Delete, Insert, Home, End, ' +
            'PageUp, PageDown, Up, Down, Left, Right, F1-F12, C-<key> (Ctrl), M-<key> (Alt), a single character, or "text:<literal text>".',
        ),
    }),
    result: z.object({ terminalId: z.string(), bytes: z.number().int().describe('UTF-8 bytes written.') }),
    readOnly: false,
    mcp: {
      tool: 'send_keys',
      title: 'Send keys',
      description:
        'Press keys in a terminal by name, e.g. ["C-c"], ["Up","Enter"], ["text:ls -la","Enter"], ["Escape","text::wq","Enter"]. ' +
        'Keys are encoded for the terminal\'s current modes (application cursor keys, bracketed paste), so arrows work in ' +
        'vim, less and readline alike. Does not wait for output: follow with read_screen or read_output.',
      destructive: true,
    },
    acknowledge: ({ terminalId, keys }) => ({ terminalId, bytes: utf8Length(encodeKeys(keyList(keys))) }),
    handle: async (terminals, { terminalId, keys }) => {
      const screen = screensOf(terminals).screen(terminalId);
      await screen.settled();
      const data = encodeKeys(keyList(keys), screen.modes);
      terminals.input(terminalId, data);
      return { terminalId, bytes: utf8Length(data) };
    },
  }),
] as const;

export type AnyOperation = Operation<z.ZodObject, z.ZodType>;

const BY_NAME: ReadonlyMap<string, AnyOperation> = new Map(OPERATIONS.map((op) => [op.name, op as unknown as AnyOperation]));

export function operationNamed(name: string): AnyOperation | undefined {
  return BY_NAME.get(name);
}

/** Whether the operation acts on one terminal (its params hold `terminalId`). */
export function takesTerminal(op: AnyOperation): boolean {
  return 'terminalId' in op.params.shape;
}

const TerminalIdParam = z.looseObject({ terminalId: TerminalId });

/**
 * Validates and runs one operation: the one path every door takes. An unknown
 * terminal is reported before the other parameters (the bigger mistake), then
 * every field is checked, then the handler runs. Throws TermgateError.
 */
export async function invoke(op: AnyOperation, terminals: TerminalManager, input: Record<string, unknown>): Promise<unknown> {
  if (takesTerminal(op)) terminals.get(parseWith(TerminalIdParam, input).terminalId);
  return op.handle(terminals, parseWith(op.params, input));
}

/** Confirms a terminal exists, for a door that must say so before reading the rest of a request. */
export function requireTerminal(terminals: TerminalManager, terminalId: unknown): void {
  terminals.get(parseWith(TerminalIdParam, { terminalId }).terminalId);
}

const encoder = new TextEncoder();
function utf8Length(text: string): number {
  return encoder.encode(text).length;
}

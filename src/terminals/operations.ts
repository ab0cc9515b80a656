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
import { MIN_MAX_BYTES, shapeBytes, shapeText, utf8Bytes } from './shape.ts';
import { renderShaped } from './render.ts';
import { MAX_COMMAND_RECORDS } from './shell-integration/tracker.ts';
import { compilePattern, waitFor } from './wait.ts';
import type { AuditLog, Door } from '../audit.ts';
import { LOCAL, type Principal } from '../credentials.ts';
import { authorizeOperation, visibleTerminals } from '../scopes.ts';

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
  shellIntegration: z
    .enum(['active', 'none'])
    .describe(
      '"active": the shell reports every command (list_commands) and run types the command as it is; "none": run uses visible markers. ' +
        'A new bash, zsh or fish terminal says "none" until its first prompt (well under a second); run waits for it by itself.',
    ),
  persistent: z.boolean().describe('true: held by a process of its own, it survives a restart of the server.'),
  restored: z.boolean().describe('true: this server took it over after the server that created it stopped.'),
});

export const CommandRecord = z.object({
  seq: z.number().int().describe("The command's number in this terminal, from 1."),
  command: z.string().describe('The command line as typed.'),
  source: z.enum(['run', 'typed']).describe('"run": by the run operation; "typed": through input, keys or the dashboard.'),
  cwd: z.string().describe('The directory it ran in.'),
  startedAt: z.string().describe('ISO 8601'),
  finishedAt: z.string().nullable().describe('ISO 8601; null while it runs.'),
  durationMs: z.number().int().nullable(),
  exitCode: z.number().int().nullable().describe('Its exit status (130: interrupted); null while it runs, or when the shell could not tell.'),
  startOffset: offset.describe('Output offset where its command line starts (after the prompt).'),
  outputOffset: offset.describe('Output offset where its output starts.'),
  endOffset: offset.nullable().describe('Output offset where its output ends; null while it runs.'),
});

export const OutputSlice = z.object({
  data: z.string().describe('Output text: raw terminal bytes as UTF-8, whole characters only (escape sequences and \\r\\n included).'),
  since: offset.describe('Offset of the first byte of data.'),
  next: offset.describe('Offset after the last byte: pass it as `since` to continue exactly where this read ended.'),
  dropped: offset.describe('Bytes before `since` that had already left the bounded scrollback.'),
});

const omittedBytes = offset.optional().describe('Present when the text was longer than maxBytes: the bytes left out where the line …[N bytes omitted]… stands.');

export const ReadResult = OutputSlice.extend({
  more: z.boolean().describe('More output is already waiting past `next` (limit cut this answer short): read again with since = next.'),
  omittedBytes,
  omitted: z
    .object({ since: offset, next: offset })
    .optional()
    .describe('Without plain: the output range left out by maxBytes; read it with since and limit if you need it.'),
});

export const RunResult = z.object({
  output: z.string().describe('What the command printed: \\n line endings, trailing newlines removed.'),
  exitCode: z.number().int().nullable().describe('Its exit status; null when it timed out.'),
  timedOut: z.boolean(),
  durationMs: z.number(),
  truncated: z
    .boolean()
    .describe('Not all of the output is here: its start left the scrollback (only its end is kept), or maxBytes cut its middle (see omittedBytes).'),
  omittedBytes,
  seq: z.number().int().nullable().describe("The command's record (list_commands, get_command_output); null without shell integration."),
  running: z
    .boolean()
    .describe(
      'The command still runs: detached at timeoutMs, or (with timedOut) it ignored the Ctrl-C, as a REPL does, and is still in the ' +
        'foreground. Read its result later from its record.',
    ),
});

/** Command records an MCP list_commands answers with by default: about 30 KB of JSON, where 1000 records are 600 KB. */
const MCP_COMMANDS_LIMIT = 50;

/** Output shaping (shape.ts): one description of maxBytes and plain for every text answer. */
const maxBytes = (what: string) =>
  z
    .number()
    .int()
    .min(MIN_MAX_BYTES)
    .max(LIMITS.maxShapeBytes)
    .optional()
    .describe(
      `At most this many bytes of ${what}: a longer text keeps its head and its tail with one line "…[N bytes omitted]…" between them, ` +
        'and omittedBytes says N. Cuts fall between characters, outside escape sequences, at a line break where one is near. ' +
        'Default through REST and WebSocket: no limit.',
    );
const plain = (what: string) =>
  z
    .boolean()
    .optional()
    .describe(
      `${what} as a terminal emulator renders it: colours gone, cursor moves applied, a line redrawn with \\r (a progress bar) in its final state, ` +
        'wrapped lines joined, trailing spaces trimmed. Output over 1 MiB is cut to head and tail before rendering.',
    );

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
  readonly mcp: {
    readonly tool: string;
    readonly title: string;
    readonly description: string;
    readonly destructive: boolean;
    /**
     * The result's field that holds the text itself (run's output, read's data): MCP sends it once, verbatim,
     * as a text block after the JSON of the other fields, and not again in structuredContent.
     */
    readonly bulk?: string;
    /** Parameters an MCP call gets when it leaves them out (REST and WebSocket keep the schema's default): answers sized for a model's context. */
    readonly defaults?: Readonly<Record<string, unknown>>;
  };
  /** For a 204 route: the result, built from the params alone, that the other doors answer with. */
  readonly acknowledge?: (params: z.infer<P>) => z.infer<R>;
  /** How long the operation may block by design (run's timeout): a client's HTTP timeout must leave room for it. */
  readonly blocksForMs?: (params: Partial<z.infer<P>>) => number;
  handle(terminals: TerminalManager, params: z.infer<P>): z.infer<R> | Promise<z.infer<R>>;
}

const operation = <P extends z.ZodObject, R extends z.ZodType>(definition: Operation<P, R>): Operation<P, R> => definition;

const closedAnswer = ({ terminalId }: { terminalId: string }) => ({ terminalId, closed: true as const });
const typedNext = offset.describe(
  'The output offset when it was written: what the program prints in answer comes after it. Pass it as since to wait_for or read_output.',
);

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
      shellIntegration: z
        .boolean()
        .optional()
        .describe('false: start bash, zsh or fish without termgate\'s shell integration (default true; docs/terminals.md says what it does).'),
      persistent: z
        .boolean()
        .optional()
        .describe('true: the terminal outlives the server (a restart, a crash) and the next server takes it over, output included (default: the config\'s terminals.persistent, false).'),
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
    rest: { method: 'POST', path: terminalPath('/input'), status: 200 },
    params: z.strictObject({
      terminalId: TerminalId,
      data: z
        .string()
        .describe(
          'Text or key sequence, as keystrokes: "\\r" is Enter, "\\u0003" Ctrl-C, "\\u001b[A" arrow up. At most limits.maxInputBytes ' +
            'UTF-8 bytes (default 262144, 256 KiB) per call: send more in several calls.',
        ),
    }),
    result: z.object({ terminalId: z.string(), bytes: z.number().int().describe('UTF-8 bytes written.'), next: typedNext }),
    readOnly: false,
    mcp: {
      tool: 'send_input',
      title: 'Send input',
      description:
        'Type text into a terminal, exactly as keystrokes. End a line with "\\n" to press Enter. Control keys are characters: ' +
        '"\\u0003" is Ctrl-C, "\\u0004" Ctrl-D, "\\u001b" Escape, "\\u001b[A" arrow up. Does not wait for any output: ' +
        'follow with wait_for or read_output, since = the answer\'s next, to see what came in answer. ' +
        'To run a command and get its output and exit code, prefer run_command.',
      destructive: true,
    },
    handle: (terminals, { terminalId, data }) => {
      const next = terminals.outputEnd(terminalId);
      terminals.input(terminalId, data);
      return { terminalId, bytes: utf8Length(data), next };
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
      tail: byteCount.optional().describe('Instead of since/limit: at most the last this many bytes, starting on a whole character and outside any escape sequence.'),
      maxBytes: maxBytes('data (applied after since/limit/tail chose the range; `next` stays the end of the range)'),
      plain: plain('data'),
    }),
    result: ReadResult,
    readOnly: true,
    mcp: {
      tool: 'read_output',
      title: 'Read output',
      description:
        'Read what a terminal printed, starting at byte offset `since`. First call: omit `since` (from the start; `dropped` ' +
        'says how much already left the scrollback); then pass the `next` of the previous answer, so you never miss or repeat output. `data` is ' +
        'raw terminal text (it may hold ANSI escape sequences and \\r\\n); plain: true gives it as a terminal shows it. With waitMs, ' +
        'waits up to that long for output to arrive, then until it has been quiet for 0.2 s, so a reply that comes in pieces arrives whole. ' +
        'A long answer keeps its head and tail with a line "…[N bytes omitted]…" (maxBytes, default 65536 here; `omitted` is the ' +
        'range left out, readable with since and limit); `next` is still the end, so nothing is skipped by going on from it. ' +
        'To page exactly instead, pass limit; if `more` is true, call again with since = next. To see only the recent output, ' +
        'pass `tail` (e.g. 2000) instead of `since`, or use read_screen. The answer is a JSON text of the fields, then `data` as a text of its own.',
      destructive: false,
      bulk: 'data',
    },
    handle: async (terminals, { terminalId, since, limit, tail, maxBytes, plain }) => {
      if (tail !== undefined && (since !== undefined || limit !== undefined)) {
        throw new TermgateError('bad_request', 'tail: cannot be combined with since or limit');
      }
      const slice = tail === undefined ? terminals.read(terminalId, since, limit) : terminals.readTail(terminalId, tail);
      const more = slice.next < terminals.outputEnd(terminalId);
      if (plain) {
        const shaped = await renderShaped(slice.data, terminals.get(terminalId), maxBytes);
        return { ...slice, data: shaped.text, more, ...omittedOf(shaped.omittedBytes) };
      }
      if (maxBytes === undefined || slice.data.length * 3 <= maxBytes) return { ...slice, more };
      const bytes = utf8Bytes(slice.data);
      const shaped = shapeBytes(bytes, maxBytes);
      // The range left out, in output offsets: exact unless the decoder replaced invalid bytes.
      const range = shaped.omitted && bytes.length === slice.next - slice.since ? shaped.omitted : undefined;
      return {
        ...slice,
        data: shaped.text,
        more,
        ...omittedOf(shaped.omittedBytes),
        ...(range ? { omitted: { since: slice.since + range[0], next: slice.since + range[1] } } : {}),
      };
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
      detach: z
        .boolean()
        .optional()
        .describe(
          'At timeoutMs, leave the command running instead of interrupting it: the answer says running: true with its seq, and ' +
            'its output and exit code are read later from its record (MCP get_command_output, REST /commands/:seq/output; ' +
              'to block until it ends: MCP wait_for, REST /wait, with command: true). Needs shell integration.',
        ),
      maxBytes: maxBytes('output'),
      plain: plain('output'),
    }),
    result: RunResult,
    readOnly: false,
    mcp: {
      tool: 'run_command',
      title: 'Run a command',
      description:
        'Run one shell command line in a terminal and wait for it to finish. Returns its `output` (the text it printed), ' +
        'its `exitCode` (0 = success) and `durationMs`. If it runs longer than timeoutMs it is interrupted as Ctrl-C would, ' +
        'the answer says `timedOut: true`, and the terminal stays usable; if it was still running half a second after the Ctrl-C ' +
        '(a REPL such as python3 ignores it; some programs take a while to stop) the answer also says running: true. Then ' +
        'wait_for command: true first (it may still end by itself); only if it keeps the terminal, end it (its quit command or ' +
        'send_keys ["C-d"]: at a shell prompt C-d would end the shell). The terminal must run a shell (the default of ' +
        'create_terminal); state such as the current directory or exported variables carries over between calls. ' +
        'For a long job (a build, a test suite, an install) pass detach: true with a timeoutMs below your own request timeout: ' +
        'the answer then says running: true with its seq, the job goes on, and you read its result later with get_command_output ' +
        '(or wait_for), instead of your client timing out and losing it. The shell must be at its prompt: with a program in the ' +
        'foreground (a REPL, an editor, a running command) the answer is terminal_busy naming it, and nothing is typed. ' +
        'Use this for commands that finish; for interactive programs use send_keys / send_input and read_screen. Long output keeps its head and ' +
        'tail with a line "…[N bytes omitted]…" (maxBytes, default 65536 here); plain: true renders colours and \\r progress bars away. ' +
        'The answer is a JSON text of the fields, then `output` as a text of its own.',
      destructive: true,
      bulk: 'output',
    },
    blocksForMs: ({ timeoutMs }) => timeoutMs ?? LIMITS.defaultRunTimeoutMs,
    handle: async (terminals, { terminalId, command, timeoutMs, detach, maxBytes, plain }) => {
      const size = terminals.get(terminalId);
      const result = await terminals.run(terminalId, command, { timeoutMs: timeoutMs ?? LIMITS.defaultRunTimeoutMs, detach });
      if (!plain && maxBytes === undefined) return result;
      const shaped = plain ? await renderShaped(result.output, size, maxBytes) : shapeText(result.output, maxBytes!);
      // truncated reads as "not all of the output is here", whichever cut it.
      return { ...result, output: shaped.text, truncated: result.truncated || shaped.omittedBytes > 0, ...omittedOf(shaped.omittedBytes) };
    },
  }),
  operation({
    name: 'screen',
    summary: 'What the terminal shows now, as an emulator renders it',
    rest: { method: 'GET', path: terminalPath('/screen'), status: 200 },
    params: z.strictObject({
      terminalId: TerminalId,
      scrollback: z
        .number()
        .int()
        .min(0)
        .max(10000)
        .optional()
        .describe('Also up to this many lines above the screen, in `scrollback` (oldest first). With format=ansi: the rows above the screen to serialize (default all the emulator holds, up to 1000).'),
      format: z.enum(['lines', 'ansi']).optional().describe('"lines" (default): the screen as text lines; "ansi": a serialized snapshot to write into a fresh xterm.js.'),
      maxBytes: maxBytes('scrollback (its lines joined by \\n; the marker is a line of its own)'),
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
      omittedBytes,
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
      bulk: 'data',
    },
    handle: async (terminals, { terminalId, scrollback, format, maxBytes }) => {
      const screen = screensOf(terminals).screen(terminalId);
      if (format === 'ansi') return screen.ansi(scrollback);
      const snapshot = await screen.snapshot(scrollback ?? 0);
      if (maxBytes === undefined || !snapshot.scrollback) return snapshot;
      const shaped = shapeText(snapshot.scrollback.join('\n'), maxBytes);
      if (shaped.omittedBytes === 0) return snapshot;
      return { ...snapshot, scrollback: shaped.text.split('\n'), omittedBytes: shaped.omittedBytes };
    },
  }),
  operation({
    name: 'keys',
    summary: 'Press keys in a terminal, encoded for its current modes',
    rest: { method: 'POST', path: terminalPath('/keys'), status: 200 },
    params: z.strictObject({
      terminalId: TerminalId,
      keys: z
        .union([z.array(KeyName).min(1).max(1024), KeyName])
        .describe(
          'Key names, pressed in order (one name alone is one key): Enter, Tab, S-Tab, Escape, Backspace, Delete, Insert, Home, End, ' +
            'PageUp, PageDown, Up, Down, Left, Right, F1-F12, C-<key> (Ctrl), M-<key> (Alt), a single character, or "text:<literal text>".',
        ),
    }),
    result: z.object({
      terminalId: z.string(),
      bytes: z.number().int().describe("UTF-8 bytes written, as encoded for the terminal's modes (a bracketed paste adds its 12 bytes)."),
      next: typedNext,
    }),
    readOnly: false,
    mcp: {
      tool: 'send_keys',
      title: 'Send keys',
      description:
        'Press keys in a terminal by name, e.g. ["C-c"], ["Up","Enter"], ["text:ls -la","Enter"], in vim ["Escape",":","w","q","Enter"]. ' +
        'Keys are encoded for the terminal\'s current modes (application cursor keys), so arrows work in vim, less and readline alike. ' +
        '"text:" is pasted: where the program asked for bracketed paste (vim, zsh, fish, bash 5.1+) it arrives as pasted text, not as ' +
        'commands, so send an editor\'s commands as single keys. C-u clears a half-typed shell line. Does not wait for output: follow ' +
        'with read_screen, or wait_for / read_output with since = the answer\'s next.',
      destructive: true,
    },
    handle: async (terminals, { terminalId, keys }) => {
      const screen = screensOf(terminals).screen(terminalId);
      await screen.settled();
      const data = encodeKeys(keyList(keys), screen.modes);
      const next = terminals.outputEnd(terminalId);
      terminals.input(terminalId, data);
      return { terminalId, bytes: utf8Length(data), next };
    },
  }),
  operation({
    name: 'wait',
    summary: 'Wait for a pattern in the output, for quiet, or for the exit',
    rest: { method: 'POST', path: terminalPath('/wait'), status: 200 },
    params: z.strictObject({
      terminalId: TerminalId,
      pattern: z
        .string()
        .min(1)
        .max(4096)
        .superRefine((value, ctx) => {
          try {
            compilePattern(value);
          } catch (error) {
            ctx.addIssue({ code: 'custom', message: error instanceof TermgateError ? error.message.replace(/^pattern: /, '') : String(error) });
          }
        })
        .optional()
        .describe(
          'A JavaScript regular expression, matched against the plain text (escape sequences and \\r removed) written since `since`; ' +
            'multiline: ^ and $ match at line starts and ends. E.g. "\\$ $" for a prompt, "listening on port \\d+".',
        ),
      since: offset
        .optional()
        .describe("Output offset to look from (e.g. a read's or run's `next`); default: now, only output that is still to come."),
      idleMs: z
        .number()
        .int()
        .min(1)
        .max(LIMITS.maxWaitTimeoutMs)
        .optional()
        .describe('Answer "idle" once no output has come for this long (counted from the start of the wait, then from each output).'),
      exit: z.boolean().optional().describe('Wait for the process to exit. (The wait always ends when it exits or the terminal is closed.)'),
      command: z
        .boolean()
        .optional()
        .describe(
          'Wait for the current command to finish ("command_finished", with its exitCode and seq); with `since`, a command that ' +
            'started at or after it and already finished counts. Needs shell integration (the terminal\'s shellIntegration is "active").',
        ),
      timeoutMs: z
        .number()
        .int()
        .min(1)
        .max(LIMITS.maxWaitTimeoutMs)
        .describe(`Give up after this long ("timeout"), at most ${LIMITS.maxWaitTimeoutMs}. Keep it below your client's own request timeout.`),
    }),
    result: z.object({
      reason: z.enum(['matched', 'idle', 'exited', 'command_finished', 'timeout']).describe('What ended the wait: the first of the conditions that came true.'),
      match: z.string().optional().describe('With matched: the text that matched (at most 4096 characters).'),
      offset: offset.optional().describe('With matched: the output offset where the match starts.'),
      next: offset.describe('Where to continue reading or waiting: just after the match, else the end of the output seen.'),
      exitCode: z.number().int().nullable().optional().describe("With exited: the process's exit status; with command_finished: the command's."),
      seq: z.number().int().optional().describe("With command_finished: the command's record (list_commands, get_command_output)."),
      closed: z.boolean().optional().describe('With exited: the terminal was closed during the wait.'),
    }),
    readOnly: true,
    mcp: {
      tool: 'wait_for',
      title: 'Wait for output',
      description:
        'Wait, without polling, until a terminal prints text matching `pattern` (a regular expression on the plain text), or has been ' +
        'quiet for idleMs, or a command finishes (command: true, with shell integration), or its process exits (exit: true), or ' +
        'timeoutMs passes; give at least one of pattern, idleMs, command, exit. Answers `reason` (matched, idle, command_finished, exited, timeout), the `match` and its `offset`, and `next`: pass it as `since` to the next ' +
        'wait_for or read_output to go on after the match. Typical: send_input "npm start\\n", then wait_for pattern "listening" ' +
        'with since = send_input\'s next (without since only output still to come counts, so what was printed before the wait began is missed). The terminal echoes what you type, so a pattern that is also in your command line ' +
        'matches its echo: anchor it to a line of its own (e.g. "^listening" or "^done$") or prefer command: true for a command\'s end. ' +
        'Keep timeoutMs below your client\'s request timeout (often 60000).',
      destructive: false,
    },
    blocksForMs: ({ timeoutMs }) => timeoutMs ?? 0,
    handle: (terminals, { terminalId, pattern, since, idleMs, exit, command, timeoutMs }) => {
      if (pattern === undefined && idleMs === undefined && exit !== true && command !== true) {
        throw new TermgateError('bad_request', 'pattern: nothing to wait for; give pattern, idleMs, exit: true or command: true');
      }
      const compiled = pattern === undefined ? undefined : compilePattern(pattern);
      return waitFor(terminals, terminalId, { pattern: compiled, since, idleMs, exit, command, timeoutMs });
    },
  }),
  operation({
    name: 'commands',
    summary: "A terminal's command records (shell integration), oldest first",
    rest: { method: 'GET', path: terminalPath('/commands'), status: 200 },
    params: z.strictObject({
      terminalId: TerminalId,
      since: z.number().int().min(0).optional().describe('Only records after this seq (default 0: all that are kept, the newest 1000).'),
      limit: z
        .number()
        .int()
        .min(1)
        .max(MAX_COMMAND_RECORDS)
        .optional()
        .describe(
          'At most this many records. Without since: the newest, and omitted counts the older ones left out. With since: the oldest ' +
            `after it, and more: true says newer ones wait (call again with since = the last seq). Default through REST and WebSocket: all; through MCP: ${MCP_COMMANDS_LIMIT}.`,
        ),
    }),
    result: z.object({
      commands: z.array(CommandRecord),
      omitted: z.number().int().optional().describe('Without since: the older records left out by limit; absent when none were.'),
      more: z.literal(true).optional().describe('With since: newer records than the last one given wait; call again with since = its seq.'),
    }),
    readOnly: true,
    mcp: {
      tool: 'list_commands',
      title: 'List commands',
      description:
        'Every command run in a terminal, by run_command or typed by a person, as its shell reported it: the command line, exit code ' +
        '(0 = success, 130 = interrupted), cwd, start and end times, and offsets into the output. Needs shell integration ' +
        '(shellIntegration: "active" on the terminal; bash, zsh and fish have it). ' +
        `Gives the newest ${MCP_COMMANDS_LIMIT} unless limit says otherwise (omitted counts the older ones left out). ` +
        'Pass since = the last seq you saw for only newer ones, oldest first; more: true then says there are more: call again with ' +
        'since = the last seq given. ' +
        "Read one command's output with get_command_output.",
      destructive: false,
      defaults: { limit: MCP_COMMANDS_LIMIT },
    },
    handle: (terminals, { terminalId, since, limit }) => {
      const commands = terminals.commands(terminalId, since);
      if (limit === undefined || commands.length <= limit) return { commands };
      // With since the caller pages forward, so it gets the next records in order; without, the recent ones matter most.
      if (since !== undefined) return { commands: commands.slice(0, limit), more: true as const };
      return { commands: commands.slice(-limit), omitted: commands.length - limit };
    },
  }),
  operation({
    name: 'commandOutput',
    summary: "One command's output, from its record",
    rest: { method: 'GET', path: terminalPath('/commands/:seq/output'), status: 200 },
    params: z.strictObject({
      terminalId: TerminalId,
      seq: z.number().int().min(1).describe("The command's seq (from list_commands, or run_command's answer)."),
      maxBytes: maxBytes('data'),
      plain: plain('data'),
    }),
    result: OutputSlice.extend({
      exitCode: z.number().int().nullable().describe('Its exit status; null while it runs.'),
      running: z.boolean().describe('It is still running: data is its output so far.'),
      omittedBytes,
    }),
    readOnly: true,
    mcp: {
      tool: 'get_command_output',
      title: 'Get command output',
      description:
        "What one command printed, from its record (list_commands; run_command's seq), with its exit code, also for a command that " +
        'is still running (running: true, output so far) or one a person typed. Shell-integration sequences are removed.',
      destructive: false,
      bulk: 'data',
    },
    handle: async (terminals, { terminalId, seq, maxBytes, plain }) => {
      const output = terminals.commandOutput(terminalId, seq);
      if (!plain && maxBytes === undefined) return output;
      const shaped = plain ? await renderShaped(output.data, terminals.get(terminalId), maxBytes) : shapeText(output.data, maxBytes!);
      return { ...output, data: shaped.text, ...omittedOf(shaped.omittedBytes) };
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

/** Who invokes an operation, through which door, and where its audit line goes. */
export interface Caller {
  readonly principal: Principal;
  readonly door: Door;
  readonly audit?: AuditLog | undefined;
}

/** Local, unaudited: for code that calls the table directly (unit tests). */
export const LOCAL_CALLER: Caller = Object.freeze({ principal: LOCAL, door: 'rest' });

/**
 * Validates and runs one operation: the one path every door takes. First the
 * caller's scope (docs/security.md), then an unknown terminal (or one the
 * caller may not see, answered the same way) before the other parameters (the
 * bigger mistake), then every field, then the handler. An operation that
 * changes something and took effect gets its audit line.
 *
 * Synchronous when the handler is (list, get, screen…): an answer that is a
 * Response rather than a promise of one takes Bun's and Deno's fast path
 * (about 2 µs a request, docs/benchmarks.md). So it throws TermgateError, or
 * its promise rejects with one; `await` handles both.
 */
export function invoke(op: AnyOperation, terminals: TerminalManager, input: Record<string, unknown>, caller: Caller = LOCAL_CALLER): unknown {
  const terminalId = takesTerminal(op) ? parseWith(TerminalIdParam, input).terminalId : undefined;
  authorizeOperation(op, caller.principal, terminalId);
  if (terminalId !== undefined) terminals.get(terminalId);
  const params = parseWith(op.params, input);
  const result = op.handle(terminals, params);
  return result instanceof Promise ? result.then((value) => finished(op, params, value, caller)) : finished(op, params, result, caller);
}

function finished(op: AnyOperation, params: unknown, result: unknown, caller: Caller): unknown {
  if (!op.readOnly) caller.audit?.operation(caller.door, caller.principal, op.name, params as Record<string, unknown>, result);
  if (op.name === 'list') return { terminals: visibleTerminals(caller.principal, (result as { terminals: { id: string }[] }).terminals) };
  return result;
}

/**
 * Confirms a terminal exists and the caller may use it with `op`, for a door
 * that must say so before reading the rest of a request.
 */
export function requireTerminal(terminals: TerminalManager, terminalId: unknown, op?: AnyOperation, principal: Principal = LOCAL): void {
  const id = parseWith(TerminalIdParam, { terminalId }).terminalId;
  if (op !== undefined) authorizeOperation(op, principal, id);
  terminals.get(id);
}

function omittedOf(bytes: number): { omittedBytes?: number } {
  return bytes > 0 ? { omittedBytes: bytes } : {};
}

const encoder = new TextEncoder();
function utf8Length(text: string): number {
  return encoder.encode(text).length;
}

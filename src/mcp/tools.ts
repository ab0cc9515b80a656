/**
 * The sidecar's MCP tools: each one is a call (or a few) to the terminals REST
 * API (SPEC §6). Descriptions are written for the agent that reads them: what
 * the tool does, which id to pass, what comes back, what to do next.
 *
 * A tool that fails throws; the SDK turns the throw into a tool result with
 * `isError: true` and the message as its text (the same for arguments that
 * fail the schema), so nothing an agent or the API does crashes the sidecar.
 */
// @ts-types: see sidecar.ts (the SDK's wildcard export confuses `deno check`).
// @ts-types="@modelcontextprotocol/sdk/server/mcp"
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
// @ts-types="@modelcontextprotocol/sdk/types"
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import stripAnsi from 'strip-ansi';
import { z } from 'zod';
import type { OutputSlice, RunResult, TerminalInfo } from '../terminals/types.ts';
import type { ApiClient } from './api-client.ts';

/** run_command's default; below the 60 s request timeout most MCP clients use. */
export const DEFAULT_RUN_TIMEOUT_MS = 30_000;
/** The API's own bounds (it answers 400 beyond them), repeated so the schema tells the agent. */
const MAX_RUN_TIMEOUT_MS = 600_000;
const MAX_COLS = 1000;
const MAX_ROWS = 500;
/** Extra time the HTTP call to /run gets beyond the command's own timeout (interrupt + answer). */
const RUN_HTTP_MARGIN_MS = 15_000;
/** read_output's default cap: large enough for a screenful of logs, small enough for an agent's context. */
export const DEFAULT_READ_MAX_BYTES = 64 * 1024;
const MAX_READ_BYTES = 1024 * 1024;
const MAX_WAIT_MS = 30_000;
const POLL_INTERVAL_MS = 100;
/** read_output with waitMs: output quiet this long counts as a finished reply. */
const SETTLE_MS = 200;

const terminalId = z.string().min(1).describe('The terminal\'s id, as returned by create_terminal or list_terminals.');

const Terminal = z.looseObject({
  id: z.string(),
  name: z.string(),
  command: z.string(),
  args: z.array(z.string()),
  cwd: z.string(),
  cols: z.number(),
  rows: z.number(),
  pid: z.number().nullable(),
  createdAt: z.string(),
  exited: z.boolean(),
  exitCode: z.number().nullable(),
});

const ReadOutput = z.object({
  terminalId: z.string(),
  data: z.string().describe('The output text: raw terminal bytes as UTF-8, possibly with ANSI escape sequences and \\r\\n (unless plain was asked for).'),
  since: z.number().describe('Offset of the first byte of data.'),
  next: z.number().describe('Pass this as `since` next time to continue exactly where this read ended.'),
  dropped: z.number().describe('Bytes before `since` that had already left the scrollback (lost to this reader).'),
  more: z.boolean().describe('True when more output is already waiting past `next` (the answer was capped at maxBytes).'),
});

const RunOutput = z.looseObject({
  output: z.string(),
  exitCode: z.number().nullable(),
  timedOut: z.boolean(),
  durationMs: z.number(),
  truncated: z.boolean().optional().describe('The output was too long: only its end is in `output`.'),
});

/** A result an agent can read (JSON text) that also carries the same value as structured content. */
function result(value: object): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value, null, 2) }], structuredContent: value as Record<string, unknown> };
}

const terminalPath = (id: string, rest = '') => `/api/terminals/${encodeURIComponent(id)}${rest}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The tools' definitions, built once per process: zod schemas are costly to
 * build, and the stateless sidecar registers the tools on a fresh server for
 * every request.
 */
const listTerminals = {
  title: 'List terminals',
  description:
    'List the terminals open on the termgate server: for each its id, name, command, cwd, size (cols x rows), pid, ' +
    'and whether its process has exited (with the exit code). Use an id with the other tools.',
  outputSchema: { terminals: z.array(Terminal) },
  annotations: { readOnlyHint: true, openWorldHint: false },
};

const createTerminal = {
  title: 'Create a terminal',
  description:
    'Open a new terminal on the user\'s machine: a real PTY running `command` (default: the user\'s login shell). ' +
    'Returns the terminal; keep its `id` for run_command, send_input, read_output, resize_terminal and close_terminal. ' +
    'Close it with close_terminal when you are done.',
  inputSchema: {
    command: z.string().min(1).optional().describe('Program to run, e.g. "bash" or "/usr/bin/python3". Default: the user\'s shell.'),
    args: z.array(z.string()).optional().describe('Arguments for the program.'),
    cwd: z.string().min(1).optional().describe('Working directory (must exist). Default: the user\'s home directory.'),
    env: z.record(z.string(), z.string()).optional().describe('Extra environment variables for the program.'),
    cols: z.number().int().min(1).max(MAX_COLS).optional().describe('Width in columns (default 80).'),
    rows: z.number().int().min(1).max(MAX_ROWS).optional().describe('Height in rows (default 24).'),
    name: z.string().optional().describe('A label for the terminal, shown in lists and the dashboard.'),
  },
  outputSchema: Terminal.shape,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
};

const runCommand = {
  title: 'Run a command',
  description:
    'Run one shell command line in a terminal and wait for it to finish. Returns its `output` (the text it printed), ' +
    'its `exitCode` (0 = success) and `durationMs`. If it runs longer than timeoutMs it is interrupted as Ctrl-C would, ' +
    'the answer says `timedOut: true`, and the terminal stays usable. The terminal must run a shell (the default of ' +
    'create_terminal); state such as the current directory or exported variables carries over between calls. ' +
    'Use this for commands that finish; for interactive programs use send_input and read_output.',
  inputSchema: {
    terminalId,
    command: z.string().min(1).describe('The command line, e.g. "ls -la" or "npm test 2>&1 | tail -20".'),
    timeoutMs: z
      .number()
      .int()
      .positive()
      .max(MAX_RUN_TIMEOUT_MS)
      .optional()
      .describe(
        `How long to wait, in milliseconds (default ${DEFAULT_RUN_TIMEOUT_MS}). Keep it below your MCP client's request timeout (often 60000).`,
      ),
  },
  outputSchema: RunOutput.shape,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
};

const sendInput = {
  title: 'Send input',
  description:
    'Type text into a terminal, exactly as keystrokes. End a line with "\\n" to press Enter. Control keys are characters: ' +
    '"\\u0003" is Ctrl-C, "\\u0004" Ctrl-D, "\\u001b" Escape, "\\u001b[A" arrow up. Does not wait for any output: ' +
    'follow with read_output (waitMs helps). To run a command and get its output and exit code, prefer run_command.',
  inputSchema: {
    terminalId,
    data: z.string().min(1).describe('The text or key sequence to send.'),
  },
  outputSchema: { terminalId: z.string(), sent: z.number().describe('Characters sent.') },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
};

const readOutput = {
  title: 'Read output',
  description:
    'Read what a terminal printed, starting at byte offset `since`. First call: omit `since` (from the start; `dropped` ' +
    'says how much already left the scrollback); then pass the `next` of the previous answer, so you never miss or repeat output. `data` is ' +
    'raw terminal text (it may hold ANSI escape sequences and \\r\\n). With waitMs, waits up to that long for output ' +
    'to arrive, then until it has been quiet for 0.2 s, so a reply that comes in pieces arrives whole. ' +
    'If `more` is true, call again at once with since = next. To see only what the terminal shows now, pass `tail` ' +
    '(e.g. 2000) instead of `since`. Pass plain: true for text without escape sequences.',
  inputSchema: {
    terminalId,
    since: z.number().int().min(0).optional().describe('Byte offset to read from: the `next` of your previous read.'),
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
    tail: z
      .number()
      .int()
      .min(1)
      .max(MAX_READ_BYTES)
      .optional()
      .describe('Instead of since: only the last this many bytes (at most maxBytes), e.g. 2000 for the recent screen. Not with since or waitMs.'),
    plain: z
      .boolean()
      .optional()
      .describe('Plain text: ANSI escape sequences (colours, cursor moves, titles) removed, \\n line ends, a line redrawn after \\r shown as redrawn. Offsets still count raw bytes.'),
  },
  outputSchema: ReadOutput.shape,
  annotations: { readOnlyHint: true, openWorldHint: false },
};

const resizeTerminal = {
  title: 'Resize a terminal',
  description:
    'Change a terminal\'s size in columns and rows, as resizing its window would: the program in it is told ' +
    '(SIGWINCH), so full-screen programs redraw and `tput cols` reports the new width.',
  inputSchema: {
    terminalId,
    cols: z.number().int().min(1).max(MAX_COLS).describe('Width in columns.'),
    rows: z.number().int().min(1).max(MAX_ROWS).describe('Height in rows.'),
  },
  outputSchema: { terminalId: z.string(), cols: z.number(), rows: z.number() },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
};

const closeTerminal = {
  title: 'Close a terminal',
  description:
    'Close a terminal: kills its program and everything it started (its whole process group), and forgets it. ' +
    'Its output can no longer be read afterwards.',
  inputSchema: { terminalId },
  outputSchema: { terminalId: z.string(), closed: z.boolean() },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
};

export function registerTerminalTools(server: McpServer, api: ApiClient): void {
  server.registerTool('list_terminals', listTerminals, async () =>
    result(await api.request<{ terminals: TerminalInfo[] }>('GET', '/api/terminals')),
  );

  server.registerTool('create_terminal', createTerminal, async (args) => {
    const body = Object.fromEntries(Object.entries(args).filter(([, value]) => value !== undefined));
    return result(await api.request<TerminalInfo>('POST', '/api/terminals', { body }));
  });

  server.registerTool('run_command', runCommand, async ({ terminalId, command, timeoutMs = DEFAULT_RUN_TIMEOUT_MS }) => {
    const body = { command, timeoutMs };
    return result(await api.request<RunResult>('POST', terminalPath(terminalId, '/run'), { body, timeoutMs: timeoutMs + RUN_HTTP_MARGIN_MS }));
  });

  server.registerTool('send_input', sendInput, async ({ terminalId, data }) => {
    await api.request('POST', terminalPath(terminalId, '/input'), { body: { data } });
    return result({ terminalId, sent: data.length });
  });

  server.registerTool('read_output', readOutput, async ({ terminalId, since, waitMs = 0, maxBytes = DEFAULT_READ_MAX_BYTES, tail, plain = false }) => {
    const answer = (slice: OutputSlice) => {
      const capped = capSlice(slice, maxBytes);
      return result({ terminalId, ...capped, data: plain ? plainText(capped.data) : capped.data });
    };
    if (tail !== undefined) {
      if (since !== undefined || waitMs > 0) throw new Error('tail: cannot be combined with since or waitMs');
      return answer(await api.request<OutputSlice>('GET', terminalPath(terminalId, `/output?tail=${Math.min(tail, maxBytes)}`)));
    }
    // Asking for 4 bytes more than maxBytes makes `more` exact: the API stops at most 3 bytes short of
    // its limit (a character boundary), so an answer within maxBytes means the end was reached.
    const limit = maxBytes + 4;
    const read = (from: number | undefined) =>
      api.request<OutputSlice>('GET', terminalPath(terminalId, `/output?limit=${limit}${from === undefined ? '' : `&since=${from}`}`));
    let slice = await read(since);
    // Bounded by waitMs: first wait for some output…
    const deadline = Date.now() + waitMs;
    while (slice.data === '' && Date.now() < deadline) {
      await sleep(Math.min(POLL_INTERVAL_MS, Math.max(0, deadline - Date.now())));
      const later = await read(slice.next);
      slice = { ...later, dropped: slice.dropped + later.dropped };
    }
    // …then until it has been quiet for SETTLE_MS, so a reply that arrives in pieces (an echo, then
    // the result, then the prompt) comes whole. A gap (dropped output) is never papered over.
    while (waitMs > 0 && slice.data !== '' && slice.next - slice.since < maxBytes && Date.now() < deadline) {
      await sleep(Math.min(SETTLE_MS, Math.max(0, deadline - Date.now())));
      const later = await read(slice.next);
      if (later.data === '' || later.dropped > 0) break;
      slice = { ...slice, data: slice.data + later.data, next: later.next };
    }
    return answer(slice);
  });

  server.registerTool('resize_terminal', resizeTerminal, async ({ terminalId, cols, rows }) => {
    await api.request('POST', terminalPath(terminalId, '/resize'), { body: { cols, rows } });
    return result({ terminalId, cols, rows });
  });

  server.registerTool('close_terminal', closeTerminal, async ({ terminalId }) => {
    await api.request('DELETE', terminalPath(terminalId));
    return result({ terminalId, closed: true });
  });
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
export function capSlice(slice: OutputSlice, maxBytes: number): OutputSlice & { more: boolean } {
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

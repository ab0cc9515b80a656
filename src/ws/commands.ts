/**
 * Command frames: `{"id","type":"command","command":"terminal.<verb>","params"}`.
 * Each command validates its params (strictly: a misspelt field is an error,
 * not silently ignored) and calls the terminal manager; the hub turns the
 * result or the thrown TermgateError into the answer frame.
 */
import { z } from 'zod';
import { TermgateError } from '../errors.ts';
import { MAX_COLS, MAX_ROWS, MAX_RUN_TIMEOUT_MS } from '../routes/terminals.ts';
import type { TerminalManager } from '../terminals/types.ts';
import { describeIssue } from '../validate.ts';

// The same bounds as the REST bodies (src/routes/terminals.ts), so both doors accept the same input.
const TerminalId = z.string().min(1).max(256);
const Cols = z.number().int().min(1).max(MAX_COLS);
const Rows = z.number().int().min(1).max(MAX_ROWS);
const Offset = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const text = (max: number) =>
  z
    .string()
    .max(max)
    .refine((value) => !value.includes('\0'), 'must not contain NUL characters');

interface Command<S extends z.ZodType> {
  params: S;
  run(terminals: TerminalManager, params: z.infer<S>): unknown;
}

const command = <S extends z.ZodType>(params: S, run: (terminals: TerminalManager, params: z.infer<S>) => unknown): Command<S> => ({
  params,
  run,
});

const COMMANDS: Record<string, Command<z.ZodType>> = {
  'terminal.list': command(z.strictObject({}), (terminals) => ({ terminals: terminals.list() })),
  'terminal.get': command(z.strictObject({ terminalId: TerminalId }), (terminals, p) => terminals.get(p.terminalId)),
  'terminal.create': command(
    z.strictObject({
      command: text(4096).min(1).optional(),
      args: z.array(text(65536)).max(1024).optional(),
      cwd: text(4096).min(1).optional(),
      env: z.record(z.string().regex(/^[^=\0]+$/, 'names must be non-empty, without "=" or NUL'), text(65536)).optional(),
      cols: Cols.optional(),
      rows: Rows.optional(),
      name: z.string().max(200).optional(),
    }),
    (terminals, p) => terminals.create(p),
  ),
  'terminal.input': command(z.strictObject({ terminalId: TerminalId, data: z.string() }), (terminals, p) => {
    terminals.input(p.terminalId, p.data);
    return {};
  }),
  'terminal.resize': command(z.strictObject({ terminalId: TerminalId, cols: Cols, rows: Rows }), (terminals, p) => {
    terminals.resize(p.terminalId, p.cols, p.rows);
    return terminals.get(p.terminalId);
  }),
  'terminal.close': command(z.strictObject({ terminalId: TerminalId }), async (terminals, p) => {
    await terminals.close(p.terminalId);
    return {};
  }),
  'terminal.read': command(
    z.strictObject({ terminalId: TerminalId, since: Offset.optional(), limit: z.number().int().min(1).optional() }),
    (terminals, p) => terminals.read(p.terminalId, p.since, p.limit),
  ),
  'terminal.run': command(
    z.strictObject({
      terminalId: TerminalId,
      command: text(65536).refine((value) => value.trim() !== '', 'must not be empty'),
      timeoutMs: z.number().int().min(1).max(MAX_RUN_TIMEOUT_MS).optional(),
    }),
    (terminals, p) => terminals.run(p.terminalId, p.command, p.timeoutMs),
  ),
};

export const COMMAND_NAMES: readonly string[] = Object.keys(COMMANDS);

/** Runs one command; throws TermgateError (bad_request naming the field, not_found, …). */
export async function runCommand(
  terminals: TerminalManager,
  name: string,
  params: Record<string, unknown> | undefined,
): Promise<unknown> {
  const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!entry) throw new TermgateError('bad_request', `command: unknown command ${JSON.stringify(name)}, expected one of ${COMMAND_NAMES.join(', ')}`);
  const parsed = entry.params.safeParse(params ?? {});
  if (!parsed.success) {
    const message = describeIssue(parsed.error);
    throw new TermgateError('bad_request', message.startsWith('body:') ? `params${message.slice(4)}` : `params.${message}`);
  }
  return entry.run(terminals, parsed.data);
}

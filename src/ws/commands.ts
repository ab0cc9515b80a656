/**
 * Command frames: `{"id","type":"command","command":"terminal.<name>","params"}`,
 * one for each operation of the table (src/terminals/operations.ts), validated
 * and run as every door runs them. The hub turns the result or the thrown
 * TermgateError into the answer frame.
 */
import { TermgateError } from '../errors.ts';
import { type Caller, OPERATIONS, invoke, operationNamed } from '../terminals/operations.ts';
import type { TerminalManager } from '../terminals/types.ts';

export const COMMAND_NAMES: readonly string[] = OPERATIONS.map((op) => `terminal.${op.name}`);

/** Runs one command; throws TermgateError (bad_request naming the field, not_found, …). */
export async function runCommand(
  terminals: TerminalManager,
  name: string,
  params: Record<string, unknown> | undefined,
  caller?: Caller,
): Promise<unknown> {
  const op = name.startsWith('terminal.') ? operationNamed(name.slice('terminal.'.length)) : undefined;
  if (!op) throw new TermgateError('bad_request', `command: unknown command ${JSON.stringify(name)}, expected one of ${COMMAND_NAMES.join(', ')}`);
  return invoke(op, terminals, params ?? {}, caller);
}

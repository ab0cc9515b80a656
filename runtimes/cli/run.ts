/**
 * Runs the termgate command line for one runtime: parse (program.ts), run the
 * command, print its outcome (for people, or JSON with --json) and exit with
 * its code. Errors are one line on stderr, `termgate: …`, and a non-zero exit,
 * never a stack trace.
 */
import { commandContext } from './context.ts';
import { CliError, EXIT_FAILURE } from './errors.ts';
import { expose } from './expose.ts';
import { mcp } from './mcp.ts';
import { type CliActions, dispatch, type TargetOptions } from './program.ts';
import { serve } from './serve.ts';
import { status } from './status.ts';
import { tokenCreate, tokenList, tokenRevoke, tokenRotate, tokenShow } from './token.ts';
import type { RuntimeWiring } from './wiring.ts';

function actionsFor(wiring: RuntimeWiring): CliActions {
  const context = ({ dev, port, unix }: TargetOptions) => commandContext({ dev, port, unix });
  return {
    serve: (options) => serve(wiring, options),
    mcp: (options) => mcp(wiring, options),
    status: async (target) => status(await context(target)),
    expose: async (target, on) => expose(await context(target), on),
    tokenCreate: async (target, name, limits) => tokenCreate(await context(target), name, limits),
    tokenList: async (target) => tokenList(await context(target)),
    tokenRevoke: async (target, name) => tokenRevoke(await context(target), name),
    tokenRotate: async (target, closeSockets) => tokenRotate(await context(target), closeSockets),
    tokenShow: async (target) => tokenShow(await context(target)),
  };
}

export async function runCli(wiring: RuntimeWiring, argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  try {
    const finished = await dispatch(argv, actionsFor(wiring));
    if (finished === undefined) return; // help printed, or a server keeps running
    const { outcome, json } = finished;
    console.log(json ? JSON.stringify(outcome.json, null, 2) : outcome.human);
    // Exit now: an idle keep-alive connection to the server would keep the process up for seconds.
    process.exit(outcome.exitCode ?? 0);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`termgate: ${message.replace(/\s*\n\s*/g, ' ')}`);
    process.exit(error instanceof CliError ? error.exitCode : EXIT_FAILURE);
  }
}

/**
 * The termgate command line, shared by the three runtime entries. Errors are
 * one line on stderr and a non-zero exit, never a stack trace.
 */
import { parseArgs } from 'node:util';
import { CliError, serve } from './serve.ts';
import type { RuntimeWiring } from './wiring.ts';

const USAGE = `usage: termgate <command> [options]

commands:
  serve [--host H] [--port P] [--dev]   start the API server (default command)

options:
  --host H   bind address (default 127.0.0.1; 0.0.0.0 exposes it and turns the auth gate on)
  --port P   API port, 1024-65535 (0 = any free port, for tests)
  --dev      development profile: ports 42051/42052 and a separate config file
  --help     show this help`;

function parsePort(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || (port !== 0 && (port < 1024 || port > 65535))) {
    throw new CliError(`--port: must be a whole number from 1024 to 65535 (or 0 for any free port), got "${value}"`);
  }
  return port;
}

export async function main(wiring: RuntimeWiring, argv: string[] = process.argv.slice(2)): Promise<void> {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        dev: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    const command = positionals[0] ?? 'serve';
    if (values.help) {
      console.log(USAGE);
      return;
    }
    switch (command) {
      case 'serve':
        await serve(wiring, { host: values.host, port: parsePort(values.port), dev: values.dev ?? false });
        return;
      default:
        throw new CliError(`unknown command "${command}" (try --help)`);
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`termgate: ${message}`);
    process.exit(error instanceof CliError ? error.exitCode : 1);
  }
}

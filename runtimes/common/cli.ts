/**
 * The termgate command line (SPEC §11), shared by the three runtime entries
 * (node:util parseArgs works on Node, Bun and Deno). Output is for people by
 * default and JSON with --json; errors are one line on stderr and a non-zero
 * exit, never a stack trace.
 *
 * Each command is one entry of COMMANDS: its help, the options it accepts and
 * what it runs. A new command (e.g. `mcp`) is one more entry.
 */
import { parseArgs } from 'node:util';
import { CliError, EXIT_USAGE } from './cli-error.ts';
import * as commands from './commands.ts';
import { MCP_HELP, mcp } from './mcp-command.ts';
import { serve } from './serve.ts';
import type { RuntimeWiring } from './wiring.ts';

const OPTIONS = {
  host: { type: 'string' },
  port: { type: 'string' },
  'api-url': { type: 'string' },
  dev: { type: 'boolean', default: false },
  'close-sockets': { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;
type OptionName = keyof typeof OPTIONS;

interface Invocation {
  values: {
    host?: string | undefined;
    port?: string | undefined;
    'api-url'?: string | undefined;
    dev: boolean;
    'close-sockets': boolean;
    json: boolean;
    help: boolean;
  };
  /** Positional arguments after the command name. */
  args: string[];
  wiring: RuntimeWiring;
}

interface Command {
  help: string;
  options: readonly OptionName[];
  /** An Outcome is printed and the process exits with its code; void means the command keeps running (serve). */
  run(invocation: Invocation): Promise<commands.Outcome | void>;
}

const TARGET_HELP = `  --port P   the API port of the server to talk to (default: TERMGATE_PORT, else the config's apiPort)
  --dev      the development profile (port 42051, config.dev.json)
  --json     print JSON for scripts`;

const COMMANDS: Record<string, Command> = {
  serve: {
    help: `usage: termgate serve [--host H] [--port P] [--dev]

Starts the API server. If a termgate already answers on the port, says where and exits 0;
if another program holds the port, exits 1 naming it. SIGINT/SIGTERM stop it cleanly.

  --host H   bind address (default 127.0.0.1, or 0.0.0.0 when the config says expose: true);
             a non-loopback address exposes it and turns the auth gate on
  --port P   API port 1024-65535 (default: TERMGATE_PORT, else the config's apiPort; 0 = any free port, for tests)
  --dev      development profile: ports 42051/42052 and its own config file (config.dev.json)`,
    options: ['host', 'port', 'dev'],
    run: async ({ values, wiring }) => {
      const port = parsePort(values.port, true) ?? commands.envPort();
      await serve(wiring, { host: values.host, port, dev: values.dev });
    },
  },

  status: {
    help: `usage: termgate status [--port P] [--dev] [--json]

Says whether termgate is running, where it listens and in which mode.
Exit code 0 when it is running, 3 when it is not.

${TARGET_HELP}`,
    options: ['port', 'dev', 'json'],
    run: async (invocation) => commands.status(await context(invocation)),
  },

  expose: {
    help: `usage: termgate expose on|off [--port P] [--dev] [--json]

Turns "expose on local network" on or off. With a server running, it rebinds at once
(127.0.0.1 <-> 0.0.0.0, same port) and the change is saved; otherwise it is saved for the next start.
WARNING: "on" makes this machine's terminals reachable from your local network (token required).

${TARGET_HELP}`,
    options: ['port', 'dev', 'json'],
    run: async (invocation) => {
      const [state] = positionals(invocation, 1, 'expose on|off');
      if (state !== 'on' && state !== 'off') throw usage(`expose: say "on" or "off", got "${state}"`);
      return commands.expose(await context(invocation), state === 'on');
    },
  },

  token: {
    help: `usage: termgate token create NAME | list | revoke NAME | rotate [--close-sockets] | show   [--port P] [--dev] [--json]

  create NAME   a named token for one client; the secret (tg_…) is printed once, only its hash is kept
  list          named tokens with their creation and last-use times (never the secrets)
  revoke NAME   the token stops working at once, and WebSockets opened with it are closed
  rotate        a new main token (authToken); the old one stops working at once for new requests;
                open WebSockets stay open unless --close-sockets is given
  show          the main token, in full

With a server running these go through it (effective at once); otherwise straight to the config file.

${TARGET_HELP}`,
    options: ['port', 'dev', 'json', 'close-sockets'],
    run: async (invocation) => {
      const action = invocation.args[0];
      if (invocation.values['close-sockets'] && action !== 'rotate') throw usage('token: --close-sockets applies to "token rotate" only');
      switch (action) {
        case 'create': {
          const [, name] = positionals(invocation, 2, 'token create NAME');
          return commands.tokenCreate(await context(invocation), name!);
        }
        case 'list':
          positionals(invocation, 1, 'token list');
          return commands.tokenList(await context(invocation));
        case 'revoke': {
          const [, name] = positionals(invocation, 2, 'token revoke NAME');
          return commands.tokenRevoke(await context(invocation), name!);
        }
        case 'rotate':
          positionals(invocation, 1, 'token rotate');
          return commands.tokenRotate(await context(invocation), invocation.values['close-sockets']);
        case 'show':
          positionals(invocation, 1, 'token show');
          return commands.tokenShow(await context(invocation));
        default:
          throw usage(action === undefined ? 'token: say create, list, revoke, rotate or show' : `token: unknown action "${action}"`);
      }
    },
  },

  mcp: {
    help: MCP_HELP,
    options: ['host', 'port', 'api-url', 'dev'],
    run: ({ values, wiring }) =>
      mcp(wiring, { host: values.host, port: parsePort(values.port, true), apiUrl: values['api-url'], dev: values.dev }),
  },
};

const OVERVIEW = `usage: termgate <command> [options]

commands:
  serve [--host H] [--port P] [--dev]      start the API server (the default command)
  status                                   is it running, where, in which mode
  expose on|off                            expose on the local network (rebinds a running server)
  token create NAME | list | revoke NAME   named tokens
  token rotate [--close-sockets] | show    the main token
  mcp [--port P] [--dev]                   start the MCP sidecar (Streamable HTTP, default port 42032)

Run \`termgate <command> --help\` for a command's options. Every command takes --dev;
status, expose and token also take --json (for scripts) and --port. Config: $TERMGATE_HOME/config.json (default ~/.termgate).`;

function usage(message: string): CliError {
  return new CliError(`${message} (try --help)`, EXIT_USAGE);
}

/** The arguments after the command name, exactly `count` of them. */
function positionals({ args }: Invocation, count: number, form: string): string[] {
  if (args.length < count) throw usage(`usage: termgate ${form}`);
  if (args.length > count) throw usage(`unexpected argument "${args[count]}" (usage: termgate ${form})`);
  return args;
}

function parsePort(value: string | undefined, allowAny: boolean): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  const anyPort = allowAny && port === 0;
  if (value.trim() === '' || !Number.isInteger(port) || (!anyPort && (port < 1024 || port > 65535))) {
    throw usage(`--port: must be a whole number from 1024 to 65535${allowAny ? ' (or 0 for any free port)' : ''}, got "${value}"`);
  }
  return port;
}

function context({ values }: Invocation): Promise<commands.CommandContext> {
  return commands.commandContext({ dev: values.dev, port: parsePort(values.port, false) });
}

function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, allowPositionals: true, strict: true, options: OPTIONS });
  } catch (error) {
    // parseArgs' own messages are long and suggest `--`; keep the first sentence.
    const message = error instanceof Error ? error.message.split(/\.\s/)[0]!.replace(/\.$/, '') : String(error);
    throw usage(message);
  }
}

export async function main(wiring: RuntimeWiring, argv: string[] = process.argv.slice(2)): Promise<void> {
  try {
    const { values, positionals: words } = parse(argv);
    if (words.length === 0 && values.help) return print(OVERVIEW);
    const name = words[0] ?? 'serve';
    if (name === 'help') return print(OVERVIEW);
    const command = COMMANDS[name];
    if (command === undefined) throw usage(`unknown command "${name}"`);
    if (values.help) return print(command.help);
    for (const option of Object.keys(OPTIONS) as OptionName[]) {
      const given = argv.some((arg) => arg === `--${option}` || arg.startsWith(`--${option}=`));
      if (given && option !== 'help' && !command.options.includes(option)) {
        throw usage(`${name}: option --${option} does not apply`);
      }
    }
    const outcome = await command.run({ values, args: words.slice(1), wiring });
    if (outcome === undefined) return;
    print(values.json ? JSON.stringify(outcome.json, null, 2) : outcome.human);
    // Exit now: an idle keep-alive connection to the server would keep the process up for seconds.
    process.exit(outcome.exitCode ?? 0);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`termgate: ${message}`);
    process.exit(error instanceof CliError ? error.exitCode : 1);
  }
}

function print(text: string): void {
  console.log(text);
}

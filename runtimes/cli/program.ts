/**
 * The termgate command line (README: CLI) as commander definitions
 * (https://github.com/tj/commander.js): every command, its arguments and its
 * options, once; parsing, the checks and every help text come from them. What
 * a command does comes in as `CliActions`, so the command line can be parsed
 * and its help printed without running anything (test/unit/cli.test.ts).
 *
 * Mistakes are one line: commander's own message, without its "error: "
 * prefix, naming the command, with exit code 2. An option a command does not
 * take is such a mistake, and says which commands do take it.
 */
import { Argument, Command, CommanderError, Help, Option } from 'commander';
import { parsePort } from '../host/port.ts';
import type { Outcome } from './context.ts';
import { EXIT_FAILURE, EXIT_NOT_RUNNING, EXIT_USAGE, usageError } from './errors.ts';
import type { McpOptions } from './mcp.ts';
import type { ServeOptions } from './serve.ts';
import type { TransportOptions } from './transport.ts';

/** The options of the commands that act on a running server or, without one, the config file. */
export interface TargetOptions {
  port: number | undefined;
  /** --unix: the server's Unix socket, instead of the port. */
  unix?: string | undefined;
  dev: boolean;
  json: boolean;
}

/** `token create --scope --terminal`: what the new token may do (docs/security.md). */
export interface TokenLimits {
  scope: 'read' | 'write' | 'admin' | undefined;
  /** Repeated --terminal; undefined when none was given (all terminals). */
  terminals: string[] | undefined;
}

/** What each command does. serve and mcp keep running; the others end with an Outcome to print. */
export interface CliActions {
  serve(options: ServeOptions): Promise<void>;
  mcp(options: McpOptions): Promise<void>;
  status(target: TargetOptions): Promise<Outcome>;
  expose(target: TargetOptions, on: boolean): Promise<Outcome>;
  tokenCreate(target: TargetOptions, name: string, limits: TokenLimits): Promise<Outcome>;
  tokenList(target: TargetOptions): Promise<Outcome>;
  tokenRevoke(target: TargetOptions, name: string): Promise<Outcome>;
  tokenRotate(target: TargetOptions, closeSockets: boolean): Promise<Outcome>;
  tokenShow(target: TargetOptions): Promise<Outcome>;
}

/** A finished command's outcome, and whether --json asked for it as JSON. */
export interface Finished {
  outcome: Outcome;
  json: boolean;
}

/** Where help goes (stdout by default; a test can keep it). */
export type WriteOut = (text: string) => void;

/** console.log, unlike process.stdout.write, does not throw when stdout is a closed pipe (`termgate --help | head`). */
function printLine(text: string): void {
  console.log(text.replace(/\n$/, ''));
}

/** The command run when the command line starts with an option or is empty (`termgate --port 0`). */
export const DEFAULT_COMMAND = 'serve';

/** Terms up to this width sit beside their description; longer ones get a line of their own. */
const TERM_WIDTH = 22;

const DEV_HELP = 'development profile: ports 42051/42052 and its own config file (config.dev.json)';

function portOption(description: string, allowAny: boolean): Option {
  return new Option('--port <port>', description).argParser((text: string) => {
    try {
      return parsePort(text, '--port', allowAny);
    } catch (error) {
      throw usageError((error as Error).message);
    }
  });
}

/** The flags `serve` and `mcp` share. */
interface ServeFlags {
  host?: string;
  port?: number;
  unix?: string;
  tlsCert?: string;
  tlsKey?: string;
  dev?: boolean;
}

function unixOption(description: string): Option {
  return new Option('--unix <path>', description).conflicts(['host', 'port']);
}

function tlsCertOption(what: string): Option {
  return new Option('--tls-cert <file>', `serve ${what} with this PEM certificate chain (leaf first; with --tls-key)`).conflicts('unix');
}

function tlsKeyOption(): Option {
  return new Option('--tls-key <file>', 'the PEM private key of --tls-cert (unencrypted)');
}

function transportOf(options: ServeFlags): TransportOptions {
  return { unix: options.unix, tlsCert: options.tlsCert, tlsKey: options.tlsKey };
}

/** Adds --port, --unix, --dev and --json: how status, expose and token find the server (or the config file) and print. */
function withTarget(command: Command): Command {
  return command
    .addOption(portOption("the API port of the server to talk to (default: TERMGATE_PORT, else the config's apiPort)", false))
    .addOption(new Option('--unix <path>', 'talk to a server started with `serve --unix <path>`, over that socket').conflicts('port'))
    .option('--dev', DEV_HELP)
    .option('--json', 'print JSON for scripts');
}

function targetOf(command: Command): TargetOptions {
  const { port, unix, dev, json } = command.opts<{ port?: number; unix?: string; dev?: boolean; json?: boolean }>();
  return { port, unix, dev: dev === true, json: json === true };
}

/** "token rotate" for the command `termgate token rotate`. */
function pathOf(command: Command): string {
  const names: string[] = [];
  for (let at: Command | null = command; at?.parent; at = at.parent) names.unshift(at.name());
  return names.join(' ');
}

function allCommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap(allCommands)];
}

/** The command as one types it, with every argument and option it takes: "token create <name> [--port <port>] …". */
function commandTerm(command: Command): string {
  const args = command.registeredArguments.map((arg) => (arg.required ? `<${arg.name()}>` : `[${arg.name()}]`));
  const options = command.options.map((option) => `[${option.flags}]`);
  return [pathOf(command), ...args, ...options].join(' ');
}

function oneOf(words: string[]): string {
  return words.length <= 1 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
}

/**
 * The help layout: lower-case headings, usage lines and command lists that show
 * every argument and option (the overview lists token's subcommands too), and
 * long terms on a line of their own above their description.
 */
const helpLayout: Partial<Help> = {
  styleTitle: (title) => title.toLowerCase(),
  commandDescription: (command) => command.description() || command.summary(),
  commandUsage(command) {
    return command.commands.length > 0 ? Help.prototype.commandUsage.call(this, command) : `termgate ${commandTerm(command)}`;
  },
  visibleCommands(command) {
    const listed = Help.prototype.visibleCommands.call(this, command);
    // The overview lists commands that group others (token) by their subcommands.
    return command.parent ? listed : listed.flatMap((sub) => (sub.commands.length > 0 ? sub.commands : [sub]));
  },
  subcommandTerm: (command) => (command.name() === 'help' ? Help.prototype.subcommandTerm(command) : commandTerm(command)),
  padWidth(command, helper) {
    return Math.min(Help.prototype.padWidth.call(this, command, helper), TERM_WIDTH);
  },
  formatItem(term, termWidth, description, helper) {
    const item = (t: string) => Help.prototype.formatItem.call(this, t, termWidth, description, helper);
    return helper.displayWidth(term) <= termWidth ? item(term) : `  ${term}\n${item('')}`;
  },
};

/** The commander error for a mistake in the command line, as one line with exit code 2 (help shown: passed on as it is). */
function mistake(error: CommanderError, command: Command): Error {
  if (error.exitCode === 0) return error;
  const path = pathOf(command);
  let message = error.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ');
  if (error.code === 'commander.help') {
    // A command that groups others, given none of them (commander would print its help to stderr).
    message = `say ${oneOf(command.commands.map((sub) => sub.name()))}`;
  } else if (error.code === 'commander.unknownOption') {
    // commander names the flag only in its message; without a match its own message stands.
    const flag = /unknown option '([^'=]+)/.exec(message)?.[1];
    const takers = allCommands(rootOf(command)).filter((other) => other.options.some((option) => option.long === flag));
    if (flag && takers.length > 0) message = `${flag} does not apply here; it is an option of ${oneOf(takers.map(pathOf))}`;
  }
  return usageError(path ? `${path}: ${message}` : message);
}

function rootOf(command: Command): Command {
  let at = command;
  while (at.parent) at = at.parent;
  return at;
}

/** The whole command line. `finish` receives the outcome of a command that ends (not serve/mcp, not help). */
export function buildProgram(actions: CliActions, finish: (finished: Finished) => void, writeOut: WriteOut = printLine): Command {
  const done = (command: Command, outcome: Outcome) => finish({ outcome, json: targetOf(command).json });

  const program = new Command('termgate')
    .usage('<command> [options]')
    .description('A local terminal API server for AI agents and tools: REST, WebSocket and MCP over real PTYs.')
    .configureHelp(helpLayout)
    // Errors are turned into one line (mistake(), applied to every command below); help goes to writeOut.
    .configureOutput({ writeOut, writeErr: () => undefined, outputError: () => undefined })
    .helpOption('-h, --help', 'show this help')
    .helpCommand('help [command]', 'show the help of a command')
    .addHelpText(
      'after',
      [
        '',
        'Run `termgate <command> --help` for the help of one command.',
        `With no command (or only options), termgate runs \`${DEFAULT_COMMAND}\`.`,
        '',
        'config:       $TERMGATE_HOME/config.json (default ~/.termgate/; --dev: config.dev.json)',
        'environment:  TERMGATE_HOME, TERMGATE_TOKEN (a fixed token of 32+ characters), TERMGATE_PORT,',
        '              TERMGATE_MCP_PORT, TERMGATE_API_URL',
        `exit codes:   0 done, ${EXIT_FAILURE} failed, ${EXIT_USAGE} a mistake in the command line, ${EXIT_NOT_RUNNING} (status) not running`,
      ].join('\n'),
    );

  program
    .command('serve')
    .summary('start the API server (the default command)')
    .description(
      'Starts the API server. If a termgate already answers on the port, says where and exits 0; if another program holds the port, exits 1 naming it. SIGINT/SIGTERM stop it cleanly.',
    )
    .option('--host <host>', 'bind address (default 127.0.0.1, or 0.0.0.0 when the config says expose: true); a non-loopback address exposes it and turns the auth gate on')
    .addOption(portOption("API port 1024-65535 (default: TERMGATE_PORT, else the config's apiPort; 0 = any free port, for tests)", true))
    .addOption(unixOption('listen on a Unix socket at <path>, created 0600, instead of TCP (local mode: only who can open the socket reaches the server)'))
    .addOption(tlsCertOption('HTTPS and WSS'))
    .addOption(tlsKeyOption())
    .option('--require-token', 'ask for a token on loopback too (multi-user hosts); the config\'s requireToken: true does it for every start')
    .option('--stop-persistent', 'end every persistent terminal a previous server left (shell, holder and files), then serve')
    .option('--dev', DEV_HELP)
    .action(async (options: ServeFlags & { requireToken?: boolean; stopPersistent?: boolean }) => {
      await actions.serve({
        ...transportOf(options),
        host: options.host,
        port: options.port,
        dev: options.dev === true,
        ...(options.requireToken ? { requireToken: true } : {}),
        ...(options.stopPersistent ? { stopPersistent: true } : {}),
      });
    });

  // Each of these takes --port, --dev and --json (withTarget), after its own options.
  withTarget(
    program
      .command('status')
      .summary('whether termgate is running, where, in which mode')
      .description(`Says whether termgate is running, where it listens and in which mode. Exit code 0 when it is running, ${EXIT_NOT_RUNNING} when it is not.`)
      .action(async (_options, command: Command) => done(command, await actions.status(targetOf(command)))),
  );

  withTarget(
    program
      .command('expose')
      .summary('expose on the local network, or not (rebinds a running server)')
      .description(
        'Turns "expose on local network" on or off. With a server running, it rebinds at once (127.0.0.1 <-> 0.0.0.0, same port) and the change is saved; otherwise it is saved for the next start.\nWARNING: "on" makes this machine\'s terminals reachable from your local network (token required).',
      )
      .addArgument(new Argument('<on|off>', 'on: bind 0.0.0.0, token required; off: bind 127.0.0.1').choices(['on', 'off']))
      .action(async (state: string, _options, command: Command) => done(command, await actions.expose(targetOf(command), state === 'on'))),
  );

  const token = program
    .command('token')
    .usage('<command> [options]')
    .summary('named tokens and the main token')
    .description('Named tokens and the main token. With a server running these go through it (effective at once); otherwise straight to the config file.')
    .helpCommand(false);
  withTarget(
    token
      .command('create')
      .summary('a named token for one client; its secret (tg_…) is printed once, only its hash is kept')
      .argument('<name>', 'what the token is for, e.g. ci-bot')
      .addOption(new Option('--scope <scope>', 'what it may do: read (look only), write (also type, run, create, close; the default) or admin (also tokens, settings, audit)').choices(['read', 'write', 'admin']))
      .option('--terminal <id>', 'limit it to this terminal (repeat for more); it sees and touches no other', (id: string, ids: string[] | undefined) => [...(ids ?? []), id])
      .action(async (name: string, options: { scope?: TokenLimits['scope']; terminal?: string[] }, command: Command) =>
        done(command, await actions.tokenCreate(targetOf(command), name, { scope: options.scope, terminals: options.terminal })),
      ),
  );
  withTarget(
    token
      .command('list')
      .summary('named tokens with their creation and last-use times (never the secrets)')
      .action(async (_options, command: Command) => done(command, await actions.tokenList(targetOf(command)))),
  );
  withTarget(
    token
      .command('revoke')
      .summary('the token stops working at once, and WebSockets opened with it are closed')
      .argument('<name>', 'the named token to revoke')
      .action(async (name: string, _options, command: Command) => done(command, await actions.tokenRevoke(targetOf(command), name))),
  );
  withTarget(
    token
      .command('rotate')
      .summary('a new main token (authToken); the old one stops working at once for new requests')
      .option('--close-sockets', 'also close the WebSockets opened with the old token (otherwise they stay open)')
      .action(async (options: { closeSockets?: boolean }, command: Command) =>
        done(command, await actions.tokenRotate(targetOf(command), options.closeSockets === true)),
      ),
  );
  withTarget(
    token
      .command('show')
      .summary('the main token, in full')
      .action(async (_options, command: Command) => done(command, await actions.tokenShow(targetOf(command)))),
  );

  program
    .command('mcp')
    .summary('start the MCP sidecar (Streamable HTTP, default port 42032)')
    .description(
      'Starts the MCP sidecar: Streamable-HTTP MCP at http://127.0.0.1:42032/mcp with tools to list, create, type into, read, run commands in, resize and close terminals. It calls the API over HTTP with the token from the config file, read afresh for every request (a rotation applies at once).',
    )
    .option('--host <host>', 'bind address (default 127.0.0.1); a non-loopback address requires a token (the API\'s authToken, TERMGATE_TOKEN or a named token) as "Authorization: Bearer"')
    .addOption(portOption("MCP port 1024-65535 (default: TERMGATE_MCP_PORT, else the config's mcpPort; 0 = any free port)", true))
    .option('--api-url <url>', 'the API to call (default: TERMGATE_API_URL, else http://127.0.0.1:<TERMGATE_PORT or apiPort>)')
    .addOption(new Option('--api-unix <path>', 'call the API over its Unix socket (`serve --unix <path>`) instead of --api-url').conflicts('apiUrl'))
    .addOption(unixOption('listen on a Unix socket at <path>, created 0600, instead of TCP'))
    .addOption(tlsCertOption('HTTPS'))
    .addOption(tlsKeyOption())
    .option('--dev', DEV_HELP)
    .action(async (options: ServeFlags & { apiUrl?: string; apiUnix?: string }) => {
      await actions.mcp({ ...transportOf(options), host: options.host, port: options.port, apiUrl: options.apiUrl, apiUnix: options.apiUnix, dev: options.dev === true });
    });

  for (const command of allCommands(program)) {
    command.exitOverride((error) => {
      throw mistake(error, command);
    });
  }
  return program;
}

/**
 * Parses `argv` (the arguments after the program name) and runs the command.
 * Resolves with the outcome to print, or undefined when help was printed or the
 * command keeps running (serve, mcp). A mistake rejects with a CliError (exit 2).
 */
export async function dispatch(argv: readonly string[], actions: CliActions, writeOut?: WriteOut): Promise<Finished | undefined> {
  let finished: Finished | undefined;
  const program = buildProgram(actions, (result) => (finished = result), writeOut);
  const first = argv[0];
  const words = first === undefined || (first.startsWith('-') && first !== '-h' && first !== '--help') ? [DEFAULT_COMMAND, ...argv] : [...argv];
  try {
    await program.parseAsync(words, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError && error.exitCode === 0) return undefined; // help, already printed
    throw error;
  }
  return finished;
}

/**
 * The command line's definitions (runtimes/cli/program.ts), parsed without
 * spawning anything: stub actions record what each command line asks for.
 */
import { describe, expect, it } from 'vitest';
import type { Outcome } from '../../runtimes/cli/context.ts';
import { CliError, EXIT_USAGE } from '../../runtimes/cli/errors.ts';
import { type CliActions, dispatch } from '../../runtimes/cli/program.ts';

const OUTCOME: Outcome = { human: 'done', json: { done: true } };

/** Parses `argv` with actions that only record their call; resolves with the call, the result and any help printed. */
async function parse(argv: string[]) {
  const calls: [string, ...unknown[]][] = [];
  const record =
    (name: string) =>
    async (...args: unknown[]) => {
      calls.push([name, ...args]);
      return name === 'serve' || name === 'mcp' ? undefined : OUTCOME;
    };
  const names = ['serve', 'mcp', 'status', 'expose', 'tokenCreate', 'tokenList', 'tokenRevoke', 'tokenRotate', 'tokenShow'];
  const actions = Object.fromEntries(names.map((name) => [name, record(name)])) as unknown as CliActions;
  let help = '';
  const finished = await dispatch(argv, actions, (text) => (help += text));
  return { calls, finished, help };
}

async function mistake(argv: string[]): Promise<CliError> {
  const error = await parse(argv).then(
    () => null,
    (thrown: unknown) => thrown,
  );
  expect(error, argv.join(' ')).toBeInstanceOf(CliError);
  const cliError = error as CliError;
  expect(cliError.exitCode, argv.join(' ')).toBe(EXIT_USAGE);
  expect(cliError.message, argv.join(' ')).not.toContain('\n');
  return cliError;
}

describe('cli: parsing', () => {
  it('serve is the default command, also when the command line starts with an option', async () => {
    expect((await parse([])).calls).toEqual([['serve', { host: undefined, port: undefined, dev: false }]]);
    expect((await parse(['--port', '0', '--dev'])).calls).toEqual([['serve', { host: undefined, port: 0, dev: true }]]);
    expect((await parse(['serve', '--host', '0.0.0.0', '--port=42100'])).calls).toEqual([
      ['serve', { host: '0.0.0.0', port: 42100, dev: false }],
    ]);
  });

  it('mcp takes --host, --port, --api-url and --dev', async () => {
    const { calls } = await parse(['mcp', '--api-url', 'http://127.0.0.1:5000', '--port', '0', '--dev']);
    expect(calls).toEqual([['mcp', { host: undefined, port: 0, apiUrl: 'http://127.0.0.1:5000', dev: true }]]);
  });

  it('status, expose and token take --port, --dev and --json; --json reaches the printer', async () => {
    const target = { port: 42100, dev: true, json: true };
    const status = await parse(['status', '--port', '42100', '--dev', '--json']);
    expect(status.calls).toEqual([['status', target]]);
    expect(status.finished).toEqual({ outcome: OUTCOME, json: true });
    expect((await parse(['expose', 'on'])).calls).toEqual([['expose', { port: undefined, dev: false, json: false }, true]]);
    expect((await parse(['expose', 'off'])).calls[0]![2]).toBe(false);
    expect((await parse(['token', 'create', 'ci-bot', '--json'])).calls).toEqual([
      ['tokenCreate', { port: undefined, dev: false, json: true }, 'ci-bot', { scope: undefined, terminals: undefined }],
    ]);
    expect((await parse(['token', 'revoke', 'ci-bot'])).calls[0]).toEqual(['tokenRevoke', { port: undefined, dev: false, json: false }, 'ci-bot']);
    expect((await parse(['token', 'list'])).calls[0]![0]).toBe('tokenList');
    expect((await parse(['token', 'show'])).calls[0]![0]).toBe('tokenShow');
  });

  it('token rotate --close-sockets, and without it', async () => {
    expect((await parse(['token', 'rotate', '--close-sockets', '--port', '42100'])).calls).toEqual([
      ['tokenRotate', { port: 42100, dev: false, json: false }, true],
    ]);
    expect((await parse(['token', 'rotate'])).calls[0]![2]).toBe(false);
  });

  it('mistakes are one line with exit code 2 and run nothing', async () => {
    expect((await mistake(['frobnicate'])).message).toMatch(/^unknown command 'frobnicate'/);
    expect((await mistake(['token', 'create'])).message).toMatch(/^token create: missing required argument 'name'/);
    expect((await mistake(['token'])).message).toBe('token: say create, list, revoke, rotate or show (try --help)');
    expect((await mistake(['token', 'frob'])).message).toMatch(/^token: unknown command 'frob'/);
    expect((await mistake(['expose', 'maybe'])).message).toMatch(/^expose: .*'maybe'/);
    expect((await mistake(['token', 'list', 'extra'])).message).toMatch(/too many arguments/);
    expect((await mistake(['--nope'])).message).toMatch(/unknown option '--nope'/);
    expect((await mistake(['status', '--port'])).message).toMatch(/argument missing/);
  });

  it('an option of another command is a mistake that says which commands take it', async () => {
    expect((await mistake(['status', '--host', 'x'])).message).toBe('status: --host does not apply here; it is an option of serve or mcp (try --help)');
    expect((await mistake(['token', 'list', '--close-sockets'])).message).toBe(
      'token list: --close-sockets does not apply here; it is an option of token rotate (try --help)',
    );
    expect((await mistake(['serve', '--json'])).message).toMatch(/^serve: --json does not apply here/);
    expect((await mistake(['mcp', '--close-sockets'])).message).toMatch(/^mcp: --close-sockets does not apply/);
  });

  it('one port check for every --port: 1024-65535, 0 only where a server listens', async () => {
    expect((await mistake(['serve', '--port', '80'])).message).toBe(
      '--port: must be a whole number from 1024 to 65535 (or 0 for any free port), got "80" (try --help)',
    );
    expect((await mistake(['status', '--port', '0'])).message).toBe('--port: must be a whole number from 1024 to 65535, got "0" (try --help)');
    for (const bad of ['abc', '', ' ', '1.5', '65536', '-1']) await mistake(['token', 'list', `--port=${bad}`]);
    expect((await parse(['mcp', '--port', '0'])).calls[0]![1]).toMatchObject({ port: 0 });
  });
});

describe('cli: help, generated from the definitions', () => {
  it('every command has --help, printed and nothing run', async () => {
    for (const argv of [['--help'], ['-h'], ['help'], ['serve', '--help'], ['status', '--help'], ['expose', '--help'], ['token', '--help'], ['token', 'rotate', '--help'], ['mcp', '--help'], ['help', 'token']]) {
      const { calls, finished, help } = await parse(argv);
      expect(help, argv.join(' ')).toMatch(/^usage: termgate/);
      expect(calls, argv.join(' ')).toEqual([]);
      expect(finished).toBeUndefined();
    }
  });

  it('the overview lists every command with every option it takes', async () => {
    const { help } = await parse(['--help']);
    for (const line of [
      'serve [--host <host>] [--port <port>] [--unix <path>] [--tls-cert <file>] [--tls-key <file>] [--require-token] [--stop-persistent] [--dev]',
      'status [--port <port>] [--unix <path>] [--dev] [--json]',
      'expose <on|off> [--port <port>] [--unix <path>] [--dev] [--json]',
      'token create <name> [--scope <scope>] [--terminal <id>] [--port <port>] [--unix <path>] [--dev] [--json]',
      'token list [--port <port>] [--unix <path>] [--dev] [--json]',
      'token revoke <name> [--port <port>] [--unix <path>] [--dev] [--json]',
      'token rotate [--close-sockets] [--port <port>] [--unix <path>] [--dev] [--json]',
      'token show [--port <port>] [--unix <path>] [--dev] [--json]',
      'mcp [--host <host>] [--port <port>] [--api-url <url>] [--api-unix <path>] [--unix <path>] [--tls-cert <file>] [--tls-key <file>] [--dev]',
    ]) {
      expect(help).toContain(`  ${line}\n`);
    }
  });

  it("a command's help describes each of its options", async () => {
    const rotate = (await parse(['token', 'rotate', '--help'])).help;
    expect(rotate).toMatch(/^usage: termgate token rotate \[--close-sockets\] \[--port <port>\] \[--unix <path>\] \[--dev\] \[--json\]\n/);
    for (const option of ['--close-sockets', '--port <port>', '--dev', '--json', '-h, --help']) expect(rotate).toMatch(new RegExp(`\\n  ${option}\\s+\\S`));
    const mcp = (await parse(['mcp', '--help'])).help;
    for (const option of ['--host <host>', '--port <port>', '--api-url <url>', '--api-unix <path>', '--unix <path>', '--tls-cert <file>', '--tls-key <file>', '--dev']) {
      expect(mcp).toMatch(new RegExp(`\\n  ${option}\\s+\\S`));
    }
  });
});

describe('cli: --unix and TLS (docs/tls-and-unix.md)', () => {
  it('serve and mcp take --unix, --tls-cert and --tls-key; the target commands take --unix', async () => {
    expect((await parse(['serve', '--tls-cert', 'c.pem', '--tls-key', 'k.pem'])).calls[0]![1]).toMatchObject({ tlsCert: 'c.pem', tlsKey: 'k.pem' });
    expect((await parse(['serve', '--unix', '/run/t.sock'])).calls[0]![1]).toMatchObject({ unix: '/run/t.sock' });
    expect((await parse(['mcp', '--unix', 'm.sock', '--api-unix', 'a.sock'])).calls[0]![1]).toMatchObject({ unix: 'm.sock', apiUnix: 'a.sock' });
    expect((await parse(['status', '--unix', 'a.sock'])).calls[0]![1]).toMatchObject({ unix: 'a.sock' });
  });

  it('refuses --unix with --host or --port, --tls-cert with --unix, and --api-unix with --api-url (exit 2)', async () => {
    for (const argv of [
      ['serve', '--unix', 'a.sock', '--host', '0.0.0.0'],
      ['serve', '--unix', 'a.sock', '--port', '5000'],
      ['serve', '--unix', 'a.sock', '--tls-cert', 'c.pem'],
      ['mcp', '--api-unix', 'a.sock', '--api-url', 'http://127.0.0.1:1'],
      ['status', '--unix', 'a.sock', '--port', '5000'],
    ]) {
      const error = await mistake(argv);
      expect(error.exitCode, argv.join(' ')).toBe(2);
      expect(error.message, argv.join(' ')).toMatch(/cannot be used with option/);
    }
  });
});

describe('cli: scoped tokens and --require-token', () => {
  it('token create takes --scope (read, write, admin) and repeated --terminal; serve takes --require-token', async () => {
    expect((await parse(['token', 'create', 'viewer', '--scope', 'read', '--terminal', 'a1', '--terminal', 'b2'])).calls[0]).toEqual([
      'tokenCreate',
      { port: undefined, dev: false, json: false },
      'viewer',
      { scope: 'read', terminals: ['a1', 'b2'] },
    ]);
    expect((await mistake(['token', 'create', 'x', '--scope', 'root'])).message).toMatch(/^token create: .*'root'.*read, write, admin/);
    expect((await parse(['serve', '--require-token'])).calls[0]![1]).toMatchObject({ requireToken: true });
    expect((await parse(['serve', '--stop-persistent'])).calls[0]![1]).toMatchObject({ stopPersistent: true });
    expect((await mistake(['status', '--require-token'])).message).toMatch(/--require-token does not apply here; it is an option of serve/);
  });
});

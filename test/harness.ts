/**
 * Starts termgate as a real process under a given runtime, on an ephemeral
 * port, with its own TERMGATE_HOME, and stops it (by pid, its own process
 * only). Shared by the conformance suite, the CLI tests and the benchmarks.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export type Runtime = 'node' | 'bun' | 'deno';
export const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'node_modules', '.bin');
/** Node itself, also when Bun runs this file (the benchmarks): there process.execPath is Bun. */
const NODE = 'Bun' in globalThis ? (process.env.NODE ?? 'node') : process.execPath;

/** The command line that runs the termgate CLI under `runtime`. */
export function cliCommand(runtime: Runtime, args: string[]): [string, string[]] {
  switch (runtime) {
    case 'node':
      return [NODE, [join(ROOT, 'dist/runtimes/node/main.js'), ...args]];
    case 'bun':
      return [join(BIN, 'bun'), ['run', join(ROOT, 'runtimes/bun/main.ts'), ...args]];
    case 'deno':
      return [join(BIN, 'deno'), ['run', '-A', '--quiet', join(ROOT, 'runtimes/deno/main.ts'), ...args]];
  }
}

/** Every TERMGATE_HOME a test made, removed when the test process exits (whoever else forgot to). */
const madeHomes: string[] = [];
process.once('exit', () => {
  for (const home of madeHomes) rmSync(home, { recursive: true, force: true });
});

export function tempHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'termgate-test-'));
  madeHomes.push(home);
  return home;
}

/**
 * The environment a test server runs with: its own TERMGATE_HOME, no
 * TERMGATE_TOKEN, and an empty HOME inside that TERMGATE_HOME, so the shells
 * it starts don't read this machine's rc files. Root's `.bashrc` here runs
 * `pyenv init`, whose rehash takes a lock file in ~/.pyenv: a shell ended
 * during its startup could leave that lock behind, and every later bash on the
 * machine then waited 60 s for it (that failed a CI run). Deno keeps its cache
 * under the real home, so DENO_DIR points there.
 */
export function serverEnv(termgateHome: string): Record<string, string> {
  const home = join(termgateHome, 'user-home');
  mkdirSync(home, { recursive: true });
  return {
    TERMGATE_HOME: termgateHome,
    TERMGATE_TOKEN: '',
    HOME: home,
    DENO_DIR: process.env.DENO_DIR ?? denoCacheDir(),
  };
}

/** Deno's default cache directory, which it derives from HOME. */
function denoCacheDir(): string {
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Caches', 'deno');
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'deno');
}

export interface StartOptions {
  /** --host (default 127.0.0.1); null: no --host, so the config's `expose` decides. */
  host?: string | null;
  args?: string[];
  /** Added to this process's environment; an `undefined` value removes the variable. */
  env?: Record<string, string | undefined>;
  /** Reuse a TERMGATE_HOME (default: a fresh temp dir, removed on stop). */
  home?: string;
  /** What to start: the API server (default) or the MCP sidecar (`termgate mcp`). */
  command?: 'serve' | 'mcp';
  /** `--unix PATH` instead of `--host`/`--port` (docs/tls-and-unix.md). */
  unix?: string;
}

export interface RunningServer {
  runtime: Runtime;
  /**
   * Base URL to reach it through loopback (127.0.0.1 even when bound to 0.0.0.0;
   * https:// with --tls-cert; `unix:PATH` on a Unix socket, with port 0).
   */
  url: string;
  port: number;
  home: string;
  process: ChildProcess;
  /** Everything the server printed so far (stdout + stderr). */
  output(): string;
  /**
   * SIGTERM, wait for exit (SIGKILL after a grace period); resolves with the exit code.
   * `SIGKILL`: a crash, no shutdown at all (persistent terminals: docs/persistent.md).
   */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<number | null>;
}

const LISTEN_LINES = {
  serve: /termgate listening on ((?:https?:\/\/|unix:)\S+)/,
  mcp: /termgate mcp listening on ((?:https?:\/\/|unix:)\S+)/,
} as const;

export async function startServer(runtime: Runtime, options: StartOptions = {}): Promise<RunningServer> {
  const home = options.home ?? tempHome();
  const ownHome = options.home === undefined;
  const listenLine = LISTEN_LINES[options.command ?? 'serve'];
  const [command, args] = cliCommand(runtime, [
    options.command ?? 'serve',
    ...(options.unix !== undefined ? ['--unix', options.unix] : [...(options.host === null ? [] : ['--host', options.host ?? '127.0.0.1']), '--port', '0']),
    ...(options.args ?? []),
  ]);
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...serverEnv(home), ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));

  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`${runtime} server did not start in 30 s:\n${output}`)), 30_000);
    const onData = () => {
      const match = listenLine.exec(output);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${runtime} server exited with ${code} before listening:\n${output}`));
    });
  });
  const port = url.startsWith('unix:') ? 0 : Number(new URL(url).port);
  return {
    runtime,
    url: url.startsWith('unix:') ? url : `${new URL(url).protocol}//127.0.0.1:${port}`,
    port,
    home,
    process: child,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        const grace = setTimeout(() => child.kill('SIGKILL'), 8000);
        await exited;
        clearTimeout(grace);
      }
      if (ownHome) rmSync(home, { recursive: true, force: true });
      return child.exitCode;
    },
  };
}

/** Runs the CLI to completion; resolves with its exit code and output. */
export function runCli(
  runtime: Runtime,
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [command, argv] = cliCommand(runtime, args);
  return new Promise((done) => {
    const child = spawn(command, argv, {
      cwd: ROOT,
      env: { ...process.env, TERMGATE_TOKEN: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

/** The config file of a server's TERMGATE_HOME as it is now (its token may have been rotated). */
export function savedConfig(server: { home: string }): { authToken: string; tokens: { name: string; hash: string }[] } {
  return JSON.parse(readFileSync(join(server.home, 'config.json'), 'utf8'));
}

/** Open file descriptors of a process (Linux /proc). */
export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Polls until the fd count is back within `slack` of `baseline` (closed sockets take a moment); the last count. */
export async function settledFds(pid: number, baseline: number, slack: number, timeoutMs = 5000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let count = openFds(pid);
  while (count > baseline + slack && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    count = openFds(pid);
  }
  return count;
}

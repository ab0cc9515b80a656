/** Shared benchmark plumbing: start a process that prints a URL, stop it by pid. Loopback only. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { defaultConfig, serializeConfig, type Config } from '../src/config.ts';
import { cliCommand, ROOT, serverEnv, tempHome, type Runtime } from '../test/harness.ts';

export interface Row {
  [column: string]: string | number;
}

export interface Started {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export function startPrinting(command: string, args: string[], env: Record<string, string> = {}): Promise<Started> {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} did not start:\n${output}`));
    }, 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      const port = new URL(match[1]!).port;
      resolve({
        url: `http://127.0.0.1:${port}`,
        child,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 5000).unref();
          }),
      });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited with ${code}:\n${output}`));
    });
  });
}

export function runToEnd(command: string, args: string[], timeoutMs = 120_000, env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      code === 0 ? resolve(out) : reject(new Error(`${command} exited ${code}: ${err}`));
    });
  });
}

export function printTable(title: string, rows: Row[]): void {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!);
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  console.log(`\n### ${title}\n`);
  console.log(line(columns));
  console.log(line(columns.map(() => '---')));
  for (const row of rows) console.log(line(columns.map((c) => row[c] ?? '')));
}

export const ratio = (value: number, base: number) => (base > 0 ? (value / base).toFixed(2) + '×' : 'n/a');

/**
 * Where `taskset` exists and there are two or more CPUs: [command, args] run on
 * one CPU. The server under test goes on CPU 0 and the load generator on CPU 1,
 * so they do not trade places on the same core; unpinned, the same server's
 * req/s swung by ±10% between rounds on this 2-core machine, pinned by ±2%.
 */
export function onCpu(cpu: number, command: string, args: string[]): [string, string[]] {
  return canPin() ? ['taskset', ['-c', String(cpu), command, ...args]] : [command, args];
}

let pinnable: boolean | undefined;
function canPin(): boolean {
  pinnable ??= availableParallelism() >= 2 && ['0', '1'].every((cpu) => spawnSync('taskset', ['-c', cpu, 'true']).status === 0);
  return pinnable;
}

export const pinningNote = () =>
  canPin() ? 'server on CPU 0, load generator on CPU 1 (taskset)' : 'unpinned (no taskset, or one CPU)';

/** The runtimes a benchmark measures: all three, or BENCH_RUNTIMES=node,bun. */
export const RUNTIMES = (process.env.BENCH_RUNTIMES?.split(',') ?? ['node', 'bun', 'deno']) as Runtime[];

export interface PerRuntimeOptions {
  /** Added to `termgate serve --port 0`. */
  serveArgs?: string[];
  /** Run the server on this CPU (see onCpu). */
  cpu?: number;
  /** Changes to the default config, written to the server's home before it starts (limits, …). */
  config?: (config: Config) => void;
}

/**
 * One row per runtime: `measure` runs against `termgate serve --port 0` (plus
 * `serveArgs`) started under that runtime with a TERMGATE_HOME of its own,
 * one runtime after another; the server is stopped and its home removed after.
 */
export async function perRuntime(
  measure: (runtime: Runtime, server: Started, home: string) => Promise<Row>,
  options: PerRuntimeOptions = {},
): Promise<Row[]> {
  const rows: Row[] = [];
  for (const runtime of RUNTIMES) {
    const home = tempHome();
    if (options.config) {
      const config = defaultConfig(false);
      options.config(config);
      writeFileSync(join(home, 'config.json'), serializeConfig(config), { mode: 0o600 });
    }
    const [command, args] = cliCommand(runtime, ['serve', '--port', '0', ...(options.serveArgs ?? [])]);
    let server: Started | undefined;
    try {
      server = await startPrinting(...(options.cpu === undefined ? [command, args] as const : onCpu(options.cpu, command, args)), serverEnv(home));
      rows.push(await measure(runtime, server, home));
    } finally {
      await server?.stop();
      rmSync(home, { recursive: true, force: true });
    }
  }
  return rows;
}

/** How to run a script of bench/ under `runtime` (the bare baselines). */
export function scriptCommand(runtime: Runtime, script: string): [string, string[]] {
  const file = join(ROOT, script);
  switch (runtime) {
    case 'node':
      return [process.env.NODE ?? 'node', [file]];
    case 'bun':
      return [join(ROOT, 'node_modules', '.bin', 'bun'), ['run', file]];
    case 'deno':
      return [join(ROOT, 'node_modules', '.bin', 'deno'), ['run', '-A', '--quiet', file]];
  }
}

/** A process's resident memory in bytes (Linux /proc). */
export function rssOf(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match![1]) * 1024;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The server's side of persistent terminals (docs/persistent.md): starting a
 * holder (holder.ts) per terminal, talking to it over its socket, and at
 * start finding what a previous server left in the sessions directory. A
 * holder is reached only through $TERMGATE_HOME/sessions/<id>/, so a server of
 * another TERMGATE_HOME never sees it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TermgateError } from '../../src/errors.ts';
import type { FoundSession, HeldPty, PersistentSessions, PtySpawnOptions } from '../../src/platform.ts';
import { ATTACH, BUSY, DATA, EXIT, FrameReader, HELLO, INPUT, KILL, RESIZE, frame, jsonFrame, text } from './frames.ts';
import type { SpawnRequest } from './holder.ts';
import { readLog } from './log.ts';
import { SESSION_FILES } from './session-files.ts';

/** How the server starts a holder: its runtime and entry script; the session directory is appended. */
export interface HolderCommand {
  command: string;
  args: string[];
}

/** A holder (Deno's start included) says it is ready within this, or the create fails. */
const READY_TIMEOUT_MS = 15_000;
/** A holder that accepts the connection but does not answer the attach within this is reported, not waited for. */
const ATTACH_TIMEOUT_MS = 5000;
/** How long remove() waits for the holder to close its socket (it exits right after). */
const REMOVE_WAIT_MS = 2000;
/** Longest Unix socket path Linux takes (sun_path is 108 bytes, NUL included). */
const MAX_SOCKET_PATH = 107;
/** The terminal's own files, save()'s, are kept under this prefix (the holder's files have fixed names). */
const SAVED_PREFIX = 'saved-';
const SESSION_ID = /^[0-9a-f]{16}$/;

type Status = { code: number | null; signal: number | null };
type DataListener = (chunk: Uint8Array) => void;
type ExitListener = (exitCode: number | null, signal: number | null) => void;

function writePrivate(path: string, content: string): void {
  const temp = `${path}.tmp`;
  writeFileSync(temp, content, { mode: 0o600 });
  renameSync(temp, path);
}

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/**
 * PtyProcess listeners for a held PTY: output that arrives before the first
 * data listener is kept and handed to it as it registers (so the kept output
 * is delivered before onData returns), and the exit goes out only after it.
 */
class Relay {
  #buffer: Uint8Array[] | null = [];
  readonly #data: DataListener[] = [];
  readonly #exit: ExitListener[] = [];
  #status: Status | undefined;
  #reported = false;

  get exited(): boolean {
    return this.#status !== undefined;
  }

  data(chunk: Uint8Array): void {
    if (this.#status) return;
    if (this.#buffer) this.#buffer.push(chunk);
    else for (const listener of this.#data) listener(chunk);
  }

  exit(status: Status): void {
    if (this.#status) return;
    this.#status = status;
    this.#report();
  }

  onData(listener: DataListener): void {
    this.#data.push(listener);
    const kept = this.#buffer;
    if (!kept) return;
    this.#buffer = null;
    for (const chunk of kept) listener(chunk);
    this.#report();
  }

  onExit(listener: ExitListener): void {
    if (this.#reported) listener(this.#status!.code, this.#status!.signal);
    else {
      this.#exit.push(listener);
      this.#report();
    }
  }

  #report(): void {
    if (this.#reported || !this.#status || this.#buffer) return;
    this.#reported = true;
    for (const listener of this.#exit.splice(0)) listener(this.#status.code, this.#status.signal);
  }
}

interface Hello {
  pid: number;
  start: number;
  /** Where the kept output ends: the attach is complete once the DATA up to here has arrived. */
  end: number;
  cols: number;
  rows: number;
}

/** What both kinds of session share: the session's directory, and the relay its output and exit go through. */
abstract class SessionBase {
  protected readonly relay = new Relay();

  constructor(protected readonly dir: string) {}

  onData(listener: DataListener): void {
    this.relay.onData(listener);
  }

  onExit(listener: ExitListener): void {
    this.relay.onExit(listener);
  }

  save(name: string, content: string): void {
    writePrivate(join(this.dir, SAVED_PREFIX + name), content);
  }
}

/** A terminal whose holder runs: every call is a frame on its socket. */
class HeldProcess extends SessionBase implements HeldPty {
  readonly pid: number;
  readonly startOffset: number;
  readonly cols: number;
  readonly rows: number;
  readonly #socket: Socket;
  readonly #closed: Promise<void>;
  #detached = false;
  /** Bytes of the kept output still to come before the attach is complete. */
  #replayLeft: number;

  constructor(socket: Socket, hello: Hello, dir: string, log: (line: string) => void) {
    super(dir);
    this.#socket = socket;
    this.pid = hello.pid;
    this.startOffset = hello.start;
    this.cols = hello.cols;
    this.rows = hello.rows;
    this.#replayLeft = hello.end - hello.start;
    this.#closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.once('close', () => {
      if (this.#detached || this.relay.exited) return;
      log(`persistent terminal in ${dir}: its holder went away without reporting an exit (killed?); shown as exited`);
      this.relay.exit({ code: null, signal: null });
    });
  }

  /** Whether the kept output has all arrived (so a listener registered now gets it at once). */
  get replayed(): boolean {
    return this.#replayLeft <= 0;
  }

  /** A frame from the holder (after its hello). */
  handle(type: number, payload: Uint8Array): void {
    if (type === DATA) {
      this.#replayLeft -= payload.length;
      this.relay.data(payload);
    } else if (type === EXIT) this.relay.exit(JSON.parse(text(payload)) as Status);
  }

  #send(bytes: Uint8Array): void {
    if (!this.#socket.destroyed && this.#socket.writable) this.#socket.write(bytes);
  }

  write(data: string): void {
    this.#send(frame(INPUT, data));
  }

  resize(cols: number, rows: number): void {
    this.#send(jsonFrame(RESIZE, { cols, rows }));
  }

  kill(): void {
    this.#send(frame(KILL));
  }

  detach(): void {
    this.#detached = true;
    this.#socket.end();
  }

  async remove(): Promise<void> {
    // After a kill the holder removes the files itself and exits; an exited one is told too.
    this.kill();
    await Promise.race([this.#closed, sleep(REMOVE_WAIT_MS)]);
    this.#socket.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A terminal whose holder is gone: its output and exit read back from disk. */
class ExitedSession extends SessionBase implements HeldPty {
  readonly pid: number;
  readonly startOffset: number;
  readonly cols: number;
  readonly rows: number;
  /** A holder that still runs but cannot be reached (its socket file was deleted): remove() ends it. */
  readonly #strayHolder: number | null;

  constructor(dir: string, logBytes: number, size: { cols: number; rows: number }, strayHolder: number | null) {
    super(dir);
    this.#strayHolder = strayHolder;
    const ids = readJson<{ pid?: number }>(join(dir, SESSION_FILES.holder));
    this.pid = typeof ids?.pid === 'number' ? ids.pid : 0;
    const kept = readLog(dir, logBytes);
    this.startOffset = kept.start;
    this.cols = size.cols;
    this.rows = size.rows;
    if (kept.bytes.length > 0) this.relay.data(kept.bytes);
    const status = readJson<Status>(join(dir, SESSION_FILES.exit));
    this.relay.exit(status && (typeof status.code === 'number' || typeof status.signal === 'number') ? status : { code: null, signal: null });
  }

  write(): void {}
  resize(): void {}
  kill(): void {}
  detach(): void {}

  async remove(): Promise<void> {
    if (this.#strayHolder !== null) {
      try {
        process.kill(this.#strayHolder, 'SIGTERM');
      } catch {
        // gone meanwhile
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Whether `pid` is a holder of this very session (its command line names the directory). */
function holderRuns(pid: number, dir: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(dir);
  } catch {
    return false;
  }
}

/** The first line a new holder prints: ready, or why not. */
function readyLine(child: ChildProcess): Promise<{ ready?: true; pid?: number; error?: string }> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the holder did not start within ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS);
    child.stdout!.on('data', (chunk: Uint8Array) => {
      out += Buffer.from(chunk).toString('utf8');
      const end = out.indexOf('\n');
      if (end < 0) return;
      clearTimeout(timer);
      try {
        resolve(JSON.parse(out.slice(0, end)));
      } catch {
        reject(new Error(`the holder said ${JSON.stringify(out.slice(0, end))}`));
      }
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the holder exited (${signal ?? code}) before it was ready`));
    });
  });
}

/** Connects to a session's holder and attaches: its process, or why not. */
function attach(dir: string, log: (line: string) => void): Promise<HeldProcess | 'busy' | 'gone' | 'silent'> {
  return new Promise((resolve) => {
    const socket = connect(join(dir, SESSION_FILES.socket));
    const reader = new FrameReader();
    let held: HeldProcess | undefined;
    let settled = false;
    const settle = (result: HeldProcess | 'busy' | 'gone' | 'silent') => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!(result instanceof HeldProcess)) socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => settle('silent'), ATTACH_TIMEOUT_MS);
    socket.once('connect', () => socket.write(frame(ATTACH)));
    socket.on('error', () => settle('gone'));
    socket.once('close', () => settle('gone'));
    socket.on('data', (chunk: Uint8Array) => {
      let frames;
      try {
        frames = reader.push(chunk);
      } catch (error) {
        log(`persistent terminal in ${dir}: its holder sent a broken frame (${String(error)})`);
        socket.destroy();
        return;
      }
      for (const { type, payload } of frames) {
        if (held) held.handle(type, payload);
        else if (type === BUSY) return settle('busy');
        else if (type === HELLO) held = new HeldProcess(socket, JSON.parse(text(payload)) as Hello, dir, log);
      }
      // Complete once the kept output is in: the manager's first onData listener gets all of it at once.
      if (held?.replayed) settle(held);
    });
  });
}

export class HolderSessions implements PersistentSessions {
  readonly #root: string;
  readonly #holder: HolderCommand;
  readonly #log: (line: string) => void;
  readonly #logBytes: () => number;

  /** `root`: the sessions directory; `logBytes`: how much output a log read back from disk keeps (the scrollback's size). */
  constructor(root: string, holder: HolderCommand, logBytes: () => number, log: (line: string) => void) {
    this.#root = root;
    this.#holder = holder;
    this.#logBytes = logBytes;
    this.#log = log;
  }

  async spawn(id: string, options: PtySpawnOptions, logBytes: number, saved: Record<string, string>): Promise<HeldPty> {
    const dir = join(this.#root, id);
    const socketPath = join(dir, SESSION_FILES.socket);
    if (socketPath.length > MAX_SOCKET_PATH) {
      throw new TermgateError('bad_request', `persistent: the holder's socket path would be ${socketPath.length} bytes, more than a Unix socket takes (${MAX_SOCKET_PATH}); use a shorter TERMGATE_HOME`);
    }
    mkdirSync(this.#root, { recursive: true, mode: 0o700 });
    mkdirSync(dir, { mode: 0o700 });
    let child: ChildProcess | undefined;
    try {
      for (const [name, content] of Object.entries(saved)) writePrivate(join(dir, SAVED_PREFIX + name), content);
      const request: SpawnRequest = { options, logBytes };
      writePrivate(join(dir, SESSION_FILES.spawn), JSON.stringify(request));
      const errors = openSync(join(dir, SESSION_FILES.errors), 'a', 0o600);
      try {
        // detached: a session of its own (setsid), outside the server's process group, so neither
        // the server's end nor a Ctrl-C in the server's terminal reaches it.
        child = spawn(this.#holder.command, [...this.#holder.args, dir], { detached: true, stdio: ['ignore', 'pipe', errors], cwd: '/', env: process.env });
      } finally {
        closeSync(errors);
      }
      const ready = await readyLine(child).catch((error: unknown) => {
        throw new TermgateError('internal', `persistent: the terminal's holder did not start (${error instanceof Error ? error.message : String(error)}; the server's log has what it printed)`);
      });
      // The PTY could not be spawned: the manager reports it as for any terminal.
      if (ready.error !== undefined) throw new Error(ready.error);
      child.stdout!.destroy();
      child.unref();
      const held = await attach(dir, this.#log);
      if (!(held instanceof HeldProcess)) throw new TermgateError('internal', `persistent: the terminal's holder started but did not answer (${held})`);
      return held;
    } catch (error) {
      if (child && child.exitCode === null) child.kill('SIGKILL');
      child?.stdout?.destroy();
      let printed = '';
      try {
        printed = readFileSync(join(dir, SESSION_FILES.errors), 'utf8').trim().slice(-2000);
      } catch {
        // none
      }
      if (printed) this.#log(`persistent terminal ${id}: its holder printed: ${printed}`);
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  async adopt(): Promise<FoundSession[]> {
    if (!existsSync(this.#root)) return [];
    const ids = readdirSync(this.#root).filter((name) => SESSION_ID.test(name));
    const found = await Promise.all(ids.map((id) => this.#adoptOne(id)));
    return found.filter((session) => session !== null);
  }

  async #adoptOne(id: string): Promise<FoundSession | null> {
    const dir = join(this.#root, id);
    const saved: Record<string, string> = {};
    for (const name of readdirSync(dir)) {
      if (name.startsWith(SAVED_PREFIX) && !name.endsWith('.tmp')) saved[name.slice(SAVED_PREFIX.length)] = readFileSync(join(dir, name), 'utf8');
    }
    const ids = readJson<{ holderPid?: number; cols?: number; rows?: number }>(join(dir, SESSION_FILES.holder));
    if (Object.keys(saved).length === 0 || ids === undefined) {
      // A create that failed half-way (or files from elsewhere): nothing to show.
      this.#log(`persistent terminal ${id}: incomplete session directory removed`);
      rmSync(dir, { recursive: true, force: true });
      return null;
    }
    const socketPath = join(dir, SESSION_FILES.socket);
    const result = existsSync(socketPath) ? await attach(dir, this.#log) : 'gone';
    if (result === 'busy') {
      this.#log(`persistent terminal ${id}: attached to another running server; left to it`);
      return null;
    }
    if (result instanceof HeldProcess) return { id, saved, pty: result };

    const holderPid = typeof ids.holderPid === 'number' && holderRuns(ids.holderPid, dir) ? ids.holderPid : null;
    if (result === 'silent') this.#log(`persistent terminal ${id}: its holder does not answer; shown as exited (DELETE ends it)`);
    else if (holderPid !== null) this.#log(`persistent terminal ${id}: its holder (pid ${holderPid}) runs but its socket is gone; shown as exited (DELETE ends it)`);
    else if (existsSync(socketPath) && lstatSync(socketPath).isSocket()) {
      rmSync(socketPath, { force: true });
      this.#log(`persistent terminal ${id}: removed the stale socket of its holder, which is gone`);
    }
    const size = { cols: typeof ids.cols === 'number' ? ids.cols : 80, rows: typeof ids.rows === 'number' ? ids.rows : 24 };
    return { id, saved, pty: new ExitedSession(dir, this.#logBytes(), size, holderPid) };
  }
}

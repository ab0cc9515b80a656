/**
 * The terminal manager: real PTYs from the runtime's PtyHost, each with a
 * bounded scrollback addressed by byte offsets, its exit status, and `run`.
 * Events go to subscribers synchronously, in the order things happen.
 * Persistent terminals (docs/persistent.md) get their PTY from a holder
 * process instead, and their state is saved beside its log for the next server.
 */
import { z } from 'zod';
import type { Limits } from '../config.ts';
import { TermgateError } from '../errors.ts';
import { randomHex } from '../hex.ts';
import type { FoundSession, HeldPty, PersistentSessions, PtyHost, PtyProcess, PtySpawnOptions, SystemInfo } from '../platform.ts';
import { LIMITS } from './limits.ts';
import { Runner } from './run.ts';
import { Scrollback } from './scrollback.ts';
import { SCAN_WINDOW, startOutside } from './shape.ts';
import { integratedShell, integrationLaunch } from './shell-integration/launch.ts';
import { OscScanner, stripIntegrationSequences, withoutLeadingControls } from './shell-integration/osc.ts';
import { SHELL_INTEGRATION_FILES } from './shell-integration/scripts.generated.ts';
import { INTEGRATION_PREFIXES, MAX_COMMAND_RECORDS, ShellTracker } from './shell-integration/tracker.ts';
import type {
  CommandOutput,
  CommandRecord,
  CreateTerminalOptions,
  OutputReader,
  OutputSlice,
  RunOptions,
  RunResult,
  TerminalEvent,
  TerminalInfo,
  TerminalManager,
} from './types.ts';
import { Utf8Chunker, decodeUtf8 } from './utf8.ts';

/** How long close() waits for a killed terminal to report its exit before forgetting it anyway. */
const CLOSE_WAIT_MS = 3000;
/** A persistent terminal's state is saved at most this often (and at shutdown). */
const SAVE_DELAY_MS = 250;
/** What a persistent terminal's holder keeps for the next server: the terminal, and its command records. */
const META_FILE = 'terminal.json';
const COMMANDS_FILE = 'commands.json';

/** The saved terminal (META_FILE): what a new server needs to show it again. It holds the nonce: the file is 0600. */
const SavedTerminal = z.object({
  name: z.string(),
  command: z.string(),
  args: z.array(z.string()),
  cwd: z.string(),
  createdAt: z.string(),
  integration: z.object({ dialect: z.enum(['posix', 'fish']), nonce: z.string() }).nullable(),
});
type SavedTerminal = z.infer<typeof SavedTerminal>;

/** The saved command records (COMMANDS_FILE), as tracker.records() gave them. */
const SavedRecords = z.array(
  z.object({
    seq: z.number().int(),
    command: z.string(),
    source: z.enum(['run', 'typed']),
    cwd: z.string(),
    startedAt: z.string(),
    finishedAt: z.string().nullable(),
    durationMs: z.number().nullable(),
    exitCode: z.number().int().nullable(),
    startOffset: z.number().int(),
    outputOffset: z.number().int(),
    endOffset: z.number().int().nullable(),
  }),
);

export interface TerminalManagerOptions {
  pty: PtyHost;
  /** Persistent terminals' holders; without them `persistent: true` is refused. */
  sessions?: PersistentSessions | undefined;
  /** The config's terminals.persistent, read at each create. */
  persistentByDefault?: (() => boolean) | undefined;
  system: SystemInfo;
  /** Read at each use, so limits changed in the config apply to new terminals. */
  limits: () => Readonly<Limits>;
  log: (line: string) => void;
}

interface Terminal {
  info: TerminalInfo;
  pty: PtyProcess;
  /** A persistent terminal's holder (the same object as pty). */
  held: HeldPty | undefined;
  /** A save of its state is due. */
  saveTimer: ReturnType<typeof setTimeout> | undefined;
  scrollback: Scrollback;
  chunker: Utf8Chunker;
  exited: Promise<void>;
  markExited: () => void;
  /** Set by the first close(): later calls wait for the same one. */
  closing: Promise<void> | undefined;
  /** Shell integration, when the shell was started with it: the sequences its hooks print, and what they say. */
  integration: { scanner: OscScanner; tracker: ShellTracker; pending: TerminalEvent[]; nonce: string } | undefined;
}

/** The TerminalManager over real PTYs (the runtime's PtyHost). */
export class PtyTerminalManager implements TerminalManager {
  readonly #options: TerminalManagerOptions;
  readonly #terminals = new Map<string, Terminal>();
  readonly #listeners = new Set<(event: TerminalEvent) => void>();
  /** Creations between the limit check and the spawn (create awaits validation). */
  #pendingCreates = 0;
  #counter = 0;
  #shuttingDown = false;
  /** Where the shell-integration scripts were written (once per server); null when they could not be. */
  #integrationDir: Promise<string | null> | undefined;

  /** `run`, built on output events and a PTY write, so it owns no part of a terminal. */
  readonly #runner: Runner;

  constructor(options: TerminalManagerOptions) {
    this.#options = options;
    this.#runner = new Runner(
      {
        get: (id) => this.get(id),
        write: (id, data) => this.#live(id).pty.write(data),
        outputEnd: (id) => this.outputEnd(id),
        subscribe: (listener) => this.subscribe(listener),
        commandOutput: (id, seq) => this.commandOutput(id, seq),
        shell: (id) => this.#find(id).integration?.tracker ?? null,
        foreground: (id) => options.system.foregroundProcess(this.#find(id).info.pid),
      },
      () => options.limits().scrollbackBytes,
    );
  }

  list(): TerminalInfo[] {
    return [...this.#terminals.values()].map((terminal) => ({ ...terminal.info }));
  }

  get(id: string): TerminalInfo {
    return { ...this.#find(id).info };
  }

  #find(id: string): Terminal {
    const terminal = this.#terminals.get(id);
    if (!terminal) throw new TermgateError('not_found', `terminal ${JSON.stringify(id)} not found`);
    return terminal;
  }

  #live(id: string): Terminal {
    const terminal = this.#find(id);
    if (terminal.closing) throw new TermgateError('conflict', `terminal ${id} is being closed`);
    if (terminal.info.exited) {
      throw new TermgateError('conflict', `terminal ${id} has exited (code ${terminal.info.exitCode}); close it (MCP close_terminal, REST DELETE) and create another`);
    }
    return terminal;
  }

  #checkCapacity(): void {
    if (this.#shuttingDown) throw new TermgateError('conflict', 'the server is shutting down');
    const max = this.#options.limits().maxTerminals;
    if (this.#terminals.size + this.#pendingCreates >= max) {
      throw new TermgateError('too_many_terminals', `at most ${max} terminals at once; close some first (MCP close_terminal, REST DELETE /api/terminals/:id)`);
    }
  }

  async create(options: CreateTerminalOptions): Promise<TerminalInfo> {
    this.#checkCapacity();
    const persistent = options.persistent ?? this.#options.persistentByDefault?.() ?? false;
    const sessions = this.#options.sessions;
    if (persistent && !sessions) throw new TermgateError('bad_request', 'persistent: this server cannot keep terminals beyond its life (no holder for this runtime)');
    this.#pendingCreates++;
    let terminal: Terminal;
    try {
      const { system } = this.#options;
      const env = { ...system.baseEnv(), ...options.env };
      const cwd = options.cwd ?? system.homeDir();
      const command = options.command ?? system.defaultShell();
      const [isDirectory, resolved] = await Promise.all([system.isDirectory(cwd), system.resolveCommand(command, env)]);
      if (!isDirectory) throw new TermgateError('bad_request', `cwd: no such directory: ${cwd}`);
      if (resolved === null) throw new TermgateError('bad_request', `command: not found (or not executable): ${command}`);
      if (this.#shuttingDown) throw new TermgateError('conflict', 'the server is shutting down');

      const cols = options.cols ?? LIMITS.defaultCols;
      const rows = options.rows ?? LIMITS.defaultRows;
      const args = options.args ?? [];
      const shell = options.shellIntegration === false ? null : integratedShell(resolved);
      const dir = shell ? await this.#shellIntegrationDir() : null;
      const nonce = randomHex(16);
      const launch = shell && dir !== null ? integrationLaunch(shell, args, env, dir, nonce) : null;
      if (this.#shuttingDown) throw new TermgateError('conflict', 'the server is shutting down');
      const id = randomHex(8);
      this.#counter++;
      const saved: SavedTerminal = {
        name: options.name ?? `terminal-${this.#counter}`,
        command,
        args,
        cwd,
        createdAt: new Date().toISOString(),
        integration: launch ? { dialect: shell === 'fish' ? 'fish' : 'posix', nonce } : null,
      };
      const spawnOptions: PtySpawnOptions = { command: resolved, args: launch?.args ?? args, cwd, env: launch?.env ?? env, cols, rows };
      let pty: PtyProcess;
      let held: HeldPty | undefined;
      try {
        if (persistent) {
          held = await sessions!.spawn(id, spawnOptions, this.#options.limits().scrollbackBytes, { [META_FILE]: JSON.stringify(saved) });
          pty = held;
        } else {
          pty = this.#options.pty.spawn(spawnOptions);
        }
      } catch (error) {
        if (error instanceof TermgateError) throw error;
        throw new TermgateError('bad_request', `command: could not start ${command}: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (held && this.#shuttingDown) {
        held.kill();
        void held.remove();
        throw new TermgateError('conflict', 'the server is shutting down');
      }
      terminal = this.#terminal(id, saved, pty, held, { cols, rows, start: held?.startOffset ?? 0, restored: false });
      this.#register(terminal);
    } finally {
      this.#pendingCreates--;
    }
    this.#emit({ type: 'terminal.created', terminalId: terminal.info.id, terminal: { ...terminal.info } });
    return { ...terminal.info };
  }

  /** A terminal as the manager keeps it (not yet registered). */
  #terminal(id: string, saved: SavedTerminal, pty: PtyProcess, held: HeldPty | undefined, at: { cols: number; rows: number; start: number; restored: boolean }): Terminal {
    let markExited!: () => void;
    const exited = new Promise<void>((resolve) => (markExited = resolve));
    const terminal: Terminal = {
      info: {
        id,
        name: saved.name,
        command: saved.command,
        args: saved.args,
        cwd: saved.cwd,
        cols: at.cols,
        rows: at.rows,
        pid: pty.pid,
        createdAt: saved.createdAt,
        exited: false,
        exitCode: null,
        shellIntegration: 'none',
        persistent: held !== undefined,
        restored: at.restored,
      },
      pty,
      held,
      saveTimer: undefined,
      scrollback: new Scrollback(this.#options.limits().scrollbackBytes, at.start),
      chunker: new Utf8Chunker(),
      exited,
      markExited,
      closing: undefined,
      integration: undefined,
    };
    if (saved.integration) {
      const { dialect, nonce } = saved.integration;
      terminal.integration = { scanner: new OscScanner(INTEGRATION_PREFIXES), tracker: this.#tracker(terminal, dialect, nonce), pending: [], nonce };
    }
    return terminal;
  }

  /** Adds the terminal and follows its PTY: output into the scrollback, then the exit. */
  #register(terminal: Terminal): void {
    const { id } = terminal.info;
    this.#terminals.set(id, terminal);
    terminal.pty.onData((chunk) => this.#output(terminal, terminal.chunker.push(chunk)));
    terminal.pty.onExit((code, signal) => {
      this.#output(terminal, terminal.chunker.flush());
      terminal.info.exited = true;
      // Killed by a signal: report it as a shell would ($? = 128 + signal number).
      terminal.info.exitCode = signal ? 128 + signal : code;
      terminal.integration?.tracker.exited(terminal.info.exitCode, terminal.scrollback.end);
      this.#flushCommandEvents(terminal);
      this.#emit({ type: 'terminal.exit', terminalId: id, exitCode: terminal.info.exitCode, signal });
      terminal.markExited();
    });
  }

  /**
   * Takes over what a previous server left under the sessions directory. The
   * output the holder kept arrives through onData before it returns, so the
   * shell's records are rebuilt from it; then the saved ones put back what the
   * last server knew of them (times, run's commands).
   */
  async adopt(): Promise<void> {
    const sessions = this.#options.sessions;
    if (!sessions) return;
    let found: FoundSession[];
    try {
      found = await sessions.adopt();
    } catch (error) {
      this.#options.log(`persistent terminals: could not look for them (${error instanceof Error ? error.message : String(error)})`);
      return;
    }
    for (const session of found) {
      try {
        this.#restore(session);
      } catch (error) {
        this.#terminals.delete(session.id);
        session.pty.detach();
        this.#options.log(`persistent terminal ${session.id}: could not restore it, left as it is (${error instanceof Error ? error.message : String(error)})`);
      }
    }
  }

  #restore({ id, saved, pty }: FoundSession): void {
    if (this.#terminals.has(id)) throw new Error('a terminal with this id exists');
    const meta = SavedTerminal.parse(JSON.parse(saved[META_FILE] ?? 'null'));
    const terminal = this.#terminal(id, meta, pty, pty, { cols: pty.cols, rows: pty.rows, start: pty.startOffset, restored: true });
    this.#register(terminal);
    const records = saved[COMMANDS_FILE];
    if (terminal.integration && records !== undefined) {
      const parsed = SavedRecords.safeParse(JSON.parse(records));
      if (parsed.success) terminal.integration.tracker.restore(parsed.data);
      else this.#options.log(`persistent terminal ${id}: its saved command records are unreadable; rebuilt from its log only`);
    }
    // Events of the replay had no one to go to.
    if (terminal.integration) terminal.integration.pending.length = 0;
    const number = /^terminal-(\d+)$/.exec(meta.name)?.[1];
    if (number !== undefined) this.#counter = Math.max(this.#counter, Number(number));
    this.#emit({ type: 'terminal.created', terminalId: id, terminal: { ...terminal.info } });
  }

  /** Saves a persistent terminal's state soon (several changes, one write). */
  #saveSoon(terminal: Terminal): void {
    if (!terminal.held || terminal.saveTimer !== undefined || terminal.closing) return;
    terminal.saveTimer = setTimeout(() => {
      terminal.saveTimer = undefined;
      this.#save(terminal);
    }, SAVE_DELAY_MS);
  }

  #save(terminal: Terminal): void {
    clearTimeout(terminal.saveTimer);
    terminal.saveTimer = undefined;
    const { held, info, integration } = terminal;
    if (!held) return;
    const saved: SavedTerminal = {
      name: info.name,
      command: info.command,
      args: info.args,
      cwd: info.cwd,
      createdAt: info.createdAt,
      integration: integration ? { dialect: integration.tracker.dialect, nonce: integration.nonce } : null,
    };
    try {
      held.save(META_FILE, JSON.stringify(saved));
      if (integration) held.save(COMMANDS_FILE, JSON.stringify(integration.tracker.records()));
    } catch (error) {
      this.#options.log(`persistent terminal ${info.id}: could not save its state (${error instanceof Error ? error.message : String(error)})`);
    }
  }

  #output(terminal: Terminal, bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    const offset = terminal.scrollback.end;
    terminal.scrollback.write(bytes);
    const content = decodeUtf8(bytes);
    // The shell's state is read before the output event (a run waiting for the prompt sees it there);
    // the command events go out after it, so they follow the output they describe.
    if (terminal.integration) for (const osc of terminal.integration.scanner.push(bytes, offset)) terminal.integration.tracker.handle(osc);
    this.#emit({ type: 'output.data', terminalId: terminal.info.id, content, offset, next: offset + bytes.length });
    this.#flushCommandEvents(terminal);
  }

  #flushCommandEvents(terminal: Terminal): void {
    const pending = terminal.integration?.pending;
    if (!pending?.length) return;
    for (const event of pending.splice(0)) this.#emit(event);
  }

  #tracker(terminal: Terminal, dialect: 'posix' | 'fish', nonce: string): ShellTracker {
    const terminalId = terminal.info.id;
    return new ShellTracker(dialect, nonce, terminal.info.cwd, {
      started: (command) => {
        terminal.integration?.pending.push({ type: 'command.started', terminalId, command });
        this.#saveSoon(terminal);
      },
      finished: (command) => {
        terminal.integration?.pending.push({ type: 'command.finished', terminalId, command });
        this.#saveSoon(terminal);
      },
      active: () => (terminal.info.shellIntegration = 'active'),
      cwd: (dir) => {
        terminal.info.cwd = dir;
        this.#saveSoon(terminal);
      },
    });
  }

  #shellIntegrationDir(): Promise<string | null> {
    this.#integrationDir ??= this.#options.system.installFiles('shell-integration', SHELL_INTEGRATION_FILES).catch((error: unknown) => {
      this.#options.log(`shell integration is off: could not write its scripts (${error instanceof Error ? error.message : String(error)})`);
      return null;
    });
    return this.#integrationDir;
  }

  #emit(event: TerminalEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#options.log(`terminal event listener failed: ${String(error)}`);
      }
    }
  }

  input(id: string, data: string): void {
    const terminal = this.#live(id);
    const max = this.#options.limits().maxInputBytes;
    // A UTF-8 byte is at least a third of a UTF-16 unit, so the cheap check rules out most cases.
    if (data.length > max || (data.length * 3 > max && new TextEncoder().encode(data).length > max)) {
      throw new TermgateError('payload_too_large', `data: larger than the input limit of ${max} bytes`);
    }
    terminal.pty.write(data);
    terminal.integration?.tracker.input(data);
  }

  resize(id: string, cols: number, rows: number): void {
    const terminal = this.#live(id);
    terminal.pty.resize(cols, rows);
    terminal.info.cols = cols;
    terminal.info.rows = rows;
    this.#saveSoon(terminal);
    this.#emit({ type: 'terminal.resized', terminalId: id, cols, rows });
  }

  close(id: string): Promise<void> {
    const terminal = this.#find(id);
    // Started a microtask later, so `closing` is set before anything (the closed event) can call back in.
    terminal.closing ??= Promise.resolve().then(() => this.#close(id, terminal));
    return terminal.closing;
  }

  /**
   * Kills the terminal, then announces and forgets it. It stays readable until
   * its closed event has gone out, so a subscriber that is behind can take a
   * reader of its scrollback for the output it is still owed.
   */
  async #close(id: string, terminal: Terminal): Promise<void> {
    try {
      if (!terminal.info.exited) {
        terminal.pty.kill();
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([terminal.exited, new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)))]);
        clearTimeout(timer);
        if (!terminal.info.exited) this.#options.log(`terminal ${id} (pid ${terminal.info.pid}) did not report its exit after kill`);
      }
      if (terminal.held) {
        clearTimeout(terminal.saveTimer);
        await terminal.held.remove();
      }
    } finally {
      this.#emit({ type: 'terminal.closed', terminalId: id });
      this.#terminals.delete(id);
    }
  }

  read(id: string, since = 0, maxBytes = Infinity): OutputSlice {
    return readScrollback(this.#find(id).scrollback, since, maxBytes);
  }

  readTail(id: string, maxBytes: number): OutputSlice {
    const { scrollback } = this.#find(id);
    const from = Math.max(scrollback.start, scrollback.end - maxBytes);
    // Inside a character or an escape sequence: start after it, so the answer stays within
    // maxBytes and never begins with the rest of a sequence (shown as text, "33;B;tg=…").
    // A sequence that holds `from` starts and ends within SCAN_WINDOW of it: only that much is looked at.
    const lookback = Math.max(scrollback.start, from - SCAN_WINDOW);
    const around = scrollback.slice(lookback, Math.min(scrollback.end, from + SCAN_WINDOW));
    const start = lookback + startOutside(around, from - lookback);
    return readScrollback(scrollback, start, Infinity);
  }

  reader(id: string): OutputReader {
    const { scrollback } = this.#find(id);
    return (since = 0, maxBytes = Infinity) => readScrollback(scrollback, since, maxBytes);
  }

  run(id: string, command: string, options: RunOptions = {}): Promise<RunResult> {
    this.#find(id);
    return this.#runner.run(id, command, options);
  }

  commands(id: string, since = 0): CommandRecord[] {
    return this.#find(id).integration?.tracker.records(since) ?? [];
  }

  commandOutput(id: string, seq: number): CommandOutput {
    const record = this.command(id, seq);
    const { scrollback } = this.#find(id);
    const end = record.endOffset ?? scrollback.end;
    // What is still held of [outputOffset, end): its start may have left the scrollback already.
    const from = Math.max(record.outputOffset, scrollback.start);
    const dropped = from - record.outputOffset;
    const slice =
      end > from
        ? { ...readScrollback(scrollback, from, end - from), dropped }
        : { data: '', since: Math.max(from, end), next: Math.max(from, end), dropped: Math.min(dropped, Math.max(0, end - record.outputOffset)) };
    let data = stripIntegrationSequences(slice.data);
    if (dropped === 0 && this.#find(id).integration?.tracker.dialect === 'fish') data = withoutLeadingControls(data);
    return { ...slice, data, exitCode: record.exitCode, running: record.endOffset === null };
  }

  command(id: string, seq: number): CommandRecord {
    const record = this.#find(id).integration?.tracker.record(seq);
    if (!record) throw new TermgateError('not_found', `command ${seq} of terminal ${id} not found (records keep the newest ${MAX_COMMAND_RECORDS})`);
    return record;
  }

  outputEnd(id: string): number {
    return this.#find(id).scrollback.end;
  }

  subscribe(listener: (event: TerminalEvent) => void): () => void {
    // Wrapped so one function can subscribe twice and unsubscribe each separately.
    const entry = (event: TerminalEvent) => listener(event);
    this.#listeners.add(entry);
    return () => this.#listeners.delete(entry);
  }

  async closeAll(): Promise<void> {
    this.#shuttingDown = true;
    // Persistent ones are let go, still running, with their state saved for the next server.
    for (const [id, terminal] of this.#terminals) {
      if (!terminal.held || terminal.closing) continue;
      this.#save(terminal);
      terminal.held.detach();
      this.#terminals.delete(id);
    }
    await Promise.all([...this.#terminals.keys()].map((id) => this.close(id).catch(() => undefined)));
  }
}

function readScrollback(scrollback: Scrollback, since: number, maxBytes: number): OutputSlice {
  if (!Number.isSafeInteger(since) || since < 0) throw new TermgateError('bad_request', 'since: must be a non-negative integer offset');
  if (since > scrollback.end) {
    throw new TermgateError('bad_request', `since: ${since} is past the end of this terminal's output (${scrollback.end})`);
  }
  const from = since < scrollback.start ? scrollback.start : scrollback.characterStart(since);
  let to = scrollback.end;
  if (maxBytes < to - from) {
    // Stop at a character boundary; a limit smaller than the first character still returns it whole.
    to = scrollback.characterStart(from + maxBytes);
    if (to === from) to = scrollback.characterEnd(from);
  }
  return {
    data: decodeUtf8(scrollback.slice(from, to)),
    since: from,
    next: to,
    dropped: Math.max(0, scrollback.start - since),
  };
}

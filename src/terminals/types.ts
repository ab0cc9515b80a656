/**
 * The terminal manager's contract, shared by the REST routes, the WebSocket
 * protocol and (through REST) the MCP sidecar.
 *
 * Offsets count bytes of a terminal's output stream from its start and only
 * grow. Text handed out always holds whole UTF-8 characters: `next` never
 * points inside a character.
 */

export interface TerminalInfo {
  id: string;
  name: string;
  command: string;
  args: string[];
  cwd: string;
  cols: number;
  rows: number;
  pid: number;
  createdAt: string;
  exited: boolean;
  exitCode: number | null;
  /** "active" once the shell's hooks report its prompt; "none" before that, and for every other program. */
  shellIntegration: 'active' | 'none';
  /** Held by a process of its own, so it outlives the server (docs/persistent.md). */
  persistent: boolean;
  /** Re-attached by this server after the one that created it stopped. */
  restored: boolean;
}

/** One command, typed or run, as the shell's integration reported it (docs/terminals.md). */
export interface CommandRecord {
  seq: number;
  command: string;
  source: 'run' | 'typed';
  /** The shell's directory when it started. */
  cwd: string;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  exitCode: number | null;
  /** Where the typed command line starts in the output (the prompt's end). */
  startOffset: number;
  /** Where its output starts. */
  outputOffset: number;
  /** Where its output ends (null while it runs). */
  endOffset: number | null;
}


export interface CreateTerminalOptions {
  command?: string | undefined;
  args?: string[] | undefined;
  cwd?: string | undefined;
  env?: Record<string, string> | undefined;
  cols?: number | undefined;
  rows?: number | undefined;
  name?: string | undefined;
  /** false: start a shell without termgate's shell integration (default true). */
  shellIntegration?: boolean | undefined;
  /** true: the terminal outlives the server (default: the config's terminals.persistent). */
  persistent?: boolean | undefined;
}

/** Output read from scrollback: `data` covers offsets [since, next). */
export interface OutputSlice {
  data: string;
  since: number;
  next: number;
  /** Bytes between the requested offset and `since` that had already left the scrollback. */
  dropped: number;
}

export interface RunResult {
  /** The command's record (with shell integration); null under the marker method. */
  seq: number | null;
  /** Still running: detached at its timeout, or it ignored the timeout's Ctrl-C (a REPL). The result is read later from its record. */
  running: boolean;
  /** What the command printed: `\n` line endings, trailing newlines removed (as `$(…)` does). */
  output: string;
  /** Its exit status; null when it timed out. */
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
  /** Not all of the output is here: the scrollback lost its start, or (when shaped) maxBytes cut its middle. */
  truncated: boolean;
}

export type TerminalEvent =
  | { type: 'terminal.created'; terminalId: string; terminal: TerminalInfo }
  | { type: 'output.data'; terminalId: string; content: string; offset: number; next: number }
  | { type: 'terminal.resized'; terminalId: string; cols: number; rows: number }
  | { type: 'terminal.exit'; terminalId: string; exitCode: number | null; signal: number | null }
  | { type: 'terminal.closed'; terminalId: string }
  | { type: 'command.started'; terminalId: string; command: CommandRecord }
  | { type: 'command.finished'; terminalId: string; command: CommandRecord };

/** A command's output: the scrollback range of its record; `dropped` when its start already left the scrollback. */
export interface CommandOutput extends OutputSlice {
  exitCode: number | null;
  running: boolean;
}

export interface RunOptions {
  timeoutMs?: number | undefined;
  /** Let the command outlive timeoutMs (needs shell integration). */
  detach?: boolean | undefined;
}

export type OutputReader = (since?: number, maxBytes?: number) => OutputSlice;

export interface TerminalManager {
  list(): TerminalInfo[];
  /** Throws TermgateError not_found for an unknown id (likewise below). */
  get(id: string): TerminalInfo;
  /** Validates (cwd exists, command resolves, limits) and spawns a real PTY. */
  create(options: CreateTerminalOptions): Promise<TerminalInfo>;
  input(id: string, data: string): void;
  resize(id: string, cols: number, rows: number): void;
  /** Kills the terminal's whole session, emits terminal.closed (while it can still be read), then forgets it. */
  close(id: string): Promise<void>;
  /**
   * Output from `since` (default 0, the stream's start: `dropped` then says how
   * much already left the scrollback), at most `maxBytes` (default: all held).
   * Throws bad_request for an offset past the end.
   */
  read(id: string, since?: number, maxBytes?: number): OutputSlice;
  /** The last `maxBytes` bytes of output (fewer when held output is shorter), starting on a whole character. */
  readTail(id: string, maxBytes: number): OutputSlice;
  /**
   * `read` bound to one terminal's scrollback, still working after the
   * terminal is closed: taken when it closes, for output a subscriber is still
   * owed. The scrollback lives as long as the reader is referenced.
   */
  reader(id: string): OutputReader;
  run(id: string, command: string, options?: RunOptions): Promise<RunResult>;
  /** The terminal's command records after `since` (a seq), oldest first; empty without shell integration. */
  commands(id: string, since?: number): CommandRecord[];
  /** One record; throws not_found when it is unknown (or already left the newest MAX_COMMAND_RECORDS). */
  command(id: string, seq: number): CommandRecord;
  /** A record's output (so far, while it runs), shell-integration sequences removed. */
  commandOutput(id: string, seq: number): CommandOutput;
  /** The offset after the last byte of output (0 when nothing was printed yet), without reading any. */
  outputEnd(id: string): number;
  /**
   * Every event of every terminal, delivered synchronously as it happens, so
   * `read(id, since)` followed by `subscribe` in the same tick has no gap.
   * Returns the unsubscribe function.
   */
  subscribe(listener: (event: TerminalEvent) => void): () => void;
  /**
   * Takes over the persistent terminals a previous server left (at start,
   * before the first request): same ids, names and offsets.
   */
  adopt(): Promise<void>;
  /** Kills every terminal (shutdown); persistent ones are let go instead, still running. */
  closeAll(): Promise<void>;
}

/**
 * Follows one integrated shell through the sequences its hooks print (see
 * the scripts beside this file) and keeps the terminal's command records.
 *
 * Only sequences carrying the terminal's nonce count: a program that prints
 * `ESC ] 133 ; D ; 0 BEL` (or a copy of ours with another nonce) cannot end
 * a command, fake an exit code or claim the shell is at its prompt. The
 * sequences, in the order a shell prints them:
 *
 *   133;D;<status>;tg=N   the command before finished (also at the first prompt, and after Ctrl-C)
 *   7770;cwd;N;<dir>      the shell's current directory
 *   133;A;tg=N            the prompt starts
 *   133;B;tg=N            the prompt ends: what follows is typed
 *   7770;cmd;N;<line>     the command line about to run (escaped: \\ \x3b \x0a …)
 *   7770;hist;N;<line>    bash's instead: its history line, unescaped
 *   133;C;tg=N            its output starts
 */
import type { CommandRecord } from '../types.ts';
import type { Osc } from './osc.ts';

/** Records kept per terminal: the newest. */
export const MAX_COMMAND_RECORDS = 1000;

export const INTEGRATION_PREFIXES = ['133;', '7770;'] as const;

export type ShellState = 'starting' | 'prompt' | 'running';

/**
 * What was typed at the shown prompt through termgate (input, keys, the
 * dashboard; run's own typing is not counted): nothing, text still on the
 * command line, or a line ended with Enter (a new prompt is on its way).
 */
export type TypedAtPrompt = 'nothing' | 'text' | 'entered';

export interface TrackerEvents {
  started(record: CommandRecord): void;
  finished(record: CommandRecord): void;
  /** The shell printed its first prompt through the hooks: integration is live. */
  active(): void;
  cwd(dir: string): void;
}

export class ShellTracker {
  /** How the shell groups lines into one command (fish: begin … end; the others: { … }). */
  readonly dialect: 'posix' | 'fish';
  readonly #nonce: string;
  readonly #events: TrackerEvents;
  readonly #records: CommandRecord[] = [];
  #seq = 0;
  #state: ShellState = 'starting';
  #active = false;
  #cwd: string;
  /** Where the typed command line starts (the prompt's end), in this prompt cycle. */
  #inputStart: number | null = null;
  #commandLine: string | null = null;
  /** The next command is `run`'s, with this text (the shell's history may not hold it). */
  #claim: string | null = null;
  #current: CommandRecord | null = null;
  #typed: TypedAtPrompt = 'nothing';

  constructor(dialect: 'posix' | 'fish', nonce: string, cwd: string, events: TrackerEvents) {
    this.dialect = dialect;
    this.#nonce = nonce;
    this.#cwd = cwd;
    this.#events = events;
  }

  get active(): boolean {
    return this.#active;
  }

  get state(): ShellState {
    return this.#state;
  }

  get typedAtPrompt(): TypedAtPrompt {
    return this.#typed;
  }

  /**
   * Input written to the PTY by someone other than run. Outside a running
   * command (at the prompt, or typed ahead of it between a command's end and
   * the next prompt) it may leave text on the command line, which a run would
   * join. Only its last key tells what is left: Ctrl-U kills the line; Enter
   * or Ctrl-C ends it (a command or a fresh prompt follows); anything else is
   * text, until one of those keys. Input while a command runs is that command's.
   */
  input(data: string): void {
    if (data === '' || (this.#state === 'running' && this.#current !== null)) return;
    const last = data[data.length - 1];
    this.#typed = last === '\x15' ? 'nothing' : last === '\r' || last === '\n' || last === '\x03' ? 'entered' : 'text';
  }

  /** The command running now, if any. */
  get current(): CommandRecord | null {
    return this.#current;
  }

  /** Marks the next command the shell starts as `run`'s, recorded under `command` (null: no longer). */
  claimNext(command: string | null): void {
    this.#claim = command;
  }

  records(since = 0): CommandRecord[] {
    return this.#records.filter((record) => record.seq > since).map((record) => ({ ...record }));
  }

  record(seq: number): CommandRecord | undefined {
    const found = this.#records.find((record) => record.seq === seq);
    return found && { ...found };
  }

  handle(osc: Osc): void {
    const parts = osc.payload.split(';');
    if (parts[0] === '133') return this.#mark(parts, osc);
    if (parts[0] !== '7770' || parts[2] !== this.#nonce) return;
    const value = parts.slice(3).join(';');
    switch (parts[1]) {
      case 'cwd':
        this.#cwd = unescape(value);
        this.#events.cwd(this.#cwd);
        break;
      case 'cmd':
        this.#commandLine = unescape(value);
        break;
      case 'hist':
        // bash: its history line as `history 1` prints it, "  12  make test\n" (unescaped: escaping would cost bash a fork).
        this.#commandLine = value.replace(/^\s*\d+\*?\s+/, '').replace(/\r?\n$/, '');
        break;
    }
  }

  #mark(parts: string[], osc: Osc): void {
    const kind = parts[1];
    if (parts[parts.length - 1] !== `tg=${this.#nonce}`) return;
    switch (kind) {
      case 'A':
        this.#state = 'prompt';
        this.#inputStart = null;
        // A new prompt after an ended line; text typed ahead (or a redrawn prompt's line) stays.
        if (this.#typed === 'entered') this.#typed = 'nothing';
        if (!this.#active) {
          this.#active = true;
          this.#events.active();
        }
        break;
      case 'B':
        this.#state = 'prompt';
        this.#inputStart = osc.end;
        break;
      case 'C':
        this.#start(osc);
        break;
      case 'D':
        // zsh's PROMPT_EOL_MARK holds "%?" until it is expanded: echoed as text it is no status.
        if (parts.length === 4 && /^\d+$/.test(parts[2]!)) this.#finish(Number(parts[2]), osc.start);
        break;
    }
  }

  #start(osc: Osc): void {
    // A C without a D before it: the shell lost track (a crash of a hook); close the old one unknown.
    if (this.#current) this.#finish(null, osc.start);
    const claimed = this.#claim;
    this.#claim = null;
    const record: CommandRecord = {
      seq: ++this.#seq,
      command: claimed ?? this.#commandLine ?? '',
      source: claimed !== null ? 'run' : 'typed',
      cwd: this.#cwd,
      startedAt: new Date().toISOString(),
      finishedAt: null,
      durationMs: null,
      exitCode: null,
      startOffset: this.#inputStart ?? osc.start,
      outputOffset: osc.end,
      endOffset: null,
    };
    this.#commandLine = null;
    this.#state = 'running';
    if (this.#typed === 'entered') this.#typed = 'nothing';
    this.#current = record;
    this.#records.push(record);
    if (this.#records.length > MAX_COMMAND_RECORDS) this.#records.splice(0, this.#records.length - MAX_COMMAND_RECORDS);
    this.#events.started({ ...record });
  }

  /** Ends the running command (if any) at `offset`: by the shell's D, or by the shell's own exit. */
  #finish(exitCode: number | null, offset: number): void {
    const record = this.#current;
    if (!record) return;
    this.#current = null;
    const now = Date.now();
    record.finishedAt = new Date(now).toISOString();
    record.durationMs = now - Date.parse(record.startedAt);
    record.exitCode = Number.isSafeInteger(exitCode) ? exitCode : null;
    record.endOffset = offset;
    this.#events.finished({ ...record });
  }

  /**
   * A persistent terminal taken over by a new server (docs/persistent.md): the
   * records rebuilt by reading its log again get back what the last server
   * knew of them (seq, times, source, a run's command text), matched by where
   * their output starts; those whose output already left the log are kept as
   * saved; those from while no server ran are numbered after them.
   */
  restore(saved: readonly CommandRecord[]): void {
    const byOffset = new Map(saved.map((record) => [record.outputOffset, record]));
    const first = this.#records[0]?.outputOffset ?? Infinity;
    const older = saved.filter((record) => record.outputOffset < first && !this.#records.some((r) => r.outputOffset === record.outputOffset));
    let seq = Math.max(0, ...saved.map((record) => record.seq));
    for (const record of this.#records) {
      const known = byOffset.get(record.outputOffset);
      if (!known) {
        record.seq = ++seq;
        continue;
      }
      record.seq = known.seq;
      record.command = known.command;
      record.source = known.source;
      record.cwd = known.cwd;
      record.startedAt = known.startedAt;
      // The saved one saw the prompt's end, which a log cut inside the prompt no longer holds.
      record.startOffset = known.startOffset;
      if (known.finishedAt !== null && record.finishedAt !== null) {
        record.finishedAt = known.finishedAt;
        record.durationMs = known.durationMs;
      } else if (record.finishedAt !== null) {
        // It finished while no server ran: when is known only to be before the take-over.
        record.durationMs = Date.parse(record.finishedAt) - Date.parse(record.startedAt);
      }
    }
    this.#records.unshift(...older.map((record) => ({ ...record })));
    this.#records.sort((a, b) => a.seq - b.seq);
    if (this.#records.length > MAX_COMMAND_RECORDS) this.#records.splice(0, this.#records.length - MAX_COMMAND_RECORDS);
    this.#seq = Math.max(seq, ...this.#records.map((record) => record.seq));
  }

  /** The shell exited: a command still running ended with it (`exit 3` is its own record's status). */
  exited(exitCode: number | null, offset: number): void {
    this.#finish(exitCode, offset);
    this.#state = 'starting';
  }
}

/** Undoes the hooks' escaping: `\\` and `\xNN`. */
function unescape(text: string): string {
  return text.replace(/\\(\\|x[0-9a-fA-F]{2})/g, (_, code: string) => (code === '\\' ? '\\' : String.fromCharCode(Number.parseInt(code.slice(1), 16))));
}

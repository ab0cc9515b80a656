/**
 * `run`: one command line typed into a terminal's shell, and its result.
 *
 * With shell integration (src/terminals/shell-integration/) the command is
 * typed as it is, and the shell's own hooks report where its output starts
 * and ends and its exit status: a person watching sees only the command, and
 * the result is the command's record. Without it (sh, dash, a shell whose rc
 * replaced it), the marker method below is used.
 *
 * The marker method: markers that
 * tell where its output starts and ends and what its exit status was.
 *
 * The markers are OSC escape sequences (ESC ] 7770 ; … BEL) carrying a random
 * id: terminal emulators (xterm.js in the dashboard) ignore unknown OSC
 * sequences, so a person watching sees only the typed line, and the typed
 * line itself cannot match because printf receives the escapes as `\033`
 * text. Everything before the start marker (the echo of the typed line, the
 * prompt) and the markers themselves are cut from the result.
 *
 * The command goes inside `{ …⏎}` on its own line, so a trailing comment,
 * `&` or `;` in it cannot swallow the end marker, and the shell parses the
 * whole line before running any of it (a command that reads stdin cannot eat
 * the marker).
 */
import { TermgateError } from '../errors.ts';
import { randomHex } from '../hex.ts';
import type { ForegroundProcess } from '../platform.ts';
import type { ShellTracker } from './shell-integration/tracker.ts';
import type { CommandOutput, CommandRecord, RunOptions, RunResult, TerminalEvent, TerminalInfo } from './types.ts';
import { LIMITS } from './limits.ts';

export type ShellFlavor = 'posix' | 'fish';

const POSIX_SHELLS = new Set(['sh', 'bash', 'zsh', 'dash', 'ksh', 'mksh', 'ash', 'yash', 'posh', 'busybox']);

/** Which marker dialect a terminal's command speaks, or null when it is not a shell we can drive. */
export function shellFlavor(command: string): ShellFlavor | null {
  const name = (command.split('/').pop() ?? command).replace(/^-/, '');
  if (POSIX_SHELLS.has(name)) return 'posix';
  if (name === 'fish') return 'fish';
  return null;
}

const OSC = '\x1b]7770;';
const BEL = '\x07';

export interface RunScript {
  /** What to write to the PTY. */
  input: string;
  /** The start marker as it appears in the output. */
  start: string;
  /** Matches the end marker; group 1 is the exit status. */
  end: RegExp;
}

export function runScript(command: string, flavor: ShellFlavor, id: string = randomHex(8)): RunScript {
  const start = `${OSC}S;${id}${BEL}`;
  const printStart = `printf '\\033]7770;S;${id}\\007'`;
  const printEnd = `printf '\\033]7770;E;${id};%s\\007'`;
  // The leading space keeps the line out of history where HISTCONTROL=ignorespace.
  // (No Ctrl-U to clear half-typed input first: readline rings the bell on an
  // empty line, and shells without line editing would take it literally.)
  const input =
    flavor === 'fish'
      ? ` ${printStart}; begin; ${command}\nend; ${printEnd} $status\r`
      : ` ${printStart}; { ${command}\n}; ${printEnd} "$?"\r`;
  return { input, start, end: new RegExp(`\\x1b\\]7770;E;${id};(\\d+)\\x07`) };
}

/**
 * Output as an agent wants it: line endings as `\n` (a PTY sends `\r\n`) and
 * trailing newlines removed, as `$(command)` would.
 */
export function cleanOutput(text: string): string {
  return text.replace(/\r+\n/g, '\n').replace(/\n+$/, '');
}

/**
 * Follows a terminal's output text while a run is in flight: finds the start
 * marker, collects what follows (keeping at most `maxChars`, the newest), and
 * spots the end marker.
 */
export class RunCollector {
  readonly #script: RunScript;
  readonly #maxChars: number;
  #before = '';
  #started = false;
  #output = '';
  #truncated = false;
  #exitCode: number | null = null;
  #done = false;

  constructor(script: RunScript, maxChars: number) {
    this.#script = script;
    this.#maxChars = maxChars;
  }

  get done(): boolean {
    return this.#done;
  }

  get exitCode(): number | null {
    return this.#exitCode;
  }

  get truncated(): boolean {
    return this.#truncated;
  }

  /** The command's output so far, markers excluded. */
  get output(): string {
    return cleanOutput(this.#output);
  }

  push(text: string): void {
    if (this.#done) return;
    if (!this.#started) {
      this.#before += text;
      const at = this.#before.indexOf(this.#script.start);
      if (at < 0) {
        // Keep only a tail long enough to hold a split marker.
        if (this.#before.length > 4096) this.#before = this.#before.slice(-this.#script.start.length);
        return;
      }
      this.#started = true;
      text = this.#before.slice(at + this.#script.start.length);
      this.#before = '';
    }
    // Search only where a new marker can be: the new text plus a marker's length before it.
    const searchFrom = Math.max(0, this.#output.length - 64);
    this.#output += text;
    const match = this.#script.end.exec(this.#output.slice(searchFrom));
    if (match) {
      this.#output = this.#output.slice(0, searchFrom + match.index);
      this.#exitCode = Number(match[1]);
      this.#done = true;
      return;
    }
    if (this.#output.length > this.#maxChars + 64) {
      this.#output = this.#output.slice(-(this.#maxChars + 64));
      this.#truncated = true;
    }
  }
}

/** What a run needs of the manager: only its public surface, so run owns no part of a terminal. */
export interface RunHost {
  get(id: string): TerminalInfo;
  /** Writes to the terminal's PTY: the wrapper is the server's own text, not bound by the clients' input limit. */
  write(id: string, data: string): void;
  /** The offset after the last output byte (0: nothing printed yet). */
  outputEnd(id: string): number;
  commandOutput(id: string, seq: number): CommandOutput;
  subscribe(listener: (event: TerminalEvent) => void): () => void;
  /** The terminal's shell integration, when it was started with it (live or not). */
  shell(id: string): ShellTracker | null;
  /** What runs in the foreground when it is not the terminal's own shell. */
  foreground(id: string): ForegroundProcess | null;
}

/** What a run refused because a command is running can do instead (both busy answers say it). */
const WAIT_OR_INTERRUPT =
  'wait for it (MCP wait_for, REST /wait, with command: true) and read its result from its record ' +
  '(MCP get_command_output, REST /commands/:seq/output), or interrupt it (keys ["C-c"])';

/** How long the first run in a fresh terminal waits for the shell's prompt. */
const FIRST_OUTPUT_WAIT_MS = 2000;
/** How long the first run waits for an integrated shell's first prompt (its rc files may take a while) before using markers. */
const INTEGRATION_WAIT_MS = 5000;
/** Between one command's end and the next prompt the shell runs its prompt hooks: a run waits this long for the prompt. */
const PROMPT_WAIT_MS = 2000;
/** After the timeout's Ctrl-C, how long a run waits for the command to end before answering that it still runs (a REPL ignores it). */
const INTERRUPT_WAIT_MS = 500;

/**
 * Runs one command line at a time per terminal, only when its shell is at
 * its prompt (409 terminal_busy otherwise: never typed into a REPL, an editor
 * or a running command); interrupts with Ctrl-C at the timeout, or leaves a
 * detached command running.
 */
export class Runner {
  readonly #host: RunHost;
  readonly #maxChars: () => number;
  /** Terminals with a run in flight: a second one is a 409, not a second command typed into the first. */
  readonly #busy = new Set<string>();
  /** Integrated shells that never showed an integrated prompt: runs use markers without waiting again. */
  readonly #integrationMissing = new WeakSet<ShellTracker>();
  /** The command a run interrupted at its timeout, per shell: the next run waits for it to end rather than answer 409. */
  readonly #interrupted = new WeakMap<ShellTracker, number>();

  constructor(host: RunHost, maxChars: () => number) {
    this.#host = host;
    this.#maxChars = maxChars;
  }

  async run(id: string, command: string, options: RunOptions = {}): Promise<RunResult> {
    const timeoutMs = options.timeoutMs ?? LIMITS.defaultRunTimeoutMs;
    const info = this.#host.get(id);
    if (info.exited) throw new TermgateError('conflict', `terminal ${id} has exited (code ${info.exitCode}); close it (MCP close_terminal, REST DELETE) and create another`);
    if (this.#busy.has(id)) {
      const seq = this.#host.shell(id)?.current?.seq;
      throw new TermgateError(
        'terminal_busy',
        `terminal ${id} is already running a command for another run${seq === undefined ? '' : ` (seq ${seq})`}, which may be a client ` +
          `that gave up waiting: ${WAIT_OR_INTERRUPT}. For long jobs, run with detach: true`,
      );
    }
    const started = Date.now();
    const text = command.replace(/\r\n?/g, '\n');
    // Claimed before the first await, so a second run in the meantime gets its 409.
    this.#busy.add(id);
    try {
      const shell = this.#host.shell(id);
      if (shell && !shell.active && !this.#integrationMissing.has(shell)) {
        await this.#until(id, () => shell.active, Math.min(timeoutMs, INTEGRATION_WAIT_MS));
        if (!shell.active) this.#integrationMissing.add(shell);
      } else if (!shell?.active && this.#host.outputEnd(id) === 0) {
        await this.#until(id, () => this.#host.outputEnd(id) > 0, Math.min(timeoutMs, FIRST_OUTPUT_WAIT_MS));
      }
      if (shell?.active) {
        await this.#atPrompt(id, shell, Math.min(timeoutMs, PROMPT_WAIT_MS));
        return await this.#runIntegrated(id, shell, text, started, timeoutMs, options.detach === true);
      }
      this.#notBusy(id);
      if (options.detach) {
        throw new TermgateError('conflict', `detach: needs shell integration, which terminal ${id} does not have (shellIntegration: "none")`);
      }
      const flavor = shellFlavor(info.command);
      if (flavor === null) {
        throw new TermgateError('conflict', `run needs a shell terminal (sh, bash, zsh, dash, ksh or fish); this one runs ${info.command}`);
      }
      const script = runScript(text, flavor);
      return await this.#follow(id, script, new RunCollector(script, this.#maxChars()), started, timeoutMs);
    } finally {
      this.#busy.delete(id);
    }
  }

  /** 409 terminal_busy when something other than the shell runs in the foreground. */
  #notBusy(id: string): void {
    const foreground = this.#host.foreground(id);
    if (foreground) {
      throw new TermgateError(
        'terminal_busy',
        `terminal ${id} is not at its shell prompt: ${foreground.name} (pid ${foreground.pid}) runs in the foreground. ` +
          'run only types at the prompt; talk to the program with keys or input, or stop it (keys ["C-c"])',
      );
    }
  }

  async #atPrompt(id: string, shell: ShellTracker, waitMs: number): Promise<void> {
    const interrupted = this.#interrupted.get(shell);
    if (interrupted !== undefined && shell.current?.seq === interrupted) {
      await this.#until(id, () => shell.current?.seq !== interrupted && shell.state === 'prompt', waitMs);
    }
    // A line just ended with Enter: its command (or a fresh prompt) comes first.
    const ready = () => shell.current === null && shell.state === 'prompt' && shell.typedAtPrompt !== 'entered';
    // Between a command's end and the next prompt the shell runs its prompt hooks, which may run
    // programs in the foreground: wait for the prompt first. A program in the foreground of a running
    // command is refused at once; a command of the shell's own (a builtin, a command line about to
    // end) gets a moment to finish, so a run right after a typed `echo` is not a 409.
    if (shell.current === null && !ready()) await this.#until(id, ready, waitMs);
    this.#notBusy(id);
    if (!ready()) await this.#until(id, ready, waitMs);
    this.#notBusy(id);
    const current = shell.current;
    if (current) {
      throw new TermgateError(
        'terminal_busy',
        `terminal ${id} is running a command (seq ${current.seq}: ${JSON.stringify(current.command.slice(0, 200))}); ${WAIT_OR_INTERRUPT}`,
      );
    }
    if (shell.state !== 'prompt') throw new TermgateError('terminal_busy', `terminal ${id}: its shell has not shown its prompt; try again when it has`);
    if (shell.typedAtPrompt !== 'nothing') {
      // Typed after it, run's command would join what is there (a person's half-typed line, an agent's input).
      throw new TermgateError(
        'terminal_busy',
        `terminal ${id}: its command line holds text typed since the prompt was shown (input, keys or the dashboard); ` +
          'run would add its command to it. Clear the line (keys ["C-u"]) or submit it (keys ["Enter"]), then run again',
      );
    }
  }

  #runIntegrated(id: string, shell: ShellTracker, text: string, started: number, timeoutMs: number, detach: boolean): Promise<RunResult> {
    // Several lines are one command, as a person would type a block; the leading space keeps it out of history.
    const typed = text.includes('\n') ? (shell.dialect === 'fish' ? `begin; ${text}\nend` : `{ ${text}\n}`) : text;
    const remaining = timeoutMs - (Date.now() - started);
    // The waits for the prompt took the whole time: nothing was typed, nothing to interrupt.
    if (remaining <= 0) return Promise.resolve(this.#nothingRan(started));
    return new Promise<RunResult>((resolve, reject) => {
      let seq: number | null = null;
      let interrupted = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = (result: Omit<RunResult, 'durationMs'>) => {
        clearTimeout(timer);
        unsubscribe();
        resolve({ ...result, durationMs: Date.now() - started });
      };
      const unsubscribe = this.#host.subscribe((event) => {
        if (event.terminalId !== id) return;
        if (event.type === 'command.started' && seq === null && event.command.source === 'run') seq = event.command.seq;
        else if (event.type === 'command.finished' && event.command.seq === seq) {
          const exitCode = interrupted ? null : event.command.exitCode;
          done({ ...this.#outputOf(id, event.command), exitCode, timedOut: interrupted, seq, running: false });
        } else if ((event.type === 'terminal.exit' && (seq === null || interrupted)) || event.type === 'terminal.closed') {
          const exitCode = event.type === 'terminal.exit' && !interrupted ? event.exitCode : null;
          done({ output: '', truncated: false, exitCode, timedOut: interrupted, seq, running: false });
        }
      });
      const onTimeout = (graceGiven: boolean) => {
        // detach: a command typed but not yet reported started gets a moment more, then counts as not started.
        if (detach && seq === null && !graceGiven) {
          timer = setTimeout(() => onTimeout(true), PROMPT_WAIT_MS);
          return;
        }
        if (seq === null) shell.claimNext(null);
        if (detach && seq !== null) return done({ output: '', truncated: false, exitCode: null, timedOut: false, seq, running: true });
        // The terminal may be closing or gone by now: the answer still comes, never an uncaught throw.
        try {
          // Interrupt as Ctrl-C would; its record ends with 130.
          if (!this.#host.get(id).exited) this.#host.write(id, '\x03');
          if (seq === null) return done({ output: '', truncated: false, exitCode: null, timedOut: true, seq, running: false });
          this.#interrupted.set(shell, seq);
          // The answer waits a moment for the end, so running says whether Ctrl-C stopped it (a REPL goes on).
          interrupted = true;
          const claimed = seq;
          timer = setTimeout(() => {
            // A timer's throw would be uncaught (the terminal can leave the manager at shutdown without a closed event).
            try {
              const record = shell.record(claimed);
              done({ ...(record ? this.#outputOf(id, record) : { output: '', truncated: false }), exitCode: null, timedOut: true, seq, running: true });
            } catch {
              done({ output: '', truncated: false, exitCode: null, timedOut: true, seq, running: false });
            }
          }, INTERRUPT_WAIT_MS);
        } catch {
          done({ output: '', truncated: false, exitCode: null, timedOut: true, seq, running: false });
        }
      };
      timer = setTimeout(() => onTimeout(false), remaining);
      try {
        shell.claimNext(text);
        this.#host.write(id, ` ${typed}\r`);
      } catch (error) {
        shell.claimNext(null);
        clearTimeout(timer);
        unsubscribe();
        reject(error);
      }
    });
  }

  #nothingRan(started: number): RunResult {
    return { output: '', truncated: false, exitCode: null, timedOut: true, seq: null, running: false, durationMs: Date.now() - started };
  }

  /** A record's output as run answers it: \n line ends, the end kept if the scrollback lost the start. */
  #outputOf(id: string, record: CommandRecord): { output: string; truncated: boolean } {
    const slice = this.#host.commandOutput(id, record.seq);
    return { output: cleanOutput(slice.data), truncated: slice.dropped > 0 };
  }

  #follow(id: string, script: RunScript, collector: RunCollector, started: number, timeoutMs: number): Promise<RunResult> {
    return new Promise<RunResult>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      let unsubscribe = () => {};
      const finish = (timedOut: boolean, exitCode: number | null) => {
        clearTimeout(timer);
        unsubscribe();
        resolve({
          output: collector.output,
          exitCode,
          timedOut,
          durationMs: Date.now() - started,
          truncated: collector.truncated,
          seq: null,
          running: false,
        });
      };
      const info = this.#host.get(id);
      if (info.exited) return finish(false, info.exitCode);
      unsubscribe = this.#host.subscribe((event) => {
        if (event.terminalId !== id) return;
        if (event.type === 'output.data') {
          collector.push(event.content);
          if (collector.done) finish(false, collector.exitCode);
        } else if (event.type === 'terminal.exit') {
          // The command ended the shell (`exit 3`): its status is the terminal's.
          finish(false, event.exitCode);
        } else if (event.type === 'terminal.closed') {
          finish(false, null);
        }
      });
      timer = setTimeout(() => {
        // Interrupt as Ctrl-C would; the shell drops the rest of the line, so no end marker follows.
        // A terminal closing or gone meanwhile must not make this throw out of a timer.
        try {
          if (!this.#host.get(id).exited) this.#host.write(id, '\x03');
        } catch {
          // nothing left to interrupt
        }
        finish(true, null);
      }, Math.max(0, timeoutMs - (Date.now() - started)));
      try {
        this.#host.write(id, script.input);
      } catch (error) {
        clearTimeout(timer);
        unsubscribe();
        reject(error);
      }
    });
  }

  /**
   * Resolves when `ready()` holds after one of the terminal's events (or at
   * once), or after `waitMs`, or when the terminal exits. A fresh shell has not
   * printed its prompt yet: what is typed before that is echoed twice (by the
   * PTY, then again by the line editor), so a run waits for it, briefly.
   */
  #until(id: string, ready: () => boolean, waitMs: number): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, waitMs);
      const unsubscribe = this.#host.subscribe((event) => {
        if (event.terminalId === id && (ready() || event.type === 'terminal.exit' || event.type === 'terminal.closed')) done();
      });
      function done() {
        clearTimeout(timer);
        unsubscribe();
        resolve();
      }
    });
  }
}

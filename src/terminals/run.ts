/**
 * `run`: one command line typed into a terminal's shell, with markers that
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
import type { RunResult, TerminalEvent, TerminalInfo } from './types.ts';

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
  subscribe(listener: (event: TerminalEvent) => void): () => void;
}

/** How long the first run in a fresh terminal waits for the shell's prompt. */
const FIRST_OUTPUT_WAIT_MS = 2000;

/**
 * Runs one command line at a time per terminal: types the wrapped command,
 * follows the output events until the end marker (or the shell's exit), and
 * interrupts with Ctrl-C at the timeout.
 */
export class Runner {
  readonly #host: RunHost;
  readonly #maxChars: () => number;
  /** Terminals with a run in flight: a second one is a 409, not a second wrapper typed into the first. */
  readonly #busy = new Set<string>();

  constructor(host: RunHost, maxChars: () => number) {
    this.#host = host;
    this.#maxChars = maxChars;
  }

  async run(id: string, command: string, timeoutMs: number): Promise<RunResult> {
    const info = this.#host.get(id);
    if (info.exited) throw new TermgateError('conflict', `terminal ${id} has exited (code ${info.exitCode}); close it or create another`);
    if (this.#busy.has(id)) throw new TermgateError('conflict', `terminal ${id} is already running a command; wait for it to finish`);
    const flavor = shellFlavor(info.command);
    if (flavor === null) {
      throw new TermgateError('conflict', `run needs a shell terminal (sh, bash, zsh, dash, ksh or fish); this one runs ${info.command}`);
    }
    const script = runScript(command.replace(/\r\n?/g, '\n'), flavor);
    const collector = new RunCollector(script, this.#maxChars());
    const started = Date.now();
    // Claimed before the first await, so a second run in the meantime gets its 409.
    this.#busy.add(id);
    try {
      if (this.#host.outputEnd(id) === 0) await this.#firstOutput(id, Math.min(timeoutMs, FIRST_OUTPUT_WAIT_MS));
      return await this.#follow(id, script, collector, started, timeoutMs);
    } finally {
      this.#busy.delete(id);
    }
  }

  #follow(id: string, script: RunScript, collector: RunCollector, started: number, timeoutMs: number): Promise<RunResult> {
    return new Promise<RunResult>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      let unsubscribe = () => {};
      const finish = (timedOut: boolean, exitCode: number | null) => {
        clearTimeout(timer);
        unsubscribe();
        resolve({ output: collector.output, exitCode, timedOut, durationMs: Date.now() - started, truncated: collector.truncated });
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
        }
      });
      timer = setTimeout(() => {
        // Interrupt as Ctrl-C would; the shell drops the rest of the line, so no end marker follows.
        if (!this.#host.get(id).exited) this.#host.write(id, '\x03');
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
   * A fresh shell has not printed its prompt yet: what is typed before that is
   * echoed twice (by the PTY, then again by the line editor). Wait for the
   * first output, briefly, so a person watching sees the line once.
   */
  #firstOutput(id: string, waitMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, waitMs);
      const unsubscribe = this.#host.subscribe((event) => {
        if (event.terminalId === id && event.type !== 'terminal.resized') done();
      });
      function done() {
        clearTimeout(timer);
        unsubscribe();
        resolve();
      }
    });
  }
}

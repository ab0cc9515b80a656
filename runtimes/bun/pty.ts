/**
 * PTY on Bun via Bun.spawn's `terminal` option
 * (https://bun.sh/docs/runtime/child-process#terminal-pty-support); node-pty
 * breaks under Bun (the shell gets SIGHUP at once).
 *
 * Bun reports two things separately: the child's exit (`proc.exited`) and the
 * PTY stream's end (the terminal's `exit` callback, EOF or EIO). We report the
 * exit only when both happened, so every byte went through onData first.
 */
import { constants } from 'node:os';
import type { Subprocess, Terminal } from 'bun';
import type { PtyHost, PtyProcess, PtySpawnOptions } from '../../src/platform.ts';
import { Drain } from '../pty/drain.ts';
import { endSession, killSession } from '../pty/process-tree.ts';

class BunPtyProcess implements PtyProcess {
  readonly pid: number;
  readonly #proc: Subprocess;
  readonly #terminal: Terminal;
  readonly #dataListeners: ((chunk: Uint8Array) => void)[] = [];
  readonly #exitListeners: ((exitCode: number | null, signal: number | null) => void)[] = [];
  #childExit: { code: number | null; signal: number | null } | undefined;
  #streamEnded = false;
  #reported = false;
  #drain: Drain | undefined;
  #bytesSeen = 0;
  /** kill() was called: the session is being hung up (endSession); the exit waits for it to end. */
  #ending: 'no' | 'hanging up' | 'done' = 'no';

  constructor(options: PtySpawnOptions) {
    this.#proc = Bun.spawn([options.command, ...options.args], {
      cwd: options.cwd,
      env: options.env,
      terminal: {
        cols: options.cols,
        rows: options.rows,
        name: options.env.TERM ?? 'xterm-256color',
        data: (_terminal, chunk) => {
          this.#bytesSeen += chunk.length;
          for (const listener of this.#dataListeners) listener(chunk);
        },
        exit: () => {
          this.#streamEnded = true;
          this.#maybeReport();
        },
      },
    });
    this.pid = this.#proc.pid;
    this.#terminal = this.#proc.terminal!;
    void this.#proc.exited.then(() => {
      const signal = this.#proc.signalCode;
      this.#childExit = {
        code: this.#proc.exitCode,
        signal: signal === null ? null : (constants.signals[signal as keyof typeof constants.signals] ?? null),
      };
      if (!this.#streamEnded) {
        // A background job or an escaped process still holds the PTY open: end
        // the session (unless kill() is hanging it up: its SIGKILL comes later,
        // so a program running its EXIT trap gets that grace), then close the
        // PTY once its output has gone quiet.
        if (this.#ending === 'no') killSession(this.pid);
        this.#drain = new Drain(
          () => this.#bytesSeen,
          () => {
            this.#streamEnded = true;
            this.#terminal.close();
            this.#maybeReport();
          },
        );
      }
      this.#maybeReport();
    });
  }

  #maybeReport(): void {
    if (this.#reported || !this.#childExit || !this.#streamEnded || this.#ending === 'hanging up') return;
    this.#reported = true;
    this.#drain?.cancel();
    if (!this.#terminal.closed) this.#terminal.close();
    const { code, signal } = this.#childExit;
    for (const listener of this.#exitListeners.splice(0)) listener(code, signal);
  }

  write(data: string): void {
    if (this.#terminal.closed) return;
    this.#terminal.write(data);
  }

  resize(cols: number, rows: number): void {
    if (this.#terminal.closed) return;
    this.#terminal.resize(cols, rows);
  }

  kill(): void {
    // After the exit was reported the pid may already belong to someone else
    // (before that, endSession signals the leader only if /proc still lists it).
    if (this.#reported || this.#ending !== 'no') return;
    this.#ending = 'hanging up';
    void endSession(this.pid).then(() => {
      this.#ending = 'done';
      this.#maybeReport();
    });
  }

  onData(listener: (chunk: Uint8Array) => void): void {
    this.#dataListeners.push(listener);
  }

  onExit(listener: (exitCode: number | null, signal: number | null) => void): void {
    if (this.#reported) listener(this.#childExit!.code, this.#childExit!.signal);
    else this.#exitListeners.push(listener);
  }
}

export const bunPtyHost: PtyHost = {
  spawn: (options) => new BunPtyProcess(options),
};

/**
 * PTY on Bun via Bun.spawn's `terminal` option
 * (https://bun.sh/docs/runtime/child-process#terminal-pty-support); node-pty
 * breaks under Bun (the shell gets SIGHUP at once).
 *
 * Bun reports two things separately: the child's exit (`proc.exited`) and the
 * PTY stream's end (the terminal's `exit` callback, EOF or EIO). PtyLifecycle
 * reports the exit only when both happened, so every byte went through onData
 * first.
 */
import { constants } from 'node:os';
import type { Subprocess, Terminal } from 'bun';
import type { PtyHost, PtySpawnOptions } from '../../src/platform.ts';
import { PtyLifecycle } from '../pty/lifecycle.ts';

class BunPtyProcess extends PtyLifecycle {
  readonly pid: number;
  readonly #proc: Subprocess;
  readonly #terminal: Terminal;

  constructor(options: PtySpawnOptions) {
    super();
    this.#proc = Bun.spawn([options.command, ...options.args], {
      cwd: options.cwd,
      env: options.env,
      terminal: {
        cols: options.cols,
        rows: options.rows,
        name: options.env.TERM ?? 'xterm-256color',
        data: (_terminal, chunk) => this.output(chunk),
        exit: () => this.outputEnded(),
      },
    });
    this.pid = this.#proc.pid;
    this.#terminal = this.#proc.terminal!;
    // The first exit listener, so the PTY is closed before anyone hears of the exit.
    this.onExit(() => {
      if (!this.#terminal.closed) this.#terminal.close();
    });
    void this.#proc.exited.then(() => {
      const signal = this.#proc.signalCode;
      this.childExited(
        this.#proc.exitCode,
        signal === null ? null : (constants.signals[signal as keyof typeof constants.signals] ?? null),
      );
      // Unless the stream has ended: a background job or an escaped process holds the PTY open.
      this.outputHeldOpen(() => {
        this.#terminal.close();
        this.outputEnded();
      });
    });
  }

  write(data: string): void {
    if (this.#terminal.closed) return;
    this.#terminal.write(data);
  }

  resize(cols: number, rows: number): void {
    if (this.#terminal.closed) return;
    this.#terminal.resize(cols, rows);
  }
}

export const bunPtyHost: PtyHost = {
  spawn: (options) => new BunPtyProcess(options),
};

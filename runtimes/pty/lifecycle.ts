/**
 * The part of a PTY process every host shares: its listeners, the order of its
 * end, and kill(). The exit is reported once, and only when three things have
 * happened: the child's exit status is known, the output has ended (every byte
 * went through onData), and a kill() in progress has emptied the session. A
 * listener registered later gets the exit at once.
 *
 * A host subclasses it, spawns, writes and resizes, and reports what its PTY
 * library tells it: output(), outputEnded(), childExited(), and
 * outputHeldOpen() when the child is gone but the PTY stays open.
 */
import type { PtyProcess } from '../../src/platform.ts';
import { Drain } from './drain.ts';
import { endSession, killSession } from './process-tree.ts';

type DataListener = (chunk: Uint8Array) => void;
type ExitListener = (exitCode: number | null, signal: number | null) => void;

export abstract class PtyLifecycle implements PtyProcess {
  abstract readonly pid: number;
  abstract write(data: string): void;
  abstract resize(cols: number, rows: number): void;

  readonly #dataListeners: DataListener[] = [];
  readonly #exitListeners: ExitListener[] = [];
  #bytesSeen = 0;
  #status: { code: number | null; signal: number | null } | undefined;
  #outputEnded = false;
  #reported = false;
  /** kill() was called: the session is being hung up (endSession); the exit waits for it to end. */
  #ending: 'no' | 'hanging up' | 'done' = 'no';
  #drain: Drain | undefined;

  onData(listener: DataListener): void {
    this.#dataListeners.push(listener);
  }

  onExit(listener: ExitListener): void {
    if (this.#reported) listener(this.#status!.code, this.#status!.signal);
    else this.#exitListeners.push(listener);
  }

  kill(): void {
    // After the exit was reported the pid may already belong to someone else
    // (before that, endSession signals the leader only if /proc still lists it).
    if (this.#reported || this.#ending !== 'no') return;
    this.#ending = 'hanging up';
    void endSession(this.pid).then(() => {
      this.#ending = 'done';
      this.#report();
    });
  }

  /** Whether the exit has been reported (the pid and the PTY are not ours any more). */
  protected get exitReported(): boolean {
    return this.#reported;
  }

  /** A chunk read from the PTY, handed to every listener as it is (no copy: it is the hot path). */
  protected output(chunk: Uint8Array): void {
    this.#bytesSeen += chunk.length;
    for (const listener of this.#dataListeners) listener(chunk);
  }

  /** The output has ended: nothing more will come through output(). */
  protected outputEnded(): void {
    this.#outputEnded = true;
    this.#drain?.cancel();
    this.#report();
  }

  /** The child's exit status; `signal` as a number, null when it exited by itself. */
  protected childExited(code: number | null, signal: number | null): void {
    this.#status = { code, signal };
    this.#report();
  }

  /**
   * The child has exited and the PTY is still open: a background job or an
   * escaped process holds it. Ends the session, so the slave closes (unless
   * kill() is hanging it up: its SIGKILL comes later, so a program running its
   * EXIT trap gets that grace). If something outside the session keeps it open,
   * calls `close` once the output has gone quiet; `close` ends the output and
   * must lead to outputEnded(). Does nothing once the output has ended.
   */
  protected outputHeldOpen(close: () => void): void {
    if (this.#outputEnded || this.#drain) return;
    if (this.#ending === 'no') killSession(this.pid);
    this.#drain = new Drain(() => this.#bytesSeen, close);
  }

  #report(): void {
    if (this.#reported || !this.#status || !this.#outputEnded || this.#ending === 'hanging up') return;
    this.#reported = true;
    const { code, signal } = this.#status;
    for (const listener of this.#exitListeners.splice(0)) listener(code, signal);
  }
}

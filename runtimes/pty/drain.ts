/**
 * Waiting for a PTY's remaining output after its child exited, when the read
 * side has not reported end-of-stream on its own (something still holds the
 * slave open). "Quiet" means no byte arrived across a timer and a following
 * setImmediate: an immediate runs after the event loop's I/O poll, so bytes
 * still sitting in the kernel buffer would have been read in between, even
 * when the loop was busy and the timer fired late. Capped, so a process that
 * escaped the session and keeps writing cannot hold the exit back forever.
 */
import { setImmediate } from 'node:timers';

const QUIET_MS = 100;
/** Quiet checks in a row before the output counts as finished. */
const QUIET_CHECKS = 2;
const CAP_MS = 3000;

export class Drain {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #cancelled = false;

  constructor(bytesSeen: () => number, done: () => void) {
    const started = Date.now();
    let last = bytesSeen();
    let quiet = 0;
    const check = () => {
      this.#timer = setTimeout(() => {
        setImmediate(() => {
          if (this.#cancelled) return;
          const now = bytesSeen();
          quiet = now === last ? quiet + 1 : 0;
          last = now;
          if (quiet >= QUIET_CHECKS || Date.now() - started >= CAP_MS) {
            this.#cancelled = true;
            done();
          } else {
            check();
          }
        });
      }, QUIET_MS);
    };
    check();
  }

  cancel(): void {
    this.#cancelled = true;
    clearTimeout(this.#timer);
  }
}

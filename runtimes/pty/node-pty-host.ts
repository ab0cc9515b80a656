/**
 * PTY on Node and Deno via @lydell/node-pty (node-pty with prebuilt binaries;
 * Deno needs -A for its native addon).
 *
 * node-pty can lose the last output before an exit. Measured here with
 * `head -c 1500000 /dev/urandom | base64; exit 7` (up to 16 runs of 20 short
 * by a few KB on Node), for two reasons:
 * - libuv ends a stream when poll reports HUP after a short read, but a PTY
 *   master returns at most ~4 KB per read while more waits in the kernel, so
 *   the read stream sees a premature EOF and is destroyed;
 * - when the child exits and the stream is still open (a background job holds
 *   the PTY), node-pty destroys the stream after 200 ms whatever is unread.
 * We keep node-pty and take over the one decision that loses data: its read
 * stream's destroy. Before the stream really closes we read what is left from
 * the PTY ourselves (until EIO, which Linux returns only once nothing is left).
 * node-pty emits its exit event after the stream closes, so our onExit follows
 * the last byte.
 */
import { spawn, type IPty } from '@lydell/node-pty';
import { readSync } from 'node:fs';
import { setImmediate } from 'node:timers';
import type { PtyHost, PtySpawnOptions } from '../../src/platform.ts';
import { PtyLifecycle } from './lifecycle.ts';

/** The part of node-pty's private read stream we wrap (UnixTerminal#_socket, a tty.ReadStream). */
interface PtySocket {
  destroy(error?: Error): unknown;
  readonly readableEnded: boolean;
}

/** Upper bound for the final synchronous drain (more than the kernel ever buffers for a PTY). */
const FINAL_DRAIN_MAX_BYTES = 16 * 1024 * 1024;
/**
 * After this many bytes the PTY stream pauses until the event loop's next
 * turn. Under Deno a PTY at full speed otherwise keeps the loop busy with
 * reads: timers and socket writes wait (GET /health up to 212 ms while
 * streaming 273 MB), and a WebSocket reader could fall a whole scrollback
 * behind and be cut off (2 runs of 12). With the pause: /health at most 80 ms,
 * no cut in 10 runs, the same 35–40 MB/s; on Node no change (33 MB/s).
 */
const YIELD_EVERY_BYTES = 256 * 1024;

class NodePtyProcess extends PtyLifecycle {
  readonly pid: number;
  readonly #term: IPty;
  readonly #fd: number;
  #closing: 'no' | 'waiting' | 'final' = 'no';
  #sinceYield = 0;

  constructor(options: PtySpawnOptions) {
    super();
    this.#term = spawn(options.command, options.args, {
      name: options.env.TERM ?? 'xterm-256color',
      cols: options.cols,
      rows: options.rows,
      cwd: options.cwd,
      env: options.env,
      // Raw bytes: the terminal manager decodes UTF-8 itself, across read boundaries.
      encoding: null,
    });
    this.pid = this.#term.pid;
    this.#fd = (this.#term as unknown as { fd: number }).fd;

    const socket = (this.#term as unknown as { _socket: PtySocket })._socket;
    const destroy = socket.destroy.bind(socket);
    socket.destroy = (error?: Error) => {
      if (this.#closing === 'final') return destroy(error);
      const code = (error as { code?: string } | undefined)?.code;
      if (error !== undefined && code !== 'EIO') return destroy(error);
      if (error !== undefined || socket.readableEnded) {
        // EIO or EOF: the slave side is closed. Read what the stream left behind,
        // after the stream has emitted what it already buffered (nextTick runs before setImmediate).
        // A quiet-wait still pending (below) would call the same #finish, which runs once.
        setImmediate(() => this.#finish(destroy));
      } else if (this.#closing === 'no') {
        // node-pty's timer: the child exited 200 ms ago and the PTY is still open.
        // Ending the session closes the slave; the stream then reaches EIO/EOF (above).
        this.#closing = 'waiting';
        this.outputHeldOpen(() => this.#finish(destroy));
      }
      return socket;
    };

    // With encoding null node-pty hands out Buffers (Uint8Arrays), despite its string typing.
    this.#term.onData((chunk) => {
      const bytes = chunk as unknown as Uint8Array;
      this.output(bytes);
      this.#sinceYield += bytes.length;
      // Not while closing: the final drain below reads the PTY itself.
      if (this.#sinceYield >= YIELD_EVERY_BYTES && this.#closing === 'no') {
        this.#sinceYield = 0;
        this.#term.pause();
        setImmediate(() => this.#term.resume());
      }
    });
    // node-pty emits its exit only after its stream has closed (through #finish, or
    // on an error): by then the output has ended.
    this.#term.onExit(({ exitCode, signal }) => {
      this.outputEnded();
      this.childExited(exitCode, signal ? signal : null);
    });
  }

  /** Reads what is left in the PTY, then lets the stream close (node-pty then emits exit). */
  #finish(destroy: (error?: Error) => unknown): void {
    if (this.#closing === 'final') return;
    this.#closing = 'final';
    const buffer = new Uint8Array(64 * 1024);
    for (let total = 0; total < FINAL_DRAIN_MAX_BYTES; ) {
      let count: number;
      try {
        count = readSync(this.#fd, buffer, 0, buffer.length, null);
      } catch {
        // EIO: empty and closed (the normal end); EAGAIN: nothing now; EBADF on
        // Deno, whose node:fs does not read raw descriptors (its tty stream
        // did not end early in our measurements, so there is nothing to recover).
        break;
      }
      if (count <= 0) break;
      total += count;
      // A copy: the buffer is read into again.
      this.output(buffer.slice(0, count));
    }
    destroy();
  }

  write(data: string): void {
    if (this.#closing !== 'no' || this.exitReported) return;
    this.#term.write(data);
  }

  resize(cols: number, rows: number): void {
    if (this.#closing !== 'no' || this.exitReported) return;
    try {
      this.#term.resize(cols, rows);
    } catch {
      // the PTY closed under us; nothing to resize
    }
  }
}

export const nodePtyHost: PtyHost = {
  spawn: (options) => new NodePtyProcess(options),
};

/**
 * The holder of one persistent terminal (docs/persistent.md): a small process
 * in a session of its own that owns the PTY, so the terminal outlives the
 * server. It appends every byte of output to the session's log before it
 * forwards it, serves one server at a time over a 0600 Unix socket in the
 * session directory, records the exit status, and exits once the PTY's
 * process has exited and everything is on disk. It does no HTTP and needs no
 * server to be alive.
 *
 * Started by the server with the server's own runtime and PTY host
 * (runtimes/<rt>/holder.ts): argv is the session directory, which holds
 * spawn.json (what to start: read, then deleted at once, since it holds the
 * environment).
 */
import { chmodSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { setImmediate } from 'node:timers';
import type { PtyHost, PtySpawnOptions } from '../../src/platform.ts';
import { ATTACH, BUSY, DATA, EXIT, FrameReader, HELLO, INPUT, KILL, RESIZE, frame, jsonFrame, text } from './frames.ts';
import { OutputLog } from './log.ts';
import { SESSION_FILES } from './session-files.ts';

/** How long the holder waits for its last frames to reach the server before it exits anyway. */
const FLUSH_WAIT_MS = 1000;
/** Output gathered in one event-loop turn is passed on at this size at the latest. */
const FLUSH_BYTES = 256 * 1024;

export interface SpawnRequest {
  options: PtySpawnOptions;
  logBytes: number;
}

function writePrivate(path: string, content: string): void {
  const temp = `${path}.tmp`;
  writeFileSync(temp, content, { mode: 0o600 });
  renameSync(temp, path);
}

/** Runs the holder for the session in `dir`; the process exits when the terminal has ended. */
export function runHolder(host: PtyHost, dir: string): void {
  const ready = (message: object) => process.stdout.write(`${JSON.stringify(message)}\n`);
  let request: SpawnRequest;
  try {
    const path = join(dir, SESSION_FILES.spawn);
    request = JSON.parse(readFileSync(path, 'utf8')) as SpawnRequest;
    rmSync(path, { force: true });
  } catch (error) {
    ready({ error: `no spawn request in ${dir}: ${String(error)}` });
    return process.exit(1);
  }

  let pty;
  try {
    pty = host.spawn(request.options);
  } catch (error) {
    ready({ error: error instanceof Error ? error.message : String(error) });
    return process.exit(1);
  }
  const log = new OutputLog(dir, request.logBytes);
  let cols = request.options.cols;
  let rows = request.options.rows;
  // Who holds the terminal, and its size, for a server that finds this holder gone.
  const describe = () => writePrivate(join(dir, SESSION_FILES.holder), JSON.stringify({ holderPid: process.pid, pid: pty.pid, cols, rows }));
  describe();
  let client: Socket | null = null;
  let exit: { code: number | null; signal: number | null } | null = null;
  let killed = false;

  const socketPath = join(dir, SESSION_FILES.socket);
  const send = (bytes: Uint8Array) => {
    if (client && !client.destroyed) client.write(bytes);
  };

  // Output is passed on once per turn of the event loop: one log write and one frame for
  // what arrived meanwhile (per chunk, Deno's holder ran at 8 MB/s; batched, see docs/persistent.md).
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const flush = () => {
    if (pending.length === 0) return;
    let bytes = pending[0]!;
    if (pending.length > 1) {
      bytes = new Uint8Array(pendingBytes);
      let at = 0;
      for (const chunk of pending) {
        bytes.set(chunk, at);
        at += chunk.length;
      }
    }
    pending = [];
    pendingBytes = 0;
    // Disk first: what a server has seen is always in the log for the next one.
    try {
      log.append(bytes);
    } catch (error) {
      console.error(`holder: could not append to the log: ${String(error)}`);
    }
    send(frame(DATA, bytes));
  };
  pty.onData((chunk) => {
    if (pending.length === 0) setImmediate(flush);
    // A copy: a PTY host may reuse its buffer.
    pending.push(Uint8Array.from(chunk));
    pendingBytes += chunk.length;
    if (pendingBytes >= FLUSH_BYTES) flush();
  });

  const finish = () => {
    server.close();
    rmSync(socketPath, { force: true });
    if (killed) rmSync(dir, { recursive: true, force: true });
    const done = () => process.exit(0);
    if (!client || client.destroyed) return done();
    client.end(done);
    setTimeout(done, FLUSH_WAIT_MS).unref();
  };

  pty.onExit((code, signal) => {
    flush();
    exit = { code, signal };
    log.close();
    try {
      writePrivate(join(dir, SESSION_FILES.exit), JSON.stringify(exit));
    } catch (error) {
      console.error(`holder: could not record the exit: ${String(error)}`);
    }
    send(jsonFrame(EXIT, exit));
    finish();
  });

  const attach = (socket: Socket) => {
    flush();
    // The kept output and the switch to live forwarding in one synchronous step: no gap, no repeat.
    const kept = log.read();
    socket.write(jsonFrame(HELLO, { pid: pty.pid, start: kept.start, end: kept.start + kept.bytes.length, cols, rows }));
    if (kept.bytes.length > 0) socket.write(frame(DATA, kept.bytes));
    client = socket;
    if (exit) {
      socket.write(jsonFrame(EXIT, exit));
      socket.end();
    }
  };

  const server = createServer((socket) => {
    if (client && !client.destroyed) {
      socket.end(frame(BUSY));
      return;
    }
    const reader = new FrameReader();
    socket.on('data', (chunk: Uint8Array) => {
      let frames;
      try {
        frames = reader.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const { type, payload } of frames) {
        if (type === ATTACH) attach(socket);
        else if (socket !== client) continue;
        else if (type === INPUT) pty.write(text(payload));
        else if (type === RESIZE) {
          const size = JSON.parse(text(payload)) as { cols: number; rows: number };
          cols = size.cols;
          rows = size.rows;
          pty.resize(cols, rows);
          describe();
        } else if (type === KILL) {
          killed = true;
          if (exit) finish();
          else pty.kill();
        }
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      if (client === socket) client = null;
    });
  });

  const umask = process.umask(0o177);
  server.listen(socketPath, () => {
    process.umask(umask);
    chmodSync(socketPath, 0o600);
    ready({ ready: true, pid: pty.pid });
  });
  server.on('error', (error) => {
    console.error(`holder: socket: ${String(error)}`);
    ready({ error: `could not listen on ${socketPath}: ${error.message}` });
  });
  // SIGTERM (someone ending holders by hand): end the terminal as DELETE would, but keep its files.
  process.on('SIGTERM', () => pty.kill());
  process.on('SIGHUP', () => undefined);
}

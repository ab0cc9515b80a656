/**
 * What the core needs from a runtime, as small interfaces. Each runtime entry
 * (runtimes/<rt>/) supplies them; the core never imports a runtime.
 */
import type { Context } from 'hono';

export type RuntimeName = 'node' | 'bun' | 'deno';

/** The config file: read, atomic write (temp + rename, mode 0600), and a lock around read-modify-write. */
export interface ConfigStorage {
  /** Where the file lives, for messages. */
  readonly path: string;
  /** The file's text, or null when it does not exist. */
  read(): Promise<string | null>;
  /** Replace the file atomically with mode 0600: a crash leaves the old file or the new one, never half of one. */
  write(text: string): Promise<void>;
  /** Run `fn` holding an exclusive lock shared with other processes (server and CLI). */
  withLock<T>(fn: () => Promise<T>): Promise<T>;
}

/**
 * The audit log file (docs/security.md): appends one line at a time, rotating
 * by size, the file created with mode 0600. Calls are serialised by the caller.
 */
export interface AuditStorage {
  /** Where the file lives, for messages. */
  readonly path: string;
  /** Appends `lines` (no newlines), each with its newline, in one write; rotates first when the file would pass its size limit. */
  append(lines: readonly string[]): Promise<void>;
  /** The last `limit` lines, oldest first, across the current file and the rotated ones. */
  recent(limit: number): Promise<string[]>;
}

// ---- PTY -------------------------------------------------------------------

export interface PtySpawnOptions {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  cols: number;
  rows: number;
}

export interface PtyProcess {
  readonly pid: number;
  write(data: string): void;
  resize(cols: number, rows: number): void;
  /** Kill the whole session: the child, its process group and any background job it started. */
  kill(): void;
  onData(listener: (chunk: Uint8Array) => void): void;
  /** Fires once, after every byte of output has been delivered to onData (the PTY is drained first). */
  onExit(listener: (exitCode: number | null, signal: number | null) => void): void;
}

export interface PtyHost {
  spawn(options: PtySpawnOptions): PtyProcess;
}

/**
 * A PTY owned by a holder process outside the server (docs/persistent.md): it
 * outlives the server, and the next server takes it over with its output.
 * onData starts with the output the holder still keeps (from `startOffset`);
 * onExit also fires, with (null, null), when the holder vanished.
 */
export interface HeldPty extends PtyProcess {
  /** Stream offset of the first byte onData delivers (0 unless older output left the bounded log). */
  readonly startOffset: number;
  /** The size the PTY has now (a resize may have come after the saved state). */
  readonly cols: number;
  readonly rows: number;
  /** Keeps `text` as `name` beside the terminal's log (mode 0600), for the server after this one. */
  save(name: string, text: string): void;
  /** Lets go without ending anything: the holder keeps the PTY (server shutdown). No exit is reported. */
  detach(): void;
  /** After the exit (kill() first if it runs): the holder is gone and the terminal's files are removed. */
  remove(): Promise<void>;
}

/** A terminal found under the sessions directory at start: what the last server saved, and its PTY. */
export interface FoundSession {
  id: string;
  /** The files save() wrote, by name. */
  saved: Record<string, string>;
  pty: HeldPty;
}

/** Persistent terminals: holder processes, their logs and sockets under $TERMGATE_HOME (docs/persistent.md). */
export interface PersistentSessions {
  /**
   * Starts a holder for terminal `id` that spawns `options` and keeps the newest
   * `logBytes` of its output on disk. `saved` is written first, as save() would.
   */
  spawn(id: string, options: PtySpawnOptions, logBytes: number, saved: Record<string, string>): Promise<HeldPty>;
  /**
   * Every terminal a previous server left: live holders re-attached, those whose
   * holder is gone read back from disk (exited). One held by another running
   * server is left alone (and logged).
   */
  adopt(): Promise<FoundSession[]>;
}

// ---- WebSocket ---------------------------------------------------------------

/** One open WebSocket, the same on every runtime. The protocol code is written against this only. */
export interface WsConnection {
  send(text: string): void;
  close(code?: number, reason?: string): void;
  /** Bytes queued but not yet written to the socket. */
  bufferedAmount(): number;
  /** Drops the TCP connection without a closing handshake (for peers that stopped reading). */
  terminate?(): void;
  /** The subprotocol the server selected ('' when none). */
  readonly protocol: string;
}

export interface WsHandlers {
  onOpen(connection: WsConnection): void;
  onMessage(connection: WsConnection, data: string | ArrayBuffer): void;
  onClose(connection: WsConnection, code: number): void;
  /** Called when the socket's send buffer has drained (where the runtime reports it). */
  onDrain?(connection: WsConnection): void;
}

/**
 * Completes a WebSocket upgrade the core has already admitted through the gate.
 * `protocol` is the subprotocol to answer with (null: none).
 */
export type UpgradeWebSocket = (
  c: Context,
  options: { protocol: string | null; handlers: WsHandlers },
) => Response | Promise<Response>;

// ---- Host system -------------------------------------------------------------

export interface SystemInfo {
  /** This machine's non-internal interface addresses (IPv4 and IPv6, no brackets). */
  interfaceAddresses(): string[];
  /** The user's login shell, e.g. /bin/bash. */
  defaultShell(): string;
  /** The user's home directory (default cwd for terminals). */
  homeDir(): string;
  /** The environment terminals inherit. */
  baseEnv(): Record<string, string>;
  /** Whether a path is an existing directory (validates `cwd`). */
  isDirectory(path: string): Promise<boolean>;
  /** Resolves a command name through PATH; null when not found (validates `command`). */
  resolveCommand(command: string, env: Record<string, string>): Promise<string | null>;
  /**
   * Writes `files` (paths relative to it) into a directory of termgate's own
   * named `name`, readable only by this user (in $TERMGATE_HOME, never a shared
   * /tmp: shells source these files), and returns its path.
   */
  installFiles(name: string, files: Readonly<Record<string, string>>): Promise<string>;
  /**
   * What runs in the foreground of the terminal whose session `pid` leads,
   * when it is not `pid` itself; null when `pid` is in the foreground, or
   * when the system cannot tell.
   */
  foregroundProcess(pid: number): ForegroundProcess | null;
}

/** A terminal's foreground process group, by its leader. */
export interface ForegroundProcess {
  pid: number;
  name: string;
}

// ---- Listening -----------------------------------------------------------------

export type FetchHandler = (request: Request, env?: unknown) => Response | Promise<Response>;

export interface Listening {
  /** The port actually bound (resolves --port 0). */
  readonly port: number;
  /**
   * Stop accepting and release the port; resolves without waiting for open
   * connections. Requests in flight still get their answers (a rebind answers
   * its own PUT on the old connection), idle keep-alive connections are closed,
   * and open WebSockets are the core's to close (Node and Bun keep them open;
   * Deno's server shutdown closes them with 1001).
   */
  close(): Promise<void>;
}

/** A certificate chain and its private key, as PEM text (docs/tls-and-unix.md). */
export interface TlsPem {
  readonly cert: string;
  readonly key: string;
}

/** How to listen, beyond host and port (docs/tls-and-unix.md). */
export interface ListenOptions {
  /** Serve HTTPS, and WSS for upgrades, with this certificate. */
  readonly tls?: TlsPem | undefined;
  /**
   * Listen on this Unix socket path instead of host:port (which are then
   * ignored; `Listening.port` is 0). The runtime layer creates it 0600.
   */
  readonly unixPath?: string | undefined;
}

/**
 * Binds `fetch` (REST and WebSocket upgrades) to host:port (or `options.unixPath`).
 * Rejects with `code: 'EADDRINUSE'` when the port (or path) is taken (every
 * runtime's own error is mapped to that code), so the core and the CLI can
 * tell "taken" from the rest.
 */
export type Listen = (host: string, port: number, fetch: FetchHandler, options?: ListenOptions) => Promise<Listening>;

export interface Platform {
  runtime: RuntimeName;
  listen: Listen;
  storage: ConfigStorage;
  system: SystemInfo;
  pty: PtyHost;
  /** Persistent terminals (docs/persistent.md); without it, `persistent: true` is refused. */
  sessions?: PersistentSessions | undefined;
  upgradeWebSocket: UpgradeWebSocket;
  /** Where audit lines go; without it (unit tests) they are kept in memory only. */
  audit?: AuditStorage | undefined;
  /** TERMGATE_TOKEN, when set: one fixed token that replaces authToken. */
  envToken?: string | undefined;
  /** A log line for the operator. Never given a secret. */
  log(line: string): void;
}

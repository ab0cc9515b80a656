/**
 * `termgate serve` (README: Quick start): load config, build the core, listen, and stop
 * cleanly on a signal. A port already held by a termgate is not an error (it
 * says where that one runs and exits 0); held by anything else, it is one.
 */
import { Core } from '../../src/core.ts';
import { isAddressInUse } from '../../src/listener.ts';
import { FileAuditStorage, auditPath } from '../host/audit-file.ts';
import { envPort, envToken } from '../host/env.ts';
import { configStorage, openConfig, sessionsDir } from '../host/home.ts';
import { HolderSessions } from '../holder/sessions.ts';
import { nodeSystem } from '../host/system.ts';
import { privateUnixSockets, removeOwnSocket } from '../host/unix-socket.ts';
import { CliError } from './errors.ts';
import { listenError } from './listen-error.ts';
import { findServer } from './remote.ts';
import { type TransportOptions, listenOptions, unixSocketTaken } from './transport.ts';
import { stopOnSignals } from './shutdown.ts';
import type { RuntimeWiring } from './wiring.ts';

/** How long shutdown may take before the process exits anyway (non-zero: something hung). */
const SHUTDOWN_GRACE_MS = 5000;

export interface ServeOptions extends TransportOptions {
  host?: string | undefined;
  port?: number | undefined;
  dev: boolean;
  /** --require-token: a token on loopback too, for this run (docs/security.md). */
  requireToken?: boolean | undefined;
  /** --stop-persistent: end the persistent terminals a previous server left, then serve (docs/persistent.md). */
  stopPersistent?: boolean | undefined;
}

export async function serve(wiring: RuntimeWiring, options: ServeOptions): Promise<void> {
  const listen = await listenOptions(options, 'termgate');
  if (listen === 'running') return process.exit(0);
  const portGiven = options.port ?? envPort('TERMGATE_PORT');
  const storage = configStorage(options.dev);
  const config = await openConfig(storage, options.dev);

  // --host/--port win for this run only; the saved settings stay as they are
  // until PUT /api/settings/connections (or `termgate expose`) changes them.
  const host = options.host ?? (config.current.expose ? '0.0.0.0' : '127.0.0.1');
  const port = portGiven ?? config.current.apiPort;
  const log = (line: string) => console.error(`termgate: ${line}`);
  const { holder, ...runtime } = wiring;
  const sessions = holder && new HolderSessions(sessionsDir(options.dev), holder, () => config.current.limits.scrollbackBytes, log);
  const core = new Core({
    platform: {
      ...runtime,
      sessions,
      listen: privateUnixSockets(wiring.listen),
      storage,
      audit: new FileAuditStorage(auditPath(options.dev)),
      system: nodeSystem,
      envToken: envToken(),
      log,
    },
    config,
    listen,
    requireToken: options.requireToken,
  });

  try {
    await core.start(host, port);
  } catch (error) {
    if (listen.unixPath !== undefined) throw isAddressInUse(error) ? unixSocketTaken(listen.unixPath) : listenError(error, core.url);
    if (!isAddressInUse(error)) throw listenError(error, `${host}:${port}`, host);
    const existing = await findServer(port, { host });
    if (existing) {
      const { runtime, mode } = existing.health;
      console.log(`termgate is already running at ${existing.url} (runtime: ${runtime}, mode: ${mode})`);
      return process.exit(0);
    }
    throw new CliError(`port ${port} on ${host} is in use by another program (not termgate); choose another with --port`);
  }

  if (options.stopPersistent) {
    // Taken over at start like any others, then ended as DELETE would end them: shell, holder and files.
    const persistent = core.terminals.list().filter((terminal) => terminal.persistent);
    await Promise.all(persistent.map((terminal) => core.terminals.close(terminal.id)));
    console.error(`termgate: --stop-persistent: ended ${persistent.length} persistent terminal${persistent.length === 1 ? '' : 's'}`);
  }
  console.log(`termgate listening on ${core.url} (mode: ${core.listening.mode}, runtime: ${wiring.runtime})`);
  stopOnSignals({
    name: 'termgate',
    graceMs: SHUTDOWN_GRACE_MS,
    exitCodeWhenSlow: 1,
    cleanup: async () => {
      await core.shutdown();
      if (listen.unixPath !== undefined) removeOwnSocket(listen.unixPath);
    },
  });
}

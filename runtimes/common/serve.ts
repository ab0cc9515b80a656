/**
 * `termgate serve` (SPEC §2): load config, build the core, listen, and stop
 * cleanly on a signal. A port already held by a termgate is not an error (it
 * says where that one runs and exits 0); held by anything else, it is one.
 */
import { Core } from '../../src/core.ts';
import { isAddressInUse, urlFor } from '../../src/listener.ts';
import { CliError } from './cli-error.ts';
import { configStorage, envToken, openConfig } from './home.ts';
import { nodeSystem } from './system.ts';
import type { RuntimeWiring } from './wiring.ts';

/** How long shutdown may take before the process exits anyway (non-zero: something hung). */
const SHUTDOWN_GRACE_MS = 5000;

export interface ServeOptions {
  host?: string | undefined;
  port?: number | undefined;
  dev: boolean;
}

export async function serve(wiring: RuntimeWiring, options: ServeOptions): Promise<void> {
  const storage = configStorage(options.dev);
  const config = await openConfig(storage, options.dev);

  // --host/--port win for this run only; the saved settings stay as they are
  // until PUT /api/settings/connections (or `termgate expose`) changes them.
  const host = options.host ?? (config.current.expose ? '0.0.0.0' : '127.0.0.1');
  const port = options.port ?? config.current.apiPort;
  const core = new Core({
    platform: {
      ...wiring,
      storage,
      system: nodeSystem,
      envToken: envToken(),
      log: (line) => console.error(`termgate: ${line}`),
    },
    config,
  });

  try {
    await core.start(host, port);
  } catch (error) {
    if (!isAddressInUse(error)) throw listenError(error, host, port);
    const existing = await probeTermgate(host, port);
    if (existing) {
      console.log(`termgate is already running at ${existing.url} (runtime: ${existing.runtime}, mode: ${existing.mode})`);
      return process.exit(0);
    }
    throw new CliError(`port ${port} on ${host} is in use by another program (not termgate); choose another with --port`);
  }

  console.log(`termgate listening on ${core.url} (mode: ${core.listening.mode}, runtime: ${wiring.runtime})`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`termgate: ${signal}, shutting down`);
    const forced = setTimeout(() => process.exit(1), SHUTDOWN_GRACE_MS);
    await core.shutdown();
    clearTimeout(forced);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

function listenError(error: unknown, host: string, port: number): CliError {
  const code = (error as { code?: unknown } | null)?.code;
  const where = `${host}:${port}`;
  switch (code) {
    case 'EADDRNOTAVAIL':
      return new CliError(`cannot listen on ${where}: ${host} is not an address of this machine (--host)`);
    case 'EACCES':
    case 'EPERM':
      return new CliError(`cannot listen on ${where}: permission denied`);
    default:
      return new CliError(`cannot listen on ${where}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function loopbackFor(host: string): string {
  return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
}

/** The termgate answering on host:port (through loopback for a wildcard bind), or null when the port holds something else. */
export async function probeTermgate(
  host: string,
  port: number,
): Promise<{ url: string; runtime: string; mode: string } | null> {
  const url = urlFor(loopbackFor(host), port);
  try {
    const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
    const body = (await response.json()) as { name?: string; runtime?: string; mode?: string };
    if (body.name !== 'termgate') return null;
    return { url, runtime: body.runtime ?? 'unknown', mode: body.mode ?? 'unknown' };
  } catch {
    return null;
  }
}

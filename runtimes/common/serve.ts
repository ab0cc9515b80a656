/** `termgate serve`: load config, build the core, listen, and stop cleanly on a signal. */
import { ConfigError, ConfigStore } from '../../src/config.ts';
import { Core } from '../../src/core.ts';
import { configStorage } from './home.ts';
import { nodeSystem } from './system.ts';
import type { RuntimeWiring } from './wiring.ts';

export interface ServeOptions {
  host?: string | undefined;
  port?: number | undefined;
  dev: boolean;
}

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export async function serve(wiring: RuntimeWiring, options: ServeOptions): Promise<void> {
  const storage = configStorage(options.dev);
  let config: ConfigStore;
  try {
    config = await ConfigStore.open(storage, options.dev);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message);
    throw error;
  }

  const host = options.host ?? (config.current.expose ? '0.0.0.0' : '127.0.0.1');
  const port = options.port ?? config.current.apiPort;
  const core = new Core({
    platform: {
      ...wiring,
      storage,
      system: nodeSystem,
      envToken: process.env.TERMGATE_TOKEN,
      log: (line) => console.error(`termgate: ${line}`),
    },
    config,
  });

  try {
    await core.start(host, port);
  } catch (error) {
    if ((error as { code?: string }).code !== 'EADDRINUSE') throw error;
    const existing = await probeTermgate(host, port);
    if (existing) {
      console.log(`termgate is already running at ${existing} (runtime: ${await runtimeAt(existing)})`);
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
    const forced = setTimeout(() => process.exit(1), 5000);
    await core.shutdown();
    clearTimeout(forced);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

function loopbackFor(host: string): string {
  return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
}

/** The URL of a termgate answering on host:port, or null when the port holds something else. */
export async function probeTermgate(host: string, port: number): Promise<string | null> {
  const target = loopbackFor(host);
  const url = `http://${target.includes(':') ? `[${target}]` : target}:${port}`;
  try {
    const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
    const body = (await response.json()) as { name?: string };
    return body.name === 'termgate' ? url : null;
  } catch {
    return null;
  }
}

async function runtimeAt(url: string): Promise<string> {
  try {
    const body = (await (await fetch(`${url}/health`)).json()) as { runtime?: string };
    return body.runtime ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * An in-memory Platform for unit tests of the core through core.fetch(). Only
 * the pieces a unit test exercises are real; listening, PTYs and WebSockets
 * are covered by the conformance suite against real processes.
 */
import { ConfigStore } from '../../src/config.ts';
import { Core } from '../../src/core.ts';
import type { ConfigStorage, Platform } from '../../src/platform.ts';

export class MemoryStorage implements ConfigStorage {
  readonly path = '/memory/config.json';
  text: string | null;
  writes = 0;
  constructor(text: string | null = null) {
    this.text = text;
  }
  async read() {
    return this.text;
  }
  async write(text: string) {
    this.writes++;
    this.text = text;
  }
  async withLock<T>(fn: () => Promise<T>) {
    return fn();
  }
}

const unused = () => {
  throw new Error('not available in unit tests');
};

export async function unitCore(options: { mode?: 'local' | 'exposed'; envToken?: string; storage?: MemoryStorage } = {}) {
  const storage = options.storage ?? new MemoryStorage();
  const platform: Platform = {
    runtime: 'node',
    // No socket: "listening" only records where, so the gate sees the mode.
    listen: async (_host, port) => ({ port, close: async () => {} }),
    storage,
    system: {
      interfaceAddresses: () => ['192.0.2.10', 'fe80::1'],
      defaultShell: () => '/bin/sh',
      homeDir: () => '/tmp',
      baseEnv: () => ({}),
      isDirectory: async () => true,
      resolveCommand: async (command) => command,
      // No files here: shells start without integration, so run uses the marker method.
      installFiles: async () => {
        throw new Error('no files in unit tests');
      },
      foregroundProcess: () => null,
    },
    pty: { spawn: unused },
    upgradeWebSocket: unused,
    envToken: options.envToken,
    log: () => {},
  };
  const config = await ConfigStore.open(storage, false);
  const core = new Core({ platform, config });
  await core.start(options.mode === 'exposed' ? '0.0.0.0' : '127.0.0.1', 42031);
  const request = (path: string, init: RequestInit & { headers?: Record<string, string> } = {}) =>
    core.fetch(new Request(`http://127.0.0.1:42031${path}`, { ...init, headers: { host: '127.0.0.1:42031', ...init.headers } }));
  return { core, storage, config, request };
}

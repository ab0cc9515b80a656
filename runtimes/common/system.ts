/** SystemInfo from node:os / node:fs, which Node, Bun and Deno all provide. */
import { access, constants, stat } from 'node:fs/promises';
import { homedir, networkInterfaces, userInfo } from 'node:os';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import type { SystemInfo } from '../../src/platform.ts';

/** Environment variables a terminal must never inherit (the server's own secret). */
const HIDDEN_ENV = new Set(['TERMGATE_TOKEN']);

export const nodeSystem: SystemInfo = {
  interfaceAddresses() {
    const addresses: string[] = [];
    for (const list of Object.values(networkInterfaces())) {
      for (const entry of list ?? []) if (!entry.internal) addresses.push(entry.address);
    }
    return addresses;
  },

  defaultShell() {
    if (process.env.SHELL) return process.env.SHELL;
    try {
      return userInfo().shell || '/bin/sh';
    } catch {
      return '/bin/sh';
    }
  },

  homeDir() {
    return homedir();
  },

  baseEnv() {
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(process.env)) {
      if (value !== undefined && !HIDDEN_ENV.has(name)) env[name] = value;
    }
    env.TERM = 'xterm-256color';
    return env;
  },

  async isDirectory(path) {
    try {
      return (await stat(path)).isDirectory();
    } catch {
      return false;
    }
  },

  async resolveCommand(command, env) {
    const candidates = command.includes('/')
      ? [isAbsolute(command) ? command : resolve(command)]
      : (env.PATH ?? process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, command));
    for (const candidate of candidates) {
      try {
        await access(candidate, constants.X_OK);
        if ((await stat(candidate)).isFile()) return candidate;
      } catch {
        // not here; keep looking
      }
    }
    return null;
  },
};

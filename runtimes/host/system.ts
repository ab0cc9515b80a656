/** SystemInfo from node:os / node:fs, which Node, Bun and Deno all provide. */
import { accessSync, constants as fsConstants, readFileSync, statSync } from 'node:fs';
import { access, chmod, constants, mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { homedir, networkInterfaces, userInfo } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import type { SystemInfo } from '../../src/platform.ts';
import { termgateHome } from './home.ts';

/** Environment variables a terminal must never inherit (the server's own secret). */
const HIDDEN_ENV = new Set(['TERMGATE_TOKEN']);

export const nodeSystem: SystemInfo = {
  interfaceAddresses() {
    const addresses: string[] = [];
    for (const list of Object.values(networkInterfaces())) {
      // IPv6 link-local (fe80::/10) needs a zone id that browsers and URLs cannot carry: no use to anyone.
      for (const entry of list ?? []) if (!entry.internal && !/^fe[89ab]/i.test(entry.address)) addresses.push(entry.address);
    }
    return addresses;
  },

  defaultShell() {
    // $SHELL may be unset (CI, services), and Bun's userInfo() reports the shell
    // as "unknown", so every candidate must be an executable absolute path.
    // nologin and false are how service accounts say "no shell": a terminal would exit at once.
    const usable = (path: string | undefined): path is string =>
      path !== undefined && isAbsolute(path) && !/\/(nologin|false)$/.test(path) && isExecutableFile(path);
    if (usable(process.env.SHELL)) return process.env.SHELL;
    let accountShell: string | undefined;
    try {
      accountShell = userInfo().shell ?? undefined; // a passwd lookup: only when $SHELL will not do
    } catch {
      // No passwd entry for this uid (containers): fall through to the fixed paths.
    }
    return [accountShell, '/bin/bash', '/bin/sh'].find(usable) ?? '/bin/sh';
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

  async installFiles(name, files) {
    // Absolute: shells read these files from whatever directory they start in.
    const dir = resolve(termgateHome(), name);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
    for (const [relative, text] of Object.entries(files)) {
      const path = join(dir, relative);
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      // Temp file and rename: a shell starting meanwhile (another server on this home) reads the old file or the new one.
      const temp = `${path}.${process.pid}.tmp`;
      await writeFile(temp, text, { mode: 0o600 });
      await rename(temp, path);
    }
    return dir;
  },

  foregroundProcess(pid) {
    // /proc/<pid>/stat: "pid (comm) state ppid pgrp session tty_nr tpgid …"; comm may hold spaces and parentheses.
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const tpgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[5]);
      if (!Number.isSafeInteger(tpgid) || tpgid <= 0 || tpgid === pid) return null;
      let name: string;
      try {
        name = readFileSync(`/proc/${tpgid}/comm`, 'utf8').trim();
      } catch {
        name = `process group ${tpgid}`; // its leader has exited; others of the group still run
      }
      return { pid: tpgid, name };
    } catch {
      return null; // no /proc (not Linux), or the shell has exited
    }
  },
};

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, fsConstants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * The config file on disk (node:fs, which Node, Bun and Deno all provide):
 * atomic replace (temp file + fsync + rename, mode 0600) and a cross-process
 * lock file so the server and the CLI never lose each other's updates.
 */
import { mkdir, open, readFile, rename, rm, stat, chmod } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ConfigStorage } from '../../src/platform.ts';

const LOCK_WAIT_MS = 10_000;
/** A lock older than this whose owner is gone is stale (the holder crashed). */
const STALE_LOCK_MS = 30_000;

export class FileConfigStorage implements ConfigStorage {
  readonly path: string;
  readonly #lockPath: string;
  /** Serialises lock users inside this process; the lock file covers other processes. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(path: string) {
    this.path = path;
    this.#lockPath = `${path}.lock`;
  }

  async read(): Promise<string | null> {
    try {
      return await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async write(text: string): Promise<void> {
    await ensureDir(dirname(this.path));
    const temp = `${this.path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await rename(temp, this.path);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    await chmod(this.path, 0o600);
  }

  withLock<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(async () => {
      await this.#acquire();
      try {
        return await fn();
      } finally {
        await rm(this.#lockPath, { force: true });
      }
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #acquire(): Promise<void> {
    await ensureDir(dirname(this.path));
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
      try {
        const handle = await open(this.#lockPath, 'wx', 0o600);
        await handle.writeFile(String(process.pid));
        await handle.close();
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      if (await this.#lockIsStale()) {
        await rm(this.#lockPath, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`config file ${this.path} is locked by another process (${this.#lockPath})`);
      await new Promise((resolve) => setTimeout(resolve, delay + Math.random() * delay));
    }
  }

  async #lockIsStale(): Promise<boolean> {
    try {
      const [info, owner] = await Promise.all([stat(this.#lockPath), readFile(this.#lockPath, 'utf8')]);
      const pid = Number(owner);
      if (Number.isInteger(pid) && pid > 0 && !processAlive(pid)) return true;
      return Date.now() - info.mtimeMs > STALE_LOCK_MS;
    } catch {
      return false; // vanished or half-written: just try again
    }
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

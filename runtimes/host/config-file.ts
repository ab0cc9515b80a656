/**
 * The config file on disk (node:fs, which Node, Bun and Deno all provide):
 * atomic replace (temp file + fsync + rename, mode 0600) and a cross-process
 * lock file so the server and the CLI never lose each other's updates.
 *
 * The lock is a file holding "<pid> <nonce>", created complete (written to a
 * private name, then hard-linked into place, which fails if it exists), so no
 * one ever sees an empty lock whose owner is unknown. A holder
 * that died leaves it behind; a waiter breaks it only when the holder's pid is
 * gone (or the lock is implausibly old), and only while holding a second,
 * short-lived "break" lock, re-checking that it is still the same stale lock.
 * Without that, two waiters that both saw the stale lock could each remove it,
 * the second removing the fresh lock the first had just taken.
 */
import { chmod, link, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { ConfigStorage } from '../../src/platform.ts';

const LOCK_WAIT_MS = 10_000;
/** A lock held longer than this is stale even if its pid is alive (pid reuse, a hung holder); real holds last milliseconds. */
const STALE_LOCK_MS = 30_000;
/** A break lock older than this belongs to a waiter that died mid-break. */
const STALE_BREAK_MS = 5_000;

interface LockSeen {
  owner: string;
  mtimeMs: number;
}

export class FileConfigStorage implements ConfigStorage {
  readonly path: string;
  readonly #lockPath: string;
  readonly #breakPath: string;
  /** Serialises lock users inside this process; the lock file covers other processes. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(path: string) {
    this.path = path;
    this.#lockPath = `${path}.lock`;
    this.#breakPath = `${path}.lock.break`;
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
    const dir = dirname(this.path);
    await ensureDir(dir);
    const temp = `${this.path}.${process.pid}.${crypto.randomUUID()}.tmp`;
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
    await syncDir(dir);
  }

  /**
   * Sets the file to 0600 when group or others may read or write it (a copy
   * or an editor may have loosened it); the mode it had, or null when it was fine.
   */
  async tightenPermissions(): Promise<number | null> {
    const info = await stat(this.path).catch(() => null);
    if (info === null || (info.mode & 0o077) === 0) return null;
    await chmod(this.path, 0o600);
    return info.mode & 0o777;
  }

  withLock<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(async () => {
      const owner = await this.#acquire();
      try {
        return await fn();
      } finally {
        await this.#release(owner);
      }
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #acquire(): Promise<string> {
    await ensureDir(dirname(this.path));
    const owner = `${process.pid} ${crypto.randomUUID()}`;
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
      const mine = `${this.#lockPath}.${owner.replace(' ', '.')}`;
      await writeFile(mine, owner, { mode: 0o600 });
      try {
        await link(mine, this.#lockPath);
        return owner;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      } finally {
        await rm(mine, { force: true });
      }
      if (await this.#breakIfStale()) continue;
      if (Date.now() > deadline) throw new Error(`config file ${this.path} is locked by another process (${this.#lockPath})`);
      await new Promise((resolve) => setTimeout(resolve, delay + Math.random() * delay));
    }
  }

  /** Removes our lock, and only ours (after a break for staleness it may be someone else's). */
  async #release(owner: string): Promise<void> {
    const seen = await this.#readLock();
    if (seen?.owner === owner) await rm(this.#lockPath, { force: true });
  }

  async #readLock(): Promise<LockSeen | null> {
    try {
      const [info, owner] = await Promise.all([stat(this.#lockPath), readFile(this.#lockPath, 'utf8')]);
      return { owner, mtimeMs: info.mtimeMs };
    } catch {
      return null; // vanished: just try again
    }
  }

  /** A holder that crashed may have left its temp file or its private lock name; both are garbage now. */
  async #removeTempsOf(pid: number | null): Promise<void> {
    if (pid === null) return;
    const base = basename(this.path);
    const dir = dirname(this.path);
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      const temp = name.startsWith(`${base}.${pid}.`) && name.endsWith('.tmp');
      if (temp || name.startsWith(`${base}.lock.${pid}.`)) await rm(join(dir, name), { force: true });
    }
  }

  async #breakIfStale(): Promise<boolean> {
    const seen = await this.#readLock();
    if (seen === null || !isStale(seen)) return false;
    let guard;
    try {
      guard = await open(this.#breakPath, 'wx', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const info = await stat(this.#breakPath).catch(() => null);
      if (info && Date.now() - info.mtimeMs > STALE_BREAK_MS) await rm(this.#breakPath, { force: true });
      return false;
    }
    try {
      const again = await this.#readLock();
      if (again === null || again.owner !== seen.owner || !isStale(again)) return false;
      await rm(this.#lockPath, { force: true });
      await this.#removeTempsOf(ownerPid(seen.owner));
      return true;
    } finally {
      await guard.close();
      await rm(this.#breakPath, { force: true });
    }
  }
}

function ownerPid(owner: string): number | null {
  const pid = Number(owner.split(' ')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

function isStale({ owner, mtimeMs }: LockSeen): boolean {
  const pid = ownerPid(owner);
  if (pid !== null && !processAlive(pid)) return true;
  // No readable owner (not one of ours: ours are created complete), or a holder for implausibly long.
  return Date.now() - mtimeMs > (pid === null ? STALE_BREAK_MS : STALE_LOCK_MS);
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

/** Makes the rename itself durable; best effort (some file systems refuse to open a directory). */
async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // the rename is atomic either way; only its durability across a power cut is at stake
  }
}

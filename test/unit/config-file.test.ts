/**
 * The config file under contention and crashes (runtimes/host/config-file.ts):
 * a writer killed mid-write leaves the previous file whole, its lock is broken
 * because its pid is gone, and waiters that break a stale lock together never
 * both hold it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileConfigStorage } from '../../runtimes/host/config-file.ts';
import { ROOT } from '../harness.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'termgate-config-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A pid that belonged to a process that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid!;
}

describe('FileConfigStorage', () => {
  it('a writer killed at random points leaves a whole file and no lock that blocks the next writer', async () => {
    const dir = tempDir();
    const path = join(dir, 'config.json');
    writeFileSync(path, JSON.stringify({ generation: 0, pad: '' }), { mode: 0o600 });
    // The child rewrites a ~1 MB file under the lock as fast as it can.
    const script = `
      import { FileConfigStorage } from ${JSON.stringify(join(ROOT, 'dist/runtimes/host/config-file.js'))};
      const storage = new FileConfigStorage(${JSON.stringify(path)});
      const pad = 'x'.repeat(1 << 20);
      for (let generation = 1; ; generation++) {
        await storage.withLock(() => storage.write(JSON.stringify({ generation, pad })));
      }`;
    let highest = 0;
    for (let round = 0; round < 8; round++) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
      await new Promise((resolve) => setTimeout(resolve, 150 + Math.random() * 250));
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      const saved = JSON.parse(readFileSync(path, 'utf8')) as { generation: number; pad: string };
      expect(saved.pad.length === 0 || saved.pad.length === 1 << 20).toBe(true);
      highest = Math.max(highest, saved.generation);
      const started = Date.now();
      const storage = new FileConfigStorage(path);
      await storage.withLock(async () => {});
      expect(Date.now() - started).toBeLessThan(2000); // the dead holder's lock is broken at once
    }
    // a temp file the killed writer left behind went with its lock
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(dir).filter((name) => name.endsWith('.tmp')).length).toBeLessThanOrEqual(1);
    expect(highest).toBeGreaterThan(0);
  }, 60_000);

  it('waiters breaking the same stale lock together still take turns (no lost update)', async () => {
    const dir = tempDir();
    const path = join(dir, 'config.json');
    writeFileSync(path, '0');
    writeFileSync(`${path}.lock`, `${deadPid()} stale`);
    // Separate instances do not share the in-process queue, so only the lock file orders them.
    const workers = Array.from({ length: 12 }, () => new FileConfigStorage(path));
    await Promise.all(
      workers.map((storage) =>
        storage.withLock(async () => {
          const value = Number(await storage.read());
          await new Promise((resolve) => setTimeout(resolve, 1));
          await storage.write(String(value + 1));
        }),
      ),
    );
    expect(readFileSync(path, 'utf8')).toBe('12');
    expect(existsSync(`${path}.lock`)).toBe(false);
    expect(existsSync(`${path}.lock.break`)).toBe(false);
  });

  it('writes with mode 0600 and leaves no temp file behind', async () => {
    const dir = tempDir();
    const storage = new FileConfigStorage(join(dir, 'sub', 'config.json'));
    await storage.withLock(() => storage.write('{"a":1}\n'));
    expect(await storage.read()).toBe('{"a":1}\n');
    const { statSync, readdirSync } = await import('node:fs');
    expect(statSync(storage.path).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, 'sub'))).toEqual(['config.json']);
  });
});

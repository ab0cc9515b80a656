/** The audit file (runtimes/host/audit-file.ts) on a real file system: mode 0600, rotation at 10 MB keeping 3 files. */
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AUDIT_KEEP_FILES, AUDIT_MAX_BYTES, FileAuditStorage } from '../../runtimes/host/audit-file.ts';
import { AuditLog } from '../../src/audit.ts';
import { LOCAL } from '../../src/credentials.ts';
import { tempHome } from '../harness.ts';

const mode = (path: string) => statSync(path).mode & 0o777;

describe('audit file', () => {
  it('appends lines to a 0600 file (an existing looser file is tightened) and reads the last ones back', async () => {
    const path = join(tempHome(), 'audit.jsonl');
    writeFileSync(path, '{"old":1}\n');
    chmodSync(path, 0o644);
    const storage = new FileAuditStorage(path);
    await storage.append(['{"n":1}']);
    await storage.append(['{"n":2}']);
    expect(mode(path)).toBe(0o600);
    expect(readFileSync(path, 'utf8')).toBe('{"old":1}\n{"n":1}\n{"n":2}\n');
    expect(await storage.recent(2)).toEqual(['{"n":1}', '{"n":2}']);
    expect(await storage.recent(100)).toEqual(['{"old":1}', '{"n":1}', '{"n":2}']);
    await storage.close();
  });

  it('rotates at the real default of 10 MB and keeps 3 files: the oldest is dropped', async () => {
    expect(AUDIT_MAX_BYTES).toBe(10 * 1024 * 1024);
    expect(AUDIT_KEEP_FILES).toBe(3);
    const path = join(tempHome(), 'audit.jsonl');
    // Three full files already there: current, .1 and .2, each one line short of 10 MB.
    const line = (tag: string) => `{"tag":"${tag}"}`;
    const fill = (tag: string) => {
      const head = line(tag) + '\n';
      return head + 'x'.repeat(AUDIT_MAX_BYTES - head.length - 20) + '\n';
    };
    writeFileSync(path, fill('current'));
    writeFileSync(`${path}.1`, fill('first-rotated'));
    writeFileSync(`${path}.2`, fill('oldest'));
    const storage = new FileAuditStorage(path);
    await storage.append([line('fits')]); // 15 bytes + newline: still under 10 MB
    expect(readFileSync(path, 'utf8').endsWith(`${line('fits')}\n`)).toBe(true);
    await storage.append([line('next-one-rotates')]);
    expect(readFileSync(path, 'utf8')).toBe(`${line('next-one-rotates')}\n`);
    expect(readFileSync(`${path}.1`, 'utf8').startsWith(line('current'))).toBe(true);
    expect(readFileSync(`${path}.2`, 'utf8').startsWith(line('first-rotated'))).toBe(true);
    expect(existsSync(`${path}.3`)).toBe(false);
    expect(mode(path)).toBe(0o600);
    // Reading the last lines goes back into the rotated file.
    expect(await storage.recent(2)).toEqual([line('fits'), line('next-one-rotates')]);
    await storage.close();
  });

  it('with a smaller limit, every file stays under it and never more than 3 exist', async () => {
    const path = join(tempHome(), 'audit.jsonl');
    const storage = new FileAuditStorage(path, { maxBytes: 100 });
    for (let i = 0; i < 50; i++) await storage.append([JSON.stringify({ i, pad: 'p'.repeat(10) })]);
    for (const file of [path, `${path}.1`, `${path}.2`]) expect(statSync(file).size).toBeLessThanOrEqual(100);
    expect(existsSync(`${path}.3`)).toBe(false);
    const recent = (await storage.recent(1000)).map((l) => JSON.parse(l).i as number);
    expect(recent.at(-1)).toBe(49);
    expect(recent).toEqual([...recent].sort((a, b) => a - b));
    await storage.close();
  });

  it('AuditLog writes a burst of lines in one append, in order, and a read right after sees them all', async () => {
    const path = join(tempHome(), 'audit.jsonl');
    const storage = new FileAuditStorage(path);
    const appends: number[] = [];
    const append = storage.append.bind(storage);
    storage.append = (lines) => {
      appends.push(lines.length);
      return append(lines);
    };
    const log = new AuditLog(storage, () => false, () => {});
    // 30 keystrokes, as a typist's burst through /ws: one file write, not 30.
    for (let i = 0; i < 30; i++) log.operation('ws', LOCAL, 'input', { terminalId: 't1', data: 'x' }, { terminalId: 't1', bytes: 1 });
    const entries = await log.recent(100);
    expect(entries).toHaveLength(30);
    expect(entries.every((e) => e.op === 'terminal.input' && e.door === 'ws' && e.bytes === 1)).toBe(true);
    expect(appends).toEqual([30]);
    // A later line goes out on its own (after the flush delay), and shutdown's settled() writes what is pending.
    log.record('rest', LOCAL, 'auth.rotate');
    await log.settled();
    expect(appends).toEqual([30, 1]);
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(31);
    await storage.close();
  });
});

/**
 * The audit log on disk (docs/security.md): $TERMGATE_HOME/audit.jsonl
 * (audit.dev.jsonl for --dev), mode 0600, rotated when a write would take it
 * past 10 MB: audit.jsonl -> audit.jsonl.1 -> audit.jsonl.2, so 3 files are
 * kept and the oldest is dropped. A write is the lines AuditLog collected over
 * a moment, so they stay together in one file. Only the API server writes it (the MCP
 * sidecar's calls arrive through the API), one append at a time (AuditLog
 * serialises them).
 */
import { chmod, mkdir, open, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { AuditStorage } from '../../src/platform.ts';
import { configPath } from './home.ts';

export const AUDIT_MAX_BYTES = 10 * 1024 * 1024;
/** Files kept in all: the current one and two rotated. */
export const AUDIT_KEEP_FILES = 3;

export interface AuditFileOptions {
  /** Rotate before a line would take the file past this (default 10 MB). */
  maxBytes?: number;
  /** Files kept, the current one included (default 3). */
  keep?: number;
}

export function auditPath(dev: boolean): string {
  return join(dirname(configPath(dev)), dev ? 'audit.dev.jsonl' : 'audit.jsonl');
}

export class FileAuditStorage implements AuditStorage {
  readonly path: string;
  readonly maxBytes: number;
  readonly keep: number;
  #handle: FileHandle | null = null;
  /** The current file's size, read once, then counted. */
  #size: number | null = null;

  constructor(path: string, { maxBytes = AUDIT_MAX_BYTES, keep = AUDIT_KEEP_FILES }: AuditFileOptions = {}) {
    this.path = path;
    this.maxBytes = maxBytes;
    this.keep = Math.max(1, keep);
  }

  /** The n-th rotated file (0: the current one). */
  fileAt(index: number): string {
    return index === 0 ? this.path : `${this.path}.${index}`;
  }

  async append(lines: readonly string[]): Promise<void> {
    if (lines.length === 0) return;
    const text = lines.join('\n') + '\n';
    const bytes = Buffer.byteLength(text);
    if (this.#size === null) {
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
      this.#size = (await stat(this.path).catch(() => null))?.size ?? 0;
    }
    if (this.#size > 0 && this.#size + bytes > this.maxBytes) await this.#rotate();
    if (this.#handle === null) {
      this.#handle = await open(this.path, 'a', 0o600);
      // An existing file keeps its mode on open: it is set to 0600 here (it may say who typed what).
      await chmod(this.path, 0o600);
    }
    await this.#handle.write(text);
    this.#size += bytes;
  }

  async #rotate(): Promise<void> {
    await this.#handle?.close();
    this.#handle = null;
    await rm(this.fileAt(this.keep - 1), { force: true });
    for (let index = this.keep - 2; index >= 0; index--) {
      await rename(this.fileAt(index), this.fileAt(index + 1)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    }
    this.#size = 0;
  }

  async recent(limit: number): Promise<string[]> {
    let lines: string[] = [];
    for (let index = 0; index < this.keep && lines.length < limit; index++) {
      const text = await readFile(this.fileAt(index), 'utf8').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return '';
        throw error;
      });
      lines = [...text.split('\n').filter((l) => l !== ''), ...lines];
    }
    return lines.slice(-limit);
  }

  async close(): Promise<void> {
    await this.#handle?.close();
    this.#handle = null;
  }
}

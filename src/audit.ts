/**
 * The audit log (docs/security.md): one JSON line per state-changing
 * operation, through every door, saying who did it. The file itself (0600,
 * rotated by size) is the runtime's (AuditStorage, runtimes/host/audit-file.ts).
 *
 * A line holds names and counts, never a secret: the token's name (or "main",
 * "local"), never the token; the typed text only when the config asks for it
 * (`audit.recordInput`). Lines are written after the operation took effect;
 * refused requests (bad input, forbidden, unknown terminal) write none.
 * Writing never delays the operation's answer; GET /api/audit waits for the
 * lines already recorded.
 *
 * Lines are collected for FLUSH_MS and written together: one write per
 * keystroke put a file write (a thread-pool hop on Node and Deno) between the
 * key reaching the PTY and its echo going out (docs/benchmarks.md, Echo).
 */
import type { Principal } from './credentials.ts';
import { principalName } from './credentials.ts';
import type { AuditStorage } from './platform.ts';

/** Which door the operation came through. */
export type Door = 'rest' | 'ws' | 'mcp';

export interface AuditDetails {
  terminalId?: string | undefined;
  /** UTF-8 bytes typed (input, keys) or of the command line (run). */
  bytes?: number | undefined;
  /** The token a token.create or token.revoke was about (its name). */
  name?: string | undefined;
  /** With audit.recordInput: the text typed (input) or the command line (run). */
  text?: string | undefined;
  /** With audit.recordInput: the key names pressed. */
  keys?: string[] | undefined;
}

export interface AuditEntry extends AuditDetails {
  time: string;
  door: Door;
  token: string;
  op: string;
}

/** Lines kept in memory when there is no file (unit tests). */
const MEMORY_LINES = 1000;
/** How long recorded lines wait to be written with the ones that follow (a burst of typing is one write). */
const FLUSH_MS = 20;

const encoder = new TextEncoder();

export class AuditLog {
  readonly #storage: AuditStorage | undefined;
  readonly #recordInput: () => boolean;
  readonly #log: (line: string) => void;
  readonly #memory: string[] = [];
  #queue: Promise<void> = Promise.resolve();
  /** Lines recorded and not yet handed to the storage. */
  #pending: string[] = [];
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #failing = false;

  constructor(storage: AuditStorage | undefined, recordInput: () => boolean, log: (line: string) => void) {
    this.#storage = storage;
    this.#recordInput = recordInput;
    this.#log = log;
  }

  get path(): string | null {
    return this.#storage?.path ?? null;
  }

  /** One line, in a fixed field order. */
  record(door: Door, principal: Principal, op: string, details: AuditDetails = {}): void {
    const entry: AuditEntry = { time: new Date().toISOString(), door, token: principalName(principal), op };
    for (const key of ['terminalId', 'bytes', 'name', 'text', 'keys'] as const) {
      if (details[key] !== undefined) (entry as unknown as Record<string, unknown>)[key] = details[key];
    }
    const line = JSON.stringify(entry);
    if (this.#storage === undefined) {
      this.#memory.push(line);
      if (this.#memory.length > MEMORY_LINES) this.#memory.shift();
      return;
    }
    this.#pending.push(line);
    this.#flushTimer ??= setTimeout(() => this.#flush(), FLUSH_MS);
  }

  /** Hands the pending lines to the storage, after the writes before them. */
  #flush(): void {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    const storage = this.#storage;
    if (storage === undefined || this.#pending.length === 0) return;
    const lines = this.#pending;
    this.#pending = [];
    this.#queue = this.#queue.then(() =>
      storage.append(lines).then(
        () => {
          if (this.#failing) this.#log(`audit: writing ${storage.path} works again`);
          this.#failing = false;
        },
        (error: unknown) => {
          // Said once per run of failures, not once per line.
          if (!this.#failing) this.#log(`audit: cannot write ${storage.path}: ${error instanceof Error ? error.message : String(error)}`);
          this.#failing = true;
        },
      ),
    );
  }

  /** The line for a terminal operation that took effect, from its parameters and result. */
  operation(door: Door, principal: Principal, opName: string, params: Record<string, unknown>, result: unknown): void {
    const recordInput = this.#recordInput();
    const details: AuditDetails = {};
    if (typeof params.terminalId === 'string') details.terminalId = params.terminalId;
    const answer = (result ?? {}) as { id?: unknown; bytes?: unknown };
    if (opName === 'create' && typeof answer.id === 'string') details.terminalId = answer.id;
    if ((opName === 'input' || opName === 'keys') && typeof answer.bytes === 'number') details.bytes = answer.bytes;
    if (opName === 'run' && typeof params.command === 'string') details.bytes = encoder.encode(params.command).length;
    if (recordInput) {
      if (opName === 'input' && typeof params.data === 'string') details.text = params.data;
      if (opName === 'run' && typeof params.command === 'string') details.text = params.command;
      if (opName === 'keys') details.keys = typeof params.keys === 'string' ? [params.keys] : (params.keys as string[] | undefined);
    }
    this.record(door, principal, `terminal.${opName}`, details);
  }

  /** Resolves once every line recorded so far has been written (or has failed). */
  settled(): Promise<void> {
    this.#flush();
    return this.#queue;
  }

  /** The last `limit` entries, oldest first. */
  async recent(limit: number): Promise<AuditEntry[]> {
    await this.settled();
    const lines = this.#storage === undefined ? this.#memory.slice(-limit) : await this.#storage.recent(limit);
    const entries: AuditEntry[] = [];
    for (const line of lines) {
      try {
        entries.push(JSON.parse(line) as AuditEntry);
      } catch {
        // a line cut by a crash: skipped, the rest still reads
      }
    }
    return entries;
  }
}

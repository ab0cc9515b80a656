/**
 * The config file: its schema, first-run defaults, and one serialised
 * read-modify-write path shared with the CLI (through ConfigStorage's lock).
 */
import { z } from 'zod';
import { TermgateError } from './errors.ts';
import { randomHex } from './hex.ts';
import type { ConfigStorage } from './platform.ts';

export const PROD_PORTS = { api: 42031, mcp: 42032 } as const;
export const DEV_PORTS = { api: 42051, mcp: 42052 } as const;

const port = z.number().int().min(1024).max(65535);
const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters');

/** What a credential may do (docs/security.md): read < write < admin. */
export const SCOPES = ['read', 'write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export const NamedTokenSchema = z.object({
  name: z.string(),
  hash: hex64,
  /** A token saved before scopes existed gets `write`, the default of POST /api/tokens: never more than asked for. */
  scope: z.enum(SCOPES).default('write'),
  /** When present, the only terminals the token can see or touch. */
  terminals: z.array(z.string()).optional(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
});
export type NamedToken = z.infer<typeof NamedTokenSchema>;

export const LimitsSchema = z.object({
  maxTerminals: z.number().int().min(1).max(10000).default(64),
  maxBodyBytes: z.number().int().min(1024).default(1024 * 1024),
  maxInputBytes: z.number().int().min(1).default(256 * 1024),
  scrollbackBytes: z.number().int().min(1024).default(8 * 1024 * 1024),
  /** WebSocket: a connection that sends no frame (heartbeat or other) for this long is closed; 0 = never. */
  wsIdleTimeoutMs: z.number().int().min(0).default(60_000),
  /** WebSocket: live output pauses (and later catches up from scrollback) while a connection has this much queued. */
  wsHighWaterBytes: z.number().int().min(16 * 1024).default(1024 * 1024),
});
export type Limits = z.infer<typeof LimitsSchema>;

export const ConfigSchema = z.object({
  authToken: hex64,
  jwtSecret: hex64,
  apiPort: port,
  mcpPort: port,
  expose: z.boolean(),
  allowedHosts: z.array(z.string()).default([]),
  allowedOrigins: z.array(z.string()).default([]),
  tokens: z.array(NamedTokenSchema).default([]),
  limits: LimitsSchema.default(LimitsSchema.parse({})),
  /** Ask for a token on loopback too (multi-user hosts); `serve --require-token` sets it for one run. */
  requireToken: z.boolean().default(false),
  /** The audit log ($TERMGATE_HOME/audit.jsonl): `recordInput` also records the typed text itself. */
  audit: z.object({ recordInput: z.boolean().default(false) }).default({ recordInput: false }),
  /** `persistent`: new terminals outlive the server unless a create says otherwise (docs/persistent.md). */
  terminals: z.object({ persistent: z.boolean().default(false) }).default({ persistent: false }),
});
export type Config = z.infer<typeof ConfigSchema>;

/** The file is corrupt or invalid. It is never replaced; a running server answers writes with 503 until it is fixed. */
export class ConfigError extends TermgateError {
  constructor(message: string) {
    super('config_unreadable', message);
    this.name = 'ConfigError';
  }
}

export function defaultConfig(dev: boolean): Config {
  const ports = dev ? DEV_PORTS : PROD_PORTS;
  return ConfigSchema.parse({
    authToken: randomHex(32),
    jwtSecret: randomHex(32),
    apiPort: ports.api,
    mcpPort: ports.mcp,
    expose: false,
  });
}

/** Parses config text; a corrupt or invalid file is an error naming the file, never replaced. */
export function parseConfig(text: string, path: string): Config {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError(`config file ${path} is not valid JSON; fix or remove it (it was left untouched)`);
  }
  const result = ConfigSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.join('.') : 'file';
    throw new ConfigError(
      `config file ${path} is invalid at ${where}: ${issue?.message ?? 'bad value'}; fix or remove it (it was left untouched)`,
    );
  }
  return result.data;
}

export function serializeConfig(config: Config): string {
  return JSON.stringify(config, null, 2) + '\n';
}

/** The config in memory plus the file behind it. */
export class ConfigStore {
  #current: Config;
  /** The file's text as last read or written by this process, to tell a change made by another one. */
  #knownText: string | null = null;
  /** Bumped whenever #current changes, so a slow follow() cannot overwrite a newer update. */
  #generation = 0;
  /** A corrupt text follow() already reported, so it is not parsed (and reported) every time. */
  #rejectedText: string | null = null;
  readonly storage: ConfigStorage;
  /** Updates not yet written, so shutdown can wait for them. */
  readonly #pending = new Set<Promise<unknown>>();
  readonly #changeListeners: ((config: Readonly<Config>) => void)[] = [];

  private constructor(storage: ConfigStorage, current: Config, knownText: string | null) {
    this.storage = storage;
    this.#current = current;
    this.#knownText = knownText;
  }

  /** Loads the file, creating it with fresh secrets on first run. */
  static async open(storage: ConfigStorage, dev: boolean): Promise<ConfigStore> {
    const [config, text] = await storage.withLock(async (): Promise<[Config, string]> => {
      const text = await storage.read();
      if (text !== null) return [parseConfig(text, storage.path), text];
      const fresh = defaultConfig(dev);
      const written = serializeConfig(fresh);
      await storage.write(written);
      return [fresh, written];
    });
    return new ConfigStore(storage, config, text);
  }

  get current(): Readonly<Config> {
    return this.#current;
  }

  /**
   * Read-modify-write under the lock: re-reads the file so a concurrent writer
   * (the CLI) is not overwritten, applies `change`, writes atomically.
   */
  update<T>(change: (config: Config) => T): Promise<T> {
    const run = this.storage.withLock(async () => {
      const text = await this.storage.read();
      const config = text === null ? structuredClone(this.#current) : parseConfig(text, this.storage.path);
      const result = change(config);
      const checked = ConfigSchema.parse(config);
      const written = serializeConfig(checked);
      await this.storage.write(written);
      this.#set(checked, written);
      return result;
    });
    const tracked = run.catch(() => undefined);
    this.#pending.add(tracked);
    void tracked.then(() => this.#pending.delete(tracked));
    return run;
  }

  /**
   * Re-reads the file another process may have changed (the MCP sidecar follows
   * the API's token rotation this way). No lock: writers replace the file
   * atomically. A missing file keeps the config in memory; a corrupt one throws
   * ConfigError and also keeps it.
   */
  async reload(): Promise<Readonly<Config>> {
    const text = await this.storage.read();
    if (text !== null) this.#set(parseConfig(text, this.storage.path), text);
    return this.#current;
  }

  /**
   * Picks up a change another process wrote straight to the file (the CLI
   * when it found no server to ask, or an edit by hand), so a token revoked or
   * rotated that way stops working here too. True when the config changed.
   * A corrupt file throws ConfigError and keeps the config in memory; an
   * update of this process that lands meanwhile wins (it read the file too).
   */
  async follow(): Promise<boolean> {
    const generation = this.#generation;
    const text = await this.storage.read();
    if (text === null || text === this.#knownText || text === this.#rejectedText) return false;
    let config: Config;
    try {
      config = parseConfig(text, this.storage.path);
    } catch (error) {
      this.#rejectedText = text;
      throw error;
    }
    if (generation !== this.#generation) return false;
    this.#set(config, text);
    return true;
  }

  #set(config: Config, text: string): void {
    this.#current = config;
    this.#knownText = text;
    this.#generation++;
    for (const listener of this.#changeListeners) listener(config);
  }

  /** Called after every change of the config in memory, whoever made it (this process or another). */
  onChange(listener: (config: Readonly<Config>) => void): void {
    this.#changeListeners.push(listener);
  }

  /** Resolves once every update started so far has been written (or has failed). */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }
}

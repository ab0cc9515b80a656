/**
 * The credentials the gate accepts: the main token (authToken, or TERMGATE_TOKEN
 * when set) and named tokens, which are stored only as SHA-256 hashes.
 *
 * Speed matters here: the main token is checked with a synchronous
 * constant-time comparison against the token in memory, so the common request
 * pays no async hashing. Only a presented `tg_…` named token is hashed.
 */
import { constantTimeEqual, randomHex, sha256Hex } from './hex.ts';
import type { ConfigStore, NamedToken, Scope } from './config.ts';
import { TermgateError } from './errors.ts';

export const NAMED_TOKEN_PREFIX = 'tg_';
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** lastUsedAt is written back at most this often, not on every request. */
const LAST_USED_FLUSH_MS = 5000;

export type { Scope } from './config.ts';

/**
 * What a principal may do: its scope, and the terminals it may see (null: all).
 * Checked in src/scopes.ts at every door.
 */
export interface Access {
  readonly scope: Scope;
  readonly terminals: ReadonlySet<string> | null;
}

/**
 * Who a request came as, from the gate's verdict: nobody in particular (an
 * open route such as /health), anyone on loopback (local mode: no token is
 * asked for), the main token, or a named token (its hash identifies it, so a
 * token revoked and re-created under the same name is another principal).
 * Local and the main token (also TERMGATE_TOKEN) are admin; a named token has
 * the scope and terminals it was created with.
 */
export type Principal =
  | ({ readonly kind: 'public' } & Access)
  | ({ readonly kind: 'local' } & Access)
  | ({ readonly kind: 'main' } & Access)
  | ({ readonly kind: 'named'; readonly name: string; readonly hash: string } & Access);

export const PUBLIC: Principal = Object.freeze({ kind: 'public', scope: 'read', terminals: new Set<string>() });
export const LOCAL: Principal = Object.freeze({ kind: 'local', scope: 'admin', terminals: null });
export const MAIN: Principal = Object.freeze({ kind: 'main', scope: 'admin', terminals: null });

/** The name an audit line gives a principal: a named token's name, "main" or "local". Never a secret. */
export function principalName(principal: Principal): string {
  return principal.kind === 'named' ? principal.name : principal.kind;
}

export interface CreateTokenOptions {
  /** Default `write`. */
  scope?: Scope | undefined;
  /** Only these terminals (not with `admin`). */
  terminals?: readonly string[] | undefined;
}

/** A token as it may be shown outside the settings API: its last four characters. */
export function maskToken(token: string): string {
  return '••••…' + token.slice(-4);
}

export interface NamedTokenInfo {
  name: string;
  scope: Scope;
  /** Present when the token is limited to these terminals. */
  terminals?: string[];
  createdAt: string;
  lastUsedAt: string | null;
}

export class Credentials {
  readonly #config: ConfigStore;
  readonly #envToken: string | undefined;
  #pendingLastUsed = new Map<string, string>();
  #flushTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(config: ConfigStore, envToken?: string) {
    this.#config = config;
    this.#envToken = envToken && envToken.length > 0 ? envToken : undefined;
  }

  /** The token that opens the gate (besides named tokens). */
  get mainToken(): string {
    return this.#envToken ?? this.#config.current.authToken;
  }

  get fixedByEnv(): boolean {
    return this.#envToken !== undefined;
  }

  /** Whose credential `presented` is, or null. Sync for the main token; a promise only for `tg_` tokens. */
  identify(presented: string): Principal | null | Promise<Principal | null> {
    if (constantTimeEqual(presented, this.mainToken)) return MAIN;
    if (!presented.startsWith(NAMED_TOKEN_PREFIX) || this.#config.current.tokens.length === 0) return null;
    return this.#identifyNamed(presented);
  }

  async #identifyNamed(presented: string): Promise<Principal | null> {
    const hash = await sha256Hex(presented);
    let matched: NamedToken | undefined;
    for (const token of this.#config.current.tokens) {
      if (constantTimeEqual(hash, token.hash)) matched = token;
    }
    if (matched === undefined) return null;
    this.#pendingLastUsed.set(matched.name, new Date().toISOString());
    this.#flushTimer ??= setTimeout(() => void this.flush(), LAST_USED_FLUSH_MS);
    return {
      kind: 'named',
      name: matched.name,
      hash: matched.hash,
      scope: matched.scope,
      terminals: matched.terminals === undefined ? null : new Set(matched.terminals),
    };
  }

  /** Whether a principal's credential still opens the gate (a named token may have been revoked since). */
  stillValid(principal: Principal): boolean {
    if (principal.kind !== 'named') return true;
    return this.#config.current.tokens.some((token) => token.hash === principal.hash);
  }

  /** Writes pending lastUsedAt times to the config file (also called on shutdown). */
  async flush(): Promise<void> {
    if (this.#flushTimer !== undefined) clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    if (this.#pendingLastUsed.size === 0) return;
    const pending = this.#pendingLastUsed;
    this.#pendingLastUsed = new Map();
    await this.#config.update((config) => {
      for (const token of config.tokens) {
        const usedAt = pending.get(token.name);
        if (usedAt !== undefined) token.lastUsedAt = usedAt;
      }
    });
  }

  /** Mints a new authToken; the old one stops working for the next request. */
  async rotate(): Promise<string> {
    if (this.fixedByEnv) {
      throw new TermgateError(
        'conflict',
        'the token is fixed by the TERMGATE_TOKEN environment variable; change it there and restart',
      );
    }
    const token = randomHex(32);
    await this.#config.update((config) => {
      config.authToken = token;
    });
    return token;
  }

  list(): NamedTokenInfo[] {
    return this.#config.current.tokens.map(({ name, scope, terminals, createdAt, lastUsedAt }) => ({
      name,
      scope,
      ...(terminals === undefined ? {} : { terminals: [...terminals] }),
      createdAt,
      lastUsedAt: this.#pendingLastUsed.get(name) ?? lastUsedAt,
    }));
  }

  /** Creates a named token; the secret is returned once and only its hash is kept. */
  async create(name: string, options: CreateTokenOptions = {}): Promise<NamedTokenInfo & { token: string }> {
    if (!NAME_PATTERN.test(name)) {
      throw new TermgateError(
        'bad_request',
        'name: must be 1-64 characters of letters, digits, ".", "_" or "-", starting with a letter or digit',
      );
    }
    const scope = options.scope ?? 'write';
    const terminals = options.terminals === undefined ? undefined : [...new Set(options.terminals)];
    // An admin token can mint unlimited tokens, so a terminal list on one would limit nothing.
    if (scope === 'admin' && terminals !== undefined) {
      throw new TermgateError('bad_request', 'terminals: an admin token cannot be limited to terminals (it could create an unlimited token); use scope read or write');
    }
    if (terminals !== undefined && terminals.length === 0) {
      throw new TermgateError('bad_request', 'terminals: must list at least one terminal id (leave it out for all terminals)');
    }
    const token = NAMED_TOKEN_PREFIX + randomHex(32);
    const hash = await sha256Hex(token);
    const createdAt = new Date().toISOString();
    await this.#config.update((config) => {
      if (config.tokens.some((t) => t.name === name)) {
        throw new TermgateError('conflict', `name: a token named "${name}" already exists`);
      }
      config.tokens.push({ name, hash, scope, ...(terminals === undefined ? {} : { terminals }), createdAt, lastUsedAt: null });
    });
    return { name, token, scope, ...(terminals === undefined ? {} : { terminals }), createdAt, lastUsedAt: null };
  }

  async revoke(name: string): Promise<void> {
    await this.#config.update((config) => {
      const index = config.tokens.findIndex((t) => t.name === name);
      if (index < 0) throw new TermgateError('not_found', `no token named "${name}"`);
      config.tokens.splice(index, 1);
    });
    this.#pendingLastUsed.delete(name);
  }
}

/**
 * The MCP sidecar's HTTP client of the termgate API. The sidecar is
 * a client like any other: it finds the API and its token in the config file,
 * so it works whether the API is local or exposed.
 *
 * Every failure (an API error, a timeout, the API being down) becomes an
 * ApiError whose message is one plain sentence an agent can act on; the tools
 * turn it into an MCP tool error, never a crash.
 */
import type { ConfigStore } from '../config.ts';
import { DOOR_CLIENT_HEADER, DOOR_HEADER, DOOR_KEY_HEADER, doorKey } from '../door.ts';
import { ERROR_STATUS, type ErrorCode, TermgateError } from '../errors.ts';

export class ApiError extends TermgateError {
  /**
   * `message` is the sentence an agent reads (it names the API's code and
   * status when there was an answer). The code is the API's own when it sent
   * one termgate knows, else api_unavailable.
   */
  constructor(message: string, apiStatus: number | null = null, apiCode: string | null = null) {
    const known = apiCode !== null && Object.hasOwn(ERROR_STATUS, apiCode) ? (apiCode as ErrorCode) : null;
    super(known ?? (apiStatus === 401 ? 'unauthorized' : 'api_unavailable'), message);
    this.name = 'ApiError';
  }
}

/** The transport to the API: the runtime's fetch, or one over a Unix socket (`termgate mcp --api-unix`). */
export type ApiFetch = (url: string, init: RequestInit) => Promise<Response>;

export interface ApiClientOptions {
  config: ConfigStore;
  /** --api-url or TERMGATE_API_URL: wins over the config's apiPort. */
  apiUrl?: string | undefined;
  /** How requests reach the API (default: fetch). */
  fetch?: ApiFetch | undefined;
  /** TERMGATE_TOKEN: wins over the config's authToken. */
  envToken?: string | undefined;
  /** Re-reads the config file (coalesced by the caller); used after a 401 or a refused connection. */
  reloadConfig: () => Promise<void>;
}

export interface RequestOptions {
  body?: unknown;
  /** How long to wait for the answer (default 30 s). */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

export class ApiClient {
  readonly #config: ConfigStore;
  readonly #apiUrl: string | undefined;
  readonly #fetch: ApiFetch;
  readonly #envToken: string | undefined;
  readonly #reloadConfig: () => Promise<void>;
  readonly #options: ApiClientOptions;
  /** The Authorization header the MCP client presented (null: none; its calls go with the sidecar's own token). */
  readonly #client: string | null;

  constructor(options: ApiClientOptions, clientAuthorization: string | null = null) {
    this.#options = options;
    this.#client = clientAuthorization;
    this.#config = options.config;
    this.#apiUrl = options.apiUrl ? options.apiUrl.replace(/\/+$/, '') : undefined;
    this.#fetch = options.fetch ?? ((url, init) => fetch(url, init));
    this.#envToken = options.envToken || undefined;
    this.#reloadConfig = options.reloadConfig;
  }

  /**
   * The client for one MCP request: the API is called with the credential
   * the MCP client presented, when it presented one, so its scope applies
   * (a read-only MCP client is read-only); else with the sidecar's own token,
   * telling the API that the client came without one (src/door.ts).
   */
  forClient(authorization: string | null): ApiClient {
    return new ApiClient(this.#options, authorization);
  }

  /** Where the API is expected now (the config's apiPort may change under us: a rebind). */
  get baseUrl(): string {
    return this.#apiUrl ?? `http://127.0.0.1:${this.#config.current.apiPort}`;
  }

  /**
   * One API call. Resolves with the parsed JSON body (null for 204); throws
   * ApiError. On a 401 the config file is re-read and the call retried once,
   * so a token rotated by the API (or the CLI) does not break the sidecar.
   */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    let response: Response;
    try {
      response = await this.#send(method, path, options);
    } catch (error) {
      // A refused connection sent nothing, so retrying is safe even for a POST.
      // Only worth it when the URL comes from the config: the API may have moved.
      if (this.#apiUrl !== undefined || !isConnectionFailure(error)) throw this.#failure(error, options);
      const before = this.baseUrl;
      await this.#reloadConfig();
      if (this.baseUrl === before) throw this.#failure(error, options);
      response = await this.#send(method, path, options).catch((again: unknown) => {
        throw this.#failure(again, options);
      });
    }
    if (response.status === 401) {
      await response.body?.cancel();
      await this.#reloadConfig();
      response = await this.#send(method, path, options).catch((error: unknown) => {
        throw this.#failure(error, options);
      });
    }
    return this.#parse<T>(response);
  }

  async #send(method: string, path: string, { body, timeoutMs = DEFAULT_TIMEOUT_MS }: RequestOptions): Promise<Response> {
    const headers = new Headers({ authorization: this.#client ?? `Bearer ${this.#envToken ?? this.#config.current.authToken}` });
    if (body !== undefined) headers.set('content-type', 'application/json');
    // The door key goes only to an API on this machine (one reading the same config file, presumably).
    if (isLoopbackUrl(this.baseUrl)) {
      headers.set(DOOR_HEADER, 'mcp');
      headers.set(DOOR_KEY_HEADER, await doorKey(this.#config.current.jwtSecret));
      if (this.#client === null) headers.set(DOOR_CLIENT_HEADER, 'local');
    }
    return this.#fetch(this.baseUrl + path, {
      method,
      headers,
      body: body === undefined ? null : JSON.stringify(body),
      // The API never redirects; following one could carry the token elsewhere.
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  }

  async #parse<T>(response: Response): Promise<T> {
    const text = await response.text().catch(() => '');
    let json: unknown = null;
    if (text !== '') {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    if (response.ok && json !== undefined) return json as T;
    const error = (json as { error?: { code?: unknown; message?: unknown } } | null | undefined)?.error;
    const code = typeof error?.code === 'string' ? error.code : null;
    const detail = typeof error?.message === 'string' ? error.message : null;
    if (response.status === 401 && this.#client !== null) {
      throw new ApiError(`the termgate API at ${this.baseUrl} refused the token your MCP client presented (401 unauthorized)`, 401, code);
    }
    if (response.status === 401 && code === 'unauthorized' && detail !== null && detail.includes('presented none')) {
      throw new ApiError(`termgate API: ${detail} (unauthorized 401)`, 401, code);
    }
    if (response.status === 401) {
      throw new ApiError(
        `the termgate API at ${this.baseUrl} refused the sidecar's token (401 unauthorized), even after re-reading ` +
          `${this.#config.storage.path}; set TERMGATE_TOKEN to a valid token or point the sidecar at the right config (--dev?)`,
        401,
        code,
      );
    }
    if (response.ok) throw new ApiError(`the termgate API at ${this.baseUrl} answered with something that is not JSON`, response.status);
    const summary = detail ?? `HTTP ${response.status} ${response.statusText}`.trim();
    throw new ApiError(`termgate API: ${summary} (${code ?? 'http'} ${response.status})`, response.status, code);
  }

  #failure(error: unknown, { timeoutMs = DEFAULT_TIMEOUT_MS }: RequestOptions): ApiError {
    if (error instanceof ApiError) return error;
    const name = (error as { name?: unknown } | null)?.name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      return new ApiError(`the termgate API at ${this.baseUrl} did not answer within ${timeoutMs / 1000} s`);
    }
    return new ApiError(
      `the termgate API at ${this.baseUrl} is not reachable (${describeNetworkError(error)}); ` +
        'is it running? Start it with "termgate serve", or give the sidecar --api-url',
    );
  }
}

/**
 * A short reason from each runtime's fetch failure: Node puts the code in
 * `cause.code`, Bun in `code`, Deno only in `cause.message`.
 */
function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  const message = typeof cause?.message === 'string' ? cause.message : error instanceof Error ? error.message : String(error);
  if (/connection refused/i.test(message)) return 'ECONNREFUSED';
  return message.split('\n')[0]!.slice(0, 200);
}

function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function isConnectionFailure(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name !== 'TimeoutError' && name !== 'AbortError' && !(error instanceof ApiError);
}

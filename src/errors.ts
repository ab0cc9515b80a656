/**
 * One error type for the whole core. Routes throw it; one handler (app.ts)
 * renders it as `{"error":{"code","message"}}`. Anything else that escapes a
 * route becomes `internal` with no stack trace.
 */
export type ErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'host_not_allowed'
  | 'origin_not_allowed'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'conflict'
  | 'terminal_busy'
  | 'payload_too_large'
  | 'too_many_terminals'
  | 'rate_limited'
  | 'unsupported_media_type'
  | 'timeout'
  | 'internal'
  | 'config_unreadable'
  | 'api_unavailable';

/** The HTTP status of each code (the OpenAPI document lists them too). */
export const ERROR_STATUS: Readonly<Record<ErrorCode, number>> = {
  bad_request: 400,
  unauthorized: 401,
  host_not_allowed: 403,
  origin_not_allowed: 403,
  /** The credential is valid but its scope (docs/security.md) does not cover the request. */
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  /** run: the shell is not at its prompt (a REPL, an editor or a command runs in the foreground). */
  terminal_busy: 409,
  payload_too_large: 413,
  too_many_terminals: 429,
  /** More than 20 failed credentials a second: answered with Retry-After (valid credentials are never refused). */
  rate_limited: 429,
  unsupported_media_type: 415,
  timeout: 504,
  internal: 500,
  /** The config file was corrupted while the server runs: writes wait until it is fixed, reads go on. */
  config_unreadable: 503,
  /** The MCP sidecar got no usable answer from the API (down, timed out, not JSON). */
  api_unavailable: 502,
};

export class TermgateError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly headers: [string, string][];

  constructor(code: ErrorCode, message: string, headers: [string, string][] = []) {
    super(message);
    this.name = 'TermgateError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.headers = headers;
  }

  toResponse(): Response {
    const headers = new Headers({ 'content-type': 'application/json; charset=utf-8' });
    for (const [name, value] of this.headers) headers.append(name, value);
    return new Response(JSON.stringify({ error: { code: this.code, message: this.message } }), {
      status: this.status,
      headers,
    });
  }
}

/** Turns anything thrown into a safe response: known errors as they are, the rest as `internal`. */
export function errorResponse(error: unknown): Response {
  if (error instanceof TermgateError) return error.toResponse();
  return new TermgateError('internal', 'internal server error').toResponse();
}

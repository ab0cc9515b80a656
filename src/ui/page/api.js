// @ts-check
/**
 * REST calls to the server that served this page. Same origin, so the gate's
 * Origin check admits them and no other site's.
 *
 * Credentials: in local mode none are needed. In exposed mode the page was
 * itself loaded through the browser's Basic login (the gate's 401 challenge),
 * and app.js then fetches the token once and keeps it here, in memory only:
 * every call sends it as an explicit Bearer header, because after a rotation
 * the browser's saved Basic login is stale while this copy is updated.
 */

/** @type {{ token: string | null }} */
export const auth = { token: null };

/**
 * What this page may do: the scope of the credential it runs with (SPEC §16).
 * Local requests and the main token are `admin`. A page signed in (browser
 * login) with a named `read` or `write` token learns its scope from the 403
 * that `GET /api/settings/token` answers it (app.js); `read` makes the page
 * read-only: no keystrokes, no resize, no create or close.
 * @type {{ scope: 'read' | 'write' | 'admin' }}
 */
export const session = { scope: 'admin' };

/** @returns {boolean} */
export const readOnly = () => session.scope === 'read';

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, 0 when the server could not be reached
   * @param {string} code the `error.code` of termgate's error body
   * @param {string} message
   */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * @param {string} path e.g. "/api/terminals"
 * @param {{ method?: string, body?: unknown }} [options]
 * @returns {Promise<any>} the parsed JSON answer (null for 204)
 */
export async function api(path, { method = 'GET', body } = {}) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (auth.token) headers['authorization'] = `Bearer ${auth.token}`;
  /** @type {Response} */
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? null : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch (error) {
    throw new ApiError(0, 'unreachable', `cannot reach the server (${error instanceof Error ? error.message : String(error)})`);
  }
  if (response.status === 204) return null;
  const text = await response.text();
  /** @type {any} */
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: described below from the status
  }
  if (!response.ok) {
    const error = json?.error;
    throw new ApiError(
      response.status,
      typeof error?.code === 'string' ? error.code : `http_${response.status}`,
      typeof error?.message === 'string' ? error.message : `${response.status} ${response.statusText}`,
    );
  }
  return json;
}

/** @param {unknown} error */
export function describe(error) {
  return error instanceof Error ? error.message : String(error);
}

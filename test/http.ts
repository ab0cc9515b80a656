/**
 * A raw HTTP client for tests (node:http), because fetch forbids setting Host
 * and folds repeated headers, and the gate's checks are about exactly those.
 */
import { request as httpRequest } from 'node:http';
import { expect } from 'vitest';

export interface RawResponse {
  status: number;
  /** Lowercased header name → every value sent, in order. */
  headers: Map<string, string[]>;
  text: string;
  json<T = any>(): T;
}

export interface RawRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string | object;
  timeoutMs?: number;
}

export function raw(url: string, options: RawRequest = {}): Promise<RawResponse> {
  const target = new URL(url);
  const body =
    options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  const headers: Record<string, string> = { ...options.headers };
  if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
    headers['content-type'] = 'application/json';
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: target.hostname.replace(/^\[|\]$/g, ''),
        port: target.port,
        path: target.pathname + target.search,
        method: options.method ?? 'GET',
        headers,
        timeout: options.timeoutMs ?? 30_000,
        setHost: !Object.keys(headers).some((h) => h.toLowerCase() === 'host'),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const map = new Map<string, string[]>();
          for (let i = 0; i < res.rawHeaders.length; i += 2) {
            const name = res.rawHeaders[i]!.toLowerCase();
            map.set(name, [...(map.get(name) ?? []), res.rawHeaders[i + 1]!]);
          }
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: map, text, json: () => JSON.parse(text) });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`request to ${url} timed out`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
export const basic = (user: string, token: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}`,
});

/**
 * `call` and `ok` for one JSON API under `base()` (read at each call: a server
 * may move): `ok` asserts the status (naming the request and its answer) and
 * returns the parsed body, nothing for a 204.
 */
export function jsonCalls(base: () => string) {
  const call = (method: string, path: string, body?: unknown): Promise<RawResponse> =>
    raw(`${base()}${path}`, { method, ...(body === undefined ? {} : { body: body as object }) });
  const ok = async <T>(method: string, path: string, body?: unknown, status = 200): Promise<T> => {
    const response = await call(method, path, body);
    expect(response.status, `${method} ${path}: ${response.text}`).toBe(status);
    return (status === 204 ? undefined : response.json()) as T;
  };
  return { call, ok };
}

/** The MCP sidecar's core pieces without sockets: the gate in front of /mcp, the API client, protocol answers. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigStore, parseConfig, serializeConfig } from '../../src/config.ts';
import { ApiClient } from '../../src/mcp/api-client.ts';
import { McpSidecar } from '../../src/mcp/sidecar.ts';
import { MemoryStorage } from './memory-platform.ts';

const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'unit', version: '1' } },
});
const MCP_HEADERS = { host: '127.0.0.1:42032', accept: 'application/json, text/event-stream', 'content-type': 'application/json' };

async function sidecar(bindHost = '127.0.0.1') {
  const storage = new MemoryStorage();
  const config = await ConfigStore.open(storage, false);
  const mcp = new McpSidecar({ config, runtime: 'node', bindHost, interfaceAddresses: () => ['192.0.2.10'], log: () => {} });
  const post = (headers: Record<string, string> = {}, path = '/mcp') =>
    mcp.fetch(new Request(`http://127.0.0.1:42032${path}`, { method: 'POST', body: INITIALIZE, headers: { ...MCP_HEADERS, ...headers } }));
  const rotate = (authToken: string) => {
    storage.text = serializeConfig({ ...parseConfig(storage.text!, storage.path), authToken });
  };
  return { mcp, storage, config, post, rotate };
}

async function errorCode(response: Response | Promise<Response>): Promise<[number, string]> {
  const answer = await response;
  return [answer.status, ((await answer.json()) as { error: { code: string } }).error.code];
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('mcp sidecar gate', () => {
  it('serves MCP at /mcp and checks Host and Origin like the API', async () => {
    const { mcp, post } = await sidecar();
    const ok = await post();
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('"serverInfo":{"name":"termgate"');
    expect(await errorCode(post({ origin: 'http://evil.example' }))).toEqual([403, 'origin_not_allowed']);
    expect(await errorCode(post({ host: 'evil.example' }))).toEqual([403, 'host_not_allowed']);
    expect(await errorCode(post({ host: '192.0.2.10:42032' }))).toEqual([403, 'host_not_allowed']);
    expect(await errorCode(post({}, '/elsewhere'))).toEqual([404, 'not_found']);
    const get = await mcp.fetch(new Request('http://127.0.0.1:42032/mcp', { headers: { host: '127.0.0.1:42032' } }));
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    const health = await mcp.fetch(new Request('http://127.0.0.1:42032/health', { headers: { host: 'evil.example' } }));
    expect(await health.json()).toMatchObject({ status: 'ok', name: 'termgate-mcp', mode: 'local' });
  });

  it('requires a token when bound to a non-loopback address, and follows a rotation at once', async () => {
    const { post, config, rotate } = await sidecar('0.0.0.0');
    const token = config.current.authToken;
    expect(await errorCode(post())).toEqual([401, 'unauthorized']);
    expect(await errorCode(post({ authorization: 'Bearer wrong' }))).toEqual([401, 'unauthorized']);
    expect((await post({ authorization: `Bearer ${token}` })).status).toBe(200);
    expect((await post({ authorization: `Bearer ${token}`, host: '192.0.2.10:42032' })).status).toBe(200);

    const fresh = 'b'.repeat(64);
    rotate(fresh); // as the API process would: the file changes under the sidecar
    expect(await errorCode(post({ authorization: `Bearer ${token}` }))).toEqual([401, 'unauthorized']);
    expect((await post({ authorization: `Bearer ${fresh}` })).status).toBe(200);
  });
});

describe('mcp api client', () => {
  async function client(apiUrl: string | undefined = 'http://127.0.0.1:42031') {
    const storage = new MemoryStorage();
    const config = await ConfigStore.open(storage, false);
    const api = new ApiClient({ config, apiUrl, reloadConfig: async () => void (await config.reload()) });
    return { api, storage, config };
  }

  it('re-reads the config and retries once on a 401 (a rotated token)', async () => {
    const { api, storage } = await client();
    const fresh = 'c'.repeat(64);
    const seen: string[] = [];
    vi.stubGlobal('fetch', async (_url: string, init: RequestInit) => {
      const auth = new Headers(init.headers).get('authorization')!;
      seen.push(auth);
      return auth === `Bearer ${fresh}` ? Response.json({ terminals: [] }) : Response.json({ error: { code: 'unauthorized', message: 'no' } }, { status: 401 });
    });
    storage.text = serializeConfig({ ...parseConfig(storage.text!, storage.path), authToken: fresh });
    expect(await api.request('GET', '/api/terminals')).toEqual({ terminals: [] });
    expect(seen).toHaveLength(2);
    expect(seen[1]).toBe(`Bearer ${fresh}`);
  });

  it('turns API errors, a refused connection and a timeout into plain messages', async () => {
    const { api } = await client();
    vi.stubGlobal('fetch', async () => Response.json({ error: { code: 'not_found', message: 'no terminal "x"' } }, { status: 404 }));
    await expect(api.request('GET', '/api/terminals/x')).rejects.toThrow('termgate API: no terminal "x" (not_found 404)');

    vi.stubGlobal('fetch', async () => {
      throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    });
    await expect(api.request('GET', '/api/terminals')).rejects.toThrow(/not reachable \(ECONNREFUSED\).*termgate serve/);

    vi.stubGlobal('fetch', (_url: string, init: RequestInit) =>
      new Promise((_resolve, reject) => init.signal!.addEventListener('abort', () => reject(init.signal!.reason))),
    );
    await expect(api.request('POST', '/api/terminals/x/run', { body: {}, timeoutMs: 50 })).rejects.toThrow('did not answer within 0.05 s');
  });

  it('follows the config when the API moves to another port', async () => {
    const { api, storage, config } = await client(''); // no --api-url: the URL comes from the config
    expect(api.baseUrl).toBe(`http://127.0.0.1:${config.current.apiPort}`);
    storage.text = serializeConfig({ ...parseConfig(storage.text!, storage.path), apiPort: 43000 });
    vi.stubGlobal('fetch', async (url: string) => {
      if (!url.startsWith('http://127.0.0.1:43000/')) throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
      return Response.json({ terminals: [] });
    });
    expect(await api.request('GET', '/api/terminals')).toEqual({ terminals: [] });
  });
});

describe('mcp protocol answers', () => {
  const call = (id: number, method: string, params: unknown) => JSON.stringify({ jsonrpc: '2.0', id, method, params });
  const rpc = async (mcp: McpSidecar, body: string, headers: Record<string, string> = {}) => {
    const response = await mcp.fetch(new Request('http://127.0.0.1:42032/mcp', { method: 'POST', body, headers: { ...MCP_HEADERS, ...headers } }));
    const text = await response.text();
    // One SSE event or one JSON body, either way one JSON-RPC message.
    const json = text.startsWith('{') ? text : text.split('\n').find((line) => line.startsWith('data: '))!.slice(6);
    return JSON.parse(json) as { result?: any; error?: { code: number; message: string } };
  };

  it('answers arguments that are not an object with -32602 and a sentence', async () => {
    const { mcp } = await sidecar();
    const array = await rpc(mcp, call(2, 'tools/call', { name: 'list_terminals', arguments: ['x'] }));
    expect(array.error).toEqual({ code: -32602, message: expect.stringMatching(/^arguments: must be an object .* not an array$/) });
    expect((await rpc(mcp, call(3, 'tools/call', { name: 'list_terminals', arguments: 'x' }))).error?.message).toMatch(/not a string$/);
    expect((await rpc(mcp, call(4, 'tools/call', { arguments: {} }))).error).toMatchObject({ code: -32602, message: expect.stringMatching(/^name: /) });
    expect((await rpc(mcp, call(5, 'no/such/method', {}))).error?.code).toBe(-32601);
  });

  it('does not claim a tool list that changes', async () => {
    const { mcp } = await sidecar();
    const init = await rpc(mcp, INITIALIZE);
    expect(init.result.capabilities.tools).toEqual({});
  });

  it('says in its 401 how the sidecar takes a token, without the WebSocket forms', async () => {
    const { mcp } = await sidecar('0.0.0.0');
    const response = await mcp.fetch(new Request('http://127.0.0.1:42032/mcp', { method: 'POST', body: INITIALIZE, headers: MCP_HEADERS }));
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('Bearer');
    const { error } = (await response.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('unauthorized');
    expect(error.message).toContain('Authorization: Bearer <token>');
    expect(error.message).not.toMatch(/token=|subprotocol|WebSocket/);
  });
});

/**
 * Scoped tokens (docs/security.md) through every door of a real server
 * started with --require-token (tokens matter on loopback then): a read token
 * reads and never writes, at REST, on the WebSocket (per frame, the
 * connection stays open) and through the MCP sidecar (which calls the API
 * with the token its client presented); a write token cannot mint tokens or
 * read the main token; a token limited to terminal A gets 404 for B, exactly
 * as for an unknown id. And the failed-credential throttle: invalid tokens
 * beyond 20 a second get 429, a valid client meanwhile is not slowed.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AnyOperation, OPERATIONS } from '../../src/terminals/operations.ts';
import { runCli, savedConfig, startServer, type RunningServer } from '../harness.ts';
import { bearer, raw } from '../http.ts';
import { TestSocket, wsUrl } from '../ws-client.ts';
import type { Target } from './suite.ts';

type Input = Record<string, unknown>;

/** Valid parameters besides terminalId for each operation (an operation added later gets {} and its own validation). */
const SAMPLES: Record<string, Input> = {
  create: { command: 'cat' },
  input: { data: 'x' },
  resize: { cols: 90, rows: 30 },
  run: { command: 'true', timeoutMs: 2000 },
  keys: { keys: ['a'] },
  wait: { idleMs: 20, timeoutMs: 2000 },
  commandOutput: { seq: 1 },
};
/** Reads that must answer 200 with valid parameters (the others may say 404: no command record yet). */
const PLAIN_READS = new Set(['list', 'get', 'read', 'screen', 'wait', 'commands']);

const ops = OPERATIONS as readonly AnyOperation[];
const reads = ops.filter((op) => op.readOnly);
const writes = ops.filter((op) => !op.readOnly);

function restCall(api: RunningServer, op: AnyOperation, terminalId: string, token: string) {
  const { seq, ...input } = (SAMPLES[op.name] ?? {}) as Input;
  let path = op.rest.path.replace(':terminalId', encodeURIComponent(terminalId)).replace(':seq', String(seq ?? 1));
  if (op.rest.method !== 'POST' && Object.keys(input).length > 0) path += `?${new URLSearchParams(Object.entries(input).map(([k, v]) => [k, String(v)]))}`;
  return raw(api.url + path, { method: op.rest.method, headers: bearer(token), body: op.rest.method === 'POST' ? input : undefined });
}

function params(op: AnyOperation, terminalId: string): Input {
  return { ...(op.name === 'list' || op.name === 'create' ? {} : { terminalId }), ...SAMPLES[op.name] };
}

async function mcpClient(sidecar: RunningServer, token?: string): Promise<Client> {
  const client = new Client({ name: 'termgate-scopes', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${sidecar.url}/mcp`), { requestInit: token === undefined ? {} : { headers: bearer(token) } }));
  return client;
}

async function tool(client: Client, name: string, args: Input): Promise<{ ok: boolean; text: string; value: any }> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  const first = result.content[0];
  return { ok: result.isError !== true, text: first?.type === 'text' ? first.text : '', value: result.structuredContent };
}

export function scopeChecks({ runtime }: Target): void {
  describe('scopes', () => {
    let api: RunningServer;
    let sidecar: RunningServer;
    let main: string;
    const tokens: Record<string, string> = {};
    let a: string;
    let b: string;

    const post = (path: string, body: object, token = main) => raw(`${api.url}${path}`, { method: 'POST', headers: bearer(token), body });

    beforeAll(async () => {
      api = await startServer(runtime, { args: ['--require-token'] });
      sidecar = await startServer(runtime, { command: 'mcp', home: api.home, args: ['--api-url', api.url] });
      main = savedConfig(api).authToken;
      a = (await post('/api/terminals', { command: 'cat', name: 'A' })).json().id;
      b = (await post('/api/terminals', { command: 'cat', name: 'B' })).json().id;
      for (const [name, body] of Object.entries({
        reader: { scope: 'read' },
        writer: {},
        limited: { terminals: [a] },
        viewerA: { scope: 'read', terminals: [a] },
      })) {
        const created = await post('/api/tokens', { name, ...body });
        expect(created.status, created.text).toBe(201);
        tokens[name] = created.json().token;
      }
    });
    afterAll(async () => {
      await sidecar?.stop();
      await api?.stop();
    });

    it('--require-token: loopback needs a token too; health stays open', async () => {
      expect((await raw(`${api.url}/api/terminals`)).status).toBe(401);
      expect((await raw(`${api.url}/health`)).json()).toMatchObject({ status: 'ok', mode: 'local' });
      expect((await raw(`${api.url}/api/terminals`, { headers: bearer(main) })).status).toBe(200);
    });

    it('tokens are listed with their scope and terminals, never a secret', async () => {
      const listed = (await raw(`${api.url}/api/tokens`, { headers: bearer(main) })).json().tokens;
      expect(listed.map(({ name, scope, terminals }: any) => ({ name, scope, terminals }))).toEqual([
        { name: 'reader', scope: 'read', terminals: undefined },
        { name: 'writer', scope: 'write', terminals: undefined },
        { name: 'limited', scope: 'write', terminals: [a] },
        { name: 'viewerA', scope: 'read', terminals: [a] },
      ]);
      expect(JSON.stringify(listed)).not.toMatch(/tg_/);
    });

    it('REST: a read token reads every operation and is refused every write with 403 naming the write scope', async () => {
      for (const op of reads) {
        const response = await restCall(api, op, a, tokens.reader!);
        if (PLAIN_READS.has(op.name)) expect(response.status, `${op.name}: ${response.text}`).toBe(200);
        else expect([200, 404], `${op.name}: ${response.text}`).toContain(response.status);
      }
      for (const op of writes) {
        const response = await restCall(api, op, a, tokens.reader!);
        expect(response.status, op.name).toBe(403);
        expect(response.json().error, op.name).toEqual({ code: 'forbidden', message: `terminal.${op.name} needs the "write" scope; this token has "read"` });
      }
      // Nothing changed: still the same two terminals, A at its old size.
      const listed = (await raw(`${api.url}/api/terminals`, { headers: bearer(main) })).json().terminals;
      expect(listed.map((t: { id: string }) => t.id)).toEqual([a, b]);
      expect(listed[0]).toMatchObject({ cols: 80 });
    });

    it('WebSocket: a read connection subscribes and reads; each write frame is refused with forbidden and the connection stays open', async () => {
      const socket = await TestSocket.open(wsUrl(api.url), { protocols: ['termgate.v1', `bearer.${tokens.reader}`] });
      try {
        expect((await socket.request({ type: 'subscribe', terminalId: a })).success).toBe(true);
        for (const op of reads) {
          const answer = await socket.request({ type: 'command', command: `terminal.${op.name}`, params: params(op, a) });
          if (PLAIN_READS.has(op.name)) expect(answer.success, `${op.name}: ${JSON.stringify(answer)}`).toBe(true);
          else expect(answer.error?.code ?? 'ok', op.name).not.toBe('forbidden');
        }
        for (const op of writes) {
          const answer = await socket.request({ type: 'command', command: `terminal.${op.name}`, params: params(op, a) });
          expect(answer, op.name).toMatchObject({ success: false, error: { code: 'forbidden', message: `terminal.${op.name} needs the "write" scope; this token has "read"` } });
        }
        expect((await socket.request({ type: 'heartbeat' })).success).toBe(true);
        // Output typed by someone allowed to type still reaches the read-only subscriber.
        expect((await post(`/api/terminals/${a}/input`, { data: 'seen-by-reader\n' })).status).toBe(200);
        await socket.outputUntil(a, (received) => received.text.includes('seen-by-reader'));
      } finally {
        await socket.close();
      }
    });

    it('MCP: a read-only MCP client is read-only; the sidecar calls the API with the token the client presented', async () => {
      const client = await mcpClient(sidecar, tokens.reader);
      try {
        for (const op of reads) {
          const result = await tool(client, op.mcp.tool, params(op, a));
          if (PLAIN_READS.has(op.name)) expect(result.ok, `${op.mcp.tool}: ${result.text}`).toBe(true);
          else expect(result.text, op.mcp.tool).not.toMatch(/forbidden/);
        }
        for (const op of writes) {
          const result = await tool(client, op.mcp.tool, params(op, a));
          expect(result.ok, op.mcp.tool).toBe(false);
          expect(result.text, op.mcp.tool).toBe(`termgate API: terminal.${op.name} needs the "write" scope; this token has "read" (forbidden 403)`);
        }
      } finally {
        await client.close();
      }
      // A write token through the sidecar writes.
      const writer = await mcpClient(sidecar, tokens.writer);
      try {
        expect(await tool(writer, 'send_input', { terminalId: a, data: 'x' })).toMatchObject({ ok: true, value: { terminalId: a, bytes: 1 } });
      } finally {
        await writer.close();
      }
    });

    it('MCP: with --require-token, a client that presents no token gets no way around it through the sidecar', async () => {
      const client = await mcpClient(sidecar);
      try {
        const result = await tool(client, 'list_terminals', {});
        expect(result.ok).toBe(false);
        expect(result.text).toMatch(/requires a token \(--require-token\), and the MCP client presented none/);
        const bad = await mcpClient(sidecar, 'tg_' + '0'.repeat(64));
        expect((await tool(bad, 'list_terminals', {})).text).toMatch(/refused the token your MCP client presented \(401/);
        await bad.close();
      } finally {
        await client.close();
      }
    });

    it('a write token writes, but cannot create tokens, read or rotate the main token, or read the audit log', async () => {
      const writer = tokens.writer!;
      expect((await post(`/api/terminals/${a}/input`, { data: 'w' }, writer)).status).toBe(200);
      for (const [method, path] of [['POST', '/api/tokens'], ['GET', '/api/tokens'], ['GET', '/api/settings/token'], ['GET', '/api/settings/connections'], ['POST', '/api/auth/rotate'], ['GET', '/api/audit']]) {
        const response = await raw(`${api.url}${path}`, { method, headers: bearer(writer), body: method === 'POST' ? { name: 'sneaky' } : undefined });
        expect(response.status, `${method} ${path}`).toBe(403);
        expect(response.json().error.message, `${method} ${path}`).toMatch(/needs the "admin" scope; this token has "write"/);
        expect(response.text).not.toContain(main);
      }
      // The CLI goes through the running server: with the write token as TERMGATE_TOKEN it is refused the same way…
      const env = { TERMGATE_HOME: api.home };
      const refused = await runCli(runtime, ['token', 'create', 'from-cli', '--port', String(api.port)], { ...env, TERMGATE_TOKEN: writer });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/POST \/api\/tokens needs the "admin" scope; this token has "write"/);
      expect(savedConfig(api).tokens.map((t) => t.name)).not.toContain('sneaky');
      // …and with the config's main token it creates a scoped one (asked for the token by a 401 on loopback, it sends it).
      const created = await runCli(runtime, ['token', 'create', 'from-cli', '--scope', 'read', '--terminal', a, '--port', String(api.port), '--json'], env);
      expect(created.code, created.stderr).toBe(0);
      expect(JSON.parse(created.stdout)).toMatchObject({ via: 'server', name: 'from-cli', scope: 'read', terminals: [a], token: expect.stringMatching(/^tg_/) });
    });

    it('an admin route spelled another way (encoded, doubled or trailing slashes) is never served to a read token', async () => {
      const spellings = [
        '/%61pi/settings/token',
        '/a%70i/tokens',
        '/%2561pi/tokens',
        '/api/%73ettings/token',
        '//api/settings/token',
        '/api//settings/token',
        '/api/settings/token/',
        '/api/settings/%74oken',
        '/api/terminals/../settings/token',
        '/api/terminals/%2e%2e/settings/token',
      ];
      for (const path of spellings) {
        for (const method of ['GET', 'HEAD']) {
          const response = await raw(`${api.url}${path}`, { method, headers: bearer(tokens.reader!) });
          expect([403, 404], `${method} ${path}: ${response.status} ${response.text}`).toContain(response.status);
          expect(response.text, path).not.toContain(main);
        }
      }
      const minted = await raw(`${api.url}/%61pi/tokens`, { method: 'POST', headers: bearer(tokens.reader!), body: { name: 'sneaky-encoded', scope: 'admin' } });
      expect([403, 404], minted.text).toContain(minted.status);
      expect(savedConfig(api).tokens.map((t) => t.name)).not.toContain('sneaky-encoded');
      // The same spellings are no route for the main token either: the path routed is the raw one the scope check reads.
      expect((await raw(`${api.url}/%61pi/settings/token`, { headers: bearer(main) })).status).toBe(404);
      expect((await raw(`${api.url}/api/settings/token`, { headers: bearer(main) })).json().token).toBe(main);
    });

    it('a token limited to terminal A: sees only A, gets 404 for B exactly as for an unknown id, cannot create', async () => {
      const limited = tokens.limited!;
      const listed = (await raw(`${api.url}/api/terminals`, { headers: bearer(limited) })).json().terminals;
      expect(listed.map((t: { id: string }) => t.id)).toEqual([a]);
      const unknown = 'f'.repeat(b.length);
      const asUnknown = (text: string, id: string) => text.replaceAll(id, '<id>');
      for (const op of ops.filter((o) => o.name !== 'list' && o.name !== 'create')) {
        const forB = await restCall(api, op, b, limited);
        const forUnknown = await restCall(api, op, unknown, limited);
        expect(forB.status, op.name).toBe(404);
        expect(asUnknown(forB.text, b), op.name).toBe(asUnknown(forUnknown.text, unknown));
        expect(forB.json().error.code).toBe('not_found');
      }
      expect((await restCall(api, ops.find((o) => o.name === 'get')!, a, limited)).status).toBe(200);
      const create = await post('/api/terminals', { command: 'cat' }, limited);
      expect(create.status).toBe(403);
      expect(create.json().error).toMatchObject({ code: 'forbidden', message: expect.stringMatching(/^terminal\.create needs a token that is not limited/) });
      // Through MCP, the same.
      const client = await mcpClient(sidecar, limited);
      try {
        expect((await tool(client, 'list_terminals', {})).value.terminals.map((t: { id: string }) => t.id)).toEqual([a]);
        expect((await tool(client, 'get_terminal', { terminalId: b })).text).toBe(`termgate API: terminal ${JSON.stringify(b)} not found (not_found 404)`);
      } finally {
        await client.close();
      }
    });

    it('WebSocket: a token limited to A cannot subscribe to B and never hears of B', async () => {
      const socket = await TestSocket.open(wsUrl(api.url), { protocols: ['termgate.v1', `bearer.${tokens.viewerA}`] });
      try {
        const refused = await socket.request({ type: 'subscribe', terminalId: b });
        expect(refused).toMatchObject({ success: false, error: { code: 'not_found', message: `terminal ${JSON.stringify(b)} not found` } });
        expect((await socket.request({ type: 'command', command: 'terminal.get', params: { terminalId: b } })).error.code).toBe('not_found');
        expect((await socket.request({ type: 'subscribe', terminalId: a })).success).toBe(true);
        // Resize B, then A (by the main token): only A's event arrives.
        expect((await post(`/api/terminals/${b}/resize`, { cols: 81, rows: 25 })).status).toBe(200);
        expect((await post(`/api/terminals/${a}/resize`, { cols: 82, rows: 25 })).status).toBe(200);
        await socket.event('terminal.resized', a);
        // A terminal created by someone else is not announced either; nothing about B ever came.
        const c = (await post('/api/terminals', { command: 'cat' })).json().id as string;
        await post(`/api/terminals/${a}/resize`, { cols: 83, rows: 25 });
        await socket.waitFor((f) => f.type === 'event' && f.event.type === 'terminal.resized' && f.event.data.cols === 83);
        expect(socket.frames.filter((f) => f.type === 'event' && (f.event.terminalId === b || f.event.terminalId === c))).toEqual([]);
        await raw(`${api.url}/api/terminals/${c}`, { method: 'DELETE', headers: bearer(main) });
      } finally {
        await socket.close();
      }
    });

    it('failed credentials beyond 20 a second get 429 with Retry-After; a valid client meanwhile is neither refused nor slowed', async () => {
      const valid = async () => {
        const started = performance.now();
        const response = await raw(`${api.url}/api/terminals`, { headers: bearer(tokens.reader!) });
        expect(response.status).toBe(200);
        return performance.now() - started;
      };
      const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
      const baseline: number[] = [];
      for (let i = 0; i < 30; i++) baseline.push(await valid());

      let flooding = true;
      const statuses = new Map<number, number>();
      let retryAfter: string | undefined;
      const attacker = async (n: number) => {
        for (let i = 0; flooding; i++) {
          const token = i % 2 === 0 ? `tg_${String(n).padStart(4, '0')}${'0'.repeat(60)}` : 'e'.repeat(64);
          const response = await raw(`${api.url}/api/terminals`, { headers: bearer(token) });
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          if (response.status === 429) retryAfter ??= response.headers.get('retry-after')?.[0];
        }
      };
      const attackers = Array.from({ length: 8 }, (_, n) => attacker(n));
      await new Promise((resolve) => setTimeout(resolve, 200));
      const during: number[] = [];
      for (let i = 0; i < 30; i++) during.push(await valid());
      flooding = false;
      await Promise.all(attackers);

      const [before, meanwhile] = [median(baseline), median(during)];
      console.log(`[${runtime}] throttle: valid median ${before.toFixed(2)} ms alone, ${meanwhile.toFixed(2)} ms during the flood; invalid answers ${JSON.stringify(Object.fromEntries(statuses))}`);
      expect(statuses.get(429) ?? 0).toBeGreaterThan(0);
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
      expect([...statuses.keys()].every((status) => status === 401 || status === 429)).toBe(true);
      // Generous: the flood shares 2 cores with the valid client, but a valid credential is never delayed on purpose.
      expect(meanwhile).toBeLessThan(before * 10 + 100);
    });
  });
}

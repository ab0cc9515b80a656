/**
 * The audit log (docs/security.md) of a real server: a scripted session
 * through REST, the WebSocket and the MCP sidecar leaves exactly the expected
 * lines, with token names and never a secret; a REST client cannot claim the
 * MCP door; the typed text only with audit.recordInput; the file is 0600 and
 * rotates at 10 MB keeping 3 files (the real default, on each runtime).
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { savedConfig, startServer, tempHome, type RunningServer } from '../harness.ts';
import { bearer, raw } from '../http.ts';
import { TestSocket, wsUrl } from '../ws-client.ts';
import type { Target } from './suite.ts';

type Line = Record<string, unknown>;

async function mcpCall(sidecar: RunningServer, token: string | undefined, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  const client = new Client({ name: 'termgate-audit', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${sidecar.url}/mcp`), { requestInit: token === undefined ? {} : { headers: bearer(token) } }));
  try {
    return (await client.callTool({ name, arguments: args })) as CallToolResult;
  } finally {
    await client.close();
  }
}

/** The entries without their times (checked to be ISO 8601 here). */
async function auditLines(api: RunningServer, token: string, limit = 1000): Promise<Line[]> {
  const response = await raw(`${api.url}/api/audit?limit=${limit}`, { headers: bearer(token) });
  expect(response.status, response.text).toBe(200);
  return response.json().entries.map(({ time, ...rest }: Line) => {
    expect(new Date(String(time)).toISOString()).toBe(time);
    return rest;
  });
}

export function auditChecks({ runtime }: Target): void {
  describe('audit log', () => {
    describe('a scripted session through every door', () => {
      let api: RunningServer;
      let sidecar: RunningServer;
      let main: string;

      beforeAll(async () => {
        api = await startServer(runtime, { args: ['--require-token'] });
        sidecar = await startServer(runtime, { command: 'mcp', home: api.home, args: ['--api-url', api.url] });
        main = savedConfig(api).authToken;
      });
      afterAll(async () => {
        await sidecar?.stop();
        await api?.stop();
      });

      it('holds exactly one line per change, with door and token name, and never a secret or the typed text', async () => {
        const post = (path: string, body: object, token: string, headers: Record<string, string> = {}) =>
          raw(`${api.url}${path}`, { method: 'POST', headers: { ...bearer(token), ...headers }, body });
        const writer = (await post('/api/tokens', { name: 'writer' }, main)).json().token as string;
        const reader = (await post('/api/tokens', { name: 'reader', scope: 'read' }, main)).json().token as string;
        const id = (await post('/api/terminals', { command: 'cat' }, writer)).json().id as string;
        expect((await post(`/api/terminals/${id}/input`, { data: 'typed-secret-text\n' }, writer)).status).toBe(200);
        // Reads leave no line; neither do refused requests (forbidden, unknown terminal, bad input).
        await raw(`${api.url}/api/terminals/${id}/output`, { headers: bearer(reader) });
        expect((await post(`/api/terminals/${id}/input`, { data: 'no' }, reader)).status).toBe(403);
        expect((await post('/api/terminals/nope/input', { data: 'no' }, writer)).status).toBe(404);
        expect((await post(`/api/terminals/${id}/resize`, { cols: 0, rows: 1 }, writer)).status).toBe(400);
        // A REST client claiming the MCP door without its key is a REST request, under its own name.
        const forged = { 'x-termgate-door': 'mcp', 'x-termgate-door-key': 'f'.repeat(64), 'x-termgate-client': 'local' };
        expect((await post(`/api/terminals/${id}/input`, { data: 'ab' }, writer, forged)).status).toBe(200);

        const socket = await TestSocket.open(wsUrl(api.url), { protocols: ['termgate.v1', `bearer.${writer}`] });
        expect((await socket.request({ type: 'subscribe', terminalId: id })).success).toBe(true);
        await socket.command('terminal.resize', { terminalId: id, cols: 100, rows: 30 });
        await socket.command('terminal.keys', { terminalId: id, keys: ['C-a'] });
        await socket.close();

        const sent = await mcpCall(sidecar, writer, 'send_input', { terminalId: id, data: 'xyz' });
        expect(sent.isError, JSON.stringify(sent.content)).not.toBe(true);
        expect((await mcpCall(sidecar, reader, 'send_input', { terminalId: id, data: 'no' })).isError).toBe(true);
        // No token at the sidecar while the API requires one: refused, no line.
        expect((await mcpCall(sidecar, undefined, 'close_terminal', { terminalId: id })).isError).toBe(true);

        expect((await raw(`${api.url}/api/terminals/${id}`, { method: 'DELETE', headers: bearer(main) })).status).toBe(204);
        expect((await raw(`${api.url}/api/tokens/reader`, { method: 'DELETE', headers: bearer(main) })).status).toBe(204);

        expect(await auditLines(api, main)).toEqual([
          { door: 'rest', token: 'main', op: 'token.create', name: 'writer' },
          { door: 'rest', token: 'main', op: 'token.create', name: 'reader' },
          { door: 'rest', token: 'writer', op: 'terminal.create', terminalId: id },
          { door: 'rest', token: 'writer', op: 'terminal.input', terminalId: id, bytes: 18 },
          { door: 'rest', token: 'writer', op: 'terminal.input', terminalId: id, bytes: 2 },
          { door: 'ws', token: 'writer', op: 'terminal.resize', terminalId: id },
          { door: 'ws', token: 'writer', op: 'terminal.keys', terminalId: id, bytes: 1 },
          { door: 'mcp', token: 'writer', op: 'terminal.input', terminalId: id, bytes: 3 },
          { door: 'rest', token: 'main', op: 'terminal.close', terminalId: id },
          { door: 'rest', token: 'main', op: 'token.revoke', name: 'reader' },
        ]);
        expect(await auditLines(api, main, 2)).toEqual([
          { door: 'rest', token: 'main', op: 'terminal.close', terminalId: id },
          { door: 'rest', token: 'main', op: 'token.revoke', name: 'reader' },
        ]);

        const path = join(api.home, 'audit.jsonl');
        expect(statSync(path).mode & 0o777).toBe(0o600);
        const text = readFileSync(path, 'utf8');
        expect(text.trim().split('\n')).toHaveLength(10);
        const config = JSON.parse(readFileSync(join(api.home, 'config.json'), 'utf8'));
        for (const secret of [main, writer, reader, config.jwtSecret, writer.slice(3), 'typed-secret-text', 'xyz']) expect(text).not.toContain(secret);
      });

      it('GET /api/audit is admin only and checks its limit, naming the field', async () => {
        const writer = (await raw(`${api.url}/api/tokens`, { method: 'POST', headers: bearer(main), body: { name: 'w2' } })).json().token;
        const refused = await raw(`${api.url}/api/audit`, { headers: bearer(writer) });
        expect(refused.status).toBe(403);
        expect(refused.json().error.message).toBe('GET /api/audit needs the "admin" scope; this token has "write"');
        for (const bad of ['0', 'abc', '10001', '1.5']) {
          const response = await raw(`${api.url}/api/audit?limit=${bad}`, { headers: bearer(main) });
          expect(response.status, bad).toBe(400);
          expect(response.json().error.message, bad).toMatch(/^limit: must be a whole number from 1 to 10000/);
        }
      });
    });

    describe('recordInput, and rotation at 10 MB', () => {
      let api: RunningServer;
      let home: string;
      const MB10 = 10 * 1024 * 1024;

      beforeAll(async () => {
        home = tempHome();
        mkdirSync(home, { recursive: true });
        const hex = () => randomBytes(32).toString('hex');
        writeFileSync(
          join(home, 'config.json'),
          JSON.stringify({ authToken: hex(), jwtSecret: hex(), apiPort: 42031, mcpPort: 42032, expose: false, audit: { recordInput: true } }),
          { mode: 0o600 },
        );
        // A full log already there: the current file a few bytes short of 10 MB, and two rotated ones.
        const fill = (tag: string, size: number) => `{"tag":"${tag}"}\n` + 'x'.repeat(size - `{"tag":"${tag}"}\n`.length - 1) + '\n';
        writeFileSync(join(home, 'audit.jsonl'), fill('current', MB10 - 10), { mode: 0o600 });
        writeFileSync(join(home, 'audit.jsonl.1'), fill('rotated-once', MB10));
        writeFileSync(join(home, 'audit.jsonl.2'), fill('oldest', MB10));
        api = await startServer(runtime, { home });
      });
      afterAll(async () => {
        await api?.stop();
      });

      it('records the typed text and the command line when audit.recordInput is true', async () => {
        const token = savedConfig(api).authToken;
        const id = (await raw(`${api.url}/api/terminals`, { method: 'POST', body: {} })).json().id as string;
        expect((await raw(`${api.url}/api/terminals/${id}/input`, { method: 'POST', body: { data: 'echo ok\n' } })).status).toBe(200);
        const run = await raw(`${api.url}/api/terminals/${id}/run`, { method: 'POST', body: { command: 'echo ran', timeoutMs: 20_000 } });
        expect(run.status, run.text).toBe(200);
        expect((await raw(`${api.url}/api/terminals/${id}/keys`, { method: 'POST', body: { keys: ['C-c'] } })).status).toBe(200);
        await raw(`${api.url}/api/terminals/${id}`, { method: 'DELETE' });
        expect(await auditLines(api, token, 5)).toEqual([
          { door: 'rest', token: 'local', op: 'terminal.create', terminalId: id },
          { door: 'rest', token: 'local', op: 'terminal.input', terminalId: id, bytes: 8, text: 'echo ok\n' },
          { door: 'rest', token: 'local', op: 'terminal.run', terminalId: id, bytes: 8, text: 'echo ran' },
          { door: 'rest', token: 'local', op: 'terminal.keys', terminalId: id, bytes: 1, keys: ['C-c'] },
          { door: 'rest', token: 'local', op: 'terminal.close', terminalId: id },
        ]);
      });

      it('rotated the full file: audit.jsonl.1 is the old current, .2 the old .1, the oldest is gone; 3 files, each at most 10 MB', () => {
        const head = (file: string) => readFileSync(join(home, file), 'utf8').slice(0, 40);
        expect(head('audit.jsonl.1')).toMatch(/^\{"tag":"current"\}/);
        expect(head('audit.jsonl.2')).toMatch(/^\{"tag":"rotated-once"\}/);
        expect(existsSync(join(home, 'audit.jsonl.3'))).toBe(false);
        const current = readFileSync(join(home, 'audit.jsonl'), 'utf8');
        expect(current.startsWith('{"time":')).toBe(true);
        expect(current.trim().split('\n')).toHaveLength(5);
        for (const file of ['audit.jsonl', 'audit.jsonl.1', 'audit.jsonl.2']) expect(statSync(join(home, file)).size).toBeLessThanOrEqual(MB10);
        expect(statSync(join(home, 'audit.jsonl')).mode & 0o777).toBe(0o600);
      });

      it('names the local client on the PUT that exposes the server, though the mode changed while it ran', async () => {
        const token = savedConfig(api).authToken;
        const put = await raw(`${api.url}/api/settings/connections`, { method: 'PUT', body: { expose: true } });
        expect(put.status, put.text).toBe(200);
        expect(put.json()).toMatchObject({ mode: 'exposed' });
        expect((await auditLines(api, token, 1)).at(-1)).toEqual({ door: 'rest', token: 'local', op: 'settings.connections' });
      });
    });
  });
}

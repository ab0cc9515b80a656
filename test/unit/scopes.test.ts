/**
 * Scopes, the failed-credential throttle, --require-token and the MCP door,
 * through core.fetch (no sockets: the conformance suite drives the real
 * servers; test/conformance/scopes.ts and audit.ts).
 */
import { describe, expect, it } from 'vitest';
import { ConfigStore } from '../../src/config.ts';
import { DOOR_CLIENT_HEADER, DOOR_HEADER, DOOR_KEY_HEADER, doorKey } from '../../src/door.ts';
import { FailureThrottle } from '../../src/gate.ts';
import { McpSidecar } from '../../src/mcp/sidecar.ts';
import { routeScope } from '../../src/scopes.ts';
import { MemoryStorage, unitCore } from './memory-platform.ts';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('failed-credential throttle', () => {
  it('answers 401 for up to 20 failures a second, then 429 with Retry-After until the second has passed', async () => {
    let now = 1_000_000;
    const throttle = new FailureThrottle(20, () => now);
    for (let i = 0; i < 20; i++) expect(throttle.fail().status).toBe(401);
    const limited = throttle.fail();
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect((await limited.json()).error).toMatchObject({ code: 'rate_limited', message: expect.stringMatching(/more than 20 a second/) });
    now += 999;
    expect(throttle.fail().status).toBe(429);
    // A quiet second later, failures are 401 again.
    now += 2000;
    expect(throttle.fail().status).toBe(401);
  });

  it('never refuses a valid credential while invalid ones are throttled', async () => {
    const { core, request } = await unitCore({ mode: 'exposed' });
    const valid = bearer(core.credentials.mainToken);
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++) {
      statuses.push((await request('/api/tokens', { headers: bearer('f'.repeat(64)) })).status);
      expect((await request('/api/tokens', { headers: valid })).status).toBe(200);
    }
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(20).every((s) => s === 429)).toBe(true);
    // A request that presents no credential at all is not a failed credential: still 401.
    expect((await request('/api/tokens')).status).toBe(401);
  });
});

describe('scopes through the REST door', () => {
  it('routes outside the operation table need admin, except the document and the stream', () => {
    expect(routeScope('/api/tokens')).toBe('admin');
    expect(routeScope('/api/settings/token')).toBe('admin');
    expect(routeScope('/api/audit')).toBe('admin');
    expect(routeScope('/api/something-new')).toBe('admin');
    expect(routeScope('/api/openapi.json')).toBe('read');
    expect(routeScope('/api/terminals')).toBeNull();
    expect(routeScope('/api/terminals/x/input')).toBeNull();
  });

  it('a write token can neither mint tokens nor read the main token; admin can; 403 names the scope', async () => {
    const { core, request } = await unitCore({ mode: 'exposed' });
    const writer = await core.credentials.create('writer');
    const admin = await core.credentials.create('boss', { scope: 'admin' });
    for (const [method, path] of [['POST', '/api/tokens'], ['GET', '/api/settings/token'], ['POST', '/api/auth/rotate'], ['GET', '/api/audit'], ['DELETE', '/api/tokens/boss']] as const) {
      const response = await request(path, { method, headers: { ...bearer(writer.token), 'content-type': 'application/json' }, body: method === 'POST' ? '{"name":"x"}' : undefined });
      expect(response.status, `${method} ${path}`).toBe(403);
      expect((await response.json()).error, `${method} ${path}`).toEqual({ code: 'forbidden', message: `${method} ${path} needs the "admin" scope; this token has "write"` });
    }
    expect((await request('/api/openapi.json', { headers: bearer(writer.token) })).status).toBe(200);
    expect((await request('/api/terminals', { headers: bearer(writer.token) })).status).toBe(200);
    const created = await request('/api/tokens', { method: 'POST', headers: { ...bearer(admin.token), 'content-type': 'application/json' }, body: '{"name":"viewer","scope":"read"}' });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ name: 'viewer', scope: 'read', token: expect.stringMatching(/^tg_/) });
  });

  it('POST /api/tokens checks scope and terminals, naming the field', async () => {
    const { request } = await unitCore();
    const post = (body: unknown) => request('/api/tokens', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const error = async (body: unknown) => (await (await post(body)).json()).error;
    expect(await error({ name: 'a', scope: 'root' })).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/^scope: /) });
    expect(await error({ name: 'a', terminals: ['nope'] })).toEqual({ code: 'bad_request', message: 'terminals.0: no open terminal has the id "nope"' });
    expect(await error({ name: 'a', terminals: [] })).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/^terminals: /) });
  });

  it('--require-token asks for a token on loopback; the health check stays open', async () => {
    const { core, request } = await unitCore();
    expect((await request('/api/tokens')).status).toBe(200);
    await core.config.update((config) => {
      config.requireToken = true;
    });
    expect((await request('/api/tokens')).status).toBe(401);
    expect((await request('/health')).status).toBe(200);
    expect((await request('/api/tokens', { headers: bearer(core.credentials.mainToken) })).status).toBe(200);
  });
});

describe('the MCP door', () => {
  it('is believed only with the door key; a forged claim is a REST request under its own name', async () => {
    const { core, request } = await unitCore({ mode: 'exposed' });
    const admin = await core.credentials.create('boss', { scope: 'admin' });
    const key = await doorKey(core.config.current.jwtSecret);
    const revoke = async (name: string, headers: Record<string, string>) => {
      await core.credentials.create(name);
      expect((await request(`/api/tokens/${name}`, { method: 'DELETE', headers: { ...bearer(admin.token), ...headers } })).status).toBe(204);
    };
    await revoke('a', { [DOOR_HEADER]: 'mcp', [DOOR_KEY_HEADER]: 'f'.repeat(64), [DOOR_CLIENT_HEADER]: 'local' });
    await revoke('b', { [DOOR_HEADER]: 'mcp', [DOOR_KEY_HEADER]: key });
    await revoke('c', { [DOOR_HEADER]: 'mcp', [DOOR_KEY_HEADER]: key, [DOOR_CLIENT_HEADER]: 'local' });
    const lines = (await core.audit.recent(10)).map(({ door, token, op, name }) => ({ door, token, op, name }));
    expect(lines).toEqual([
      { door: 'rest', token: 'boss', op: 'token.revoke', name: 'a' },
      { door: 'mcp', token: 'boss', op: 'token.revoke', name: 'b' },
      // "client: local" from a named token's request is no way to become "local" (admin).
      { door: 'mcp', token: 'boss', op: 'token.revoke', name: 'c' },
    ]);
  });

  it('in local mode the forwarded token decides: a write token through the door is not admin', async () => {
    const { core, request } = await unitCore();
    const writer = await core.credentials.create('writer');
    const key = await doorKey(core.config.current.jwtSecret);
    const door = { [DOOR_HEADER]: 'mcp', [DOOR_KEY_HEADER]: key };
    expect((await request('/api/tokens', { headers: { ...door, ...bearer(writer.token) } })).status).toBe(403);
    expect((await request('/api/tokens', { headers: { ...door, ...bearer('tg_' + 'f'.repeat(64)) } })).status).toBe(401);
    // The sidecar's own token for a client it admitted without one: local, as today.
    expect((await request('/api/tokens', { headers: { ...door, ...bearer(core.credentials.mainToken), [DOOR_CLIENT_HEADER]: 'local' } })).status).toBe(200);
    await core.config.update((config) => {
      config.requireToken = true;
    });
    const refused = await request('/api/tokens', { headers: { ...door, ...bearer(core.credentials.mainToken), [DOOR_CLIENT_HEADER]: 'local' } });
    expect(refused.status).toBe(401);
    expect((await refused.json()).error.message).toMatch(/presented none to the sidecar/);
  });
});

describe('the MCP sidecar with requireToken', () => {
  it('asks its own clients for a token on loopback when the config says requireToken', async () => {
    const config = await ConfigStore.open(new MemoryStorage(), false);
    const mcp = new McpSidecar({ config, runtime: 'node', bindHost: '127.0.0.1', interfaceAddresses: () => [], log: () => {} });
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'unit', version: '1' } } });
    const post = (headers: Record<string, string> = {}) =>
      mcp.fetch(new Request('http://127.0.0.1:42032/mcp', { method: 'POST', body, headers: { host: '127.0.0.1:42032', accept: 'application/json, text/event-stream', 'content-type': 'application/json', ...headers } }));
    expect((await post()).status).toBe(200);
    await config.update((c) => {
      c.requireToken = true;
    });
    expect((await post()).status).toBe(401);
    expect((await post(bearer(config.current.authToken))).status).toBe(200);
  });
});

describe('principalOf', () => {
  it('fails closed: a Request the gate never admitted is nobody, not local, in either mode', async () => {
    const exposed = await unitCore({ mode: 'exposed' });
    const stranger = exposed.core.principalOf(new Request('http://127.0.0.1/api/terminals'));
    expect(stranger).toMatchObject({ kind: 'public', scope: 'read' });
    expect([...(stranger.terminals ?? ['all'])]).toEqual([]);
    // Admitted requests keep their principal (the main token is admin).
    expect((await exposed.request('/api/tokens', { headers: bearer(exposed.core.credentials.mainToken) })).status).toBe(200);
    const local = await unitCore({ mode: 'local' });
    expect(local.core.principalOf(new Request('http://127.0.0.1/api/terminals'))).toMatchObject({ kind: 'public', scope: 'read' });
    expect((await local.request('/api/tokens')).status).toBe(200);
  });
});

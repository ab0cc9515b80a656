import { describe, expect, it } from 'vitest';
import { hostnameOf, modeForBindHost, offeredProtocols, pathOf, presentedCredentials, selectSubprotocol } from '../../src/gate.ts';
import { constantTimeEqual } from '../../src/hex.ts';
import { unitCore } from './memory-platform.ts';

describe('gate helpers', () => {
  it('derives the mode from the bind address only', () => {
    for (const host of ['127.0.0.1', '127.5.6.7', 'localhost', '::1', '[::1]']) expect(modeForBindHost(host)).toBe('local');
    for (const host of ['0.0.0.0', '::', '192.168.1.20', '10.0.0.1', '127.0.0.1.example']) expect(modeForBindHost(host)).toBe('exposed');
  });

  it('parses Host headers strictly', () => {
    expect(hostnameOf('LocalHost:42031')).toBe('localhost');
    expect(hostnameOf('[::1]:80')).toBe('[::1]');
    expect(hostnameOf('127.0.0.1')).toBe('127.0.0.1');
    expect(hostnameOf('my-box.lan:8080')).toBe('my-box.lan');
    // Two Host headers arrive joined by a comma on some runtimes; neither they nor spaces make a hostname.
    for (const bad of ['', ':80', 'a:b', '[::1', 'host:80:90', 'x:123456', '127.0.0.1, evil.example', 'a b', 'evil.example@x', '[::1]x']) {
      expect(hostnameOf(bad), bad).toBeNull();
    }
  });

  it('extracts the path without building a URL', () => {
    expect(pathOf('http://h:1/api/x?y=1')).toBe('/api/x');
    expect(pathOf('http://h:1')).toBe('/');
    expect(pathOf('http://h/health')).toBe('/health');
  });

  it('picks termgate.v1 over a bearer protocol, so the secret is not echoed', () => {
    expect(selectSubprotocol('termgate.v1, bearer.abc')).toBe('termgate.v1');
    expect(selectSubprotocol('bearer.abc,termgate.v1')).toBe('termgate.v1');
    expect(selectSubprotocol('bearer.abc')).toBe('bearer.abc');
    expect(selectSubprotocol('chat')).toBeNull();
    expect(selectSubprotocol(null)).toBeNull();
    expect(offeredProtocols(' a ,b,, c')).toEqual(['a', 'b', 'c']);
  });

  it('finds credentials in every allowed place, query and subprotocol only on upgrades', () => {
    const request = new Request('http://h/ws?token=q', {
      headers: {
        authorization: 'Basic ' + btoa('user:p:w'),
        'sec-websocket-protocol': 'termgate.v1, bearer.s',
      },
    });
    expect(presentedCredentials(request, true)).toEqual(['p:w', 'q', 's']);
    expect(presentedCredentials(request, false)).toEqual(['p:w']);
  });

  it('compares in constant time over the expected length', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abd', 'abc')).toBe(false);
    expect(constantTimeEqual('ab', 'abc')).toBe(false);
    expect(constantTimeEqual('abcd', 'abc')).toBe(false);
    expect(constantTimeEqual('', '')).toBe(true);
  });
});

describe('gate through core.fetch', () => {
  it('answers health in exposed mode without a credential and with any Host', async () => {
    const { request } = await unitCore({ mode: 'exposed' });
    const response = await request('/health', { headers: { host: 'evil.example' } });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok', mode: 'exposed', runtime: 'node' });
  });

  it('admits interface addresses and allowedHosts only in exposed mode', async () => {
    const local = await unitCore();
    expect((await local.request('/api/tokens', { headers: { host: '192.0.2.10:42031' } })).status).toBe(403);
    const exposed = await unitCore({ mode: 'exposed' });
    const token = exposed.config.current.authToken;
    const auth = { authorization: `Bearer ${token}` };
    expect((await exposed.request('/api/tokens', { headers: { ...auth, host: '192.0.2.10:42031' } })).status).toBe(200);
    expect((await exposed.request('/api/tokens', { headers: { ...auth, host: '[fe80::1]:42031' } })).status).toBe(200);
    expect((await exposed.request('/api/tokens', { headers: { ...auth, host: 'myhost.lan' } })).status).toBe(403);
    await exposed.config.update((c) => void c.allowedHosts.push('MyHost.lan'));
    expect((await exposed.request('/api/tokens', { headers: { ...auth, host: 'myhost.lan:42031' } })).status).toBe(200);
  });

  it('admits origins listed in allowedOrigins', async () => {
    const { request, config } = await unitCore();
    expect((await request('/api/tokens', { headers: { origin: 'http://tool.localhost:3000' } })).status).toBe(403);
    await config.update((c) => void c.allowedOrigins.push('http://tool.localhost:3000'));
    expect((await request('/api/tokens', { headers: { origin: 'http://tool.localhost:3000' } })).status).toBe(200);
  });

  it('accepts a WebSocket credential only on an upgrade request', async () => {
    const { request, config } = await unitCore({ mode: 'exposed' });
    const token = config.current.authToken;
    const plain = await request(`/api/tokens?token=${token}`, { headers: { 'sec-websocket-protocol': `bearer.${token}` } });
    expect(plain.status).toBe(401);
  });

  it('never puts a secret in an error message', async () => {
    const { request, config } = await unitCore({ mode: 'exposed' });
    const token = config.current.authToken;
    const wrong = await request('/api/tokens', { headers: { authorization: `Bearer ${token.slice(1)}` } });
    expect(await wrong.text()).not.toContain(token.slice(1));
  });
});

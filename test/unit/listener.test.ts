import { describe, expect, it } from 'vitest';
import { Listener } from '../../src/listener.ts';
import type { Listen } from '../../src/platform.ts';
import { unitCore } from './memory-platform.ts';

/**
 * A fake network with Linux's bind rules: a port is taken for a host when the
 * same host or a wildcard (0.0.0.0) holds it, and 0.0.0.0 conflicts with any
 * holder. `releaseDelayMs` mimics a runtime that frees a closed port late (Deno).
 */
function fakeNetwork(releaseDelayMs = 0) {
  const bound = new Map<string, string>(); // "host:port" -> owner
  const events: string[] = [];
  const conflicts = (host: string, port: number) =>
    [...bound.keys()].some((key) => {
      const [h, p] = key.split(':');
      return Number(p) === port && (h === host || h === '0.0.0.0' || host === '0.0.0.0');
    });
  let next = 40000;
  const listen: Listen = async (host, port) => {
    const actual = port === 0 ? next++ : port;
    if (conflicts(host, actual)) {
      events.push(`refused ${host}:${actual}`);
      throw Object.assign(new Error('in use'), { code: 'EADDRINUSE' });
    }
    const key = `${host}:${actual}`;
    bound.set(key, 'termgate');
    events.push(`bind ${key}`);
    return {
      port: actual,
      close: async () => {
        events.push(`close ${key}`);
        if (releaseDelayMs === 0) bound.delete(key);
        else setTimeout(() => bound.delete(key), releaseDelayMs);
      },
    };
  };
  return { listen, bound, events, occupy: (key: string) => bound.set(key, 'other') };
}

const fetch = () => new Response('ok');

describe('Listener.rebind', () => {
  it('keeps the port: closes first, then binds the new host', async () => {
    const net = fakeNetwork();
    const listener = new Listener(net.listen, fetch, () => {});
    await listener.start('127.0.0.1', 5000);
    expect(await listener.rebind('0.0.0.0', 5000)).toEqual({ host: '0.0.0.0', port: 5000, mode: 'exposed' });
    expect(net.events).toEqual(['bind 127.0.0.1:5000', 'close 127.0.0.1:5000', 'bind 0.0.0.0:5000']);
    expect(listener.url).toBe('http://0.0.0.0:5000');
  });

  it('retries while a closed port is released late', async () => {
    const net = fakeNetwork(30);
    const listener = new Listener(net.listen, fetch, () => {});
    await listener.start('127.0.0.1', 5000);
    await listener.rebind('0.0.0.0', 5000);
    expect(listener.state.mode).toBe('exposed');
    expect(net.events.filter((e) => e.startsWith('refused')).length).toBeGreaterThan(0);
  });

  it('re-binds the old address when the new one cannot be had, and answers 409', async () => {
    const net = fakeNetwork();
    const listener = new Listener(net.listen, fetch, () => {});
    await listener.start('127.0.0.1', 5000);
    net.occupy('192.0.2.7:5000'); // another program on a NIC address: 0.0.0.0:5000 is impossible
    await expect(listener.rebind('0.0.0.0', 5000)).rejects.toMatchObject({ code: 'conflict', status: 409 });
    expect(listener.state).toEqual({ host: '127.0.0.1', port: 5000, mode: 'local' });
    expect(net.bound.get('127.0.0.1:5000')).toBe('termgate');
  }, 10_000);

  it('moves to another port: binds the new one first, then closes the old', async () => {
    const net = fakeNetwork();
    const listener = new Listener(net.listen, fetch, () => {});
    await listener.start('127.0.0.1', 5000);
    await listener.rebind('0.0.0.0', 6000);
    expect(net.events).toEqual(['bind 127.0.0.1:5000', 'bind 0.0.0.0:6000', 'close 127.0.0.1:5000']);
    expect(listener.state).toEqual({ host: '0.0.0.0', port: 6000, mode: 'exposed' });
  });

  it('leaves the old listener untouched when the new port is taken', async () => {
    const net = fakeNetwork();
    const listener = new Listener(net.listen, fetch, () => {});
    await listener.start('127.0.0.1', 5000);
    net.occupy('127.0.0.1:6000');
    const error = await listener.rebind('127.0.0.1', 6000).catch((e) => e);
    expect(error).toMatchObject({ code: 'conflict' });
    expect(error.message).toContain('6000');
    expect(net.events).not.toContain('close 127.0.0.1:5000');
    expect(listener.state.port).toBe(5000);
  });

  it('runs concurrent rebinds one after the other', async () => {
    const net = fakeNetwork(5);
    const listener = new Listener(net.listen, fetch, () => {});
    await listener.start('127.0.0.1', 5000);
    await Promise.all([listener.rebind('0.0.0.0', 5000), listener.rebind('127.0.0.1', 5000), listener.rebind('0.0.0.0', 5000)]);
    expect(listener.state.host).toBe('0.0.0.0');
    expect([...net.bound.keys()].filter((k) => net.bound.get(k) === 'termgate').sort()).toContain('0.0.0.0:5000');
  });
});

describe('PUT /api/settings/connections (unit)', () => {
  const put = (request: Awaited<ReturnType<typeof unitCore>>['request'], body: unknown) =>
    request('/api/settings/connections', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('names the field of every invalid value', async () => {
    const { request } = await unitCore();
    const cases: [unknown, string][] = [
      [{ apiPort: 80 }, 'apiPort'],
      [{ apiPort: 70000 }, 'apiPort'],
      [{ apiPort: '5000' }, 'apiPort'],
      [{ mcpPort: 1.5 }, 'mcpPort'],
      [{ expose: 'yes' }, 'expose'],
      [{ allowedHosts: ['http://evil.example'] }, 'allowedHosts.0'],
      [{ allowedHosts: ['ok.example', 'bad host'] }, 'allowedHosts.1'],
      [{ allowedHosts: 'ok.example' }, 'allowedHosts'],
      [{ allowedOrigins: ['example.com'] }, 'allowedOrigins.0'],
      [{ allowedOrigins: ['http://example.com/path'] }, 'allowedOrigins.0'],
      [{ allowedOrigins: ['ftp://example.com'] }, 'allowedOrigins.0'],
      [{ bindHost: '0.0.0.0' }, 'bindHost'],
      [{ mcpPort: 42031 }, 'mcpPort'],
    ];
    for (const [body, field] of cases) {
      const response = await put(request, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      const { error } = await response.json();
      expect(error.code).toBe('bad_request');
      expect(error.message.startsWith(`${field}:`), `${JSON.stringify(body)} -> ${error.message}`).toBe(true);
    }
  });

  it('saves normalised hosts and origins and applies them at once', async () => {
    const { request, config } = await unitCore();
    const response = await put(request, {
      allowedHosts: ['MyBox.LAN', 'fe80::1', '[fd00::2]'],
      allowedOrigins: ['HTTP://App.Example:8080', 'https://x.example:443'],
    });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.allowedHosts).toEqual(['mybox.lan', '[fe80::1]', '[fd00::2]']);
    expect(body.allowedOrigins).toEqual(['http://app.example:8080', 'https://x.example']);
    expect(config.current.allowedHosts).toEqual(body.allowedHosts);
    expect(body.rebound).toBe(false);
  });

  it('toggles the gate: expose on makes the next request need a token', async () => {
    const { request, core, config } = await unitCore();
    const on = await put(request, { expose: true });
    expect(on.status).toBe(200);
    expect(await on.json()).toMatchObject({ expose: true, mode: 'exposed', bindHost: '0.0.0.0', url: 'http://0.0.0.0:42031', rebound: true });
    expect(on.headers.get('connection')).toBe('close');
    expect(config.current.expose).toBe(true);
    expect((await request('/api/tokens')).status).toBe(401);
    const token = core.credentials.mainToken;
    const off = await request('/api/settings/connections', {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ expose: false }),
    });
    expect(off.status).toBe(200);
    expect((await request('/api/tokens')).status).toBe(200);
    expect(config.current.expose).toBe(false);
  });
});

describe('Listener with TLS or a Unix socket', () => {
  it('passes the options to every bind and names an https URL', async () => {
    const seen: unknown[] = [];
    const listen: Listen = async (_host, port, _fetch, options) => {
      seen.push(options);
      return { port: port === 0 ? 4443 : port, close: async () => {} };
    };
    const tls = { cert: 'CERT', key: 'KEY' };
    const listener = new Listener(listen, fetch, () => {}, { tls });
    await listener.start('127.0.0.1', 0);
    expect(listener.url).toBe('https://127.0.0.1:4443');
    await listener.rebind('0.0.0.0', 4443);
    expect(listener.url).toBe('https://0.0.0.0:4443');
    expect(seen).toEqual([{ tls }, { tls }]);
  });

  it('a Unix-socket listener is local, named unix:PATH, and refuses to move (409, nothing closed)', async () => {
    const events: string[] = [];
    const listen: Listen = async (_host, _port, _fetch, options) => {
      events.push(`bind ${options?.unixPath}`);
      return { port: 0, close: async () => void events.push('close') };
    };
    const listener = new Listener(listen, fetch, () => {}, { unixPath: '/run/t.sock' });
    expect(await listener.start('0.0.0.0', 42031)).toEqual({ host: 'unix:/run/t.sock', port: 0, mode: 'local' });
    expect(listener.url).toBe('unix:/run/t.sock');
    await expect(listener.rebind('0.0.0.0', 0)).rejects.toMatchObject({ code: 'conflict', message: expect.stringContaining('Unix socket /run/t.sock') });
    await expect(listener.rebind('unix:/run/t.sock', 5000)).rejects.toMatchObject({ code: 'conflict' });
    expect(events).toEqual(['bind /run/t.sock']);
  });
});

/** The gate, the credentials and the config file: every row of the gate, in local and exposed mode. */
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, savedConfig as configOf, startServer, tempHome, type RunningServer } from '../harness.ts';
import { basic, bearer, raw } from '../http.ts';
import { networkInterfaces } from 'node:os';
import type { Target } from './suite.ts';

const REBINDING_HOSTS = ['evil.example', 'localhost.evil.example', '127.0.0.1.nip.io', 'evil.localhost.example', '0.0.0.0', '127.0.0.1.evil.example:80'];
/** Malformed Host values: a runtime's HTTP parser may refuse them (400) before termgate sees them (403). */
const MALFORMED_HOSTS = ['localhost:80@evil.example', '', 'localhost:abc', '[::1'];

function expectError(response: { status: number; json(): any }, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(response.json().error.code).toBe(code);
  expect(typeof response.json().error.message).toBe('string');
}

function nicAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const entry of list ?? []) if (!entry.internal && entry.family === 'IPv4') return entry.address;
  }
  return undefined;
}

const NIC_ADDRESS = nicAddress();

export function gateChecks({ runtime }: Target): void {
  let local: RunningServer;
  let exposed: RunningServer;

  beforeAll(async () => {
    [local, exposed] = await Promise.all([startServer(runtime), startServer(runtime, { host: '0.0.0.0' })]);
  });
  afterAll(async () => {
    await Promise.all([local?.stop(), exposed?.stop()]);
  });

  describe('health', () => {
    it('is open in both modes without a credential, GET and HEAD', async () => {
      for (const [server, mode] of [
        [local, 'local'],
        [exposed, 'exposed'],
      ] as const) {
        for (const path of ['/health', '/api/health']) {
          const response = await raw(server.url + path);
          expect(response.status).toBe(200);
          expect(response.json()).toMatchObject({ status: 'ok', name: 'termgate', runtime, mode });
          expect(response.json().version).toMatch(/^\d+\.\d+\.\d+/);
          expect((await raw(server.url + path, { method: 'HEAD' })).status).toBe(200);
        }
      }
    });

    it('prints one machine-readable line with the URL', () => {
      expect(local.output()).toMatch(/termgate listening on http:\/\/127\.0\.0\.1:\d+ \(mode: local/);
      expect(exposed.output()).toMatch(/termgate listening on http:\/\/0\.0\.0\.0:\d+ \(mode: exposed/);
    });
  });

  describe('local mode', () => {
    it('needs no token, and ignores a wrong one', async () => {
      expect((await raw(`${local.url}/api/tokens`)).status).toBe(200);
      expect((await raw(`${local.url}/api/tokens`, { headers: bearer('wrong') })).status).toBe(200);
    });

    it('accepts loopback names in Host', async () => {
      for (const host of [`localhost:${local.port}`, 'app.localhost', '127.1.2.3', `[::1]:${local.port}`, 'LOCALHOST']) {
        expect((await raw(`${local.url}/api/tokens`, { headers: { host } })).status, host).toBe(200);
      }
    });

    it('refuses DNS-rebinding Host headers', async () => {
      for (const host of REBINDING_HOSTS) {
        expectError(await raw(`${local.url}/api/tokens`, { headers: { host } }), 403, 'host_not_allowed');
      }
      for (const host of MALFORMED_HOSTS) {
        const response = await raw(`${local.url}/api/tokens`, { headers: { host } });
        expect([400, 403], JSON.stringify(host)).toContain(response.status);
      }
    });

    // Skipped, visibly, on a machine without a LAN address.
    it.skipIf(!NIC_ADDRESS)('refuses a machine interface address as Host (only exposed mode admits those)', async () => {
      const address = NIC_ADDRESS!;
      expectError(await raw(`${local.url}/api/tokens`, { headers: { host: `${address}:${local.port}` } }), 403, 'host_not_allowed');
    });

    it('refuses cross-site Origins and admits its own', async () => {
      for (const origin of ['http://evil.example', 'null', `http://localhost:${local.port + 1}`, `https://127.0.0.1:${local.port}`]) {
        expectError(await raw(`${local.url}/api/tokens`, { headers: { origin } }), 403, 'origin_not_allowed');
      }
      const own = await raw(`${local.url}/api/tokens`, { headers: { origin: `http://127.0.0.1:${local.port}` } });
      expect(own.status).toBe(200);
      expect(own.headers.get('access-control-allow-origin')).toBeUndefined();
      const ownByName = await raw(`${local.url}/api/tokens`, {
        headers: { host: `localhost:${local.port}`, origin: `http://localhost:${local.port}` },
      });
      expect(ownByName.status).toBe(200);
    });

    it('refuses a cross-site POST (a form or fetch from a web page cannot create or rotate)', async () => {
      const response = await raw(`${local.url}/api/auth/rotate`, { method: 'POST', headers: { origin: 'http://evil.example' } });
      expectError(response, 403, 'origin_not_allowed');
    });

    it('answers unknown routes with a JSON 404', async () => {
      expectError(await raw(`${local.url}/api/nope`), 404, 'not_found');
    });
  });

  describe('exposed mode', () => {
    const gated = () => `${exposed.url}/api/tokens`;

    it('refuses a request without a credential with 401 and both challenges', async () => {
      const response = await raw(gated());
      expectError(response, 401, 'unauthorized');
      const challenges = response.headers.get('www-authenticate')!.join(', ');
      expect(challenges).toContain('Basic realm="termgate"');
      expect(challenges).toContain('Bearer realm="termgate"');
    });

    it('accepts the token as Bearer and as Basic with any user name', async () => {
      const token = configOf(exposed).authToken;
      expect(token).toMatch(/^[0-9a-f]{64}$/);
      expect((await raw(gated(), { headers: bearer(token) })).status).toBe(200);
      expect((await raw(gated(), { headers: { authorization: `bearer ${token}` } })).status).toBe(200);
      expect((await raw(gated(), { headers: basic('anyone', token) })).status).toBe(200);
      expect((await raw(gated(), { headers: basic('', token) })).status).toBe(200);
    });

    it('refuses wrong, truncated and malformed credentials', async () => {
      const token = configOf(exposed).authToken;
      const attempts: Record<string, string>[] = [
        bearer('0'.repeat(64)),
        bearer(token.slice(0, 63)),
        bearer(token + '0'),
        basic(token, 'wrong'),
        { authorization: `Basic !!!not-base64` },
        { authorization: token },
        { authorization: `Token ${token}` },
      ];
      for (const headers of attempts) expectError(await raw(gated(), { headers }), 401, 'unauthorized');
      // ?token= is for WebSocket upgrades only; on REST it would leak into logs.
      expectError(await raw(`${gated()}?token=${token}`), 401, 'unauthorized');
      // Not even with an Upgrade header: only a GET upgrade of /ws or /api/ws may carry the token that way.
      // (Status only: on Node a refused upgrade-style request gets no body.)
      const upgrade = { upgrade: 'websocket', connection: 'Upgrade' };
      expect((await raw(`${gated()}?token=${token}`, { headers: upgrade })).status).toBe(401);
      expect((await raw(gated(), { headers: { ...upgrade, 'sec-websocket-protocol': `bearer.${token}` } })).status).toBe(401);
      // Deno's HTTP layer itself refuses a POST upgrade (400); either way the token must not rotate.
      const rotate = await raw(`${exposed.url}/api/auth/rotate?token=${token}`, { method: 'POST', headers: upgrade });
      expect([400, 401]).toContain(rotate.status);
      expect((await raw(gated(), { headers: bearer(token) })).status).toBe(200);
    });

    it('still checks Host and Origin when the token is right', async () => {
      const headers = bearer(configOf(exposed).authToken);
      expectError(await raw(gated(), { headers: { ...headers, host: 'evil.example' } }), 403, 'host_not_allowed');
      expectError(await raw(gated(), { headers: { ...headers, origin: 'http://evil.example' } }), 403, 'origin_not_allowed');
    });

    it.skipIf(!NIC_ADDRESS)('admits this machine\'s interface address as Host', async () => {
      const address = NIC_ADDRESS!;
      const response = await raw(gated(), { headers: { ...bearer(configOf(exposed).authToken), host: `${address}:${exposed.port}` } });
      expect(response.status).toBe(200);
    });

    it('never accepts the JWT from /api/auth/token', async () => {
      const token = configOf(exposed).authToken;
      const minted = await raw(`${exposed.url}/api/auth/token`, { method: 'POST', headers: bearer(token) });
      expect(minted.status).toBe(200);
      const { token: jwt, note } = minted.json();
      expect(jwt.split('.')).toHaveLength(3);
      expect(note).toMatch(/does NOT accept/);
      expectError(await raw(gated(), { headers: bearer(jwt) }), 401, 'unauthorized');
      expectError(await raw(gated(), { headers: basic('x', jwt) }), 401, 'unauthorized');
    });

    it('rotates without restart: the old token fails at once, the new one works', async () => {
      const old = configOf(exposed).authToken;
      const rotated = await raw(`${exposed.url}/api/auth/rotate`, { method: 'POST', headers: bearer(old) });
      expect(rotated.status).toBe(200);
      const fresh = rotated.json().token;
      expect(fresh).toMatch(/^[0-9a-f]{64}$/);
      expect(fresh).not.toBe(old);
      expectError(await raw(gated(), { headers: bearer(old) }), 401, 'unauthorized');
      expect((await raw(gated(), { headers: bearer(fresh) })).status).toBe(200);
      expect(configOf(exposed).authToken).toBe(fresh);
      const shown = await raw(`${exposed.url}/api/settings/token`, { headers: bearer(fresh) });
      expect(shown.json()).toEqual({ token: fresh });
    });

    it('creates, uses, lists and revokes named tokens; the store keeps only a hash', async () => {
      const admin = bearer(configOf(exposed).authToken);
      const created = await raw(`${exposed.url}/api/tokens`, { method: 'POST', headers: admin, body: { name: 'ci-bot', scope: 'admin' } });
      expect(created.status).toBe(201);
      const { name, token, createdAt } = created.json();
      expect(name).toBe('ci-bot');
      expect(token).toMatch(/^tg_[0-9a-f]{64}$/);
      expect(new Date(createdAt).toString()).not.toBe('Invalid Date');

      const stored = readFileSync(join(exposed.home, 'config.json'), 'utf8');
      expect(stored).not.toContain(token);
      expect(configOf(exposed).tokens.find((t) => t.name === 'ci-bot')?.hash).toMatch(/^[0-9a-f]{64}$/);

      expect((await raw(gated(), { headers: bearer(token) })).status).toBe(200);
      expect((await raw(gated(), { headers: basic('u', token) })).status).toBe(200);

      const duplicate = await raw(`${exposed.url}/api/tokens`, { method: 'POST', headers: admin, body: { name: 'ci-bot' } });
      expectError(duplicate, 409, 'conflict');

      const listed = (await raw(gated(), { headers: admin })).json();
      const entry = listed.tokens.find((t: { name: string }) => t.name === 'ci-bot');
      expect(entry).toMatchObject({ name: 'ci-bot', createdAt });
      expect(typeof entry.lastUsedAt).toBe('string');
      expect(JSON.stringify(listed)).not.toContain(token);

      expect((await raw(`${exposed.url}/api/tokens/ci-bot`, { method: 'DELETE', headers: admin })).status).toBe(204);
      expectError(await raw(gated(), { headers: bearer(token) }), 401, 'unauthorized');
      expectError(await raw(`${exposed.url}/api/tokens/ci-bot`, { method: 'DELETE', headers: admin }), 404, 'not_found');
    });

    it('validates named-token input with a message naming the field', async () => {
      const admin = bearer(configOf(exposed).authToken);
      for (const body of ['{not json', { name: '' }, { name: 5 }, { name: 'a b' }, {}, { name: 'ok', extra: 1 }]) {
        const response = await raw(`${exposed.url}/api/tokens`, { method: 'POST', headers: admin, body });
        expectError(response, 400, 'bad_request');
        expect(response.json().error.message).toMatch(/^(name|body|extra)/);
      }
    });

    it('never writes a credential to its log', async () => {
      const { authToken } = configOf(exposed);
      expect(exposed.output()).not.toContain(authToken);
    });
  });

  describe('TERMGATE_TOKEN', () => {
    let fixed: RunningServer;
    const envToken = 'env-secret-' + 'a1'.repeat(16);
    beforeAll(async () => {
      fixed = await startServer(runtime, { host: '0.0.0.0', env: { TERMGATE_TOKEN: envToken } });
    });
    afterAll(() => fixed?.stop());

    it('takes precedence over the config token, and rotate answers 409', async () => {
      const url = `${fixed.url}/api/tokens`;
      expect((await raw(url, { headers: bearer(envToken) })).status).toBe(200);
      expectError(await raw(url, { headers: bearer(configOf(fixed).authToken) }), 401, 'unauthorized');
      const rotate = await raw(`${fixed.url}/api/auth/rotate`, { method: 'POST', headers: bearer(envToken) });
      expectError(rotate, 409, 'conflict');
      expect(rotate.json().error.message).toMatch(/TERMGATE_TOKEN/);
      expect(rotate.text).not.toContain(envToken);
    });

    it('is refused when shorter than 32 characters, without being printed', async () => {
      const short = 'short-secret-42';
      const home = tempHome();
      try {
        const result = await runCli(runtime, ['serve', '--port', '0'], { TERMGATE_HOME: home, TERMGATE_TOKEN: short });
        expect(result.code).not.toBe(0);
        expect(result.stderr).toMatch(/TERMGATE_TOKEN: must be at least 32 characters/);
        expect(result.stdout + result.stderr).not.toContain(short);
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    });
  });

  describe('config file', () => {
    it('is written with mode 0600 and a 64-hex authToken', () => {
      const file = join(local.home, 'config.json');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(configOf(local).authToken).toMatch(/^[0-9a-f]{64}$/);
    });

    it('refuses to start on a corrupt file, names it, and leaves it untouched', async () => {
      for (const garbage of ['{"authToken": "abc', 'not json at all', '{"authToken": 5}']) {
        const home = tempHome();
        const file = join(home, 'config.json');
        writeFileSync(file, garbage, { mode: 0o600 });
        const failure = await startServer(runtime, { home }).then(
          async (server) => {
            await server.stop();
            return 'started';
          },
          (error: Error) => error.message,
        );
        expect(failure).toContain(file);
        expect(failure).not.toMatch(/\n\s+at /); // one clear line, no stack trace
        expect(readFileSync(file, 'utf8')).toBe(garbage);
      }
    });
  });
}

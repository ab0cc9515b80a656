/**
 * Defects an outside assessment found (issue 10), each pinned by a check that
 * failed before its fix: upgrades that were never answered (an fd leak open to
 * anyone), 5xx for a client's mistake, WebSockets that outlived a revoked
 * token, a config file corrupted under a running server, bodies that were not
 * JSON, two Host headers, a config file others could read.
 */
import { chmodSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFds, runCli, savedConfig as configOf, settledFds, startServer, tempHome, type RunningServer } from '../harness.ts';
import { bearer, raw } from '../http.ts';
import { TestSocket, wsUrl } from '../ws-client.ts';
import type { Target } from './suite.ts';

const WS_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** Sends raw bytes; resolves with what came back and whether the server closed the connection. */
export function rawExchange(
  port: number,
  request: string | Buffer,
  timeoutMs = 5000,
): Promise<{ text: string; status: number | null; closedByServer: boolean; timedOut: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (closedByServer: boolean, timedOut: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ text, status: match ? Number(match[1]) : null, closedByServer, timedOut });
    };
    const timer = setTimeout(() => finish(false, true), timeoutMs);
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      if (responseComplete(Buffer.concat(chunks))) finish(false, false);
    });
    socket.on('end', () => finish(true, false));
    socket.on('close', () => finish(true, false));
    socket.on('error', () => finish(true, false));
    socket.write(request);
  });
}

/** A whole response (head and Content-Length body) has arrived; a keep-alive server would not close after it. */
function responseComplete(bytes: Buffer): boolean {
  const headEnd = bytes.indexOf('\r\n\r\n');
  if (headEnd < 0) return false;
  const head = bytes.toString('latin1', 0, headEnd);
  if (/^HTTP\/1\.1 101/.test(head)) return true;
  const length = /\r\ncontent-length: *(\d+)/i.exec(head);
  return length !== null && bytes.length - headEnd - 4 >= Number(length[1]);
}

/** The JSON error body of a raw answer, or null when there is none (a runtime's own parser answered). */
function errorBody(text: string): { code: string; message: string } | null {
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  if (!body.startsWith('{')) return null;
  const end = body.lastIndexOf('}');
  return (JSON.parse(body.slice(0, end + 1)) as { error: { code: string; message: string } }).error;
}

/** A loopback port nothing listens on (taken from the kernel, then released). */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

const upgradeHead = (path: string, host: string, extra = '') =>
  `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}Sec-WebSocket-Key: ${WS_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`;

export function hardeningChecks({ runtime }: Target): void {
  describe('hardening', () => {
    let local: RunningServer;
    let exposed: RunningServer;
    let sidecar: RunningServer;

    beforeAll(async () => {
      [local, exposed] = await Promise.all([startServer(runtime), startServer(runtime, { host: '0.0.0.0' })]);
      sidecar = await startServer(runtime, { command: 'mcp', host: '0.0.0.0', args: ['--api-url', exposed.url], home: exposed.home });
    });
    afterAll(async () => {
      await sidecar?.stop();
      await Promise.all([local?.stop(), exposed?.stop()]);
    });

    it('answers and closes upgrades to other protocols (h2c, foo): no descriptor leaks, on the API and the MCP sidecar', async () => {
      for (const server of [exposed, sidecar]) {
        const pid = server.process.pid!;
        const before = openFds(pid);
        const answers = await Promise.all(
          Array.from({ length: 60 }, (_, i) =>
            rawExchange(
              server.port,
              `GET /health HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: Upgrade\r\nUpgrade: ${i % 2 ? 'h2c' : 'foo'}\r\n\r\n`,
              3000,
            ),
          ),
        );
        for (const answer of answers) expect(answer.status, answer.text.slice(0, 200)).toBe(200);
        const after = await settledFds(pid, before, 5);
        expect(after, `${server.runtime} fds before ${before}, after ${after}`).toBeLessThanOrEqual(before + 5);
      }
    });

    it('answers a non-websocket upgrade that carries a body with 400, not silence', async () => {
      const answer = await rawExchange(
        exposed.port,
        `POST /api/tokens HTTP/1.1\r\nHost: 127.0.0.1:${exposed.port}\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`,
      );
      expect(answer.timedOut, answer.text).toBe(false);
      expect(answer.status).not.toBeNull();
      expect(answer.status!).toBeGreaterThanOrEqual(400);
      expect(answer.status!).toBeLessThan(500);
    });

    it('never runs a request that asks for an upgrade without its body, and answers forbidden methods without a 5xx', async () => {
      const body = '{"name":"from-body","cols":33}';
      for (const upgrade of ['websocket', 'h2c']) {
        const answer = await rawExchange(
          local.port,
          `POST /api/terminals HTTP/1.1\r\nHost: 127.0.0.1:${local.port}\r\nConnection: Upgrade\r\nUpgrade: ${upgrade}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
        );
        expect(answer.status, answer.text.slice(0, 200)).not.toBeNull();
        // Served with its body (Bun), or refused (Node, Deno): never created from an empty one.
        if (answer.status === 201) expect(answer.text).toContain('"cols":33');
        else expect(answer.status!).toBeGreaterThanOrEqual(400);
      }
      for (const terminal of (await raw(`${local.url}/api/terminals`)).json().terminals as { id: string; cols: number }[]) {
        expect(terminal.cols).toBe(33);
        await raw(`${local.url}/api/terminals/${terminal.id}`, { method: 'DELETE' });
      }
      for (const method of ['TRACE', 'CONNECT']) {
        const answer = await rawExchange(local.port, `${method} / HTTP/1.1\r\nHost: 127.0.0.1:${local.port}\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\n`);
        if (answer.status !== null) expect(answer.status, `${method}: ${answer.text.slice(0, 200)}`).toBeLessThan(500);
        expect(answer.timedOut, method).toBe(false);
      }
    });

    it('answers an upgrade with a malformed Host with 400 (no 5xx)', async () => {
      for (const host of [':1', 'a b', 'localhost:abc', '127.0.0.1, evil.example']) {
        const answer = await rawExchange(local.port, upgradeHead('/ws', host, 'Connection: Upgrade\r\nUpgrade: websocket\r\n'));
        expect(answer.status, `${host}: ${answer.text.slice(0, 200)}`).toBe(400);
        const error = errorBody(answer.text);
        if (error !== null) expect(error.code).toBe('bad_request');
      }
    });

    it('answers a WebSocket handshake without "Connection: Upgrade" with 400 bad_request', async () => {
      for (const path of ['/ws', '/api/ws']) {
        const answer = await rawExchange(local.port, upgradeHead(path, `127.0.0.1:${local.port}`, 'Upgrade: websocket\r\nConnection: close\r\n'));
        expect(answer.status, answer.text.slice(0, 300)).toBe(400);
        expect(errorBody(answer.text)?.code).toBe('bad_request');
      }
    });

    it('answers two Host headers with 400, in either order, REST and upgrade', async () => {
      const good = `127.0.0.1:${local.port}`;
      for (const [first, second] of [
        [good, 'evil.example'],
        ['evil.example', good],
        [good, good],
      ]) {
        const rest = await rawExchange(local.port, `GET /api/tokens HTTP/1.1\r\nHost: ${first}\r\nHost: ${second}\r\nConnection: close\r\n\r\n`);
        expect(rest.status, rest.text.slice(0, 200)).toBe(400);
        const upgrade = await rawExchange(
          local.port,
          `GET /ws HTTP/1.1\r\nHost: ${first}\r\nHost: ${second}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: ${WS_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        );
        expect(upgrade.status, upgrade.text.slice(0, 200)).toBe(400);
      }
    });

    it('refuses a body that is not JSON with 415, before reading it', async () => {
      for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
        const response = await raw(`${local.url}/api/tokens`, { method: 'POST', headers: { 'content-type': contentType }, body: '{"name":"sneaky"}' });
        expect(response.status, contentType).toBe(415);
        expect(response.json().error.code).toBe('unsupported_media_type');
      }
      const listed = await raw(`${local.url}/api/tokens`);
      expect(listed.json().tokens.map((t: { name: string }) => t.name)).not.toContain('sneaky');
      // A JSON body with parameters, and a POST without a body, still pass.
      const json = await raw(`${local.url}/api/tokens`, { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8' }, body: { name: 'json-ok' } });
      expect(json.status).toBe(201);
      expect((await raw(`${local.url}/api/tokens/json-ok`, { method: 'DELETE' })).status).toBe(204);
      expect((await raw(`${local.url}/api/auth/token`, { method: 'POST' })).status).toBe(200);
    });

    describe('revocation ends sockets', () => {
      it('revoking a named token closes its WebSockets at once (4001 "token revoked"); others stay', async () => {
        const main = configOf(exposed).authToken;
        const created = await raw(`${exposed.url}/api/tokens`, { method: 'POST', headers: bearer(main), body: { name: 'ws-revoke' } });
        expect(created.status).toBe(201);
        const named = created.json().token as string;
        const viaNamed = await TestSocket.open(wsUrl(exposed.url), { protocols: ['termgate.v1', `bearer.${named}`] });
        const viaQuery = await TestSocket.open(`${wsUrl(exposed.url)}?token=${named}`);
        const viaMain = await TestSocket.open(wsUrl(exposed.url), { protocols: ['termgate.v1', `bearer.${main}`] });
        try {
          await viaNamed.waitFor((f) => f.id === 'welcome');
          expect((await raw(`${exposed.url}/api/tokens/ws-revoke`, { method: 'DELETE', headers: bearer(main) })).status).toBe(204);
          for (const socket of [viaNamed, viaQuery]) {
            const closed = await Promise.race([socket.closed, new Promise((r) => setTimeout(() => r('still open'), 3000))]);
            expect(closed).toEqual({ code: 4001, reason: 'token revoked' });
          }
          // The main token's socket is untouched and still works.
          expect((await viaMain.request({ type: 'heartbeat' })).success).toBe(true);
        } finally {
          await viaMain.close();
        }
      });

      it('a token revoked by the CLI straight in the file (server not found) closes its sockets too', async () => {
        const main = configOf(exposed).authToken;
        const named = (await raw(`${exposed.url}/api/tokens`, { method: 'POST', headers: bearer(main), body: { name: 'ws-file' } })).json().token as string;
        const socket = await TestSocket.open(wsUrl(exposed.url), { protocols: ['termgate.v1', `bearer.${named}`] });
        await socket.waitFor((f) => f.id === 'welcome');
        // A port where no server runs: the CLI edits the file, and the server follows it.
        const cli = await runCli(runtime, ['token', 'revoke', 'ws-file', '--port', String(await freePort())], { TERMGATE_HOME: exposed.home });
        expect(cli.code, cli.stderr).toBe(0);
        expect(cli.stdout).toContain('saved to');
        const closed = await Promise.race([socket.closed, new Promise((r) => setTimeout(() => r('still open'), 5000))]);
        expect(closed).toEqual({ code: 4001, reason: 'token revoked' });
      });

      it('rotation keeps open sockets; rotation with closeSockets ends those opened with the old token', async () => {
        const first = configOf(exposed).authToken;
        const kept = await TestSocket.open(wsUrl(exposed.url), { protocols: ['termgate.v1', `bearer.${first}`] });
        const rotated = await raw(`${exposed.url}/api/auth/rotate`, { method: 'POST', headers: bearer(first) });
        expect(rotated.status).toBe(200);
        const second = rotated.json().token as string;
        expect((await kept.request({ type: 'heartbeat' })).success).toBe(true);

        const bad = await raw(`${exposed.url}/api/auth/rotate`, { method: 'POST', headers: bearer(second), body: { closeSockets: 'yes' } });
        expect(bad.status).toBe(400);
        expect(bad.json().error.message).toContain('closeSockets');

        const closing = await raw(`${exposed.url}/api/auth/rotate`, { method: 'POST', headers: bearer(second), body: { closeSockets: true } });
        expect(closing.status).toBe(200);
        const closed = await Promise.race([kept.closed, new Promise((r) => setTimeout(() => r('still open'), 3000))]);
        expect(closed).toEqual({ code: 4001, reason: 'token rotated' });
        const third = closing.json().token as string;
        expect((await raw(`${exposed.url}/api/tokens`, { headers: bearer(second) })).status).toBe(401);
        expect((await raw(`${exposed.url}/api/tokens`, { headers: bearer(third) })).status).toBe(200);
      });

      it('termgate token rotate --close-sockets goes through the server and closes the sockets', async () => {
        const token = configOf(exposed).authToken;
        const socket = await TestSocket.open(wsUrl(exposed.url), { protocols: ['termgate.v1', `bearer.${token}`] });
        await socket.waitFor((f) => f.id === 'welcome');
        const cli = await runCli(runtime, ['token', 'rotate', '--close-sockets', '--port', String(exposed.port)], { TERMGATE_HOME: exposed.home });
        expect(cli.code, cli.stderr).toBe(0);
        expect(cli.stdout).toContain('WebSockets opened with it were closed');
        expect(await socket.closed).toEqual({ code: 4001, reason: 'token rotated' });
        const misuse = await runCli(runtime, ['token', 'list', '--close-sockets', '--port', String(exposed.port)], { TERMGATE_HOME: exposed.home });
        expect(misuse.code).not.toBe(0);
        expect(misuse.stderr).toContain('--close-sockets');
      });
    });

    it('a config file corrupted while the server runs: writes answer 503 config_unreadable naming it, reads go on, the file is left as it is', async () => {
      const server = await startServer(runtime);
      try {
        const path = join(server.home, 'config.json');
        const corrupt = '{"authToken": "half-written';
        writeFileSync(path, corrupt);
        for (const [method, route, body] of [
          ['POST', '/api/tokens', { name: 'x' }],
          ['PUT', '/api/settings/connections', { allowedHosts: ['a.lan'] }],
          ['DELETE', '/api/tokens/none', undefined],
        ] as const) {
          const response = await raw(`${server.url}${route}`, { method, body });
          expect(response.status, `${method} ${route}: ${response.text}`).toBe(503);
          expect(response.json().error.code).toBe('config_unreadable');
          expect(response.json().error.message).toContain(path);
        }
        expect((await raw(`${server.url}/api/tokens`)).status).toBe(200);
        expect((await raw(`${server.url}/api/settings/connections`)).status).toBe(200);
        expect((await raw(`${server.url}/health`)).status).toBe(200);
        expect(readFileSync(path, 'utf8')).toBe(corrupt);
      } finally {
        await server.stop();
      }
    });

    it('tightens a config file that others may read to 0600 at start, and says so in one line', async () => {
      const home = tempHome();
      const first = await startServer(runtime, { home });
      await first.stop();
      const path = join(home, 'config.json');
      chmodSync(path, 0o644);
      const second = await startServer(runtime, { home });
      try {
        expect(statSync(path).mode & 0o777).toBe(0o600);
        const lines = second.output().split('\n').filter((line) => line.includes('0600'));
        expect(lines).toHaveLength(1);
        expect(lines[0]).toContain('had mode 0644');
      } finally {
        await second.stop();
        rmSync(home, { recursive: true, force: true });
      }
    });
  });
}

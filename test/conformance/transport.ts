/**
 * TLS and the Unix socket (docs/tls-and-unix.md) on a real server per runtime:
 * HTTPS and WSS with a certificate made at run time, the gate over them (Host,
 * an https Origin, the token), terminals through them, and the MCP sidecar
 * serving HTTPS or a socket and calling the API over TLS or its socket.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { spawnSync } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { connect as connectHttp2 } from 'node:http2';
import { connect as connectTls } from 'node:tls';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, savedConfig, startServer, tempHome, type RunningServer } from '../harness.ts';
import { hasOpenssl, makeCertificate, nodeFetch, type TestCertificate } from '../tls-fixture.ts';
import { TestSocket } from '../ws-client.ts';
import type { Target } from './suite.ts';

if (!hasOpenssl) console.warn('\n⚠ transport: no /usr/bin/openssl; the TLS checks are SKIPPED (apt-get install openssl)\n');

/** What a client of an API server does, over whichever fetch reaches it. */
function apiOf(base: string, fetch: ReturnType<typeof nodeFetch>, token?: string) {
  return async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(base + path, {
      method,
      headers: {
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, json: text === '' ? null : JSON.parse(text), headers: response.headers };
  };
}

/** A terminal that echoes one line, its output read through a /ws subscription on `socket`. */
async function echoThroughSocket(socket: TestSocket, text: string): Promise<void> {
  const terminal = await socket.command('terminal.create', { command: 'sh', args: ['-c', 'read line; echo "got:$line"'] });
  const ack = await socket.request({ type: 'subscribe', terminalId: terminal.id, since: 0 });
  expect(ack).toMatchObject({ success: true });
  await socket.command('terminal.input', { terminalId: terminal.id, data: `${text}\n` });
  const received = await socket.outputUntil(terminal.id, (r) => r.text.includes(`got:${text}`));
  expect(received.contiguous).toBe(true);
  await socket.command('terminal.close', { terminalId: terminal.id }).catch(() => undefined);
}

async function mcpClient(url: string, fetch: ReturnType<typeof nodeFetch>, token?: string): Promise<Client> {
  const client = new Client({ name: 'termgate-transport', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      fetch,
      requestInit: token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

async function runCommand(client: Client): Promise<string> {
  const created = (await client.callTool({ name: 'create_terminal', arguments: {} })) as CallToolResult;
  expect(created.isError, JSON.stringify(created.content)).toBeFalsy();
  const terminalId = (created.structuredContent as { id: string }).id;
  const ran = (await client.callTool({ name: 'run_command', arguments: { terminalId, command: 'echo $((6*7))' } })) as CallToolResult;
  expect(ran.isError, JSON.stringify(ran.content)).toBeFalsy();
  expect(ran.structuredContent).toMatchObject({ exitCode: 0 });
  await client.callTool({ name: 'close_terminal', arguments: { terminalId } });
  return JSON.stringify(ran.content);
}

/** A socket file with nothing listening on it: a process that bound it and was killed. */
function staleSocketAt(path: string): void {
  const script = `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`;
  spawnSync(process.execPath, ['-e', script]);
  expect(statSync(path).isSocket()).toBe(true);
}

/** The protocol the server picks when a client offers h2 and http/1.1 (ALPN). */
function negotiated(port: number, ca: string): Promise<string | false> {
  return new Promise((resolve, reject) => {
    const socket = connectTls({ host: '127.0.0.1', port, ca, servername: 'localhost', ALPNProtocols: ['h2', 'http/1.1'] }, () => {
      resolve(socket.alpnProtocol ?? false);
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

/** One HTTP/2 GET with this :authority; its status and JSON body. */
function http2Get(port: number, ca: string, authority: string, path: string, token: string): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const session = connectHttp2(`https://localhost:${port}`, { ca });
    session.once('error', reject);
    const stream = session.request({ ':method': 'GET', ':path': path, ':authority': authority, authorization: `Bearer ${token}` });
    let status = 0;
    let text = '';
    stream.on('response', (headers) => (status = Number(headers[':status'])));
    stream.on('data', (chunk: Buffer) => (text += chunk));
    stream.once('end', () => {
      session.close();
      resolve({ status, json: JSON.parse(text) });
    });
    stream.once('error', reject);
  });
}

export function transportChecks({ runtime, caps }: Target): void {
  describe('transport: tls', () => {
    let cert: TestCertificate;
    let api: RunningServer;
    let sidecar: RunningServer;
    let token: string;
    const https = () => nodeFetch({ ca: cert.ca });

    beforeAll(async () => {
      if (!hasOpenssl) return;
      const home = tempHome();
      cert = makeCertificate(home);
      const tls = ['--tls-cert', cert.certFile, '--tls-key', cert.keyFile];
      // Exposed, so the token check runs over TLS too; the traffic still goes to 127.0.0.1.
      api = await startServer(runtime, { host: '0.0.0.0', home, args: tls });
      token = savedConfig(api).authToken;
      // The sidecar calls the API over HTTPS: each runtime trusts the test CA through its own variable.
      sidecar = await startServer(runtime, {
        command: 'mcp',
        home,
        args: [...tls, '--api-url', `https://localhost:${api.port}`],
        env: { NODE_EXTRA_CA_CERTS: cert.caFile, DENO_CERT: cert.caFile },
      });
    });
    afterAll(async () => {
      await Promise.all([sidecar?.stop(), api?.stop()]);
    });

    it.skipIf(!hasOpenssl)('prints an https:// URL and answers health over HTTPS, nothing over plain HTTP', async () => {
      expect(api.output()).toMatch(/termgate listening on https:\/\/0\.0\.0\.0:\d+ \(mode: exposed/);
      const health = await apiOf(api.url, https())('GET', '/health');
      expect(health.json).toMatchObject({ status: 'ok', runtime, mode: 'exposed' });
      const plain = await nodeFetch({})(`http://127.0.0.1:${api.port}/health`).then(
        (response) => response.status,
        () => 'refused',
      );
      expect(plain).not.toBe(200);
    });

    it.skipIf(!hasOpenssl)('keeps the gate over HTTPS: Host, an https Origin, the token', async () => {
      const anonymous = apiOf(api.url, https());
      const call = apiOf(api.url, https(), token);
      expect((await anonymous('GET', '/api/terminals')).status).toBe(401);
      expect((await call('GET', '/api/terminals')).status).toBe(200);
      expect((await call('GET', '/api/terminals', undefined, { host: 'evil.example' })).json.error.code).toBe('host_not_allowed');
      // The dashboard's origin is https://<host> now; the same host over http:// is another origin.
      const own = `https://127.0.0.1:${api.port}`;
      expect((await call('GET', '/api/terminals', undefined, { origin: own })).status).toBe(200);
      const plainOrigin = await call('GET', '/api/terminals', undefined, { origin: `http://127.0.0.1:${api.port}` });
      expect([plainOrigin.status, plainOrigin.json.error.code]).toEqual([403, 'origin_not_allowed']);
      expect((await call('GET', '/api/terminals', undefined, { origin: 'https://evil.example' })).json.error.code).toBe('origin_not_allowed');
    });

    it.skipIf(!hasOpenssl)(`speaks ${caps.http2OverTls ? 'HTTP/2 too' : 'HTTP/1.1 only'} over TLS (ALPN)`, async () => {
      // Node answers http/1.1; Bun selects no ALPN protocol at all (HTTP/1.1 is then what is spoken).
      expect((await negotiated(api.port, cert.ca)) === 'h2').toBe(caps.http2OverTls);
    });

    it.skipIf(!hasOpenssl || !caps.http2OverTls)('checks an HTTP/2 request\'s :authority as its Host', async () => {
      const own = await http2Get(api.port, cert.ca, `127.0.0.1:${api.port}`, '/api/terminals', token);
      expect(own.status).toBe(200);
      const foreign = await http2Get(api.port, cert.ca, 'evil.example', '/api/terminals', token);
      expect([foreign.status, foreign.json.error.code]).toEqual([403, 'host_not_allowed']);
    });

    it.skipIf(!hasOpenssl)('serves terminals over HTTPS and their output over WSS, with the gate on the handshake', async () => {
      const call = apiOf(api.url, https(), token);
      const created = await call('POST', '/api/terminals', { command: 'printf', args: ['over-tls'] });
      expect(created.status).toBe(201);
      await call('DELETE', `/api/terminals/${created.json.id}`);

      const wss = `wss://127.0.0.1:${api.port}/ws`;
      await expect(TestSocket.open(wss, { ca: cert.ca, protocols: ['termgate.v1'] })).rejects.toThrow(/401/);
      await expect(
        TestSocket.open(wss, { ca: cert.ca, protocols: ['termgate.v1', `bearer.${token}`], headers: { origin: 'https://evil.example' } }),
      ).rejects.toThrow(/403/);
      const socket = await TestSocket.open(wss, {
        ca: cert.ca,
        protocols: ['termgate.v1', `bearer.${token}`],
        headers: { origin: `https://127.0.0.1:${api.port}` },
      });
      expect(socket.ws.protocol).toBe('termgate.v1');
      await echoThroughSocket(socket, 'wss');
      await socket.close();
    });

    it.skipIf(!hasOpenssl)('runs the MCP sidecar over HTTPS, calling the API over HTTPS', async () => {
      expect(sidecar.output()).toMatch(/termgate mcp listening on https:\/\/127\.0\.0\.1:\d+\/mcp/);
      const client = await mcpClient(`${sidecar.url}/mcp`, https());
      expect(await runCommand(client)).toContain('42');
      await client.close();
    });

    it.skipIf(!hasOpenssl)('refuses a key that is not the certificate\'s, and a lone --tls-cert, in one line', async () => {
      const home = tempHome();
      const other = makeCertificate(home);
      const env = { TERMGATE_HOME: home };
      const mismatched = await runCli(runtime, ['serve', '--port', '0', '--tls-cert', cert.certFile, '--tls-key', other.keyFile], env);
      expect(mismatched.code).toBe(1);
      expect(mismatched.stderr.trim()).toBe(`termgate: --tls-key: ${other.keyFile} is not the key of the certificate in ${cert.certFile}`);
      const lone = await runCli(runtime, ['serve', '--port', '0', '--tls-cert', cert.certFile], env);
      expect(lone.code).toBe(2);
      expect(lone.stderr).toMatch(/--tls-key is missing/);
      const notPem = await runCli(runtime, ['serve', '--port', '0', '--tls-cert', join(home, 'leaf.ext'), '--tls-key', other.keyFile], env);
      expect(notPem.code).toBe(1);
      expect(notPem.stderr).toMatch(/--tls-cert: .*leaf\.ext is not a PEM certificate/);
    });
  });

  describe('transport: unix socket', () => {
    let home: string;
    let socketPath: string;
    let api: RunningServer;
    let sidecar: RunningServer;
    const overSocket = (path: string) => nodeFetch({ socketPath: path });

    beforeAll(async () => {
      home = tempHome();
      socketPath = join(home, 'api.sock');
      api = await startServer(runtime, { home, unix: socketPath });
      sidecar = await startServer(runtime, { command: 'mcp', home, unix: join(home, 'mcp.sock'), args: ['--api-unix', socketPath] });
    });
    afterAll(async () => {
      await Promise.all([sidecar?.stop(), api?.stop()]);
    });

    it('listens on the socket, created 0600, in local mode', async () => {
      expect(api.url).toBe(`unix:${socketPath}`);
      expect(api.output()).toMatch(/termgate listening on unix:\S+api\.sock \(mode: local/);
      const stat = statSync(socketPath);
      expect(stat.isSocket()).toBe(true);
      expect((stat.mode & 0o777).toString(8)).toBe('600');
      const health = await apiOf('http://localhost', overSocket(socketPath))('GET', '/health');
      expect(health.json).toMatchObject({ status: 'ok', runtime, mode: 'local' });
    });

    it('keeps the Host and Origin checks, and needs no token', async () => {
      const call = apiOf('http://localhost', overSocket(socketPath));
      expect((await call('GET', '/api/terminals')).status).toBe(200);
      expect((await call('GET', '/api/terminals', undefined, { host: 'evil.example' })).json.error.code).toBe('host_not_allowed');
      expect((await call('GET', '/api/terminals', undefined, { origin: 'http://evil.example' })).json.error.code).toBe('origin_not_allowed');
      const view = await call('GET', '/api/settings/connections');
      expect(view.json).toMatchObject({ bindHost: `unix:${socketPath}`, url: `unix:${socketPath}`, mode: 'local' });
    });

    it('serves terminals and /ws over the socket', async () => {
      const call = apiOf('http://localhost', overSocket(socketPath));
      const created = await call('POST', '/api/terminals', { command: 'printf', args: ['over-unix'] });
      expect(created.status).toBe(201);
      await call('DELETE', `/api/terminals/${created.json.id}`);
      const socket = await TestSocket.open(`ws+unix://${socketPath}:/ws`, { protocols: ['termgate.v1'] });
      await echoThroughSocket(socket, 'unix');
      await socket.close();
    });

    it('does not move: expose and apiPort answer 409 naming the socket', async () => {
      const call = apiOf('http://localhost', overSocket(socketPath));
      const answer = await call('PUT', '/api/settings/connections', { expose: true });
      expect(answer.status).toBe(409);
      expect(answer.json.error.message).toContain(`Unix socket ${socketPath}`);
      expect(savedConfig(api)).toMatchObject({ expose: false });
    });

    it('is found by the CLI with --unix, and a second serve on it exits 0', async () => {
      const env = { TERMGATE_HOME: home };
      const status = await runCli(runtime, ['status', '--unix', socketPath, '--json'], env);
      expect(status.code, status.stderr).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({ running: true, url: `unix:${socketPath}`, runtime, mode: 'local', listeningOn: `unix:${socketPath}` });
      const created = await runCli(runtime, ['token', 'create', 'over-socket', '--unix', socketPath, '--json'], env);
      expect(created.code, created.stderr).toBe(0);
      expect(JSON.parse(created.stdout)).toMatchObject({ via: 'server' });
      const again = await runCli(runtime, ['serve', '--unix', socketPath], env);
      expect(again.code).toBe(0);
      expect(again.stdout).toMatch(new RegExp(`already running at unix:${socketPath}`));
      const both = await runCli(runtime, ['serve', '--unix', socketPath, '--port', '0'], env);
      expect(both.code).toBe(2);
    });

    it('runs the MCP sidecar on a socket, calling the API over its socket', async () => {
      const mcpSocket = join(home, 'mcp.sock');
      expect((statSync(mcpSocket).mode & 0o777).toString(8)).toBe('600');
      expect(sidecar.output()).toMatch(new RegExp(`api: unix:${socketPath}`));
      const client = await mcpClient('http://localhost/mcp', overSocket(mcpSocket));
      expect(await runCommand(client)).toContain('42');
      await client.close();
    });

    it('replaces a stale socket, refuses a file that is not one, and removes its socket on exit', async () => {
      const own = tempHome();
      const stale = join(own, 'stale.sock');
      staleSocketAt(stale);
      const server = await startServer(runtime, { home: own, unix: stale });
      expect(server.output()).toContain(`removed the stale socket ${stale}`);
      expect((await apiOf('http://localhost', overSocket(stale))('GET', '/health')).status).toBe(200);
      await server.stop();
      expect(existsSync(stale)).toBe(false);

      const file = join(own, 'not-a-socket');
      writeFileSync(file, 'keep me');
      const refused = await runCli(runtime, ['serve', '--unix', file], { TERMGATE_HOME: own });
      expect(refused.code).toBe(1);
      expect(refused.stderr.trim()).toBe(`termgate: --unix: ${file} exists and is not a socket; remove it or choose another path`);
      expect(statSync(file).isFile()).toBe(true);
    });
  });
}

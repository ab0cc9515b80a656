/**
 * termgate behind Debian's nginx (docs/nginx.md), run with the documented
 * configuration (docs/nginx-termgate.conf: only ports and certificate paths
 * replaced): nginx terminates TLS for term.example.com on a loopback port, in
 * front of an exposed termgate and its MCP sidecar. Through it: REST with a
 * token, /ws output, MCP, and a foreign Origin refused. nginx runs in the
 * foreground with its own prefix in a temp dir and is stopped by its pid.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig, serializeConfig } from '../../src/config.ts';
import { ROOT, savedConfig, startServer, tempHome, type RunningServer } from '../harness.ts';
import { hasOpenssl, lookupTo, makeCertificate, nodeFetch, type TestCertificate } from '../tls-fixture.ts';
import { TestSocket } from '../ws-client.ts';
import type { Target } from './suite.ts';

const NGINX = process.env.TERMGATE_NGINX || '/usr/sbin/nginx';
const hasNginx = existsSync(NGINX);
const missing = !hasNginx ? `no nginx at ${NGINX} (apt-get install nginx)` : !hasOpenssl ? 'no /usr/bin/openssl (apt-get install openssl)' : null;
if (missing) console.warn(`\n⚠ nginx: ${missing}; the reverse-proxy checks are SKIPPED\n`);

const NAME = 'term.example.com';
const SITE = join(ROOT, 'docs', 'nginx-termgate.conf');

/** A free loopback port for nginx's listen (nginx takes no port 0). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, nginx: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (nginx.exitCode !== null) throw new Error(`nginx exited with ${nginx.exitCode}:\n${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nginx did not listen on ${port}:\n${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The documented site, with this run's ports and certificate, inside a minimal main config of its own prefix. */
function nginxConfig(prefix: string, cert: TestCertificate, ports: { nginx: number; api: number; mcp: number }): string {
  const site = readFileSync(SITE, 'utf8')
    .replace('listen 443 ssl;', `listen 127.0.0.1:${ports.nginx} ssl;`)
    .replace('server 127.0.0.1:42031;', `server 127.0.0.1:${ports.api};`)
    .replace('server 127.0.0.1:42032;', `server 127.0.0.1:${ports.mcp};`)
    .replace('/etc/ssl/certs/term.example.com.pem', cert.certFile)
    .replace('/etc/ssl/private/term.example.com.key', cert.keyFile);
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `    ${kind}_temp_path ${join(prefix, 'temp', kind)};`);
  return [
    'daemon off;',
    'worker_processes 1;',
    `pid ${join(prefix, 'nginx.pid')};`,
    `error_log ${join(prefix, 'error.log')} notice;`,
    'events { worker_connections 128; }',
    'http {',
    `    access_log ${join(prefix, 'access.log')};`,
    ...temp,
    site,
    '}',
    '',
  ].join('\n');
}

export function nginxChecks({ runtime }: Target): void {
  describe.skipIf(missing !== null)('behind nginx', () => {
    let cert: TestCertificate;
    let api: RunningServer;
    let sidecar: RunningServer;
    let nginx: ChildProcess;
    let prefix: string;
    let base: string;
    let token: string;
    const viaProxy = () => nodeFetch({ ca: cert.ca, resolve: '127.0.0.1' });
    const call = async (method: string, path: string, headers: Record<string, string> = {}, body?: unknown) => {
      const response = await viaProxy()(base + path, {
        method,
        headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, json: text === '' ? null : JSON.parse(text) };
    };

    beforeAll(async () => {
      const home = tempHome();
      prefix = join(home, 'nginx');
      mkdirSync(join(prefix, 'temp'), { recursive: true });
      cert = makeCertificate(prefix, [`DNS:${NAME}`]);
      const port = await freePort();
      base = `https://${NAME}:${port}`;
      // The proxy's name in allowedHosts, its origin (a test port, so with the port) in allowedOrigins.
      const config = defaultConfig(false);
      config.allowedHosts = [NAME];
      config.allowedOrigins = [base];
      writeFileSync(join(home, 'config.json'), serializeConfig(config), { mode: 0o600 });
      token = config.authToken;
      api = await startServer(runtime, { home, host: '0.0.0.0' });
      sidecar = await startServer(runtime, { command: 'mcp', home, host: '0.0.0.0', args: ['--api-url', `http://127.0.0.1:${api.port}`] });

      writeFileSync(join(prefix, 'nginx.conf'), nginxConfig(prefix, cert, { nginx: port, api: api.port, mcp: sidecar.port }));
      // Run as root, nginx's workers drop to nobody: they must reach their temp dirs (the key stays 0600, read by the master).
      chmodSync(prefix, 0o755);
      let log = '';
      nginx = spawn(NGINX, ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', join(prefix, 'error.log')], { stdio: ['ignore', 'pipe', 'pipe'] });
      nginx.stdout!.on('data', (chunk) => (log += chunk));
      nginx.stderr!.on('data', (chunk) => (log += chunk));
      const errorLog = () => `${log}${existsSync(join(prefix, 'error.log')) ? readFileSync(join(prefix, 'error.log'), 'utf8') : ''}`;
      await waitForPort(port, nginx, errorLog);
    });
    afterAll(async () => {
      if (nginx && nginx.exitCode === null) {
        const exited = new Promise((resolve) => nginx.once('exit', resolve));
        nginx.kill('SIGTERM');
        await exited;
      }
      await Promise.all([sidecar?.stop(), api?.stop()]);
    });

    it('passes REST through with the token, and refuses it without', async () => {
      expect((await call('GET', '/health')).json).toMatchObject({ status: 'ok', runtime, mode: 'exposed' });
      expect((await call('GET', '/api/terminals')).status).toBe(401);
      const listed = await call('GET', '/api/terminals', { authorization: `Bearer ${token}` });
      expect(listed.status).toBe(200);
      const created = await call('POST', '/api/terminals', { authorization: `Bearer ${token}` }, { command: 'printf', args: ['via-nginx'] });
      expect(created.status).toBe(201);
      expect((await call('DELETE', `/api/terminals/${created.json.id}`, { authorization: `Bearer ${token}` })).status).toBe(204);
    });

    it('admits the proxy\'s own origin and refuses a foreign one, REST and WebSocket alike', async () => {
      const auth = { authorization: `Bearer ${token}` };
      expect((await call('GET', '/api/terminals', { ...auth, origin: base })).status).toBe(200);
      const foreign = await call('GET', '/api/terminals', { ...auth, origin: 'https://evil.example' });
      expect([foreign.status, foreign.json.error.code]).toEqual([403, 'origin_not_allowed']);
      const wss = `wss://${NAME}:${new URL(base).port}/ws`;
      await expect(
        TestSocket.open(wss, { ca: cert.ca, lookup: lookupTo('127.0.0.1'), protocols: ['termgate.v1', `bearer.${token}`], headers: { origin: 'https://evil.example' } }),
      ).rejects.toThrow(/403/);
      // A Host the proxy is not named by (nginx passes $host on) is refused by termgate behind it.
      const otherName = await nodeFetch({ ca: cert.ca, resolve: '127.0.0.1' })(base + '/api/terminals', { headers: { ...auth, host: 'rebound.example' } });
      expect(otherName.status).toBe(403);
    });

    it('carries a /ws subscription: output arrives through the proxy', async () => {
      const socket = await TestSocket.open(`wss://${NAME}:${new URL(base).port}/ws`, {
        ca: cert.ca,
        lookup: lookupTo('127.0.0.1'),
        protocols: ['termgate.v1', `bearer.${token}`],
        headers: { origin: base },
      });
      expect(socket.ws.protocol).toBe('termgate.v1');
      const terminal = await socket.command('terminal.create', { command: 'sh', args: ['-c', 'read line; echo "proxied:$line"'] });
      await socket.request({ type: 'subscribe', terminalId: terminal.id, since: 0 });
      await socket.command('terminal.input', { terminalId: terminal.id, data: 'hello\n' });
      const received = await socket.outputUntil(terminal.id, (r) => r.text.includes('proxied:hello'));
      expect(received.contiguous).toBe(true);
      await socket.command('terminal.close', { terminalId: terminal.id }).catch(() => undefined);
      await socket.close();
    });

    it('carries MCP to the sidecar: a tool call runs a command', async () => {
      const client = new Client({ name: 'termgate-nginx', version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { fetch: viaProxy(), requestInit: { headers: { authorization: `Bearer ${token}` } } }),
      );
      const created = (await client.callTool({ name: 'create_terminal', arguments: {} })) as CallToolResult;
      expect(created.isError, JSON.stringify(created.content)).toBeFalsy();
      const terminalId = (created.structuredContent as { id: string }).id;
      const ran = (await client.callTool({ name: 'run_command', arguments: { terminalId, command: 'echo $((6*7))' } })) as CallToolResult;
      expect(ran.structuredContent).toMatchObject({ exitCode: 0 });
      expect(JSON.stringify(ran.content)).toContain('42');
      await client.callTool({ name: 'close_terminal', arguments: { terminalId } });
      await client.close();
      // The token the sidecar was given went on to the API; nothing reached nginx's log but the request lines.
      expect(readFileSync(join(prefix, 'access.log'), 'utf8')).not.toContain(savedConfig(api).authToken);
    });
  });
}

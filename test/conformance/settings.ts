/**
 * the expose switch and port moves applied in
 * the same process, the serve lifecycle, the CLI with and without a running
 * server, and config writes racing between processes.
 */
import { createServer, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { runCli, startServer, tempHome, type RunningServer } from '../harness.ts';
import { bearer, raw } from '../http.ts';
import type { Target } from './suite.ts';

interface SavedConfig {
  authToken: string;
  apiPort: number;
  mcpPort: number;
  expose: boolean;
  tokens: { name: string; hash: string }[];
  limits: Record<string, number>;
}

function savedConfig(home: string, file = 'config.json'): SavedConfig {
  return JSON.parse(readFileSync(join(home, file), 'utf8'));
}

/** A port nobody holds right now (bound on 127.0.0.1 for an instant). */
async function freePort(): Promise<number> {
  const server = await holdPort();
  const port = (server.address() as { port: number }).port;
  await new Promise((done) => server.close(done));
  return port;
}

/** A plain TCP listener that is not termgate: it hangs up on every connection. */
function holdPort(port = 0): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.destroy());
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

async function refused(url: string): Promise<boolean> {
  return raw(url, { timeoutMs: 3000 }).then(
    () => false,
    (error: NodeJS.ErrnoException) => error.code === 'ECONNREFUSED',
  );
}

function nicAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((entry) => entry !== undefined && !entry.internal)
    .map((entry) => entry!.address);
}

const json = { 'content-type': 'application/json' };

export function settingsChecks(target: Target): void {
  describe('settings', () => {
    rebindChecks(target);
    lifecycleChecks(target);
    cliChecks(target);
  });
}

function rebindChecks({ runtime, caps }: Target): void {
  describe('expose and rebind', () => {
    let server: RunningServer;
    /** Where the server is reachable now (it moves). */
    let base: string;
    const token = () => savedConfig(server.home).authToken;
    const put = (body: unknown, headers: Record<string, string> = {}) =>
      raw(`${base}/api/settings/connections`, { method: 'PUT', headers: { ...json, ...headers }, body: body as object });

    beforeAll(async () => {
      server = await startServer(runtime);
      base = server.url;
    });
    afterAll(async () => {
      expect(await server?.stop()).toBe(0);
    });

    it('GET lists reachableAt: this machine\'s addresses, when it has any', async () => {
      const response = await raw(`${base}/api/settings/connections`);
      expect(response.status).toBe(200);
      const body = response.json();
      expect(body).toMatchObject({ apiPort: server.port, expose: false, bindHost: '127.0.0.1', mode: 'local' });
      expect(body.token).toMatch(/^••••…[0-9a-f]{4}$/);
      if (nicAddresses().length > 0) expect(body.reachableAt.length).toBeGreaterThan(0);
      for (const address of body.reachableAt) expect(nicAddresses()).toContain(address);
    });

    it('refuses invalid settings with 400 naming the field, and changes nothing', async () => {
      for (const [body, field] of [
        [{ apiPort: 80 }, 'apiPort'],
        [{ expose: 'yes' }, 'expose'],
        [{ allowedOrigins: ['not an origin'] }, 'allowedOrigins.0'],
        [{ allowedHosts: ['http://x.example/'] }, 'allowedHosts.0'],
        [{ listen: '0.0.0.0' }, 'listen'],
      ] as const) {
        const response = await put(body);
        expect(response.status).toBe(400);
        expect(response.json().error.message.startsWith(`${field}:`), response.text).toBe(true);
      }
      expect((await raw(`${base}/health`)).json().mode).toBe('local');
    });

    it('expose on: rebinds to 0.0.0.0 on the same port and the gate wants a token at once', async () => {
      const response = await put({ expose: true });
      expect(response.status).toBe(200);
      expect(response.json()).toMatchObject({
        expose: true,
        mode: 'exposed',
        bindHost: '0.0.0.0',
        apiPort: server.port,
        url: `http://0.0.0.0:${server.port}`,
        rebound: true,
      });
      expect((await raw(`${base}/health`)).json().mode).toBe('exposed');
      const refusedNoToken = await raw(`${base}/api/tokens`);
      expect(refusedNoToken.status).toBe(401);
      expect(refusedNoToken.json().error.code).toBe('unauthorized');
      expect((await raw(`${base}/api/tokens`, { headers: bearer(token()) })).status).toBe(200);
      expect(savedConfig(server.home).expose).toBe(true);
      expect(server.output()).toContain(`now listening on http://0.0.0.0:${server.port}`);
    });

    it('applies allowedHosts and allowedOrigins without a restart', async () => {
      const admin = bearer(token());
      const host = `mybox.test:${server.port}`;
      const origin = 'http://app.test:3000';
      expect((await raw(`${base}/api/tokens`, { headers: { ...admin, host } })).status).toBe(403);
      expect((await raw(`${base}/api/tokens`, { headers: { ...admin, origin } })).status).toBe(403);
      const response = await put({ allowedHosts: ['MyBox.test'], allowedOrigins: [origin] }, admin);
      expect(response.status).toBe(200);
      expect(response.json()).toMatchObject({ allowedHosts: ['mybox.test'], allowedOrigins: [origin], rebound: false });
      expect((await raw(`${base}/api/tokens`, { headers: { ...admin, host } })).status).toBe(200);
      expect((await raw(`${base}/api/tokens`, { headers: { ...admin, origin } })).status).toBe(200);
      await put({ allowedHosts: [], allowedOrigins: [] }, admin);
    });

    it('expose off: back on 127.0.0.1, open without a token again', async () => {
      expect((await put({ expose: false })).status).toBe(401);
      const response = await put({ expose: false }, bearer(token()));
      expect(response.status).toBe(200);
      expect(response.json()).toMatchObject({ expose: false, mode: 'local', bindHost: '127.0.0.1', url: base });
      expect((await raw(`${base}/api/tokens`)).status).toBe(200);
      expect(savedConfig(server.home).expose).toBe(false);
    });

    it('a port change moves the listener: the new port answers, the old one is closed', async () => {
      const port = await freePort();
      const response = await put({ apiPort: port });
      expect(response.status).toBe(200);
      expect(response.json()).toMatchObject({ apiPort: port, url: `http://127.0.0.1:${port}`, rebound: true });
      const old = base;
      base = `http://127.0.0.1:${port}`;
      expect((await raw(`${base}/health`)).status).toBe(200);
      expect(await refused(`${old}/health`)).toBe(true);
      expect(savedConfig(server.home).apiPort).toBe(port);
    });

    it('a taken port answers 409 naming it; the old listener keeps serving, config unchanged', async () => {
      const blocker = await holdPort();
      const taken = (blocker.address() as { port: number }).port;
      try {
        const before = readFileSync(join(server.home, 'config.json'), 'utf8');
        const response = await put({ apiPort: taken });
        expect(response.status).toBe(409);
        expect(response.json().error.code).toBe('conflict');
        expect(response.json().error.message).toContain(String(taken));
        expect((await raw(`${base}/health`)).status).toBe(200);
        expect((await raw(`${base}/api/settings/connections`)).json().apiPort).toBe(Number(new URL(base).port));
        expect(readFileSync(join(server.home, 'config.json'), 'utf8')).toBe(before);
      } finally {
        await new Promise((done) => blocker.close(done));
      }
    });

    it('moves port and host in one PUT, and back', async () => {
      const port = await freePort();
      const response = await put({ apiPort: port, expose: true });
      expect(response.json()).toMatchObject({ url: `http://0.0.0.0:${port}`, mode: 'exposed' });
      base = `http://127.0.0.1:${port}`;
      expect((await raw(`${base}/api/tokens`)).status).toBe(401);
      const back = await put({ apiPort: port, expose: false }, bearer(token()));
      expect(back.json()).toMatchObject({ url: base, mode: 'local', rebound: true });
    });

    it('a terminal created before a rebind still answers after it', async () => {
      const created = await raw(`${base}/api/terminals`, { method: 'POST', body: { command: 'cat' } });
      expect(created.status).toBe(201);
      const { id, pid } = created.json();
      try {
        expect((await put({ expose: true })).status).toBe(200);
        const after = await raw(`${base}/api/terminals/${id}`, { headers: bearer(token()) });
        expect(after.status).toBe(200);
        expect(after.json()).toMatchObject({ id, pid, exited: false });
        expect((await put({ expose: false }, bearer(token()))).status).toBe(200);
        expect((await raw(`${base}/api/terminals/${id}`)).json()).toMatchObject({ id, exited: false });
      } finally {
        await raw(`${base}/api/terminals/${id}`, { method: 'DELETE' });
      }
    });

    it(`an open WebSocket ${caps.wsSurvivesRebind ? 'stays open' : 'gets a close frame (1001)'} across a rebind`, async () => {
      const socket = new WebSocket(`${base.replace('http', 'ws')}/ws`);
      const first = await new Promise<string | null>((resolve) => {
        socket.once('message', (data) => resolve(String(data)));
        socket.once('error', () => resolve(null));
        socket.once('unexpected-response', () => resolve(null));
      });
      expect(first).toContain('welcome');
      const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
      try {
        expect((await put({ expose: true })).status).toBe(200);
        if (caps.wsSurvivesRebind) {
          const answer = new Promise<string>((resolve) => socket.once('message', (data) => resolve(String(data))));
          socket.send(JSON.stringify({ type: 'heartbeat' }));
          expect(await answer).toBeTruthy();
          expect(socket.readyState).toBe(WebSocket.OPEN);
        } else {
          expect(await closed).toBe(1001);
        }
      } finally {
        socket.close();
        expect((await put({ expose: false }, bearer(token()))).status).toBe(200);
      }
    });
  });
}

function lifecycleChecks({ runtime }: Target): void {
  describe('lifecycle', () => {
    it("the CLI of another TERMGATE_HOME refuses to act through a server that is not its own", async () => {
      const server = await startServer(runtime);
      const otherHome = tempHome();
      try {
        const env = { TERMGATE_HOME: otherHome };
        const port = ['--port', String(server.port)];
        for (const args of [['token', 'show'], ['token', 'rotate'], ['expose', 'on']]) {
          const result = await runCli(runtime, [...args, ...port], env);
          expect(result.code, args.join(' ')).not.toBe(0);
          expect(result.stderr, args.join(' ')).toMatch(/uses .*config\.json, not this CLI's .*\(another TERMGATE_HOME or profile\)/);
          expect(result.stdout).not.toContain(savedConfig(server.home).authToken);
        }
        const status = await runCli(runtime, ['status', ...port], env);
        expect(status.stdout).toContain('another TERMGATE_HOME or profile');
        // Its own CLI still goes through it.
        const own = await runCli(runtime, ['token', 'show', ...port], { TERMGATE_HOME: server.home });
        expect(own.code, own.stderr).toBe(0);
        expect(own.stdout.trim()).toBe(savedConfig(server.home).authToken);
        expect((await raw(`${server.url}/health`)).json().mode).toBe('local');
      } finally {
        await server.stop();
        rmSync(otherHome, { recursive: true, force: true });
      }
    });

    it('serve twice: the second says where the first runs and exits 0; SIGTERM exits 0', async () => {
      const first = await startServer(runtime);
      try {
        const second = await runCli(runtime, ['serve', '--port', String(first.port)], { TERMGATE_HOME: first.home });
        expect(second.code).toBe(0);
        expect(second.stdout).toContain(`already running at http://127.0.0.1:${first.port}`);
        expect(second.stdout).toContain(`runtime: ${runtime}`);
        // an exposed second start probes through loopback and finds the same one
        const exposed = await runCli(runtime, ['serve', '--host', '0.0.0.0', '--port', String(first.port)], {
          TERMGATE_HOME: first.home,
        });
        expect(exposed.code).toBe(0);
        expect(exposed.stdout).toContain(`already running at http://127.0.0.1:${first.port}`);
      } finally {
        expect(await first.stop()).toBe(0);
      }
      expect(first.output()).toContain('SIGTERM, shutting down');
    });

    it('SIGINT: pending config is flushed (a named token\'s last use) and the exit code is 0', async () => {
      const server = await startServer(runtime, { host: '0.0.0.0', home: tempHome() });
      try {
        const admin = bearer(savedConfig(server.home).authToken);
        const created = await raw(`${server.url}/api/tokens`, { method: 'POST', headers: admin, body: { name: 'used', scope: 'admin' } });
        expect((await raw(`${server.url}/api/tokens`, { headers: bearer(created.json().token) })).status).toBe(200);
        // lastUsedAt is written back lazily (every few seconds); shutdown must not lose it
        expect(savedConfig(server.home).tokens[0]).toMatchObject({ name: 'used', lastUsedAt: null });
        const exited = new Promise<number | null>((resolve) => server.process.once('exit', (code) => resolve(code)));
        server.process.kill('SIGINT');
        expect(await exited).toBe(0);
        expect(server.output()).toContain('SIGINT, shutting down');
        expect(typeof savedConfig(server.home).tokens[0]!.lastUsedAt).toBe('string');
      } finally {
        await server.stop();
        rmSync(server.home, { recursive: true, force: true });
      }
    });

    it('serve on a port held by another program: one clear line naming the port, non-zero exit', async () => {
      const blocker = await holdPort();
      const port = (blocker.address() as { port: number }).port;
      const home = tempHome();
      try {
        const result = await runCli(runtime, ['serve', '--port', String(port)], { TERMGATE_HOME: home });
        expect(result.code).not.toBe(0);
        expect(result.stderr.trim().split('\n')).toHaveLength(1);
        expect(result.stderr).toContain(`port ${port}`);
        expect(result.stderr).toMatch(/another program/);
        expect(result.stderr).not.toMatch(/\n\s+at /);
      } finally {
        await new Promise((done) => blocker.close(done));
        rmSync(home, { recursive: true, force: true });
      }
    });

    it('--dev keeps its own config file with ports 42051/42052', async () => {
      const home = tempHome();
      try {
        // --port points at a free port so the CLI cannot reach a real dev server on 42051
        const result = await runCli(runtime, ['token', 'create', 'dev-bot', '--dev', '--port', String(await freePort()), '--json'], {
          TERMGATE_HOME: home,
        });
        expect(result.code, result.stderr).toBe(0);
        expect(JSON.parse(result.stdout)).toMatchObject({ via: 'file', name: 'dev-bot' });
        expect(savedConfig(home, 'config.dev.json')).toMatchObject({ apiPort: 42051, mcpPort: 42052 });
        expect(existsSync(join(home, 'config.json'))).toBe(false);
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    });

    it('a truncated config file: serve and the CLI refuse naming it, and leave it untouched', async () => {
      const home = tempHome();
      try {
        const file = join(home, 'config.json');
        // a real config cut in the middle, as a crash of a non-atomic writer would leave it
        const made = await runCli(runtime, ['token', 'create', 'x', '--port', String(await freePort())], { TERMGATE_HOME: home });
        expect(made.code, made.stderr).toBe(0);
        const full = readFileSync(file, 'utf8');
        const truncated = full.slice(0, Math.floor(full.length / 2));
        writeFileSync(file, truncated, { mode: 0o600 });
        const serve = await runCli(runtime, ['serve', '--port', '0'], { TERMGATE_HOME: home });
        const list = await runCli(runtime, ['token', 'list', '--port', String(await freePort())], { TERMGATE_HOME: home });
        for (const result of [serve, list]) {
          expect(result.code).not.toBe(0);
          expect(result.stderr).toContain(file);
          expect(result.stderr.trim().split('\n')).toHaveLength(1);
        }
        expect(readFileSync(file, 'utf8')).toBe(truncated);
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    });
  });
}

function cliChecks({ runtime }: Target): void {
  describe('CLI', () => {
    let server: RunningServer;
    const cli = (args: string[]) => runCli(runtime, [...args, '--port', String(server.port)], { TERMGATE_HOME: server.home });
    const names = async () => (await raw(`${server.url}/api/tokens`, { headers: bearer(savedConfig(server.home).authToken) })).json().tokens.map((t: { name: string }) => t.name);

    beforeAll(async () => {
      server = await startServer(runtime);
    });
    afterAll(() => server?.stop());

    it('every command has --help, and mistakes are one line with a usage exit code', async () => {
      for (const command of [[], ['serve'], ['status'], ['expose'], ['token']]) {
        const result = await runCli(runtime, [...command, '--help']);
        expect(result.code).toBe(0);
        expect(result.stdout).toMatch(/^usage: termgate/);
      }
      for (const args of [['frobnicate'], ['token', 'create'], ['expose', 'maybe'], ['status', '--host', 'x'], ['serve', '--port', '80'], ['--nope']]) {
        const result = await runCli(runtime, args, { TERMGATE_HOME: server.home });
        expect(result.code, args.join(' ')).toBe(2);
        expect(result.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
        expect(result.stderr).toMatch(/^termgate: /);
      }
    });

    it('status says where it runs (exit 0), or that it does not (exit 3)', async () => {
      const running = await cli(['status', '--json']);
      expect(running.code).toBe(0);
      expect(JSON.parse(running.stdout)).toMatchObject({ running: true, runtime, mode: 'local', url: server.url });
      const human = await cli(['status']);
      expect(human.stdout).toContain(`is running at ${server.url}`);
      const stopped = await runCli(runtime, ['status', '--port', String(await freePort())], { TERMGATE_HOME: server.home });
      expect(stopped.code, stopped.stderr + stopped.stdout).toBe(3);
      expect(stopped.stdout).toMatch(/not running/);
    });

    it('token create/list/revoke go through the running server and take effect at once', async () => {
      const created = await cli(['token', 'create', 'cli-bot', '--json']);
      expect(created.code, created.stderr).toBe(0);
      const { via, token, name } = JSON.parse(created.stdout);
      expect({ via, name }).toEqual({ via: 'server', name: 'cli-bot' });
      expect(token).toMatch(/^tg_[0-9a-f]{64}$/);
      expect(await names()).toContain('cli-bot');

      const listed = await cli(['token', 'list']);
      expect(listed.stdout).toMatch(/^NAME\s+SCOPE\s+TERMINALS\s+CREATED\s+LAST USED/);
      expect(listed.stdout).toContain('cli-bot');
      expect(listed.stdout).not.toContain(token);

      const duplicate = await cli(['token', 'create', 'cli-bot']);
      expect(duplicate.code).toBe(1);
      expect(duplicate.stderr).toMatch(/already exists/);

      expect((await cli(['token', 'revoke', 'cli-bot'])).code).toBe(0);
      expect(await names()).not.toContain('cli-bot');
      const again = await cli(['token', 'revoke', 'cli-bot']);
      expect(again.code).toBe(1);
      expect(again.stderr.trim()).toBe('termgate: no token named "cli-bot"');
    });

    it('expose on|off and token rotate work through the server, also once it is exposed', async () => {
      const on = await cli(['expose', 'on', '--json']);
      expect(on.code, on.stderr).toBe(0);
      expect(JSON.parse(on.stdout)).toMatchObject({ via: 'server', mode: 'exposed', url: `http://0.0.0.0:${server.port}` });
      const human = await cli(['status']);
      expect(human.stdout).toContain('mode: exposed');
      // exposed now: the CLI presents the config's token
      const created = await cli(['token', 'create', 'while-exposed', '--json']);
      expect(created.code, created.stderr).toBe(0);
      const old = savedConfig(server.home).authToken;
      const rotated = await cli(['token', 'rotate', '--json']);
      expect(rotated.code, rotated.stderr).toBe(0);
      const fresh = JSON.parse(rotated.stdout).token;
      expect(fresh).toMatch(/^[0-9a-f]{64}$/);
      expect((await raw(`${server.url}/api/tokens`, { headers: bearer(old) })).status).toBe(401);
      expect((await raw(`${server.url}/api/tokens`, { headers: bearer(fresh) })).status).toBe(200);
      const off = await cli(['expose', 'off']);
      expect(off.code, off.stderr).toBe(0);
      expect(off.stdout).toContain(`now listens on http://127.0.0.1:${server.port}`);
      expect((await raw(`${server.url}/api/tokens`)).status).toBe(200);
    });

    it('without a server: token create/list/revoke and expose go straight to the config file', async () => {
      const home = tempHome();
      const port = await freePort();
      const offline = (args: string[]) => runCli(runtime, [...args, '--port', String(port), '--json'], { TERMGATE_HOME: home });
      try {
        const created = await offline(['token', 'create', 'offline-bot', '--scope', 'admin']);
        expect(created.code, created.stderr).toBe(0);
        const { via, token } = JSON.parse(created.stdout);
        expect(via).toBe('file');
        const saved = savedConfig(home);
        expect(saved.tokens.map((t) => t.name)).toEqual(['offline-bot']);
        expect(readFileSync(join(home, 'config.json'), 'utf8')).not.toContain(token);

        expect(JSON.parse((await offline(['token', 'list'])).stdout).tokens.map((t: { name: string }) => t.name)).toEqual(['offline-bot']);
        expect((await offline(['expose', 'on'])).code).toBe(0);
        expect(savedConfig(home).expose).toBe(true);

        // the next start honours what the CLI saved: exposed, and the token works
        const started = await startServer(runtime, { home, host: null });
        try {
          expect(started.output()).toMatch(/listening on http:\/\/0\.0\.0\.0:\d+ \(mode: exposed/);
          expect((await raw(`${started.url}/api/tokens`, { headers: bearer(token) })).status).toBe(200);
        } finally {
          await started.stop();
        }
        expect((await offline(['token', 'revoke', 'offline-bot'])).code).toBe(0);
        expect(savedConfig(home).tokens).toEqual([]);
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    });

    it('a server that the CLI did not find still follows what it wrote to the file: rotate and revoke apply', async () => {
      // The CLI looks for the server on the config's port; this one runs elsewhere, so the CLI edits the file.
      const exposed = await startServer(runtime, { host: '0.0.0.0' });
      const port = await freePort();
      const offline = (args: string[]) => runCli(runtime, [...args, '--port', String(port), '--json'], { TERMGATE_HOME: exposed.home });
      const status = async (token: string) => (await raw(`${exposed.url}/api/tokens`, { headers: bearer(token) })).status;
      const eventually = async (check: () => Promise<boolean>) => {
        for (let i = 0; i < 50 && !(await check()); i++) await new Promise((resolve) => setTimeout(resolve, 100));
        return check();
      };
      try {
        const old = savedConfig(exposed.home).authToken;
        const created = await offline(['token', 'create', 'file-bot', '--scope', 'admin']);
        expect(JSON.parse(created.stdout)).toMatchObject({ via: 'file' });
        const named = JSON.parse(created.stdout).token;
        expect(await eventually(async () => (await status(named)) === 200)).toBe(true);

        const rotated = await offline(['token', 'rotate']);
        expect(rotated.code, rotated.stderr).toBe(0);
        const fresh = JSON.parse(rotated.stdout).token;
        expect(await eventually(async () => (await status(old)) === 401 && (await status(fresh)) === 200)).toBe(true);

        expect((await offline(['token', 'revoke', 'file-bot'])).code).toBe(0);
        expect(await eventually(async () => (await status(named)) === 401)).toBe(true);

        // An edit by hand (written whole, then renamed into place): the body limit follows too.
        const file = join(exposed.home, 'config.json');
        const edited = { ...savedConfig(exposed.home), limits: { ...savedConfig(exposed.home).limits, maxBodyBytes: 2048 } };
        writeFileSync(`${file}.edit`, JSON.stringify(edited, null, 2), { mode: 0o600 });
        renameSync(`${file}.edit`, file);
        const big = { method: 'POST', headers: bearer(fresh), body: { env: { PADDING: 'x'.repeat(5000) } } };
        expect(await eventually(async () => (await raw(`${exposed.url}/api/terminals`, big)).status === 413)).toBe(true);
        expect(exposed.output()).toContain('changed on disk; reloaded');
        expect(exposed.output()).not.toContain(fresh);
      } finally {
        await exposed.stop();
      }
    });

    it('20 concurrent token creations from the CLI and the API leave a valid config holding all 20', async () => {
      const admin = bearer(savedConfig(server.home).authToken);
      const offlinePort = await freePort();
      const jobs: Promise<number>[] = [];
      for (let i = 0; i < 10; i++) {
        jobs.push(raw(`${server.url}/api/tokens`, { method: 'POST', headers: admin, body: { name: `race-api-${i}` } }).then((r) => r.status));
      }
      for (let i = 0; i < 5; i++) {
        jobs.push(cli(['token', 'create', `race-cli-${i}`]).then((r) => (r.code === 0 ? 201 : r.code ?? -1)));
      }
      // these five write the file directly (no server on that port) while the server writes it too
      for (let i = 0; i < 5; i++) {
        jobs.push(
          runCli(runtime, ['token', 'create', `race-file-${i}`, '--port', String(offlinePort)], { TERMGATE_HOME: server.home }).then((r) =>
            r.code === 0 ? 201 : r.code ?? -1,
          ),
        );
      }
      expect(await Promise.all(jobs)).toEqual(Array(20).fill(201));
      const names = savedConfig(server.home).tokens.map((t) => t.name);
      for (const prefix of ['race-api-', 'race-cli-', 'race-file-']) {
        const count = prefix === 'race-api-' ? 10 : 5;
        for (let i = 0; i < count; i++) expect(names).toContain(`${prefix}${i}`);
      }
      expect(existsSync(join(server.home, 'config.json.lock'))).toBe(false);
    });
  });
}

/**
 * The dashboard end to end (docs/dashboard.md): Debian's Chromium, driven by
 * playwright-core (no browser download), against a real termgate process.
 *
 * Node only: the page is the same core and the same embedded assets on every
 * runtime; test/conformance/ui.ts checks that Bun and Deno serve them too.
 * Without Chromium these tests are skipped with a visible warning; nothing
 * else in the suite is. TERMGATE_SCREENSHOTS=1 refreshes docs/dashboard-*.png.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page, Route, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startServer, type RunningServer } from '../harness.ts';
import { raw } from '../http.ts';
import { CHROMIUM, hasChromium, launch, openPage, poll, screenLines } from './browser.ts';

if (!hasChromium) {
  console.warn(`\n⚠ dashboard: no Chromium at ${CHROMIUM}; the browser tests are SKIPPED (apt-get install chromium)\n`);
}
const SCREENSHOTS = process.env.TERMGATE_SCREENSHOTS === '1';

const VIEWPORT = { width: 1280, height: 760 };
const MASK = '••••…';

const tokenOf = (server: RunningServer): string =>
  JSON.parse(readFileSync(join(server.home, 'config.json'), 'utf8')).authToken;

const countLines = (lines: string[], text: string) => lines.filter((line) => line.trim() === text).length;

async function waitForLine(page: Page, text: string, timeout = 15_000) {
  await poll(async () => countLines(await screenLines(page), text), timeout).toBeGreaterThan(0);
}

/** Types a command line, once the shell has printed something (its prompt): keys typed earlier are echoed twice. */
async function typeLine(page: Page, line: string) {
  await poll(async () => (await screenLines(page)).some((row) => row.trim() !== '')).toBe(true);
  await page.locator('.view:not([hidden]) .xterm').click();
  await page.keyboard.type(line);
  await page.keyboard.press('Enter');
}

async function healthState(page: Page) {
  return page.locator('#health').getAttribute('data-state');
}

async function terminalsOn(server: { url: string }, headers: Record<string, string> = {}) {
  const response = await raw(`${server.url}/api/terminals`, { headers });
  expect(response.status).toBe(200);
  return response.json().terminals as { id: string; exited: boolean }[];
}

async function freePort(): Promise<number> {
  const probe = createTcpServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe.skipIf(!hasChromium)('dashboard in Chromium [node]', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
  });

  // One server and one page walk through the flow in order, as a user would:
  // each step builds on the terminal and output of the one before.
  describe('local mode', () => {
    let server: RunningServer;
    let context: BrowserContext;
    let page: Page;
    let problems: string[];
    /** Where the API is now (Save & apply moves it). */
    let base: string;

    beforeAll(async () => {
      server = await startServer('node');
      base = server.url;
      context = await browser.newContext({ viewport: VIEWPORT });
      ({ page, problems } = await openPage(context));
    });
    afterAll(async () => {
      await context?.close();
      await server?.stop();
    });

    it('opens /ui/ with the health dot healthy and the Connections panel filled in', async () => {
      const response = await page.goto(`${server.url}/ui`);
      expect(response?.url()).toBe(`${server.url}/ui/`);
      await poll(() => healthState(page)).toBe('healthy');
      await poll(() => page.inputValue('#api-port')).toBe(String(server.port));
      expect(await page.inputValue('#mcp-port')).toMatch(/^\d+$/);
      expect(await page.isChecked('#expose')).toBe(false);
      expect(await page.isHidden('#expose-warning')).toBe(true);
      expect(await page.textContent('#token-value')).toBe(MASK + tokenOf(server).slice(-4));
      expect(await page.textContent('#mode-badge')).toBe('local');
      await poll(() => page.textContent('#stream-status')).toBe('live');
      expect(problems).toEqual([]);
    });

    it('shows the warning badge and the reachable addresses while the expose switch is on', async () => {
      await page.locator('label.switch').click();
      expect(await page.isChecked('#expose')).toBe(true);
      expect(await page.isVisible('#expose-warning')).toBe(true);
      expect(await page.textContent('#expose-warning')).toContain('⚠');
      expect(await page.isVisible('#reachable')).toBe(true);
      expect(await page.textContent('#reachable-label')).toContain('after Save & apply');
      if (SCREENSHOTS) await page.locator('#connections').screenshot({ path: join(ROOT, 'docs/dashboard-connections.png') });
      await page.locator('label.switch').click();
      expect(await page.isHidden('#expose-warning')).toBe(true);
    });

    it('creates a terminal and renders what is typed into it', async () => {
      await page.click('#terminal-new');
      await poll(() => page.locator('.tab').count()).toBe(1);
      expect(await page.isHidden('#terminals-empty')).toBe(true);
      await typeLine(page, 'echo hello-ui');
      await waitForLine(page, 'hello-ui');
      const terminals = await terminalsOn({ url: base });
      expect(terminals).toHaveLength(1);
      // Typed in the page, recorded by the shell's integration like any command.
      await poll(async () => (await raw(`${base}/api/terminals/${terminals[0]!.id}/commands`)).json().commands.map((r: { command: string }) => r.command)).toContain('echo hello-ui');
      expect(problems).toEqual([]);
    });

    it('a terminal listed late does not take the focus from a field being typed in', async () => {
      // The terminal list is held until the port field has the focus: keys meant for
      // the field must not go to the shell when the first terminal is shown.
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const hold = async (route: Route) => {
        if (route.request().method() === 'GET') await released;
        await route.continue();
      };
      await page.route('**/api/terminals', hold);
      try {
        await page.reload();
        await poll(() => page.inputValue('#api-port')).toBe(new URL(base).port);
        await page.focus('#api-port');
        release();
        await poll(() => page.locator('.view:not([hidden]) .xterm').count()).toBe(1);
        await poll(() => page.textContent('#stream-status')).toBe('live');
        expect(await page.evaluate(() => document.activeElement?.id)).toBe('api-port');
      } finally {
        release();
        await page.unroute('**/api/terminals', hold);
      }
      expect(problems).toEqual([]);
    });

    it("shows an agent's run as the command typed and its output: no wrapper, no markers", async () => {
      const [terminal] = await terminalsOn({ url: base });
      const answer = await raw(`${base}/api/terminals/${terminal!.id}/run`, { method: 'POST', body: { command: 'echo agent-ran-this' } });
      expect(answer.json()).toMatchObject({ output: 'agent-ran-this', exitCode: 0, seq: expect.any(Number) });
      await waitForLine(page, 'agent-ran-this');
      const lines = await screenLines(page);
      // After the prompt, as typed (a leading space keeps it out of the shell's history).
      expect(lines.filter((line) => /[#$] +echo agent-ran-this$/.test(line))).toHaveLength(1);
      expect(lines.join('\n')).not.toMatch(/7770|133;|printf|^\s*\{|^> \}/m);
      expect(problems).toEqual([]);
    });

    it('fits the terminal to the window and sends each new size to the server', async () => {
      const [terminal] = await terminalsOn({ url: base });
      const size = async () => {
        const info = (await raw(`${base}/api/terminals/${terminal!.id}`)).json();
        return { cols: info.cols as number, rows: info.rows as number };
      };
      const wide = await size();
      // Fitted to its box on first show, not left at the default 80×24.
      expect(wide.cols).toBeGreaterThan(80);
      await page.setViewportSize({ width: 1000, height: 600 });
      await poll(async () => (await size()).cols).toBeLessThan(wide.cols);
      expect((await size()).rows).toBeLessThan(wide.rows);
      await typeLine(page, 'stty size');
      const { cols, rows } = await size();
      await waitForLine(page, `${rows} ${cols}`);
      await page.setViewportSize(VIEWPORT);
      await poll(async () => (await size()).cols).toBe(wide.cols);
    });

    it('rotates the token: the new masked value shows and the terminal keeps streaming', async () => {
      const before = tokenOf(server);
      page.once('dialog', (dialog) => void dialog.accept());
      await page.click('#token-rotate');
      await poll(() => tokenOf(server)).not.toBe(before);
      const after = tokenOf(server);
      await poll(() => page.textContent('#token-value')).toBe(MASK + after.slice(-4));
      await typeLine(page, 'echo after-rotate');
      await waitForLine(page, 'after-rotate');
    });

    it('reveals, hides and copies the full token', async () => {
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
      await page.click('#token-reveal');
      await poll(() => page.textContent('#token-value')).toBe(tokenOf(server));
      await page.click('#token-reveal');
      expect(await page.textContent('#token-value')).toBe(MASK + tokenOf(server).slice(-4));
      await page.click('#token-copy');
      await poll(() => page.textContent('#token-status')).toBe('Copied.');
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(tokenOf(server));
    });

    it('replays earlier output exactly once after a reload', async () => {
      await page.reload();
      await waitForLine(page, 'after-rotate');
      const lines = await screenLines(page);
      expect(countLines(lines, 'hello-ui')).toBe(1);
      expect(countLines(lines, 'after-rotate')).toBe(1);
      expect(lines.filter((line) => line.endsWith('echo hello-ui'))).toHaveLength(1);
      if (SCREENSHOTS) await page.screenshot({ path: join(ROOT, 'docs/dashboard-terminal.png') });
      expect(problems).toEqual([]);
    });

    it('resumes with since after the stream drops: nothing lost, nothing doubled', async () => {
      const { page: second } = await openPage(context);
      // The first connection goes through; the test then cuts it, and holds the
      // reconnection until output has been produced that the page has not seen.
      let current: { page: WebSocketRoute; server: WebSocketRoute } | undefined;
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let connections = 0;
      await second.routeWebSocket(/\/ws$/, async (ws) => {
        connections++;
        if (connections > 1) await held;
        current = { page: ws, server: ws.connectToServer() };
      });
      await second.goto(`${base}/ui/`);
      await waitForLine(second, 'after-rotate');
      await poll(() => second.textContent('#stream-status')).toBe('live');

      await current!.server.close({ code: 1000, reason: 'test: cut' });
      await current!.page.close({ code: 1012, reason: 'test: cut' });
      await poll(() => second.textContent('#stream-status')).toMatch(/reconnecting/);
      const [terminal] = await terminalsOn({ url: base });
      // The echoed command line differs from its output (drop-42), so each is counted on its own.
      const input = await raw(`${base}/api/terminals/${terminal!.id}/input`, { method: 'POST', body: { data: 'echo drop-$((40+2))\r' } });
      expect(input.status).toBeLessThan(300);
      await poll(async () => (await raw(`${base}/api/terminals/${terminal!.id}/output?since=0`)).json().data as string)
        .toContain('drop-42\r\n');
      release();

      await waitForLine(second, 'drop-42');
      await poll(() => second.textContent('#stream-status')).toBe('live');
      const lines = await screenLines(second);
      expect(countLines(lines, 'drop-42')).toBe(1);
      expect(lines.filter((line) => line.endsWith('echo drop-$((40+2))'))).toHaveLength(1);
      expect(countLines(lines, 'after-rotate')).toBe(1);
      expect(countLines(lines, 'hello-ui')).toBe(1);
      expect(connections).toBe(2);
      await second.close();
    });

    it('sends keys without an id, and shows the server refusing one', async () => {
      const { page: second } = await openPage(context);
      // Keys pass through as they are, except that "!" is sent to a terminal id that does not exist.
      const sent: string[] = [];
      let current: { page: WebSocketRoute; server: WebSocketRoute } | undefined;
      await second.routeWebSocket(/\/ws$/, (ws) => {
        const server = ws.connectToServer();
        current = { page: ws, server };
        ws.onMessage((message) => {
          const text = String(message);
          const frame = JSON.parse(text);
          if (frame.command !== 'terminal.input') return server.send(text);
          sent.push(text);
          server.send(frame.params.data === '!' ? JSON.stringify({ ...frame, params: { ...frame.params, terminalId: 'gone' } }) : text);
        });
      });
      await second.goto(`${base}/ui/`);
      await poll(() => second.textContent('#stream-status')).toBe('live');
      await typeLine(second, 'echo keys-$((1+1))');
      await waitForLine(second, 'keys-2');
      expect(sent.length).toBeGreaterThan(0);
      for (const text of sent) expect(JSON.parse(text)).not.toHaveProperty('id');
      await second.keyboard.type('!');
      await poll(() => second.locator('#terminal-message').textContent()).toMatch(/^input failed: terminal\.input: terminal "gone" not found/);
      await second.keyboard.press('Control+U');
      // Keys sent without an id are confirmed only by a later heartbeat's answer (every 20 s):
      // a connection cut before one says that the last keys may not have arrived.
      await current!.server.close({ code: 1000, reason: 'test: cut' });
      await current!.page.close({ code: 1012, reason: 'test: cut' });
      await poll(() => second.locator('#terminal-message').textContent()).toBe('input failed: connection lost: the last keys typed may not have arrived');
      await poll(() => second.textContent('#stream-status')).toBe('live');
      await second.close();
    });

    it('refuses a page from another origin: no API read, no write, no WebSocket', async () => {
      const other = createHttpServer((_, response) => {
        response.setHeader('content-type', 'text/html');
        response.end('<!doctype html><title>another origin</title><p>hello</p>');
      });
      const otherPort = await listen(other);
      const { page: foreign } = await openPage(context);
      const answers: string[] = [];
      foreign.on('response', (response) => {
        if (response.url().startsWith(`${base}/`)) answers.push(`${response.request().method()} ${response.status()}`);
      });
      try {
        await foreign.goto(`http://127.0.0.1:${otherPort}/`);
        const before = (await terminalsOn({ url: base })).length;
        const result = await foreign.evaluate(async (target) => {
          const out: Record<string, string> = {};
          try {
            const response = await fetch(`${target}/api/terminals`);
            out.read = `read ${response.status}`;
          } catch {
            out.read = 'blocked';
          }
          // A "simple" cross-site POST is sent without a preflight: only the server can refuse it.
          await fetch(`${target}/api/terminals`, { method: 'POST', mode: 'no-cors', body: '{}' }).catch(() => undefined);
          out.ws = await new Promise<string>((resolve) => {
            const socket = new WebSocket(`${target.replace(/^http/, 'ws')}/ws`);
            let opened = false;
            socket.onopen = () => (opened = true);
            socket.onclose = (event) => resolve(opened ? `opened, closed ${event.code}` : `refused ${event.code}`);
            setTimeout(() => resolve('no answer'), 8000);
          });
          return out;
        }, base);
        expect(result).toEqual({ read: 'blocked', ws: 'refused 1006' });
        // The write reached the server and was refused by the gate, not merely hidden by CORS.
        await poll(() => answers).toContain('POST 403');
        expect(answers.filter((answer) => !answer.endsWith(' 403'))).toEqual([]);
        expect((await terminalsOn({ url: base })).length).toBe(before);
      } finally {
        await foreign.close();
        await new Promise((resolve) => other.close(resolve));
      }
    });

    it('validates ports before sending anything', async () => {
      const puts: string[] = [];
      const onRequest = (request: { method(): string; url(): string }) => {
        if (request.method() === 'PUT') puts.push(request.url());
      };
      page.on('request', onRequest);
      for (const bad of ['80', '70000', '1024.5']) {
        await page.fill('#api-port', bad);
        await page.click('#save');
        expect(await page.isVisible('#port-error'), bad).toBe(true);
        expect(await page.getAttribute('#api-port', 'aria-invalid'), bad).toBe('true');
      }
      await page.fill('#api-port', await page.inputValue('#mcp-port'));
      await page.click('#save');
      expect(await page.textContent('#port-error')).toContain('different ports');
      page.off('request', onRequest);
      expect(puts).toEqual([]);
      await page.fill('#api-port', String(new URL(base).port));
      expect(await page.isHidden('#port-error')).toBe(true);
    });

    it('shows a conflict on the health dot when the chosen port is held by another program', async () => {
      const squatter = createTcpServer();
      const taken = await listen(squatter);
      try {
        await page.fill('#api-port', String(taken));
        await page.click('#save');
        await poll(() => healthState(page)).toBe('conflict');
        expect(await page.textContent('#health-text')).toContain(String(taken));
        expect(page.url()).toBe(`${base}/ui/`);
        expect((await raw(`${base}/health`)).status).toBe(200);
        expect(problems.splice(0)).toEqual([expect.stringMatching(/^409 PUT .*\/api\/settings\/connections$/)]);
      } finally {
        await new Promise((resolve) => squatter.close(resolve));
      }
    });

    it('Save & apply moves the server to a new port, and the page follows it', async () => {
      const port = await freePort();
      await page.fill('#api-port', String(port));
      await page.click('#save');
      await page.waitForURL(`http://127.0.0.1:${port}/ui/`);
      base = `http://127.0.0.1:${port}`;
      await poll(() => healthState(page)).toBe('healthy');
      expect(await page.inputValue('#api-port')).toBe(String(port));
      // The terminals live in the same process: still there, and still streaming.
      await waitForLine(page, 'drop-42');
      await typeLine(page, 'echo moved');
      await waitForLine(page, 'moved');
      expect(problems).toEqual([]);
    });
  });

  describe('expose switch', () => {
    let server: RunningServer;
    beforeAll(async () => {
      server = await startServer('node');
    });
    afterAll(async () => {
      await server?.stop();
    });

    it('Save & apply turns the gate on and off in place; the page keeps working with the token it holds', async () => {
      const context = await browser.newContext({ viewport: VIEWPORT });
      try {
        const { page, problems } = await openPage(context);
        await page.goto(`${server.url}/ui/`);
        await poll(() => page.textContent('#stream-status')).toBe('live');
        await page.click('#terminal-new');
        await typeLine(page, 'echo before-expose');
        await waitForLine(page, 'before-expose');

        await page.locator('label.switch').click();
        await page.click('#save');
        await poll(() => page.textContent('#mode-badge')).toContain('exposed');
        expect(await page.textContent('#save-status')).toContain('Saved and applied');
        expect(page.url()).toBe(`${server.url}/ui/`);
        expect((await raw(`${server.url}/api/terminals`)).status).toBe(401);
        expect(await page.textContent('#reachable-label')).toBe('Reachable at');
        // The page's REST calls and its (re)connected stream now carry the token.
        await poll(() => page.textContent('#stream-status')).toBe('live');
        await typeLine(page, 'echo while-exposed');
        await waitForLine(page, 'while-exposed');
        await page.click('#terminal-new');
        await poll(() => page.locator('.tab').count()).toBe(2);

        await page.locator('label.switch').click();
        await page.click('#save');
        await poll(() => page.textContent('#mode-badge')).toBe('local');
        expect((await raw(`${server.url}/api/terminals`)).status).toBe(200);
        await poll(() => healthState(page)).toBe('healthy');
        expect(problems).toEqual([]);
      } finally {
        await context.close();
      }
    });
  });

  describe('exposed mode', () => {
    let server: RunningServer;

    beforeAll(async () => {
      server = await startServer('node', { host: '0.0.0.0' });
    });
    afterAll(async () => {
      await server?.stop();
    });

    it('refuses the page without the token, with a Basic challenge first', async () => {
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        const challenges: (string | undefined)[] = [];
        page.on('response', (response) => {
          if (response.status() === 401) challenges.push(response.headers()['www-authenticate']);
        });
        // Chromium takes the challenge as a Basic login to ask for (a desktop
        // browser shows its prompt). Headless has no prompt: Playwright answers
        // "no credentials", and the navigation fails with this error instead of
        // rendering the 401 body, which it would do for a challenge it ignored.
        const error = await page.goto(`${server.url}/ui/`).then(() => null, (failure: Error) => failure);
        expect(error?.message).toContain('ERR_INVALID_AUTH_CREDENTIALS');
        expect(challenges.length).toBeGreaterThan(0);
        for (const challenge of challenges) expect(challenge).toMatch(/^Basic realm="termgate"/);
      } finally {
        await context.close();
      }
    });

    it('works through the browser\'s Basic login: terminal over /ws with the token as a subprotocol', async () => {
      const token = tokenOf(server);
      const context = await browser.newContext({ viewport: VIEWPORT, httpCredentials: { username: 'me', password: token } });
      try {
        const { page, problems } = await openPage(context);
        const sockets: string[] = [];
        page.on('websocket', (socket) => sockets.push(socket.url()));
        await page.goto(`${server.url}/ui/`);
        await poll(() => healthState(page)).toBe('healthy');
        expect(await page.textContent('#mode-badge')).toContain('exposed');
        await poll(() => page.isChecked('#expose')).toBe(true);
        expect(await page.isVisible('#expose-warning')).toBe(true);
        expect(await page.textContent('#reachable-label')).toBe('Reachable at');
        await poll(() => page.textContent('#stream-status')).toBe('live');

        await page.click('#terminal-new');
        await typeLine(page, 'echo hello-exposed');
        await waitForLine(page, 'hello-exposed');
        expect(sockets.length).toBeGreaterThan(0);
        for (const url of sockets) expect(url).not.toContain(token);

        // Rotation: the open stream stays, and the page's own calls use the new token.
        page.once('dialog', (dialog) => void dialog.accept());
        await page.click('#token-rotate');
        await poll(() => tokenOf(server)).not.toBe(token);
        const rotated = tokenOf(server);
        await poll(() => page.textContent('#token-value')).toBe(MASK + rotated.slice(-4));
        await typeLine(page, 'echo still-streaming');
        await waitForLine(page, 'still-streaming');
        await page.click('#terminal-new');
        await poll(() => page.locator('.tab').count()).toBe(2);
        expect(await terminalsOn(server, { authorization: `Bearer ${rotated}` })).toHaveLength(2);
        expect((await raw(`${server.url}/api/terminals`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
        expect(problems).toEqual([]);
        expect(server.output()).not.toContain(token);
        expect(server.output()).not.toContain(rotated);
      } finally {
        await context.close();
      }
    });

    it('moving an exposed server offers a link to sign in at the new address', async () => {
      // A new origin needs a new browser login, so the page links instead of jumping.
      const context = await browser.newContext({ viewport: VIEWPORT, httpCredentials: { username: 'me', password: tokenOf(server) } });
      try {
        const { page, problems } = await openPage(context);
        await page.goto(`${server.url}/ui/`);
        await poll(() => page.inputValue('#api-port')).toBe(String(server.port));
        const port = await freePort();
        await page.fill('#api-port', String(port));
        await page.click('#save');
        // The status line is always there, so a failed save shows what it said.
        await poll(() => page.textContent('#save-status')).toMatch(/^Saved and applied\. Sign in at /);
        const link = page.locator('#follow-link');
        expect(await link.getAttribute('href')).toBe(`http://127.0.0.1:${port}/ui/`);
        expect(page.url()).toBe(`${server.url}/ui/`);
        await link.click();
        await page.waitForURL(`http://127.0.0.1:${port}/ui/`);
        await poll(() => healthState(page)).toBe('healthy');
        await poll(() => page.textContent('#stream-status')).toBe('live');
        expect(problems).toEqual([]);
      } finally {
        await context.close();
      }
    });
  });
});

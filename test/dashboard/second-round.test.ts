/**
 * The dashboard's second round (SPEC §17, docs/dashboard.md) in Debian's
 * Chromium: the terminal list and command timeline, the Tokens panel, the
 * audit view, read-only viewing with a read token, and opening from the
 * screen snapshot (timed with 8 MiB of scrollback). Node only, as
 * dashboard.test.ts (the page is the same core on every runtime).
 * TERMGATE_SCREENSHOTS=1 refreshes docs/dashboard-{timeline,tokens,audit,read-only}.png.
 */
import { join } from 'node:path';
import type { Browser, BrowserContext, Page, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, savedConfig, startServer, type RunningServer } from '../harness.ts';
import { raw } from '../http.ts';
import { TestSocket } from '../ws-client.ts';
import { CHROMIUM, hasChromium, launch, openPage, poll, screenLines } from './browser.ts';

if (!hasChromium) {
  console.warn(`\n⚠ dashboard (second round): no Chromium at ${CHROMIUM}; the browser tests are SKIPPED (apt-get install chromium)\n`);
}
const SCREENSHOTS = process.env.TERMGATE_SCREENSHOTS === '1';
const VIEWPORT = { width: 1600, height: 900 };

const hasLine = async (page: Page, text: string) => (await screenLines(page)).some((line) => line.trim() === text);

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function createTerminal(base: string, headers: Record<string, string> = {}, body: object = {}): Promise<string> {
  const answer = await raw(`${base}/api/terminals`, { method: 'POST', headers, body });
  expect(answer.status).toBe(201);
  return answer.json().id as string;
}

async function run(base: string, id: string, command: string, headers: Record<string, string> = {}, extra: object = {}) {
  const answer = await raw(`${base}/api/terminals/${id}/run`, { method: 'POST', headers, body: { command, maxBytes: 4096, ...extra } });
  expect(answer.status, answer.text).toBe(200);
  return answer.json() as { exitCode: number | null; seq: number; output: string };
}

describe.skipIf(!hasChromium)('dashboard, second round, in Chromium [node]', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
  });

  describe('terminal list and command timeline (local mode)', () => {
    let server: RunningServer;
    let context: BrowserContext;
    let page: Page;
    let problems: string[];
    let id: string;

    beforeAll(async () => {
      server = await startServer('node');
      context = await browser.newContext({ viewport: VIEWPORT });
      ({ page, problems } = await openPage(context));
      id = await createTerminal(server.url, {}, { name: 'agent-shell' });
    });
    afterAll(async () => {
      await context?.close();
      await server?.stop();
    });

    it('lists the terminal with its command, status and shell integration', async () => {
      await page.goto(`${server.url}/ui/`);
      const row = page.locator(`#terminal-list tr[data-terminal-id="${id}"]`);
      await poll(() => row.count()).toBe(1);
      const cells = await row.locator('td').allTextContents();
      expect(cells[0]).toBe('agent-shell');
      expect(cells[1]).toMatch(/bash/);
      expect(cells[2]).toMatch(/^running · pid \d+$/);
      expect(cells[4]).toBe('active');
      await poll(() => page.textContent('#stream-status')).toBe('live');
    });

    it("shows an agent's true, false and ls /nope as three entries with the right badges", async () => {
      expect((await run(server.url, id, 'true')).exitCode).toBe(0);
      expect((await run(server.url, id, 'false')).exitCode).toBe(1);
      expect((await run(server.url, id, 'ls /nope')).exitCode).toBe(2);
      const entries = page.locator('.view:not([hidden]) .timeline .command');
      await poll(() => entries.count()).toBe(3);
      expect(await entries.locator('.command-line').allTextContents()).toEqual(['true', 'false', 'ls /nope']);
      expect(await entries.evaluateAll((items) => items.map((item) => (item as HTMLElement).dataset['exit']))).toEqual(['0', '1', '2']);
      expect(await entries.locator('.exit').evaluateAll((badges) => badges.map((badge) => badge.className))).toEqual(['exit ok', 'exit failed', 'exit failed']);
      expect(await entries.locator('.exit').allTextContents()).toEqual(['✓ 0', '✗ 1', '✗ 2']);
      expect(await entries.nth(0).locator('.command-meta').textContent()).toMatch(/\d\d:\d\d:\d\d · \d+ ms · agent/);
      expect(problems).toEqual([]);
    });

    it('clicking the second scrolls the terminal to it, then the third to its output', async () => {
      // Enough output after them that the three commands have scrolled out of view.
      await run(server.url, id, 'seq 1 120');
      const entries = page.locator('.view:not([hidden]) .timeline .command');
      await poll(() => entries.count()).toBe(4);
      await poll(async () => (await screenLines(page)).some((line) => line.trim() === '120')).toBe(true);
      expect((await screenLines(page)).some((line) => /[#$] +false$/.test(line))).toBe(false);

      await entries.nth(1).click();
      await poll(async () => (await screenLines(page))[0]).toMatch(/[#$] +false$/);
      expect(await entries.nth(1).getAttribute('class')).toContain('picked');

      await entries.nth(2).click();
      await poll(async () => (await screenLines(page))[0]).toMatch(/[#$] +ls \/nope$/);
      expect((await screenLines(page))[1]).toMatch(/^ls: cannot access '\/nope': No such file or directory$/);
      if (SCREENSHOTS) await page.screenshot({ path: join(ROOT, 'docs/dashboard-timeline.png') });

      // A command typed in the page is recorded too, live.
      await page.locator('.view:not([hidden]) .xterm').click();
      await page.keyboard.type('echo typed-$((3*3))');
      await page.keyboard.press('Enter');
      await poll(() => entries.count()).toBe(5);
      await poll(() => entries.nth(4).getAttribute('data-exit')).toBe('0');
      expect(await entries.nth(4).locator('.command-meta').textContent()).not.toContain('agent');
      expect(problems).toEqual([]);
    });

    it('keeps the timeline across a reload, and still finds commands from before it (inside the snapshot)', async () => {
      await page.reload();
      const entries = page.locator('.view:not([hidden]) .timeline .command');
      await poll(() => entries.count()).toBe(5);
      await poll(() => hasLine(page, 'typed-9')).toBe(true);
      await entries.nth(1).click();
      await poll(async () => (await screenLines(page))[0]).toMatch(/[#$] +false$/);
      expect(problems).toEqual([]);
    });

    it('shows a command that ran while the page was still opening the terminal (before it subscribed)', async () => {
      // The snapshot is held until the command has finished: the page subscribes
      // only after it, so the command's events went to nobody.
      let held!: () => void;
      const released = new Promise<void>((resolve) => (held = resolve));
      let reached!: () => void;
      const snapshotAsked = new Promise<void>((resolve) => (reached = resolve));
      await page.route('**/screen?format=ansi', async (route) => {
        reached();
        await released;
        await route.continue();
      });
      // Every list the page reads before the snapshot is answered first (the load's and the welcome's).
      let terminalListsAnswered = 0;
      const lists = { asked: 0, answered: 0 }; // requests for /commands
      const isCommands = (url: string) => new URL(url).pathname.endsWith('/commands');
      page.on('request', (request) => void (isCommands(request.url()) && lists.asked++));
      page.on('requestfinished', (request) => {
        if (isCommands(request.url())) lists.answered++;
        if (new URL(request.url()).pathname === '/api/terminals') terminalListsAnswered++;
      });
      await page.reload();
      await snapshotAsked;
      await poll(() => page.textContent('#stream-status')).toBe('live');
      await poll(() => terminalListsAnswered).toBe(2);
      await poll(() => lists.answered).toBe(lists.asked);
      expect((await run(server.url, id, 'echo between')).exitCode).toBe(0);
      held();
      const entries = page.locator('.view:not([hidden]) .timeline .command');
      await poll(() => entries.count()).toBe(6);
      expect(await entries.nth(5).locator('.command-line').textContent()).toBe('echo between');
      await page.unroute('**/screen?format=ansi');
      expect(problems).toEqual([]);
    });
  });

  describe('tokens panel and audit view (exposed mode, main token)', () => {
    let server: RunningServer;
    let main: string;
    let context: BrowserContext;
    let page: Page;
    let problems: string[];

    beforeAll(async () => {
      server = await startServer('node', { host: '0.0.0.0' });
      main = savedConfig(server).authToken;
      context = await browser.newContext({ viewport: VIEWPORT, httpCredentials: { username: 'me', password: main } });
      ({ page, problems } = await openPage(context));
    });
    afterAll(async () => {
      await context?.close();
      await server?.stop();
    });

    it('creates a token: the secret is shown once, works as a credential, and is gone after a reload', async () => {
      const terminal = await createTerminal(server.url, bearer(main), { name: 'watched' });
      await page.goto(`${server.url}/ui/`);
      await poll(() => page.isVisible('#tokens')).toBe(true);
      expect(await page.isVisible('#token-list-empty')).toBe(true);
      await poll(() => page.locator('#token-terminal-list input').count()).toBe(1);

      await page.fill('#token-name', 'ci-bot');
      await page.selectOption('#token-scope', 'write');
      await page.click('#token-create');
      await poll(() => page.isVisible('#token-created')).toBe(true);
      const secret = (await page.textContent('#token-secret'))!;
      expect(secret).toMatch(/^tg_/);
      expect(await page.textContent('#token-created-name')).toBe('ci-bot');
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
      await page.click('#token-secret-copy');
      await poll(() => page.textContent('#token-secret-status')).toBe('Copied.');
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);

      // As curl would use it: the token the panel showed is a credential.
      expect((await raw(`${server.url}/api/terminals`, { headers: bearer(secret) })).status).toBe(200);
      expect((await raw(`${server.url}/api/terminals`, { headers: bearer('tg_' + 'f'.repeat(40)) })).status).toBe(401);
      const row = page.locator('#token-list tr[data-token="ci-bot"]');
      await poll(() => row.count()).toBe(1);
      expect(await row.locator('td').nth(1).textContent()).toBe('write');

      // A read token limited to the one terminal, also from the panel.
      await page.fill('#token-name', 'viewer');
      await page.selectOption('#token-scope', 'read');
      await page.locator('#token-terminal-list input').check();
      await page.click('#token-create');
      await poll(() => page.textContent('#token-created-name')).toBe('viewer');
      const viewer = (await page.textContent('#token-secret'))!;
      const listed = (await raw(`${server.url}/api/terminals`, { headers: bearer(viewer) })).json().terminals as { id: string }[];
      expect(listed.map((t) => t.id)).toEqual([terminal]);
      expect((await raw(`${server.url}/api/terminals/${terminal}/input`, { method: 'POST', headers: bearer(viewer), body: { data: 'x' } })).status).toBe(403);

      await page.reload();
      await poll(() => page.locator('#token-list tbody tr').count()).toBe(2);
      expect(await page.isHidden('#token-created')).toBe(true);
      const html = await page.content();
      expect(html).not.toContain(secret);
      expect(html).not.toContain(viewer);
      // Used since: the panel says when.
      expect(await row.locator('td').nth(3).textContent()).not.toBe('never');
      expect(await page.locator('#token-list tr[data-token="viewer"] td').nth(1).textContent()).toBe('read 1 terminal');
      if (SCREENSHOTS) await page.locator('#tokens').screenshot({ path: join(ROOT, 'docs/dashboard-tokens.png') });
      expect(problems).toEqual([]);
    });

    it('revoking (after a confirmation) makes the token 401 and closes its sockets', async () => {
      const secretOf = async (name: string) => {
        await page.fill('#token-name', name);
        await page.selectOption('#token-scope', 'write');
        await page.click('#token-create');
        await poll(() => page.textContent('#token-created-name')).toBe(name);
        return (await page.textContent('#token-secret'))!;
      };
      const secret = await secretOf('short-lived');
      const socket = await TestSocket.open(`${server.url.replace(/^http/, 'ws')}/ws`, { protocols: ['termgate.v1', `bearer.${secret}`] });
      const row = page.locator('#token-list tr[data-token="short-lived"]');
      await poll(() => row.count()).toBe(1);

      // Dismissed: nothing happens.
      page.once('dialog', (dialog) => void dialog.dismiss());
      await row.locator('button.revoke').click();
      expect((await raw(`${server.url}/api/terminals`, { headers: bearer(secret) })).status).toBe(200);

      let asked = '';
      page.once('dialog', (dialog) => {
        asked = dialog.message();
        void dialog.accept();
      });
      await row.locator('button.revoke').click();
      await poll(() => row.count()).toBe(0);
      expect(asked).toContain('short-lived');
      expect((await raw(`${server.url}/api/terminals`, { headers: bearer(secret) })).status).toBe(401);
      expect(await socket.closed).toEqual({ code: 4001, reason: 'token revoked' });
      expect(problems).toEqual([]);
      expect(server.output()).not.toContain(secret);
    });

    it('shows the audit log, filtered by terminal and by token', async () => {
      const writer = (await raw(`${server.url}/api/tokens`, { method: 'POST', headers: bearer(main), body: { name: 'auditee', scope: 'write' } })).json().token as string;
      const mine = await createTerminal(server.url, bearer(writer), { name: 'audited' });
      expect((await raw(`${server.url}/api/terminals/${mine}/input`, { method: 'POST', headers: bearer(writer), body: { data: 'echo hi\r' } })).status).toBe(200);
      await page.click('#audit-refresh');
      const rows = page.locator('#audit-list tbody tr');
      await poll(async () => (await rows.allTextContents()).some((text) => text.includes('terminal.input'))).toBe(true);
      const all = await rows.count();
      expect(all).toBeGreaterThanOrEqual(6);
      // Newest first; names, never secrets.
      expect(await rows.first().locator('td').nth(3).textContent()).toBe('terminal.input (8 B)');
      expect(await page.textContent('#audit-list')).toContain('token.create ci-bot');
      expect(await page.textContent('#audit-list')).toContain('token.revoke short-lived');

      await page.selectOption('#audit-token', 'auditee');
      await poll(() => rows.count()).toBe(2);
      expect(await rows.locator('td:nth-child(2)').allTextContents()).toEqual(['auditee', 'auditee']);
      await page.selectOption('#audit-token', '');
      await page.selectOption('#audit-terminal', mine);
      expect(await rows.locator('td:nth-child(4)').allTextContents()).toEqual(['terminal.input (8 B)', 'terminal.create']);
      expect(await page.textContent('#audit-status')).toBe(`2 of the latest ${all}`);
      if (SCREENSHOTS) await page.locator('#audit').screenshot({ path: join(ROOT, 'docs/dashboard-audit.png') });
      await page.selectOption('#audit-terminal', '');
      expect(problems).toEqual([]);
    });
  });

  describe('read-only viewing with a read token (exposed mode)', () => {
    let server: RunningServer;
    let main: string;

    beforeAll(async () => {
      server = await startServer('node', { host: '0.0.0.0' });
      main = savedConfig(server).authToken;
    });
    afterAll(async () => {
      await server?.stop();
    });

    it('shows output live, sends no keystrokes, and says it is read-only', async () => {
      const id = await createTerminal(server.url, bearer(main), { name: 'shared' });
      const reader = (await raw(`${server.url}/api/tokens`, { method: 'POST', headers: bearer(main), body: { name: 'watcher', scope: 'read' } })).json().token as string;
      await run(server.url, id, 'echo before-$((20+1))', bearer(main));
      const context = await browser.newContext({ viewport: VIEWPORT, httpCredentials: { username: 'me', password: reader } });
      try {
        // The one refusal: the page asks for the (admin) settings, and the 403 names this token's scope.
        const { page, problems } = await openPage(context, [/^403 GET \/api\/settings\/connections$/]);
        const frames: string[] = [];
        page.on('websocket', (socket) => socket.on('framesent', (frame) => frames.push(String(frame.payload))));
        await page.goto(`${server.url}/ui/`);
        await poll(() => page.isVisible('#read-only')).toBe(true);
        expect(await page.textContent('#read-only')).toContain('Read-only');
        expect(await page.textContent('#scope-badge')).toBe('read-only');
        expect(await page.isHidden('#connections')).toBe(true);
        expect(await page.isHidden('#tokens')).toBe(true);
        expect(await page.isHidden('#audit')).toBe(true);
        expect(await page.isHidden('#terminal-new')).toBe(true);
        expect(await page.locator('.tab-close').isHidden()).toBe(true);
        await poll(() => page.textContent('#stream-status')).toBe('live');
        await poll(() => hasLine(page, 'before-21')).toBe(true);
        await poll(() => page.locator('.view:not([hidden]) .timeline .command').count()).toBe(1);

        // Live: an agent runs a command, the viewer sees it and its timeline entry.
        await run(server.url, id, 'echo live-$((1+1))', bearer(main));
        await poll(() => hasLine(page, 'live-2')).toBe(true);
        await poll(() => page.locator('.view:not([hidden]) .timeline .command').count()).toBe(2);

        const end = (await raw(`${server.url}/api/terminals/${id}/output?tail=1`, { headers: bearer(main) })).json().next as number;
        await page.locator('.view:not([hidden]) .xterm').click();
        await page.keyboard.type('echo typed-by-viewer');
        await page.keyboard.press('Enter');
        // A marker after the keystrokes: once it is on screen, anything typed would have arrived first.
        await run(server.url, id, 'echo after-$((2+2))', bearer(main));
        await poll(() => hasLine(page, 'after-4')).toBe(true);
        const since = (await raw(`${server.url}/api/terminals/${id}/output?since=${end}`, { headers: bearer(main) })).json().data as string;
        expect(since).toContain('after-4');
        expect(since).not.toContain('typed-by-viewer');
        expect(frames.filter((frame) => /"type":"command"/.test(frame))).toEqual([]);
        const audit = (await raw(`${server.url}/api/audit`, { headers: bearer(main) })).json().entries as { token: string }[];
        expect(audit.filter((entry) => entry.token === 'watcher')).toEqual([]);
        if (SCREENSHOTS) {
          await page.evaluate(() => window.scrollTo(0, 0));
          await page.screenshot({ path: join(ROOT, 'docs/dashboard-read-only.png') });
        }
        expect(problems).toEqual([]);
      } finally {
        await context.close();
      }
    });
  });

  describe('opening from the screen snapshot (local mode)', () => {
    let server: RunningServer;
    let context: BrowserContext;
    let id: string;

    beforeAll(async () => {
      server = await startServer('node');
      context = await browser.newContext({ viewport: VIEWPORT });
      id = await createTerminal(server.url, {}, { name: 'long-history' });
    });
    afterAll(async () => {
      await context?.close();
      await server?.stop();
    });

    it('with 8 MiB of scrollback, the last line is on screen fast (prints the time)', async () => {
      // 9 MB of 100-character lines: the scrollback (8 MiB) is full.
      const made = await run(server.url, id, "head -c 9000000 /dev/zero | tr '\\0' x | fold -w 99; echo; echo last-$((6*7))", {}, { timeoutMs: 120_000 });
      expect(made.exitCode).toBe(0);
      const { next } = (await raw(`${server.url}/api/terminals/${id}/output?tail=1`)).json();
      expect(next).toBeGreaterThan(9_000_000);
      // Full: the oldest byte held is past the start.
      const held = (await raw(`${server.url}/api/terminals/${id}/output?since=0&limit=1`)).json();
      expect(held.dropped).toBeGreaterThan(0);
      expect(next - held.since).toBeGreaterThan(8_000_000);

      const { page, problems } = await openPage(context);
      const screens: number[] = [];
      page.on('response', (response) => {
        if (response.url().includes('/screen?format=ansi')) void response.body().then((body) => screens.push(body.length));
      });
      const times: number[] = [];
      for (let round = 0; round < 3; round++) {
        const started = performance.now();
        if (round === 0) await page.goto(`${server.url}/ui/`);
        else await page.reload();
        await poll(() => hasLine(page, 'last-42'), 30_000).toBe(true);
        times.push(performance.now() - started);
      }
      // For comparison: what writing the whole scrollback into xterm.js (the old way, since: 0) costs in this browser.
      // A string, not a function: vitest would rewrite a function's import() and globals for Node.
      const replayMs = (await page.evaluate(`(async () => {
        const started = performance.now();
        const slice = await (await fetch('/api/terminals/${id}/output?since=0')).json();
        const { Terminal } = await import('@xterm/xterm');
        const term = new Terminal({ cols: 120, rows: 40, scrollback: 5000 });
        const box = document.createElement('div');
        document.body.append(box);
        term.open(box);
        await new Promise((resolve) => term.write(slice.data, resolve));
        const ms = performance.now() - started;
        term.dispose();
        box.remove();
        return ms;
      })()`)) as number;
      const warm = Math.max(times[1]!, times[2]!);
      console.log(
        `dashboard: 8 MiB of scrollback, page load to the last line on screen: first ${Math.round(times[0]!)} ms ` +
          `(the server's emulator is created and fed the scrollback on this first request), then reloads ${times.slice(1).map((ms) => `${Math.round(ms)} ms`).join(', ')} ` +
          `(snapshot ${Math.round((screens[0] ?? 0) / 1024)} KiB); ` +
          `replaying the ${((next - held.since) / 2 ** 20).toFixed(1)} MiB scrollback into xterm.js instead: ${Math.round(replayMs)} ms`,
      );
      expect(screens.length).toBe(3);
      expect(warm).toBeLessThan(3000);
      expect(problems).toEqual([]);
    });

    it('after a drop with much output missed, reloads from a new snapshot; after a small one, replays exactly', async () => {
      const { page, problems } = await openPage(context);
      let current: { page: WebSocketRoute; server: WebSocketRoute } | undefined;
      let release!: () => void;
      let held = new Promise<void>((resolve) => (release = resolve));
      await page.routeWebSocket(/\/ws$/, async (ws) => {
        await held;
        current = { page: ws, server: ws.connectToServer() };
      });
      const snapshots: string[] = [];
      page.on('request', (request) => {
        if (request.url().includes('/screen?format=ansi')) snapshots.push(request.url());
      });
      release();
      await page.goto(`${server.url}/ui/`);
      await poll(() => page.textContent('#stream-status')).toBe('live');
      await poll(() => hasLine(page, 'last-42')).toBe(true);
      expect(snapshots).toHaveLength(1);
      const cut = async () => {
        held = new Promise<void>((resolve) => (release = resolve));
        await current!.server.close({ code: 1000, reason: 'test: cut' });
        await current!.page.close({ code: 1012, reason: 'test: cut' });
        await poll(() => page.textContent('#stream-status')).toMatch(/reconnecting/);
      };

      // Large: 1 MB while disconnected.
      await cut();
      await run(server.url, id, "head -c 1000000 /dev/zero | tr '\\0' y | fold -w 99; echo; echo big-$((50+5))");
      release();
      await poll(() => hasLine(page, 'big-55'), 30_000).toBe(true);
      expect(snapshots).toHaveLength(2);
      expect((await screenLines(page)).filter((line) => line.trim() === 'big-55')).toHaveLength(1);

      // Small: one line while disconnected, replayed from the page's offset.
      await cut();
      await run(server.url, id, 'echo small-$((5+6))');
      release();
      await poll(() => hasLine(page, 'small-11')).toBe(true);
      await poll(() => page.textContent('#stream-status')).toBe('live');
      expect(snapshots).toHaveLength(2);
      const lines = await screenLines(page);
      expect(lines.filter((line) => line.trim() === 'small-11')).toHaveLength(1);
      expect(lines.filter((line) => line.trim() === 'big-55')).toHaveLength(1);
      expect(problems).toEqual([]);
    });
  });
});

/**
 * The dashboard over HTTPS (docs/tls-and-unix.md) in Debian's Chromium: a
 * termgate started with --tls-cert/--tls-key and a certificate made at run
 * time, trusted for this browser only (its key's SPKI hash, so no other
 * certificate error is ignored). The page, its REST calls (an https Origin the
 * gate must admit) and its WSS stream all work; plain http:// is not served.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, tempHome, type RunningServer } from '../harness.ts';
import { hasOpenssl, makeCertificate } from '../tls-fixture.ts';
import { CHROMIUM, hasChromium, launch, openPage, poll, screenLines } from './browser.ts';

const missing = !hasChromium ? `no Chromium at ${CHROMIUM} (apt-get install chromium)` : !hasOpenssl ? 'no /usr/bin/openssl (apt-get install openssl)' : null;
if (missing) console.warn(`\n⚠ dashboard over HTTPS: ${missing}; SKIPPED\n`);

describe.skipIf(missing !== null)('dashboard over HTTPS in Chromium [node]', () => {
  let browser: Browser;
  let server: RunningServer;
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    const home = tempHome();
    const cert = makeCertificate(home);
    server = await startServer('node', { home, args: ['--tls-cert', cert.certFile, '--tls-key', cert.keyFile] });
    browser = await launch([`--ignore-certificate-errors-spki-list=${cert.spki}`]);
    ({ page, problems } = await openPage(await browser.newContext({ viewport: { width: 1280, height: 760 } })));
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('loads /ui/ over HTTPS with the stream live over WSS', async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const response = await page.goto(`${server.url}/ui/`);
    expect(response?.status()).toBe(200);
    expect(response?.url()).toBe(`${server.url}/ui/`);
    expect((await response?.securityDetails())?.protocol).toMatch(/TLS/);
    await poll(() => page.locator('#health').getAttribute('data-state')).toBe('healthy');
    await poll(() => page.textContent('#stream-status')).toBe('live');
    expect(problems).toEqual([]);
  });

  it('creates a terminal and renders what is typed into it (REST with an https Origin, output over WSS)', async () => {
    await page.click('#terminal-new');
    await poll(() => page.locator('.tab').count()).toBe(1);
    await poll(async () => (await screenLines(page)).some((row) => row.trim() !== '')).toBe(true);
    await page.locator('.view:not([hidden]) .xterm').click();
    await page.keyboard.type('echo hello-$((40+2))');
    await page.keyboard.press('Enter');
    await poll(async () => (await screenLines(page)).some((row) => row.trim() === 'hello-42')).toBe(true);
    expect(problems).toEqual([]);
  });
});

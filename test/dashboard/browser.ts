/**
 * What the dashboard tests share: Debian's Chromium driven by playwright-core
 * (no browser download), a page that records what went wrong in it, and
 * polling with room for a loaded machine.
 */
import { existsSync } from 'node:fs';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';

export const CHROMIUM = process.env.TERMGATE_CHROMIUM || '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);

/**
 * How long one Playwright call may wait for its element. expect.poll awaits
 * each attempt to the end, so a call waiting Playwright's default 30 s for an
 * element that never comes turns a 15 s poll into a silent 60 s test timeout
 * instead of a failure that names the value it saw.
 */
const ACTION_TIMEOUT_MS = 5_000;
const NAVIGATION_TIMEOUT_MS = 30_000;

/** Playwright gives every launch a fresh temporary profile (user-data-dir) and removes it on close. */
export const launch = (extraArgs: string[] = []) =>
  chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      ...extraArgs,
    ],
  });

/**
 * A page that records what went wrong in it: exceptions, CSP violations and
 * other console errors, and HTTP answers >= 400 other than the `expected` ones
 * (matched against "STATUS METHOD PATH"). Chromium also logs those answers as
 * console errors without the URL, so they are recorded from the responses.
 */
export async function openPage(context: BrowserContext, expected: RegExp[] = []) {
  const page = await context.newPage();
  page.setDefaultTimeout(ACTION_TIMEOUT_MS);
  page.setDefaultNavigationTimeout(NAVIGATION_TIMEOUT_MS);
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.text().startsWith('Failed to load resource')) return;
    if (message.type() === 'error' || /Content.Security.Policy|Refused to/i.test(message.text())) {
      problems.push(`console ${message.type()}: ${message.text()}`);
    }
  });
  page.on('response', (response) => {
    if (response.status() < 400) return;
    const answer = `${response.status()} ${response.request().method()}`;
    if (!expected.some((pattern) => pattern.test(`${answer} ${new URL(response.url()).pathname}`))) problems.push(`${answer} ${response.url()}`);
  });
  return { page, problems };
}

/** expect.poll with room for a loaded machine (the suites share two cores). */
export const poll = <T>(fn: () => T | Promise<T>, timeout = 15_000) => expect.poll(fn, { timeout, interval: 100 });

/** The visible terminal's screen, one string per row (xterm's DOM renderer), trailing blanks cut. */
export async function screenLines(page: Page): Promise<string[]> {
  const rows = page.locator('.view:not([hidden]) .xterm-rows > div');
  return (await rows.allTextContents()).map((line) => line.replace(/\u00a0/g, ' ').trimEnd());
}

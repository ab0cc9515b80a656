/**
 * Smoke per runtime: /ui/ and every asset it refers to are served
 * from the embedded module, with their content types. The page itself is
 * tested in Chromium once (test/dashboard/), since it is the same core on
 * every runtime; this checks that the embedding works where Bun and Deno run
 * the sources directly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../harness.ts';
import { raw } from '../http.ts';
import type { Target } from './suite.ts';

export function uiChecks({ runtime }: Target): void {
  let server: RunningServer;

  describe('dashboard assets', () => {
    beforeAll(async () => {
      server = await startServer(runtime);
    });
    afterAll(async () => {
      await server?.stop();
    });

    it('serves /ui/ and every asset it refers to', async () => {
      expect((await raw(`${server.url}/ui`)).headers.get('location')).toEqual(['/ui/']);
      const page = await raw(`${server.url}/ui/`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toEqual(['text/html; charset=utf-8']);
      expect(page.headers.get('content-security-policy')?.[0]).toContain("default-src 'none'");
      const names = new Set([...page.text.matchAll(/"\.\/([^"]+\.[0-9a-f]{12}\.(?:m?js|css|svg))"/g)].map((match) => match[1]!));
      expect(names.size).toBeGreaterThanOrEqual(5);
      for (const name of names) {
        const asset = await raw(`${server.url}/ui/${name}`);
        expect(asset.status, name).toBe(200);
        expect(asset.headers.get('cache-control'), name).toEqual(['max-age=31536000, immutable']);
        expect(asset.headers.get('content-type')?.[0], name).toMatch(/^(text\/javascript|text\/css|image\/svg\+xml)/);
        expect(asset.text.length, name).toBeGreaterThan(100);
      }
    });
  });
}

/** The dashboard's assets (docs/dashboard.md) through core.fetch: paths, types, caching, CSP, and the gate in front. */
import { describe, expect, it } from 'vitest';
import { ASSETS, INDEX } from '../../src/ui/assets.generated.ts';
import { unitCore } from './memory-platform.ts';

/** The asset URLs index.html refers to (stylesheets, icon, entry module, import map targets). */
function referencedAssets(html: string): string[] {
  const names = new Set<string>();
  for (const match of html.matchAll(/(?:href|src)="\.\/([^"]+)"/g)) names.add(match[1]!);
  for (const match of html.matchAll(/"\.\/([^"]+)"/g)) names.add(match[1]!);
  return [...names].filter((name) => !name.endsWith('.js') || ASSETS.has(name));
}

describe('dashboard assets', () => {
  it('redirects /ui to /ui/', async () => {
    const { request } = await unitCore();
    const response = await request('/ui');
    expect(response.status).toBe(308);
    expect(response.headers.get('location')).toBe('/ui/');
  });

  it('serves the page with no-cache, an ETag and a CSP that admits no other origin', async () => {
    const { request } = await unitCore();
    const response = await request('/ui/');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const csp = response.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'(;|$)/);
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/https?:|\*|data:/);
    const html = await response.text();
    expect(html).toContain('<script type="importmap">');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);

    const etag = response.headers.get('etag')!;
    const again = await request('/ui/', { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
  });

  it('serves every referenced asset under a hashed name, immutable, with its content type', async () => {
    const { request } = await unitCore();
    const names = referencedAssets(INDEX.body);
    expect(names.length).toBe(ASSETS.size);
    const types: Record<string, string> = {
      mjs: 'text/javascript; charset=utf-8',
      js: 'text/javascript; charset=utf-8',
      css: 'text/css; charset=utf-8',
      svg: 'image/svg+xml',
    };
    for (const name of names) {
      expect(name, name).toMatch(/\.[0-9a-f]{12}\.(mjs|js|css|svg)$/);
      const response = await request(`/ui/${name}`);
      expect(response.status, name).toBe(200);
      expect(response.headers.get('content-type'), name).toBe(types[name.split('.').pop()!]);
      expect(response.headers.get('cache-control'), name).toBe('max-age=31536000, immutable');
      expect(response.headers.get('cross-origin-resource-policy'), name).toBe('same-origin');
      expect(await response.text(), name).toBe(ASSETS.get(name)!.body);
    }
    const xterm = names.find((name) => name.startsWith('vendor/xterm.') && name.endsWith('.mjs'))!;
    expect(ASSETS.get(xterm)!.body).toContain('export{');
    expect(ASSETS.get(xterm)!.body).not.toContain('sourceMappingURL');
  });

  it('answers HEAD, and 404 for unknown assets', async () => {
    const { request } = await unitCore();
    const head = await request('/ui/', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    const missing = await request('/ui/app.000000000000.js');
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.code).toBe('not_found');
    expect((await request('/ui/vendor/')).status).toBe(404);
  });

  it('sits behind the gate: exposed mode asks for the token with Basic first, so browsers prompt', async () => {
    const { request, core } = await unitCore({ mode: 'exposed' });
    const refused = await request('/ui/');
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/^Basic realm="termgate"/);
    const basic = 'Basic ' + btoa(`anyone:${core.credentials.mainToken}`);
    expect((await request('/ui/', { headers: { authorization: basic } })).status).toBe(200);
  });

  it('refuses the page to another origin (the Origin check applies to /ui/ too)', async () => {
    const { request } = await unitCore();
    expect((await request('/ui/', { headers: { origin: 'http://127.0.0.1:42031' } })).status).toBe(200);
    const other = await request('/ui/', { headers: { origin: 'http://evil.example' } });
    expect(other.status).toBe(403);
    expect((await other.json()).error.code).toBe('origin_not_allowed');
  });
});

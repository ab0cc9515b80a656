/**
 * The dashboard (docs/dashboard.md) at /ui/. Its files are embedded at build time
 * (scripts/build-ui.mjs → src/ui/assets.generated.ts): the core cannot read
 * files. Served by the core itself, so the page is same-origin with the API and
 * the gate's Origin check admits it and no other site. Like every route but
 * health, it sits behind the gate: in exposed mode the 401 challenge makes the
 * browser ask for the token (Basic login) before the page loads.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import type { RouteDoc } from '../openapi.ts';
import { ASSETS, type EmbeddedAsset, INDEX, SCRIPT_HASHES } from '../ui/assets.generated.ts';

export const UI_ROUTE_DOCS: RouteDoc[] = [
  { method: 'GET', path: '/ui', summary: 'Redirects to /ui/', success: { status: 308 } },
  { method: 'GET', path: '/ui/', summary: 'The dashboard', success: { status: 200, schema: z.string(), mediaType: 'text/html' } },
  { method: 'GET', path: '/ui/{name}', summary: "A dashboard asset (hashed names, cached for a year)", success: { status: 200, schema: z.string(), mediaType: 'application/octet-stream' }, errors: ['not_found'] },
];

/**
 * Nothing from another origin, ever (no CDN; works offline). Scripts: own files
 * plus the hashed inline import map. Styles allow inline because xterm.js
 * injects <style> elements for its layout and theme; no style can load from
 * elsewhere (img/font/connect are 'self' only), so that opens no channel out.
 * connect-src 'self' covers the same-origin ws:// stream in Chromium.
 */
const CSP = [
  "default-src 'none'",
  `script-src 'self' ${SCRIPT_HASHES.map((hash) => `'${hash}'`).join(' ')}`,
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const COMMON_HEADERS: Record<string, string> = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // Other sites may not embed, frame or script-include these files.
  'cross-origin-resource-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
  'x-frame-options': 'DENY',
};

/** Hashed names never change content: cache for a year. The index is revalidated each time (ETag → 304). */
const IMMUTABLE = 'max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

function serve(request: Request, asset: EmbeddedAsset, cacheControl: string): Response {
  const headers = new Headers(COMMON_HEADERS);
  headers.set('cache-control', cacheControl);
  headers.set('etag', asset.etag);
  const ifNoneMatch = request.headers.get('if-none-match');
  if (ifNoneMatch !== null && ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === asset.etag)) {
    return new Response(null, { status: 304, headers });
  }
  headers.set('content-type', asset.type);
  return new Response(asset.body, { status: 200, headers });
}

export function uiRoutes(): Hono {
  const app = new Hono();
  // Relative asset URLs in the page need the trailing slash.
  app.get('/ui', (c) => c.redirect('/ui/', 308));
  app.get('/ui/', (c) => serve(c.req.raw, INDEX, REVALIDATE));
  app.get('/ui/:name{.+}', (c) => {
    const asset = ASSETS.get(c.req.param('name'));
    return asset === undefined ? c.notFound() : serve(c.req.raw, asset, IMMUTABLE);
  });
  return app;
}

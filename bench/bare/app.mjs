// The gate benchmark's baseline app, the same on every runtime: a bare Hono app answering
// termgate's GET /api/terminals path with the same body (no terminals).
// With BARE_READS_HEADERS=1 it first reads the headers any such gate must read (Host,
// Origin, Authorization, and one more that is absent): on Bun and Deno the first read of
// request.headers builds the Headers object, which a handler that never looks skips.
import { Hono } from 'hono';

export function bareFetch() {
  const app = new Hono();
  app.get('/api/terminals', (c) => c.json({ terminals: [] }));
  if (process.env.BARE_READS_HEADERS !== '1') return app.fetch;
  let sink = 0;
  return (request, env) => {
    const headers = request.headers;
    sink += (headers.get('host')?.length ?? 0) + (headers.get('origin')?.length ?? 0) + (headers.get('authorization')?.length ?? 0);
    if (headers.has('x-absent') && sink < 0) throw new Error('unreachable');
    return app.fetch(request, env);
  };
}

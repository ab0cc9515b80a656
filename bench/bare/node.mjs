// Baseline for the gate benchmark: a bare Hono app on Node, the same path and body as termgate's GET /api/terminals with no terminals.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const app = new Hono();
app.get('/api/terminals', (c) => c.json({ terminals: [] }));
const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) =>
  console.log(`bare listening on http://127.0.0.1:${info.port}`),
);
process.on('SIGTERM', () => server.close(() => process.exit(0)));

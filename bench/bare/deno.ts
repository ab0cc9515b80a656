// Baseline for the gate benchmark: a bare Hono app on Deno, the same path and body as termgate's GET /api/terminals with no terminals.
import { Hono } from 'hono';

const app = new Hono();
app.get('/api/terminals', (c) => c.json({ terminals: [] }));
Deno.serve({ hostname: '127.0.0.1', port: 0, onListen: ({ port }) => console.log(`bare listening on http://127.0.0.1:${port}`) }, app.fetch);
Deno.addSignalListener('SIGTERM', () => Deno.exit(0));

// Baseline for the gate benchmark: a bare Hono app on Bun, the same path and body as termgate's GET /api/terminals with no terminals.
import { Hono } from 'hono';

const app = new Hono();
app.get('/api/terminals', (c) => c.json({ terminals: [] }));
const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: app.fetch });
console.log(`bare listening on http://127.0.0.1:${server.port}`);
process.on('SIGTERM', () => process.exit(0));

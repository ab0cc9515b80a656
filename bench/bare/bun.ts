// Baseline for the gate benchmark: a bare Hono app on Bun, same route and body as the gated one.
import { Hono } from 'hono';

const app = new Hono();
app.get('/api/tokens', (c) => c.json({ tokens: [] }));
const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: app.fetch });
console.log(`bare listening on http://127.0.0.1:${server.port}`);
process.on('SIGTERM', () => process.exit(0));

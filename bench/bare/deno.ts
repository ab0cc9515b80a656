// Baseline for the gate benchmark: a bare Hono app on Deno, same route and body as the gated one.
import { Hono } from 'hono';

const app = new Hono();
app.get('/api/tokens', (c) => c.json({ tokens: [] }));
Deno.serve({ hostname: '127.0.0.1', port: 0, onListen: ({ port }) => console.log(`bare listening on http://127.0.0.1:${port}`) }, app.fetch);
Deno.addSignalListener('SIGTERM', () => Deno.exit(0));

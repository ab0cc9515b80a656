// Baseline for the gate benchmark on Node (app.mjs).
import { serve } from '@hono/node-server';
import { bareFetch } from './app.mjs';

const server = serve({ fetch: bareFetch(), hostname: '127.0.0.1', port: 0 }, (info) => console.log(`bare listening on http://127.0.0.1:${info.port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));

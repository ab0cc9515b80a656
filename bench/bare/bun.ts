// Baseline for the gate benchmark on Bun (app.mjs).
import { bareFetch } from './app.mjs';

const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: bareFetch() });
console.log(`bare listening on http://127.0.0.1:${server.port}`);
process.on('SIGTERM', () => process.exit(0));

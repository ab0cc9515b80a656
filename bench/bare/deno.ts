// Baseline for the gate benchmark on Deno (app.mjs).
import { bareFetch } from './app.mjs';

Deno.serve({ hostname: '127.0.0.1', port: 0, onListen: ({ port }) => console.log(`bare listening on http://127.0.0.1:${port}`) }, bareFetch());
Deno.addSignalListener('SIGTERM', () => Deno.exit(0));

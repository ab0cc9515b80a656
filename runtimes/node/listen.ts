/**
 * Listening on Node.js: @hono/node-server (https://github.com/honojs/node-server)
 * for requests, and our own upgrade listener (websocket.ts) for upgrades.
 */
import { createAdaptorServer } from '@hono/node-server';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Listen } from '../../src/platform.ts';
import { handleUpgrades } from './websocket.ts';

export const nodeListen: Listen = (host, port, fetch) =>
  new Promise((resolve, reject) => {
    const server = createAdaptorServer({ fetch }) as Server;
    handleUpgrades(server, fetch);
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () => {
          // Stop accepting but do not cut requests in flight (closeAllConnections
          // would cut the answer to the PUT that asked for a rebind). Connections
          // that fall idle afterwards are swept, so no client lingers on a
          // listener that is gone; upgraded WebSockets are not touched.
          server.close();
          const sweep = setInterval(() => server.closeIdleConnections(), 50).unref();
          server.once('close', () => clearInterval(sweep));
          return new Promise<void>((done) => setImmediate(done));
        },
      });
    });
  });

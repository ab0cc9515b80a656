/**
 * Listening on Node.js: @hono/node-server (https://github.com/honojs/node-server)
 * for requests, and our own upgrade listener (websocket.ts) for upgrades.
 * HTTPS through node:https (https://nodejs.org/api/https.html), a Unix socket
 * through `server.listen(path)` (https://nodejs.org/api/net.html#serverlistenpath-backlog-callback).
 */
import { createAdaptorServer } from '@hono/node-server';
import type { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Listen } from '../../src/platform.ts';
import { handleUpgrades } from './websocket.ts';

export const nodeListen: Listen = (host, port, fetch, options = {}) =>
  new Promise((resolve, reject) => {
    const { tls, unixPath } = options;
    const server = (
      tls === undefined
        ? createAdaptorServer({ fetch })
        : createAdaptorServer({ fetch, createServer: createHttpsServer, serverOptions: { cert: tls.cert, key: tls.key } })
    ) as Server;
    handleUpgrades(server, fetch);
    server.once('error', reject);
    const listening = () => {
      server.off('error', reject);
      resolve({
        port: unixPath === undefined ? (server.address() as AddressInfo).port : 0,
        close: () => {
          // Stop accepting but do not cut requests in flight (closeAllConnections
          // would cut the answer to the PUT that asked for a rebind). Connections
          // that fall idle afterwards are swept, so no client lingers on a
          // listener that is gone; upgraded WebSockets are not touched.
          // A Unix socket's file is removed by close().
          server.close();
          const sweep = setInterval(() => server.closeIdleConnections(), 50).unref();
          server.once('close', () => clearInterval(sweep));
          return new Promise<void>((done) => setImmediate(done));
        },
      });
    };
    if (unixPath === undefined) server.listen(port, host, listening);
    else server.listen(unixPath, listening);
  });

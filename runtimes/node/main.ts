/**
 * termgate on Node.js: @hono/node-server (https://github.com/honojs/node-server)
 * with `ws` for upgrades, node-pty for terminals. Wiring only.
 */
import { createAdaptorServer } from '@hono/node-server';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { Listen } from '../../src/platform.ts';
import { main } from '../common/cli.ts';
import { nodePtyHost } from '../common/node-pty-host.ts';
import { nodeUpgradeWebSocket, protocolChooser } from './websocket.ts';

const listen: Listen = (host, port, fetch) =>
  new Promise((resolve, reject) => {
    const wss = new WebSocketServer({ noServer: true, handleProtocols: protocolChooser });
    const server = createAdaptorServer({ fetch, websocket: { server: wss } }) as Server;
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });

await main({ runtime: 'node', listen, pty: nodePtyHost, upgradeWebSocket: nodeUpgradeWebSocket });

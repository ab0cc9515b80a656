/**
 * Listening on Bun: Bun.serve (https://bun.sh/docs/api/http) with its built-in
 * WebSocket server (websocket.ts); `tls` for HTTPS/WSS, `unix` for a Unix socket
 * (https://bun.sh/docs/api/http#unix-domain-sockets).
 */
import type { Listen } from '../../src/platform.ts';
import { bunWebSocketHandler } from './websocket.ts';

export const bunListen: Listen = async (host, port, fetch, options = {}) => {
  const { tls, unixPath } = options;
  const common = {
    fetch: (request: Request, bunServer: unknown) => fetch(request, bunServer),
    websocket: bunWebSocketHandler,
    ...(tls === undefined ? {} : { tls: { cert: tls.cert, key: tls.key } }),
  };
  const server = unixPath === undefined ? Bun.serve({ ...common, hostname: host, port }) : Bun.serve({ ...common, unix: unixPath });
  return {
    port: unixPath === undefined ? (server.port ?? port) : 0,
    // stop(false) releases the port (or removes the socket file) at once and lets
    // requests in flight finish (the answer to a rebind's PUT among them); open
    // WebSockets stay open. Its promise waits for every connection, so it is not awaited.
    close: async () => {
      server.stop(false).catch(() => undefined);
    },
  };
};

/** Listening on Bun: Bun.serve (https://bun.sh/docs/api/http) with its built-in WebSocket server (websocket.ts). */
import type { Listen } from '../../src/platform.ts';
import { bunWebSocketHandler } from './websocket.ts';

export const bunListen: Listen = async (host, port, fetch) => {
  const server = Bun.serve({
    hostname: host,
    port,
    fetch: (request, bunServer) => fetch(request, bunServer),
    websocket: bunWebSocketHandler,
  });
  return {
    port: server.port ?? port,
    // stop(false) releases the port at once and lets requests in flight finish
    // (the answer to a rebind's PUT among them); open WebSockets stay open. Its
    // promise waits for every connection, so it is not awaited.
    close: async () => {
      server.stop(false).catch(() => undefined);
    },
  };
};

/**
 * WebSocket on Node: @hono/node-server's built-in upgrade over a `ws` server
 * (https://github.com/websockets/ws/blob/master/doc/ws.md), mapped onto WsConnection.
 */
import { upgradeWebSocket } from '@hono/node-server';
import { WebSocketServer, type WebSocket } from 'ws';
import { selectSubprotocol } from '../../src/gate.ts';
import type { UpgradeWebSocket, WsConnection } from '../../src/platform.ts';

/** Largest frame a client may send (Bun's default, too); command frames are small. */
const MAX_INCOMING_FRAME_BYTES = 16 * 1024 * 1024;

/**
 * The `ws` server node-server upgrades into. `ws` parses the offered list
 * itself (with or without spaces) and asks us which one to answer with.
 */
export function createWebSocketServer(): WebSocketServer {
  return new WebSocketServer({
    noServer: true,
    maxPayload: MAX_INCOMING_FRAME_BYTES,
    perMessageDeflate: false,
    handleProtocols: (offered: Set<string>) => selectSubprotocol([...offered].join(',')) ?? false,
  });
}

interface SocketWithDrain {
  on(event: 'drain', listener: () => void): void;
}

export const nodeUpgradeWebSocket: UpgradeWebSocket = (c, { handlers }) => {
  let connection: WsConnection | undefined;
  const middleware = upgradeWebSocket(() => ({
    onOpen(_event, ws) {
      const raw = ws.raw as WebSocket;
      const open: WsConnection = {
        send: (text) => raw.send(text),
        close: (code, reason) => raw.close(code, reason),
        bufferedAmount: () => raw.bufferedAmount,
        terminate: () => raw.terminate(),
        protocol: raw.protocol,
      };
      connection = open;
      // `ws` has no drain event of its own; its TCP socket's is the same signal.
      (raw as unknown as { _socket?: SocketWithDrain })._socket?.on('drain', () => handlers.onDrain?.(open));
      handlers.onOpen(open);
    },
    onMessage(event) {
      if (connection) handlers.onMessage(connection, event.data as string | ArrayBuffer);
    },
    onClose(event) {
      if (connection) handlers.onClose(connection, event.code);
    },
  }));
  return middleware(c, async () => {}) as Promise<Response>;
};

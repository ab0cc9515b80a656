/** WebSocket on Node: @hono/node-server's built-in upgrade over a `ws` server, mapped onto WsConnection. */
import { upgradeWebSocket } from '@hono/node-server';
import type { WebSocket } from 'ws';
import { selectSubprotocol } from '../../src/gate.ts';
import type { UpgradeWebSocket, WsConnection } from '../../src/platform.ts';

/** `ws`'s handleProtocols: the core's choice, or false for none. */
export const protocolChooser = (offered: Set<string>): string | false => selectSubprotocol([...offered].join(',')) ?? false;

export const nodeUpgradeWebSocket: UpgradeWebSocket = (c, { handlers }) => {
  let connection: WsConnection | undefined;
  const middleware = upgradeWebSocket(() => ({
    onOpen(_event, ws) {
      const raw = ws.raw as WebSocket;
      const open: WsConnection = {
        send: (text) => raw.send(text),
        close: (code, reason) => raw.close(code, reason),
        bufferedAmount: () => raw.bufferedAmount,
        protocol: raw.protocol,
      };
      connection = open;
      // `ws` has no drain event of its own; its socket's is the same signal.
      const socket = (raw as unknown as { _socket?: { on(event: 'drain', fn: () => void): void } })._socket;
      socket?.on('drain', () => handlers.onDrain?.(open));
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

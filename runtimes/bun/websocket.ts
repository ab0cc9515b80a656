/**
 * WebSocket on Bun: Bun.serve's server.upgrade with per-socket data
 * (https://bun.sh/docs/api/websockets), mapped onto WsConnection.
 */
import type { Server, ServerWebSocket, WebSocketHandler } from 'bun';
import type { UpgradeWebSocket, WsConnection, WsHandlers } from '../../src/platform.ts';

interface SocketData {
  handlers: WsHandlers;
  protocol: string;
  connection?: WsConnection;
}

function connectionOf(ws: ServerWebSocket<SocketData>): WsConnection {
  ws.data.connection ??= {
    send: (text) => {
      // 0 = dropped. The core keeps queues far below backpressureLimit, so this
      // only happens on a dying socket; never lose output silently.
      if (ws.send(text) === 0 && ws.readyState === 1) ws.close(1011, 'send failed');
    },
    close: (code, reason) => ws.close(code, reason),
    bufferedAmount: () => ws.getBufferedAmount(),
    terminate: () => ws.terminate(),
    protocol: ws.data.protocol,
  };
  return ws.data.connection;
}

export const bunWebSocketHandler: WebSocketHandler<SocketData> = {
  open: (ws) => ws.data.handlers.onOpen(connectionOf(ws)),
  message: (ws, message) =>
    ws.data.handlers.onMessage(
      connectionOf(ws),
      typeof message === 'string' ? message : (message.buffer.slice(message.byteOffset, message.byteOffset + message.byteLength) as ArrayBuffer),
    ),
  close: (ws, code) => ws.data.handlers.onClose(connectionOf(ws), code),
  drain: (ws) => ws.data.handlers.onDrain?.(connectionOf(ws)),
  // The core bounds every queue itself (docs/websocket.md); Bun's own limit
  // (16 MiB by default, past which it drops messages) must sit above that.
  backpressureLimit: 256 * 1024 * 1024,
  maxPayloadLength: 16 * 1024 * 1024,
  perMessageDeflate: false,
};

export const bunUpgradeWebSocket: UpgradeWebSocket = (c, { protocol, handlers }) => {
  const server = c.env as Server<SocketData>;
  const upgraded = server.upgrade(c.req.raw, {
    data: { handlers, protocol: protocol ?? '' },
    headers: protocol ? { 'Sec-WebSocket-Protocol': protocol } : {},
  });
  // After a successful upgrade Bun ignores the response; hono needs one anyway.
  return upgraded ? new Response(null) : new Response('WebSocket upgrade failed', { status: 400 });
};

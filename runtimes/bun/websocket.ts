/** WebSocket on Bun: Bun.serve's server.upgrade with per-socket data, mapped onto WsConnection. */
import type { Server, ServerWebSocket, WebSocketHandler } from 'bun';
import type { UpgradeWebSocket, WsConnection, WsHandlers } from '../../src/platform.ts';

interface SocketData {
  handlers: WsHandlers;
  protocol: string;
  connection?: WsConnection;
}

function connectionOf(ws: ServerWebSocket<SocketData>): WsConnection {
  ws.data.connection ??= {
    send: (text) => void ws.send(text),
    close: (code, reason) => ws.close(code, reason),
    bufferedAmount: () => ws.getBufferedAmount(),
    protocol: ws.data.protocol,
  };
  return ws.data.connection;
}

export const bunWebSocketHandler: WebSocketHandler<SocketData> = {
  open: (ws) => ws.data.handlers.onOpen(connectionOf(ws)),
  message: (ws, message) =>
    ws.data.handlers.onMessage(connectionOf(ws), typeof message === 'string' ? message : new Uint8Array(message).buffer),
  close: (ws, code) => ws.data.handlers.onClose(connectionOf(ws), code),
  drain: (ws) => ws.data.handlers.onDrain?.(connectionOf(ws)),
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

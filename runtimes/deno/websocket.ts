/**
 * WebSocket on Deno: Deno.upgradeWebSocket, mapped onto WsConnection.
 * Deno splits the offered protocol list on ", " only, so a list sent as
 * "a,b" (as the `ws` client does) makes a chosen protocol look unoffered and
 * the upgrade throw. We upgrade without a protocol and set the header ourselves.
 */
import type { UpgradeWebSocket, WsConnection } from '../../src/platform.ts';

export const denoUpgradeWebSocket: UpgradeWebSocket = (c, { protocol, handlers }) => {
  const { socket, response } = Deno.upgradeWebSocket(c.req.raw);
  const connection: WsConnection = {
    send: (text) => socket.send(text),
    close: (code, reason) => socket.close(code, reason),
    bufferedAmount: () => socket.bufferedAmount,
    protocol: protocol ?? '',
  };
  socket.onopen = () => handlers.onOpen(connection);
  socket.onmessage = (event) => handlers.onMessage(connection, event.data as string | ArrayBuffer);
  socket.onclose = (event) => handlers.onClose(connection, event.code);
  if (protocol) response.headers.set('Sec-WebSocket-Protocol', protocol);
  return response;
};

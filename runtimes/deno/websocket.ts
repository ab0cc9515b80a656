/**
 * WebSocket on Deno: Deno.upgradeWebSocket
 * (https://docs.deno.com/api/deno/~/Deno.upgradeWebSocket), mapped onto WsConnection.
 *
 * Deno splits the offered protocol list on ", " only, so with a list sent as
 * "a,b" (as the `ws` client sends it) its `protocol` option finds nothing and
 * throws. We upgrade without that option and put our own choice (made by the
 * core's tolerant parser) on the 101 response, whose headers Deno sends as they
 * are when the handler returns it. Deno has no drain event: the core polls
 * bufferedAmount while a connection is backed up.
 */
import type { UpgradeWebSocket, WsConnection } from '../../src/platform.ts';

export const denoUpgradeWebSocket: UpgradeWebSocket = (c, { protocol, handlers }) => {
  const { socket, response } = Deno.upgradeWebSocket(c.req.raw);
  socket.binaryType = 'arraybuffer';
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

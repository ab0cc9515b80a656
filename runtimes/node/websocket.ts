/**
 * Upgrades on Node: one `'upgrade'` listener of our own on the http.Server, and
 * a `ws` server (https://github.com/websockets/ws/blob/master/doc/ws.md) that
 * only does the handshake and framing.
 *
 * Why not @hono/node-server's built-in upgrade: it returns without answering
 * (or closing) an upgrade whose `Upgrade` is not `websocket`, so `Upgrade: h2c`
 * left sockets in CLOSE-WAIT forever, a file-descriptor leak open to anyone
 * who could connect; it answers a malformed Host with 500; and it writes its
 * refusals only when it is the server's single upgrade listener. Here every
 * upgrade request goes through the core's fetch like any other request, and
 * whatever the core answers is written back and the socket closed, unless the
 * core accepted the WebSocket.
 */
import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { TermgateError, errorResponse } from '../../src/errors.ts';
import { selectSubprotocol } from '../../src/gate.ts';
import type { FetchHandler, UpgradeWebSocket, WsConnection } from '../../src/platform.ts';

/** Largest frame a client may send (Bun's default, too); command frames are small. */
const MAX_INCOMING_FRAME_BYTES = 16 * 1024 * 1024;
/** How long a refused upgrade's socket may stay half-closed before it is dropped. */
const REFUSED_SOCKET_GRACE_MS = 2000;

/** The env an upgrade request reaches the core with: the core accepts by setting `accept`. */
interface UpgradeEnv {
  upgrade: { accept?: (ws: WebSocket) => void };
}

/** Answers every upgrade (and CONNECT) request on `server` through `fetch` (see the file comment). */
export function handleUpgrades(server: Server, fetch: FetchHandler): void {
  // `ws` parses the offered subprotocols itself (with or without spaces) and asks us which one to answer with.
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_INCOMING_FRAME_BYTES,
    perMessageDeflate: false,
    handleProtocols: (offered: Set<string>) => selectSubprotocol([...offered].join(',')) ?? false,
  });
  const answer = (incoming: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    void answerUpgrade(wss, fetch, incoming, socket, head);
  };
  server.on('upgrade', answer);
  // node:http hands CONNECT to this event and, with no listener, drops the socket unanswered.
  server.on('connect', answer);
  server.on('close', () => wss.close());
}

async function answerUpgrade(
  wss: WebSocketServer,
  fetch: FetchHandler,
  incoming: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): Promise<void> {
  const method = incoming.method ?? 'GET';
  let response: Response;
  const env: UpgradeEnv = { upgrade: {} };
  try {
    const request = requestOf(incoming);
    // Another protocol (h2c, …): answered as the plain request it also is (RFC 9110 §7.8
    // lets a server ignore Upgrade), as Bun and Deno do. Its body never reaches us here.
    // Its body never reaches us here (node:http hands over the socket): refused, never run without it.
    if (hasBody(incoming)) {
      throw new TermgateError('bad_request', 'upgrade: a request with a body cannot ask for an upgrade; send it without Upgrade');
    }
    response = await fetch(request, env);
  } catch (error) {
    response = errorResponse(error);
  }
  const accept = env.upgrade.accept;
  if (accept !== undefined && !socket.destroyed) {
    wss.handleUpgrade(incoming, socket, head, accept);
    return;
  }
  await writeAndClose(socket, response, method);
}

/**
 * The web Request of an upgrade request. Headers come from `rawHeaders`, so a
 * repeated Host stays two values (node:http keeps only the first) and the gate
 * refuses it. The URL's host is a placeholder: the gate reads the Host header.
 */
function requestOf(incoming: IncomingMessage): Request {
  const headers = new Headers();
  const raw = incoming.rawHeaders;
  try {
    for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  } catch {
    throw new TermgateError('bad_request', 'headers: a header has a malformed name or value');
  }
  // The target is a path: concatenated, `//x` stays a path (as a base URL would read it as a host).
  // The scheme is real (the gate's Origin check reads it: https:// behind --tls-cert).
  const target = incoming.url ?? '/';
  const scheme = (incoming.socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http';
  let url: URL;
  try {
    url = new URL(`${scheme}://localhost${target.startsWith('/') ? target : '/'}`);
  } catch {
    throw new TermgateError('bad_request', 'request target: not a valid path');
  }
  // A web Request cannot carry CONNECT, TRACE or TRACK (forbidden methods); termgate serves none of them.
  try {
    return new Request(url, { method: incoming.method ?? 'GET', headers });
  } catch {
    throw new TermgateError('method_not_allowed', `${incoming.method}: not a method termgate serves`);
  }
}

function hasBody(incoming: IncomingMessage): boolean {
  const length = incoming.headers['content-length'];
  return incoming.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

async function writeAndClose(socket: Duplex, response: Response, method: string): Promise<void> {
  if (socket.destroyed) return;
  const body = method === 'HEAD' ? new Uint8Array() : new Uint8Array(await response.arrayBuffer().catch(() => new ArrayBuffer(0)));
  const lines = [`HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? ''}`];
  response.headers.forEach((value, name) => {
    if (name !== 'content-length' && name !== 'connection' && name !== 'transfer-encoding') lines.push(`${name}: ${value}`);
  });
  lines.push(`content-length: ${body.byteLength}`, 'connection: close', '', '');
  socket.end(Buffer.concat([Buffer.from(lines.join('\r\n'), 'latin1'), body]));
  // A peer that never closes its side must not hold the socket open.
  setTimeout(() => socket.destroy(), REFUSED_SOCKET_GRACE_MS).unref();
}

interface SocketWithDrain {
  on(event: 'drain', listener: () => void): void;
}

function textOrBuffer(data: RawData, isBinary: boolean): string | ArrayBuffer {
  const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
  if (!isBinary) return buffer.toString('utf8');
  return buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) as ArrayBuffer;
}

export const nodeUpgradeWebSocket: UpgradeWebSocket = (c, { handlers }) => {
  const slot = (c.env as Partial<UpgradeEnv> | undefined)?.upgrade;
  // Node routes a request without `Connection: Upgrade` to the plain request handler, where nothing can be upgraded.
  if (slot === undefined) throw new TermgateError('bad_request', 'upgrade: send "Connection: Upgrade" with "Upgrade: websocket"');
  slot.accept = (ws) => {
    const connection: WsConnection = {
      send: (text) => ws.send(text),
      close: (code, reason) => ws.close(code, reason),
      bufferedAmount: () => ws.bufferedAmount,
      terminate: () => ws.terminate(),
      protocol: ws.protocol,
    };
    // `ws` has no drain event of its own; its TCP socket's is the same signal.
    (ws as unknown as { _socket?: SocketWithDrain })._socket?.on('drain', () => handlers.onDrain?.(connection));
    ws.on('message', (data, isBinary) => handlers.onMessage(connection, textOrBuffer(data, isBinary)));
    ws.on('close', (code) => handlers.onClose(connection, code));
    ws.on('error', () => undefined); // `close` follows
    handlers.onOpen(connection);
  };
  // A placeholder: the upgrade listener completes the handshake instead of sending it.
  return new Response(null);
};

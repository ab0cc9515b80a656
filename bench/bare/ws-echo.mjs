// A floor for the echo benchmark: a bare WebSocket echo server on the runtime that runs it
// (Bun.serve, Deno.serve, or Node with ws), no PTY and no termgate. The round trip to it is
// what any server behind a WebSocket pays on this machine before it does anything.
const ready = (port) => console.log(`bare listening on http://127.0.0.1:${port}`);

if (typeof Bun !== 'undefined') {
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch: (request, srv) => (srv.upgrade(request) ? undefined : new Response('upgrade', { status: 426 })),
    websocket: { message: (socket, message) => socket.send(message) },
  });
  ready(server.port);
} else if (typeof Deno !== 'undefined') {
  Deno.serve({ hostname: '127.0.0.1', port: 0, onListen: ({ port }) => ready(port) }, (request) => {
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.onmessage = (event) => socket.send(event.data);
    return response;
  });
} else {
  const { WebSocketServer } = await import('ws');
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  server.on('connection', (socket) => socket.on('message', (message, binary) => socket.send(message, { binary })));
  server.on('listening', () => ready(server.address().port));
}
process.on('SIGTERM', () => process.exit(0));

/**
 * The WebSocket side of the stream benchmark, as its own Node process so the
 * clients do not share a CPU budget with the bench runner:
 *
 *   node bench/ws-sink.mjs <ws-url> <subscribers> <shell command>
 *
 * Creates a terminal that waits for a line, subscribes every client,
 * sends the line, and prints one JSON line: per client the bytes received,
 * seconds from the go line to its terminal.exit event, and whether the
 * offsets were contiguous. Output frames are not JSON-parsed (only their
 * offsets, at the end of the frame), so the sink costs little per byte.
 *
 * Modes (environment):
 *   SINK_WATCH_ONLY=1  no subscription, only the exit event (the server's PTY path alone)
 *   SINK_PER_CLIENT=1  every client gets a terminal of its own running the command
 *                      (the many-terminals bench); all start on one go
 *   SINK_STALLED=1     one more client subscribes and then stops reading (its socket
 *                      paused); it is reported last, with `stalled: true` and the close
 *                      code the server gave it
 */
import WebSocket from 'ws';

const [url, countArg, command] = process.argv.slice(2);
const count = Number(countArg);
const OUTPUT_PREFIX = Buffer.from('{"type":"event","event":{"type":"output.data"');

function connect() {
  // The server's frames are valid UTF-8 (TextDecoder output, JSON-escaped); checking them again
  // would make the sink, not the server, the slow side.
  const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 1 << 30, skipUTF8Validation: true });
  const client = { ws, start: -1, next: -1, contiguous: true, exitAt: 0, waiters: new Map(), onExit: null };
  ws.on('close', (code, reason) => {
    if (!client.done) console.error(`ws-sink: socket closed early: ${code} ${reason} at ${client.next}`);
    client.closedWith = code;
    client.onExit?.();
    for (const waiter of client.waiters.values()) waiter({ success: false, error: { code: 'closed', message: `socket closed (${code})` } });
  });
  ws.on('message', (data) => {
    if (data.length > OUTPUT_PREFIX.length && data.compare(OUTPUT_PREFIX, 0, OUTPUT_PREFIX.length, 0, OUTPUT_PREFIX.length) === 0) {
      // ...,"offset":123,"next":456}}}
      const tail = data.toString('latin1', Math.max(0, data.length - 64));
      const match = /"offset":(\d+),"next":(\d+)\}\}\}$/.exec(tail);
      const offset = Number(match[1]);
      if (client.start < 0) client.start = offset;
      else if (offset !== client.next) client.contiguous = false;
      client.next = Number(match[2]);
      return;
    }
    const frame = JSON.parse(data.toString());
    if (frame.id !== undefined && client.waiters.has(frame.id)) {
      client.waiters.get(frame.id)(frame);
      client.waiters.delete(frame.id);
    }
    if (frame.type === 'event' && frame.event.type === 'terminal.exit' && frame.event.terminalId === client.terminalId) {
      client.exitAt = performance.now();
      client.onExit?.();
    }
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(client));
    ws.once('error', reject);
  });
}

let ids = 0;
function request(client, frame) {
  const id = `b${++ids}`;
  return new Promise((resolve, reject) => {
    if (client.ws.readyState !== WebSocket.OPEN) return reject(new Error(`socket closed (${client.closedWith})`));
    client.waiters.set(id, (answer) => (answer.success ? resolve(answer.data) : reject(new Error(JSON.stringify(answer.error)))));
    client.ws.send(JSON.stringify({ ...frame, id }));
  });
}

const clients = await Promise.all(Array.from({ length: count }, connect));
// A well-behaved client: the server closes connections that send nothing for a minute.
const heartbeat = setInterval(() => {
  for (const client of clients) if (client.ws.readyState === WebSocket.OPEN) client.ws.send('{"type":"heartbeat"}');
}, 20_000);
const perClient = Boolean(process.env.SINK_PER_CLIENT);
const script = ['-c', `stty -echo; printf R; read go; ${command}`];
// "R" says echo is off and the shell waits: the go line will not be echoed, so
// every byte after offset 1 is the command's output.
const READY = 1;

async function createReady(client) {
  const terminal = await request(client, { type: 'command', command: 'terminal.create', params: { command: 'sh', args: script } });
  for (let i = 0; ; i++) {
    const read = await request(client, { type: 'command', command: 'terminal.read', params: { terminalId: terminal.id } });
    if (read.next >= READY) return terminal.id;
    if (i > 1000) throw new Error('terminal did not get ready');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const first = clients[0];
const terminalIds = perClient ? await Promise.all(clients.map(createReady)) : [await createReady(first)];
const exited = clients.map(
  (client, i) =>
    new Promise((resolve) => {
      client.terminalId = terminalIds[perClient ? i : 0];
      client.onExit = resolve;
    }),
);
if (!process.env.SINK_WATCH_ONLY) {
  await Promise.all(clients.map((client) => request(client, { type: 'subscribe', terminalId: client.terminalId, since: READY })));
}
let stalled;
if (process.env.SINK_STALLED) {
  stalled = await connect();
  await request(stalled, { type: 'subscribe', terminalId: terminalIds[0], since: READY });
  // Never read again: the kernel's buffers fill, then the server's queue.
  stalled.ws._socket.pause();
  stalled.closed = new Promise((resolve) => stalled.ws.once('close', (code) => resolve(code)));
}
const t0 = performance.now();
await Promise.all(
  terminalIds.map((terminalId, i) =>
    request(perClient ? clients[i] : first, { type: 'command', command: 'terminal.input', params: { terminalId, data: 'go\n' } }),
  ),
);
const timeout = setTimeout(() => {
  console.error(`ws-sink: timed out; received ${clients.map((c) => c.next).join(', ')}`);
  process.exit(2);
}, 600_000);
await Promise.all(exited);
clearTimeout(timeout);
await Promise.all(
  terminalIds.map((terminalId, i) =>
    request(perClient ? clients[i] : first, { type: 'command', command: 'terminal.close', params: { terminalId } }).catch(() => undefined),
  ),
);
let stalledResult = [];
if (stalled) {
  // Reading again lets the close frame (4008) through, or shows the server dropped the socket (1006).
  stalled.done = true;
  stalled.ws._socket.resume();
  const code = await Promise.race([stalled.closed, new Promise((resolve) => setTimeout(() => resolve(-1), 10_000))]);
  stalledResult = [{ stalled: true, bytes: stalled.next < 0 ? 0 : stalled.next - stalled.start, closedWith: code }];
}
console.log(
  JSON.stringify([
    ...clients.map((client) => ({
      bytes: client.next < 0 ? 0 : client.next - client.start,
      seconds: (client.exitAt - t0) / 1000,
      contiguous: client.contiguous,
      ...(client.exitAt === 0 ? { closedWith: client.closedWith } : {}),
    })),
    ...stalledResult,
  ]),
);
clearInterval(heartbeat);
for (const client of clients) {
  client.done = true;
  client.ws.close();
}
stalled?.ws.terminate();
process.exit(0);

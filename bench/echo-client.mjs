/**
 * The client side of the echo benchmark, as its own Node process:
 *
 *   node bench/echo-client.mjs bare <count>       (node-pty directly, no server)
 *   node bench/echo-client.mjs <ws-url> <count>   (a terminal through /ws)
 *   node bench/echo-client.mjs plain:<ws-url> <count>  (a bare WebSocket echo, bench/bare/ws-echo.mjs)
 *
 * Both run `cat` in a PTY with the terminal's default (cooked, echoing) mode, send
 * one character at a time, wait for its echo, pause GAP_MS (a fast typist is still
 * 50+ ms apart) and send the next. Prints one JSON line: every latency in ms.
 */
import WebSocket from 'ws';

const [target, countArg] = process.argv.slice(2);
const COUNT = Math.min(Number(countArg ?? 300), 2000);
const GAP_MS = Number(process.env.BENCH_ECHO_GAP_MS ?? 5);
const WARMUP = 20;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const CHARS = 'abcdefghijklmnopqrstuvwxyz';

/** send(ch) writes one character; the returned promise resolves when `received` saw it. */
async function measure(send, waitFor) {
  const latencies = [];
  for (let i = 0; i < COUNT + WARMUP; i++) {
    const ch = CHARS[i % CHARS.length];
    const echoed = waitFor(ch);
    const t0 = performance.now();
    send(ch);
    await echoed;
    if (i >= WARMUP) latencies.push(performance.now() - t0);
    await sleep(GAP_MS);
  }
  return latencies;
}

function echoWaiter() {
  let pending;
  return {
    waitFor: (ch) => new Promise((resolve) => (pending = { ch, resolve })),
    received(data) {
      if (pending && data.includes(pending.ch)) {
        const { resolve } = pending;
        pending = undefined;
        resolve();
      }
    },
  };
}

let latencies;
if (target === 'bare') {
  const { spawn } = await import('@lydell/node-pty');
  const pty = spawn('cat', [], { cols: 80, rows: 24, env: process.env });
  const waiter = echoWaiter();
  pty.onData((data) => waiter.received(data));
  await sleep(200);
  latencies = await measure((ch) => pty.write(ch), waiter.waitFor);
  pty.kill();
} else if (target.startsWith('plain:')) {
  const ws = new WebSocket(target.slice('plain:'.length), { perMessageDeflate: false });
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  const waiter = echoWaiter();
  ws.on('message', (raw) => waiter.received(raw.toString()));
  latencies = await measure((ch) => ws.send(ch), waiter.waitFor);
  ws.close();
} else {
  const ws = new WebSocket(target, { perMessageDeflate: false });
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  const waiter = echoWaiter();
  const answers = new Map();
  let ids = 0;
  const request = (frame) =>
    new Promise((resolve, reject) => {
      const id = `e${++ids}`;
      answers.set(id, (a) => (a.success ? resolve(a.data) : reject(new Error(JSON.stringify(a.error)))));
      ws.send(JSON.stringify({ ...frame, id }));
    });
  ws.on('message', (raw) => {
    const frame = JSON.parse(raw.toString());
    if (frame.type === 'event' && frame.event.type === 'output.data') waiter.received(frame.event.data.content);
    else if (frame.id !== undefined && answers.has(frame.id)) {
      answers.get(frame.id)(frame);
      answers.delete(frame.id);
    }
  });
  const terminal = await request({ type: 'command', command: 'terminal.create', params: { command: 'cat', args: [] } });
  await request({ type: 'subscribe', terminalId: terminal.id });
  await sleep(200);
  // The input frame, serialised ahead so the timer covers only the send and the round trip.
  // No id, as a client sends keystrokes: only a failure is answered (docs/websocket.md).
  // ECHO_WITH_ID=1 sends each with an id, and so gets an answer to each.
  const id = process.env.ECHO_WITH_ID === '1' ? { id: 'in' } : {};
  const frames = Object.fromEntries(
    [...CHARS].map((ch) => [ch, JSON.stringify({ type: 'command', ...id, command: 'terminal.input', params: { terminalId: terminal.id, data: ch } })]),
  );
  latencies = await measure((ch) => ws.send(frames[ch]), waiter.waitFor);
  await request({ type: 'command', command: 'terminal.close', params: { terminalId: terminal.id } }).catch(() => undefined);
  ws.close();
}
console.log(JSON.stringify(latencies));
process.exit(0);

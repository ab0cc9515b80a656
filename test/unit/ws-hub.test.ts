/**
 * The /ws protocol's flow control, with a scripted terminal manager and
 * connections whose send queue the test controls: replay seams, lagging
 * subscribers catching up from scrollback, and the slow-consumer close.
 */
import type { Context } from 'hono';
import { describe, expect, it, vi } from 'vitest';
import { type Principal, MAIN } from '../../src/credentials.ts';
import { TermgateError } from '../../src/errors.ts';
import type { WsConnection, WsHandlers } from '../../src/platform.ts';
import type { OutputSlice, TerminalEvent, TerminalInfo, TerminalManager } from '../../src/terminals/types.ts';
import { WsHub } from '../../src/ws/hub.ts';

/** One ASCII terminal whose output the test writes, with a bounded scrollback. */
class ScriptedTerminals implements Partial<TerminalManager> {
  output = '';
  exited = false;
  gone = false;
  /** Sizes of every read, to see that catch-up reads are bounded. */
  readonly reads: number[] = [];
  readonly #listeners = new Set<(event: TerminalEvent) => void>();
  constructor(readonly capacity: number) {}

  info(): TerminalInfo {
    return { id: 't1', name: 't1', command: 'sh', args: [], cwd: '/', cols: 80, rows: 24, pid: 1, createdAt: '', exited: this.exited, exitCode: this.exited ? 0 : null };
  }
  get(id: string) {
    if (id !== 't1' || this.gone) throw new TermgateError('not_found', 'no such terminal');
    return this.info();
  }
  outputEnd(id: string): number {
    this.get(id);
    return this.output.length;
  }
  read(id: string, since = 0, maxBytes = Infinity): OutputSlice {
    this.get(id);
    if (since > this.output.length) throw new TermgateError('bad_request', 'since: past the end');
    const oldest = Math.max(0, this.output.length - this.capacity);
    const from = Math.max(since, oldest);
    const to = Math.min(this.output.length, from + maxBytes);
    this.reads.push(to - from);
    return { data: this.output.slice(from, to), since: from, next: to, dropped: Math.max(0, oldest - since) };
  }
  /** Like the real manager's: keeps reading the output as it was, after close. */
  reader(id: string) {
    this.get(id);
    return (since = 0, maxBytes = Infinity) => {
      const gone = this.gone;
      this.gone = false;
      try {
        return this.read(id, since, maxBytes);
      } finally {
        this.gone = gone;
      }
    };
  }
  subscribe(listener: (event: TerminalEvent) => void) {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  emit(content: string): void {
    const offset = this.output.length;
    this.output += content;
    for (const listener of this.#listeners) listener({ type: 'output.data', terminalId: 't1', content, offset, next: this.output.length });
  }
  exit(): void {
    this.exited = true;
    for (const listener of this.#listeners) listener({ type: 'terminal.exit', terminalId: 't1', exitCode: 0, signal: null });
  }
  close(): void {
    for (const listener of this.#listeners) listener({ type: 'terminal.closed', terminalId: 't1' });
    this.gone = true;
  }
}

/** A connection whose queue only drains when the test says so. */
class FakeConnection implements WsConnection {
  readonly protocol = '';
  readonly frames: any[] = [];
  queued = 0;
  closedWith: [number | undefined, string | undefined] | undefined;
  send(text: string) {
    this.queued += text.length;
    this.frames.push(JSON.parse(text));
  }
  close(code?: number, reason?: string) {
    this.closedWith = [code, reason];
  }
  bufferedAmount() {
    return this.queued;
  }
  /** Everything received for t1, checked for gaps and overlaps. */
  received(): { text: string; start: number; contiguous: boolean; next: number } {
    let text = '';
    let start = -1;
    let next = -1;
    let contiguous = true;
    for (const frame of this.frames) {
      if (frame.type !== 'event' || frame.event.type !== 'output.data') continue;
      const data = frame.event.data;
      if (start < 0) start = data.offset;
      else if (data.offset !== next) contiguous = false;
      next = data.next;
      text += data.content;
    }
    return { text, start, contiguous, next };
  }
}

async function setup(capacity = 1 << 20, highWater = 16 * 1024, idleMs = 0) {
  const terminals = new ScriptedTerminals(capacity);
  /** The handlers of the last upgrade, as the runtime's adapter gets them. */
  let upgraded: WsHandlers | undefined;
  const hub = new WsHub({
    platform: {
      runtime: 'node',
      upgradeWebSocket: (_c, { handlers }) => {
        upgraded = handlers;
        return new Response(null);
      },
      log: () => {},
    },
    config: { current: { limits: { wsIdleTimeoutMs: idleMs, wsHighWaterBytes: highWater, scrollbackBytes: capacity } } },
    terminals: terminals as unknown as TerminalManager,
    onShutdown: () => {},
  });
  /** Opens a connection, as the local user or (through an upgrade) as `principal`. */
  const connect = (principal?: Principal) => {
    const connection = new FakeConnection();
    if (principal === undefined) hub.handlers.onOpen(connection);
    else {
      const headers: Record<string, string> = { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-key': 'k', 'sec-websocket-version': '13' };
      void hub.upgrade({ req: { header: (name: string) => headers[name] } } as unknown as Context, principal);
      upgraded!.onOpen(connection);
    }
    return connection;
  };
  const message = (connection: FakeConnection, frame: object) => hub.handlers.onMessage(connection, JSON.stringify(frame));
  const drain = (connection: FakeConnection) => {
    connection.queued = 0;
    hub.handlers.onDrain?.(connection);
  };
  /** Drains the connections round after round until each has every byte emitted, for at most `maxRounds` rounds. */
  const drainAll = (connections: FakeConnection[], maxRounds: number) => {
    for (let round = 0; round < maxRounds && connections.some((c) => c.received().next !== terminals.output.length); round++) {
      for (const connection of connections) drain(connection);
    }
  };
  return { hub, terminals, connect, message, drain, drainAll };
}

const line = (i: number) => `line ${i} ${'x'.repeat(i % 97)}\r\n`;
/** Lets the hub's batch timer run, as the next PTY read would. */
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
/** `count` lines (8000: about 400 KiB, far over the test high-water mark), letting timers run every 40 lines. */
async function emitLines(terminals: ScriptedTerminals, onTick: () => Promise<unknown> = tick, count = 8000): Promise<void> {
  for (let i = 0; i < count; i++) {
    terminals.emit(line(i));
    if (i % 40 === 0) await onTick();
  }
}
/** The hub's live batches: a connection may get up to high-water plus one batch. */
const BATCH = 64 * 1024;

describe('ws hub flow control', () => {
  it('replays from since and continues live with no gap or duplicate at the seam', async () => {
    const { terminals, connect, message, drain } = await setup();
    const live = connect();
    message(live, { type: 'subscribe', terminalId: 't1' });
    for (let i = 0; i < 500; i++) terminals.emit(line(i));
    const since = 1234;
    const late = connect();
    message(late, { type: 'subscribe', terminalId: 't1', since });
    for (let i = 500; i < 6000; i++) {
      terminals.emit(line(i));
      if (i % 25 === 0) await tick();
      if (i % 311 === 0) drain(late); // rarely: late keeps lagging and catching up
      if (i % 5 === 0) drain(live);
    }
    for (let i = 0; i < 100 && (late.received().next !== terminals.output.length || live.received().next !== terminals.output.length); i++) {
      await tick();
      drain(late);
      drain(live);
    }
    expect(live.received()).toEqual({ text: terminals.output, start: 0, contiguous: true, next: terminals.output.length });
    expect(late.received()).toEqual({ text: terminals.output.slice(since), start: since, contiguous: true, next: terminals.output.length });
    expect(late.closedWith).toBeUndefined();
    // It did lag: some of its frames are catch-up reads spanning many batches.
    const frames = (c: FakeConnection) => c.frames.filter((f) => f.event?.type === 'output.data').length;
    expect(frames(late)).toBeLessThan(frames(live));
  });

  it('a subscriber that stops reading pauses, catches up from scrollback on drain, and gets exit after all output', async () => {
    const { terminals, connect, message, drain, drainAll } = await setup();
    const slow = connect();
    const fast = connect();
    message(slow, { type: 'subscribe', terminalId: 't1' });
    message(fast, { type: 'subscribe', terminalId: 't1' });
    await emitLines(terminals, async () => {
      await tick();
      drain(fast);
    });
    terminals.exit();
    drain(fast);
    // The slow one got no more than its high-water mark plus a batch, and no exit yet.
    expect(slow.queued).toBeLessThan(16 * 1024 + BATCH + 200);
    expect(slow.frames.some((f) => f.event?.type === 'terminal.exit')).toBe(false);
    expect(fast.received().text).toBe(terminals.output);
    drainAll([slow], 1000);
    const got = slow.received();
    expect(got.contiguous).toBe(true);
    expect(got.text).toBe(terminals.output);
    const types = slow.frames.filter((f) => f.type === 'event').map((f) => f.event.type);
    expect(types.at(-1)).toBe('terminal.exit');
    expect(slow.closedWith).toBeUndefined();
  });

  it('closes a subscriber with 4008 once it falls further behind than the scrollback holds', async () => {
    const { terminals, connect, message, drain } = await setup(64 * 1024);
    const stalled = connect();
    const fast = connect();
    message(stalled, { type: 'subscribe', terminalId: 't1' });
    message(fast, { type: 'subscribe', terminalId: 't1' });
    await emitLines(
      terminals,
      async () => {
        await tick();
        drain(fast);
      },
      6000,
    );
    await tick();
    expect(stalled.closedWith?.[0]).toBe(4008);
    expect(stalled.closedWith?.[1]).toMatch(/since/);
    expect(stalled.queued).toBeLessThan(16 * 1024 + BATCH + 200);
    expect(fast.received().text).toBe(terminals.output);
    expect(fast.closedWith).toBeUndefined();
  });

  it('reports dropped bytes when since is older than the scrollback', async () => {
    const { terminals, connect, message } = await setup(4096);
    for (let i = 0; i < 200; i++) terminals.emit(line(i));
    const client = connect();
    message(client, { type: 'subscribe', id: 's', terminalId: 't1', since: 0 });
    const ack = client.frames.find((f) => f.id === 's');
    expect(ack.data.dropped).toBe(terminals.output.length - 4096);
    expect(client.received()).toMatchObject({ start: terminals.output.length - 4096, contiguous: true, next: terminals.output.length });
  });

  it('holds terminal.exit for a lagging subscriber until its output is sent', async () => {
    const { terminals, connect, message, drainAll } = await setup();
    const slow = connect();
    message(slow, { type: 'subscribe', terminalId: 't1' });
    await emitLines(terminals);
    terminals.exit();
    expect(slow.frames.some((f) => f.event?.type === 'terminal.exit')).toBe(false);
    drainAll([slow], 100);
    expect(slow.received()).toMatchObject({ text: terminals.output, contiguous: true });
    expect(slow.frames.filter((f) => f.type === 'event').at(-1).event.type).toBe('terminal.exit');
  });

  it('sends a lagging subscriber the rest of the output, then closed, when its terminal is closed', async () => {
    const { terminals, connect, message, drainAll } = await setup();
    const slow = connect();
    const other = connect();
    message(slow, { type: 'subscribe', terminalId: 't1' });
    await emitLines(terminals);
    await tick();
    terminals.exit();
    terminals.close();
    expect(other.frames.at(-1).event.type).toBe('terminal.closed');
    expect(slow.received().next).toBeLessThan(terminals.output.length);
    expect(() => terminals.read('t1')).toThrow(); // gone for everyone else
    drainAll([slow], 100);
    expect(slow.received()).toMatchObject({ text: terminals.output, contiguous: true });
    expect(slow.frames.filter((f) => f.type === 'event').map((f) => f.event.type).slice(-2)).toEqual(['terminal.exit', 'terminal.closed']);
    expect(slow.closedWith).toBeUndefined();
  });

  it('still sends exit and closed to a client that unsubscribes while taking a closed terminal\'s output', async () => {
    const { terminals, connect, message, drain } = await setup();
    const slow = connect();
    message(slow, { type: 'subscribe', terminalId: 't1' });
    await emitLines(terminals);
    await tick();
    terminals.exit();
    terminals.close();
    message(slow, { id: 'u', type: 'unsubscribe', terminalId: 't1' });
    drain(slow);
    const events = slow.frames.filter((f) => f.type === 'event').map((f) => f.event.type);
    expect(events.slice(-2)).toEqual(['terminal.exit', 'terminal.closed']);
    expect(slow.frames.at(-1)).toMatchObject({ id: 'u', success: true });
  });

  it('closes a client with 4008 that takes nothing of a closed terminal\'s output for 10 s', async () => {
    vi.useFakeTimers();
    try {
      const { terminals, connect, message, drain } = await setup();
      const stalled = connect();
      const reading = connect();
      message(stalled, { type: 'subscribe', terminalId: 't1' });
      message(reading, { type: 'subscribe', terminalId: 't1' });
      await emitLines(terminals, async () => {
        await vi.advanceTimersByTimeAsync(1);
        drain(reading);
      });
      terminals.close();
      await vi.advanceTimersByTimeAsync(9_000);
      drain(reading);
      expect(stalled.closedWith).toBeUndefined();
      // Heartbeats alone do not count: only output taken does.
      message(stalled, { id: 'h', type: 'heartbeat' });
      await vi.advanceTimersByTimeAsync(2_000);
      expect(stalled.closedWith?.[0]).toBe(4008);
      expect(stalled.closedWith?.[1]).toMatch(/closed terminal/);
      expect(reading.closedWith).toBeUndefined();
      expect(reading.received()).toMatchObject({ next: terminals.output.length, contiguous: true });
    } finally {
      vi.useRealTimers();
    }
  });

  it('replays a large scrollback in bounded reads and frames', async () => {
    const { terminals, connect, message, drainAll } = await setup(8 << 20, 64 * 1024);
    for (let i = 0; i < 40_000; i++) terminals.emit(line(i));
    const client = connect();
    message(client, { type: 'subscribe', terminalId: 't1', since: 0 });
    drainAll([client], 1000);
    expect(client.received()).toMatchObject({ start: 0, contiguous: true, next: terminals.output.length });
    expect(client.received().text === terminals.output).toBe(true);
    expect(Math.max(...terminals.reads)).toBeLessThanOrEqual(64 * 1024);
    const outputs = client.frames.filter((f) => f.event?.type === 'output.data');
    expect(outputs.length).toBeGreaterThan(terminals.output.length / (64 * 1024));
  });

  it('shares catch-up chunks among subscribers that lag together', async () => {
    const { terminals, connect, message, drainAll } = await setup(8 << 20, 64 * 1024);
    for (let i = 0; i < 20_000; i++) terminals.emit(line(i));
    const clients = [connect(), connect(), connect()];
    // Different starting points inside the first chunk: they converge at its end.
    clients.forEach((client, i) => message(client, { type: 'subscribe', terminalId: 't1', since: i * 1000 }));
    drainAll(clients, 1000);
    clients.forEach((client, i) => expect(client.received().text === terminals.output.slice(i * 1000)).toBe(true));
    const chunks = Math.ceil(terminals.output.length / (256 * 1024));
    // One read per whole chunk; only each client's first (partial) chunk and the last, growing one are its own.
    expect(terminals.reads.filter((n) => n > 1).length).toBeLessThanOrEqual(chunks + 2 * clients.length);
  });

  it('coalesces live output per tick and serialises it once, however many subscribe', async () => {
    const stringified = async (subscribers: number) => {
      const { terminals, connect, message } = await setup();
      const clients = Array.from({ length: subscribers }, () => connect());
      for (const client of clients) message(client, { type: 'subscribe', terminalId: 't1' });
      const spy = vi.spyOn(JSON, 'stringify');
      try {
        for (let i = 0; i < 50; i++) terminals.emit(line(i));
        await tick();
        return spy.mock.calls.length;
      } finally {
        spy.mockRestore();
        for (const client of clients) {
          const outputs = client.frames.filter((f) => f.event?.type === 'output.data');
          expect(outputs.length).toBe(1);
          expect(client.received().text).toBe(terminals.output);
        }
      }
    };
    expect(await stringified(10)).toBe(await stringified(1));
  });

  it('closes a connection that sends no frame within the idle timeout with 4000', async () => {
    vi.useFakeTimers();
    try {
      const { connect, message } = await setup(1 << 20, 16 * 1024, 1000);
      const quiet = connect();
      const chatty = connect();
      for (let t = 0; t < 1500; t += 250) {
        message(chatty, { type: 'heartbeat' });
        await vi.advanceTimersByTimeAsync(250);
      }
      expect(quiet.closedWith?.[0]).toBe(4000);
      expect(chatty.closedWith).toBeUndefined();
    } finally {
      vi.useRealTimers();
    }
  });

  it('closes the connections of a revoked credential with 4001, and no others', async () => {
    const { hub, connect } = await setup();
    const revoked: Principal = { kind: 'named', name: 'ci', hash: 'h1', scope: 'write', terminals: null };
    const a = connect(revoked);
    const b = connect(MAIN);
    const local = connect();
    expect(hub.closeWhere((p) => p === revoked, 4001, 'token revoked')).toBe(1);
    expect(a.closedWith).toEqual([4001, 'token revoked']);
    expect(b.closedWith).toBeUndefined();
    expect(local.closedWith).toBeUndefined();
    expect(a.frames[0]).toMatchObject({ id: 'welcome', success: true });
  });

  it('shuts down with 1001 for every socket, waits for them, and refuses new ones', async () => {
    const { hub, terminals, connect, message } = await setup();
    const clients = [connect(), connect()];
    message(clients[0]!, { type: 'subscribe', terminalId: 't1' });
    terminals.emit('last words');
    const done = hub.shutdown();
    // Pending live output goes out before the close frame.
    expect(clients[0]!.received().text).toBe('last words');
    for (const client of clients) expect(client.closedWith?.[0]).toBe(1001);
    for (const client of clients) hub.handlers.onClose(client, 1001);
    await done;
    expect(hub.size).toBe(0);
    const late = connect();
    expect(late.closedWith?.[0]).toBe(1001);
    expect(late.frames).toEqual([]);
  });
});

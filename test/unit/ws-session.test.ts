/** One WebSocket connection: the control-frame bound, closing with a grace period, idle, the poll timer. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LOCAL } from '../../src/credentials.ts';
import type { WsConnection } from '../../src/platform.ts';
import { CLOSE_GRACE_MS, Session, type SessionHost } from '../../src/ws/session.ts';

const HIGH_WATER = 1024;
const ALLOWANCE = 4 * 1024 * 1024;

class FakeConnection implements WsConnection {
  readonly protocol = '';
  readonly sent: string[] = [];
  queued = 0;
  closedWith: [number | undefined, string | undefined] | undefined;
  terminated = false;
  refuseSend = false;
  refuseClose = false;
  send(text: string) {
    if (this.refuseSend) throw new Error('socket closed');
    this.sent.push(text);
  }
  close(code?: number, reason?: string) {
    if (this.refuseClose) throw new Error('socket closed');
    this.closedWith = [code, reason];
  }
  bufferedAmount() {
    return this.queued;
  }
  terminate() {
    this.terminated = true;
  }
}

function setup() {
  const connection = new FakeConnection();
  const calls: string[] = [];
  const host: SessionHost = {
    limits: () => ({ wsIdleTimeoutMs: 1000, wsHighWaterBytes: HIGH_WATER, scrollbackBytes: 1 << 20 }),
    stopped: () => calls.push('stopped'),
    gone: () => calls.push('gone'),
  };
  return { connection, calls, session: new Session(connection, LOCAL, host) };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('ws session', () => {
  it('always sends control frames, but closes with 4008 once the queue is past high-water plus the allowance', () => {
    const { connection, session } = setup();
    connection.queued = HIGH_WATER + ALLOWANCE;
    session.sendControl('a');
    expect(connection.sent).toEqual(['a']);
    expect(connection.closedWith).toBeUndefined();
    connection.queued++;
    session.sendControl('b');
    expect(connection.sent).toEqual(['a', 'b']);
    expect(connection.closedWith?.[0]).toBe(4008);
    session.sendControl('c');
    expect(connection.sent).toEqual(['a', 'b']);
  });

  it('a socket that refuses a frame counts as closing, and its close event does the rest', () => {
    const { connection, calls, session } = setup();
    connection.refuseSend = true;
    session.send('a');
    expect(session.closing).toBe(true);
    expect(calls).toEqual([]);
    session.close(1001, 'bye');
    expect(connection.closedWith).toBeUndefined();
    session.gone();
    expect(calls).toEqual(['stopped', 'gone']);
  });

  it('drops a peer that does not finish the closing handshake in time', () => {
    const { connection, calls, session } = setup();
    session.close(4001, 'token revoked');
    expect(connection.closedWith).toEqual([4001, 'token revoked']);
    expect(session.closing).toBe(true);
    expect(calls).toEqual(['stopped']);
    vi.advanceTimersByTime(CLOSE_GRACE_MS - 1);
    expect(connection.terminated).toBe(false);
    vi.advanceTimersByTime(1);
    expect(connection.terminated).toBe(true);
    expect(calls).toEqual(['stopped', 'stopped', 'gone']);
    session.gone(); // the close event, late: nothing more
    expect(calls).toEqual(['stopped', 'stopped', 'gone']);
  });

  it('is gone at once when it cannot even send its close frame, and its grace timer never fires', () => {
    const { connection, calls, session } = setup();
    connection.refuseClose = true;
    session.close(1001, 'server shutting down');
    expect(calls.at(-1)).toBe('gone');
    vi.advanceTimersByTime(CLOSE_GRACE_MS);
    expect(connection.terminated).toBe(false);
  });

  it('closes with 4000 only after more than the idle time without a frame', () => {
    const { connection, session } = setup();
    session.closeIfIdle(session.lastSeen + 1000, 1000);
    expect(connection.closedWith).toBeUndefined();
    session.closeIfIdle(session.lastSeen + 1001, 1000);
    expect(connection.closedWith?.[0]).toBe(4000);
    expect(connection.closedWith?.[1]).toMatch(/heartbeat/);
  });

  it('polls once at a time, backing off from 1 ms to 64 ms while the queue stays full', () => {
    const { session } = setup();
    const runs: number[] = [];
    const pump = () => runs.push(Date.now());
    const start = Date.now();
    session.pollLater(pump);
    session.pollLater(pump);
    vi.advanceTimersByTime(1);
    expect(runs).toEqual([start + 1]);
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      session.pumped(false);
      const before = Date.now();
      session.pollLater(pump);
      vi.advanceTimersByTime(64);
      delays.push(runs.at(-1)! - before);
    }
    expect(delays).toEqual([2, 4, 8, 16, 32, 64, 64, 64]);
    session.pumped(true);
    session.pollLater(pump);
    vi.advanceTimersByTime(1);
    expect(runs.length).toBe(10);
  });

  it('cancels its poll when it closes', () => {
    const { session } = setup();
    const pump = vi.fn();
    session.pollLater(pump);
    session.close(1001, 'server shutting down');
    session.pollLater(pump);
    vi.advanceTimersByTime(100);
    expect(pump).not.toHaveBeenCalled();
  });
});

/** One subscription on its own: held lifecycle frames, catching up, the tail of a closed terminal. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { OutputSlice, TerminalManager } from '../../src/terminals/types.ts';
import type { Session } from '../../src/ws/session.ts';
import { Subscription, TAIL_STALL_MS } from '../../src/ws/subscription.ts';

function fakeSession() {
  const sent: string[] = [];
  const session = {
    send: (frame: string) => sent.push(frame),
    sendControl: (frame: string) => sent.push(`control:${frame}`),
    close: vi.fn(),
  };
  return { sent, session, sub: (next: number, end: number) => new Subscription(session as unknown as Session, 't1', next, end) };
}

const slice = (since: number, data: string): OutputSlice => ({ data, since, next: since + data.length, dropped: 0 });

afterEach(() => {
  vi.useRealTimers();
});

describe('ws subscription', () => {
  it('lags from the start when it replays from before the end', () => {
    const { sub } = fakeSession();
    expect(sub(10, 10).lagging).toBe(false);
    expect(sub(3, 10).lagging).toBe(true);
  });

  it('sends held lifecycle frames once the output before them is sent, in order', () => {
    const { sent, sub: make } = fakeSession();
    const sub = make(0, 100);
    expect(sub.hold(50, 'resized')).toBe(true);
    expect(sub.hold(100, 'exit')).toBe(true);
    sub.send('out:0-40', 40);
    expect(sent).toEqual(['out:0-40']);
    sub.send('out:40-60', 60);
    expect(sent).toEqual(['out:0-40', 'out:40-60', 'control:resized']);
    expect(sub.next).toBe(60);
    expect(sub.caughtUp()).toBe(false);
    expect(sub.lagging).toBe(false);
    expect(sent.at(-1)).toBe('control:exit');
  });

  it('refuses to hold more than 1024 lifecycle frames', () => {
    const { sub: make } = fakeSession();
    const sub = make(0, 10);
    for (let i = 0; i < 1024; i++) expect(sub.hold(10, `e${i}`)).toBe(true);
    expect(sub.hold(10, 'one too many')).toBe(false);
  });

  it('closes its connection with 4008, naming where to resume, when it falls behind the scrollback', () => {
    const { session, sub: make } = fakeSession();
    make(1234, 99999).tooFarBehind();
    expect(session.close).toHaveBeenCalledWith(4008, expect.stringMatching(/offset 1234.*since/));
  });

  it('reads from the terminal, then from the kept tail once the terminal is closed, and is done when caught up', () => {
    const { sub: make } = fakeSession();
    const sub = make(5, 20);
    const terminals = { read: vi.fn((_id: string, since: number, max: number) => slice(since, 'x'.repeat(max))) };
    expect(sub.read(terminals as unknown as TerminalManager, 3)).toEqual(slice(5, 'xxx'));
    expect(terminals.read).toHaveBeenCalledWith('t1', 5, 3);
    const tail = vi.fn((since = 0, max = Infinity) => slice(since, 'y'.repeat(Math.min(max, 4))));
    sub.keepTail(tail);
    expect(sub.closedTerminal).toBe(true);
    expect(sub.read(terminals as unknown as TerminalManager, 3)).toEqual(slice(5, 'yyy'));
    expect(terminals.read).toHaveBeenCalledTimes(1);
    expect(sub.caughtUp()).toBe(true);
  });

  it('counts a tail as stalled only after TAIL_STALL_MS without progress', () => {
    vi.useFakeTimers();
    const { sub: make } = fakeSession();
    const sub = make(0, 100);
    expect(sub.tailStalled(0)).toBe(false); // no tail: never
    sub.keepTail(() => slice(0, ''));
    vi.advanceTimersByTime(TAIL_STALL_MS - 1000);
    sub.send('out', 10); // progress restarts the clock
    expect(sub.tailStalled(0)).toBe(false);
    vi.advanceTimersByTime(TAIL_STALL_MS);
    expect(sub.tailStalled(10)).toBe(false);
    vi.advanceTimersByTime(1);
    expect(sub.tailStalled(10)).toBe(true);
    sub.caughtUp();
    expect(sub.tailStalled(10)).toBe(false); // not lagging: nothing owed
  });
});

/**
 * Live output's two paths: output after an idle moment goes out at once (end of
 * the current task), output that keeps coming is coalesced until the timer tick.
 * Offsets stay gapless either way.
 */
import { describe, expect, it } from 'vitest';
import type { CatchUp } from '../../src/ws/catch-up.ts';
import { LiveOutput } from '../../src/ws/live.ts';
import type { Registry } from '../../src/ws/registry.ts';
import type { WsLimits } from '../../src/ws/session.ts';

function setup() {
  const frames: { offset: number; next: number; content: string }[] = [];
  const sub = {
    lagging: false,
    next: 0,
    session: { connection: { bufferedAmount: () => 0 } },
    send(frame: string, next: number) {
      const data = JSON.parse(frame).event.data;
      frames.push({ offset: data.offset, next: data.next, content: data.content });
      sub.next = next;
    },
    lag() {
      throw new Error('should not lag');
    },
  };
  const subs = new Set([sub]);
  const registry = { of: () => subs, setEnd: () => undefined } as unknown as Registry;
  const catchUp = { pump: () => undefined, schedule: () => undefined } as unknown as CatchUp;
  const limits = () => ({ wsHighWaterBytes: 1 << 20, scrollbackBytes: 8 << 20 }) as WsLimits;
  const live = new LiveOutput(registry, catchUp, limits);
  let end = 0;
  const emit = (content: string) => {
    const offset = end;
    end += content.length;
    live.output('t1', content, offset, end);
  };
  return { frames, emit, live };
}

const microtask = () => new Promise<void>((resolve) => queueMicrotask(resolve));
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('LiveOutput', () => {
  it('sends output after an idle moment without waiting for the timer tick', async () => {
    const { frames, emit } = setup();
    emit('a');
    emit('b'); // same task: shares the frame
    expect(frames).toEqual([]);
    await microtask();
    expect(frames).toEqual([{ offset: 0, next: 2, content: 'ab' }]);
    await sleep(5);
    emit('c');
    await microtask();
    expect(frames.at(-1)).toEqual({ offset: 2, next: 3, content: 'c' });
  });

  it('coalesces output that keeps coming until the tick, gapless', async () => {
    const { frames, emit } = setup();
    emit('x'); // idle: goes at once
    await microtask();
    expect(frames.length).toBe(1);
    // Right after a flush: batched.
    emit('y');
    await microtask();
    emit('z');
    await microtask();
    expect(frames.length).toBe(1);
    await tick();
    await tick();
    expect(frames.map((f) => f.content)).toEqual(['x', 'yz']);
    for (let i = 1; i < frames.length; i++) expect(frames[i]!.offset).toBe(frames[i - 1]!.next);
  });

  it('keeps coalescing a streaming terminal after a short gap, until it was quiet for a while', async () => {
    const { frames, emit } = setup();
    const read = 'x'.repeat(4096); // a full PTY read: the program writes faster than it is read
    emit(read);
    await microtask();
    expect(frames.length).toBe(1);
    // Many terminals streaming at once: this one's next read comes more than a millisecond later.
    await sleep(5);
    emit(read);
    await microtask();
    expect(frames.length).toBe(1);
    emit(read);
    await tick();
    await tick();
    expect(frames.map((f) => f.content.length)).toEqual([4096, 8192]);
    // Quiet for longer than a stream pauses: an echo goes at once again.
    await sleep(60);
    emit('e');
    await microtask();
    expect(frames.at(-1)!.content).toBe('e');
    for (let i = 1; i < frames.length; i++) expect(frames[i]!.offset).toBe(frames[i - 1]!.next);
  });

  it('flush() and stop() send what is pending, once', async () => {
    const { frames, emit, live } = setup();
    emit('a');
    live.flush('t1');
    expect(frames).toEqual([{ offset: 0, next: 1, content: 'a' }]);
    await microtask();
    emit('b');
    live.stop();
    await tick();
    expect(frames.map((f) => f.content)).toEqual(['a', 'b']);
  });
});

/**
 * The lifecycle the PTY hosts share (runtimes/pty/lifecycle.ts), driven by
 * hand: the exit waits for the status, the end of the output and a kill in
 * progress, fires once and is replayed to a late listener; kill() and a PTY
 * held open act on a real session (a `setsid`-ed child this test starts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { PtyLifecycle } from '../../runtimes/pty/lifecycle.ts';

/** A host without a PTY: the test reports what a PTY library would. */
class Probe extends PtyLifecycle {
  constructor(readonly pid: number) {
    super();
  }
  write(): void {}
  resize(): void {}
  chunk(bytes: Uint8Array): void {
    this.output(bytes);
  }
  end(): void {
    this.outputEnded();
  }
  exit(code: number | null, signal: number | null = null): void {
    this.childExited(code, signal);
  }
  heldOpen(close: () => void): void {
    this.outputHeldOpen(close);
  }
  get reported(): boolean {
    return this.exitReported;
  }
}

function exits(probe: Probe): [number | null, number | null][] {
  const seen: [number | null, number | null][] = [];
  probe.onExit((code, signal) => seen.push([code, signal]));
  return seen;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A session of its own (detached: setsid), like a PTY child; stopped by pid after each test. */
const children: ChildProcess[] = [];
function session(script = 'sleep 30'): { child: ChildProcess; gone: Promise<NodeJS.Signals | null> } {
  const child = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
  children.push(child);
  const gone = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  return { child, gone };
}
afterEach(() => {
  for (const child of children.splice(0)) {
    try {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

describe('PtyLifecycle', () => {
  it('hands each chunk to every data listener as it is', () => {
    const probe = new Probe(0);
    const got: Uint8Array[][] = [[], []];
    probe.onData((chunk) => got[0]!.push(chunk));
    probe.onData((chunk) => got[1]!.push(chunk));
    const chunk = new Uint8Array([104, 105]);
    probe.chunk(chunk);
    expect(got[0]![0]).toBe(chunk);
    expect(got[1]![0]).toBe(chunk);
  });

  it('reports the exit once, when both the status and the end of the output are in (either order)', () => {
    const first = new Probe(0);
    const seenFirst = exits(first);
    first.exit(7);
    expect(seenFirst).toEqual([]);
    first.end();
    expect(seenFirst).toEqual([[7, null]]);
    expect(first.reported).toBe(true);

    const second = new Probe(0);
    const seenSecond = exits(second);
    second.end();
    expect(seenSecond).toEqual([]);
    second.exit(null, 9);
    second.end();
    second.exit(1);
    expect(seenSecond).toEqual([[null, 9]]);
  });

  it('replays the exit to a listener registered after it', () => {
    const probe = new Probe(0);
    probe.end();
    probe.exit(3);
    expect(exits(probe)).toEqual([[3, null]]);
  });

  it('kill() hangs up the session once; the exit waits until the session is empty', async () => {
    const { child, gone } = session();
    const probe = new Probe(child.pid!);
    const seen = exits(probe);
    probe.kill();
    probe.kill();
    probe.end();
    probe.exit(null, 1);
    expect(seen).toEqual([]); // the hangup is still in progress
    expect(await gone).toBe('SIGHUP');
    for (let waited = 0; seen.length === 0 && waited < 3000; waited += 25) await sleep(25);
    expect(seen).toEqual([[null, 1]]);
  });

  it('kill() after the exit was reported signals no one (the pid may be reused)', async () => {
    const { child } = session();
    const probe = new Probe(child.pid!);
    probe.end();
    probe.exit(0);
    probe.kill();
    await sleep(100);
    expect(child.exitCode).toBeNull();
    expect(child.signalCode).toBeNull();
  });

  it('a PTY held open: ends the session at once, then closes once the output is quiet', async () => {
    const { child, gone } = session();
    const probe = new Probe(child.pid!);
    const seen = exits(probe);
    let closed = 0;
    probe.exit(0);
    probe.heldOpen(() => {
      closed++;
      probe.end();
    });
    probe.heldOpen(() => closed++); // only the first counts
    expect(await gone).toBe('SIGKILL');
    for (let waited = 0; seen.length === 0 && waited < 5000; waited += 25) await sleep(25);
    expect(closed).toBe(1);
    expect(seen).toEqual([[0, null]]);
  });

  it('a PTY held open whose output then ends by itself is not closed', async () => {
    const { child } = session();
    const probe = new Probe(child.pid!);
    const seen = exits(probe);
    let closed = 0;
    probe.exit(0);
    probe.heldOpen(() => closed++);
    probe.end();
    expect(seen).toEqual([[0, null]]);
    await sleep(400); // past the quiet wait (2 × 100 ms)
    expect(closed).toBe(0);
  });

  it('a PTY held open while kill() hangs up leaves the SIGKILL to kill(): the session gets its grace', async () => {
    // The shell ignores SIGHUP, so only endSession's SIGKILL after 0.5 s ends it.
    const { child, gone } = session('trap "" HUP; sleep 30; :');
    await sleep(100); // the trap is set
    const probe = new Probe(child.pid!);
    const seen = exits(probe);
    const started = Date.now();
    probe.kill();
    probe.exit(null, 1);
    probe.heldOpen(() => probe.end());
    expect(await gone).toBe('SIGKILL');
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    for (let waited = 0; seen.length === 0 && waited < 5000; waited += 25) await sleep(25);
    expect(seen).toEqual([[null, 1]]);
  });
});

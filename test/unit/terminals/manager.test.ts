/** The terminal manager over a fake PTY: events, reads and offsets, exit codes, limits, run. */
import { describe, expect, it } from 'vitest';
import { PtyTerminalManager } from '../../../src/terminals/manager.ts';
import type { TerminalEvent } from '../../../src/terminals/types.ts';
import { FakePty } from '../fake-pty.ts';
const encode = (text: string) => new TextEncoder().encode(text);
const SAMPLE = 'aé€😀z'; // 1 + 2 + 3 + 4 + 1 bytes

function fakeManager(scrollbackBytes = 8 * 1024 * 1024) {
  const ptys: FakePty[] = [];
  const manager = new PtyTerminalManager({
    pty: { spawn: (options) => ptys[ptys.push(new FakePty(options)) - 1]! },
    system: {
      interfaceAddresses: () => [],
      defaultShell: () => '/bin/bash',
      homeDir: () => '/home/u',
      baseEnv: () => ({ PATH: '/bin', TERM: 'xterm-256color' }),
      isDirectory: async (path) => path !== '/missing',
      resolveCommand: async (command) => (command === 'nope' ? null : `/bin/${command.replace(/^\/bin\//, '')}`),
      // No files here: shells start without integration, so run uses the marker method.
      installFiles: async () => {
        throw new Error('no files in unit tests');
      },
      foregroundProcess: () => null,
    },
    limits: () => ({ maxTerminals: 3, maxBodyBytes: 1 << 20, maxInputBytes: 16, scrollbackBytes }),
    log: () => {},
  });
  const events: TerminalEvent[] = [];
  manager.subscribe((event) => events.push(event));
  return { manager, ptys, events };
}

describe('PtyTerminalManager (fake PTY)', () => {
  it('creates with defaults and the merged environment', async () => {
    const { manager, ptys, events } = fakeManager();
    const info = await manager.create({ env: { FOO: 'bar' } });
    expect(info).toMatchObject({ command: '/bin/bash', cwd: '/home/u', cols: 80, rows: 24, exited: false, exitCode: null, pid: 4242 });
    expect(ptys[0]!.options.env).toMatchObject({ PATH: '/bin', FOO: 'bar' });
    expect(events[0]).toMatchObject({ type: 'terminal.created', terminalId: info.id });
    await expect(manager.create({ cwd: '/missing' })).rejects.toThrow(/^cwd:/);
    await expect(manager.create({ command: 'nope' })).rejects.toThrow(/^command:/);
  });

  it('events and reads carry whole characters with matching offsets', async () => {
    const { manager, ptys, events } = fakeManager();
    const { id } = await manager.create({});
    const bytes = encode(SAMPLE);
    for (const byte of bytes) ptys[0]!.emit(new Uint8Array([byte]));
    const output = events.filter((event) => event.type === 'output.data');
    expect(output.map((event) => event.content)).toEqual(['a', 'é', '€', '😀', 'z']);
    expect(output.map((event) => [event.offset, event.next])).toEqual([[0, 1], [1, 3], [3, 6], [6, 10], [10, 11]]);
    expect(manager.read(id)).toEqual({ data: SAMPLE, since: 0, next: 11, dropped: 0 });
    expect(manager.read(id, 4)).toMatchObject({ data: '€😀z', since: 3 }); // inside a character: from its start
    expect(manager.read(id, 11)).toEqual({ data: '', since: 11, next: 11, dropped: 0 });
    expect(manager.read(id, 0, 2)).toMatchObject({ data: 'a', next: 1 }); // a limit never splits a character
    expect(() => manager.read(id, 12)).toThrow(/^since:/);
  });

  it('reports what left the scrollback', async () => {
    const { manager, ptys } = fakeManager(1024);
    const { id } = await manager.create({});
    for (let i = 0; i < 100; i++) ptys[0]!.emit(`${String(i).padStart(3, '0')}-line-of-text\n`); // 17 bytes each
    const slice = manager.read(id, 0);
    expect(slice.next).toBe(1700);
    expect(slice.since).toBe(1700 - 1024);
    expect(slice.dropped).toBe(1700 - 1024);
    expect(manager.read(id, 1000).dropped).toBe(0);
  });

  it('captures the exit code, and a signal as 128 + n', async () => {
    const { manager, ptys, events } = fakeManager();
    const a = await manager.create({});
    const b = await manager.create({});
    ptys[0]!.emit(new Uint8Array([0x41, 0xc3])); // exits inside a character: flushed as U+FFFD
    ptys[0]!.exit(3);
    expect(manager.get(a.id)).toMatchObject({ exited: true, exitCode: 3 });
    expect(manager.read(a.id).data).toBe('A\ufffd');
    expect(() => manager.input(a.id, 'x')).toThrow(/has exited/);
    await manager.close(b.id);
    expect(ptys[1]!.killed).toBe(true);
    expect(events.filter((event) => event.type === 'terminal.exit').map((event) => event.exitCode)).toEqual([3, 137]);
    expect(events.at(-1)).toEqual({ type: 'terminal.closed', terminalId: b.id });
    expect(() => manager.get(b.id)).toThrow(/not found/);
  });

  it('limits terminals and input size', async () => {
    const { manager } = fakeManager();
    const { id } = await manager.create({});
    await Promise.all([manager.create({}), manager.create({})]);
    await expect(manager.create({})).rejects.toMatchObject({ code: 'too_many_terminals' });
    expect(() => manager.input(id, 'x'.repeat(17))).toThrow(expect.objectContaining({ code: 'payload_too_large' }));
    expect(() => manager.input(id, 'é'.repeat(9))).toThrow(expect.objectContaining({ code: 'payload_too_large' })); // 18 bytes
    manager.input(id, 'é'.repeat(8));
  });

  it('runs a command, refuses a second one meanwhile, and times out with Ctrl-C', async () => {
    const { manager, ptys } = fakeManager();
    const { id } = await manager.create({});
    const pty = ptys[0]!;
    pty.emit('$ '); // the prompt: a run in a fresh terminal waits for it (briefly) before typing
    const running = manager.run(id, 'echo hi');
    await expect(manager.run(id, 'echo again')).rejects.toMatchObject({ code: 'terminal_busy' });
    const marker = /7770;S;([0-9a-f]+)/.exec(pty.writes[0]!)![1]!;
    pty.emit(`${pty.writes[0]}\r\n\x1b]7770;S;${marker}\x07hi\r\n\x1b]7770;E;${marker};0\x07$ `);
    expect(await running).toMatchObject({ output: 'hi', exitCode: 0, timedOut: false });

    const slow = await manager.run(id, 'sleep 5', 30);
    expect(slow).toMatchObject({ timedOut: true, exitCode: null });
    expect(pty.writes.at(-1)).toBe('\x03');
  });

  it('waits for a fresh shell\'s prompt before typing, and ends a run when the shell exits', async () => {
    const { manager, ptys } = fakeManager();
    const { id } = await manager.create({});
    const pty = ptys[0]!;
    const running = manager.run(id, 'exit 5');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(pty.writes).toEqual([]);
    pty.emit('$ ');
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(pty.writes.length).toBe(1);
    pty.exit(5);
    expect(await running).toMatchObject({ exitCode: 5, timedOut: false });
  });

  it('refuses run in a terminal that is not a shell', async () => {
    const { manager } = fakeManager();
    const { id } = await manager.create({ command: 'python3' });
    await expect(manager.run(id, 'print(1)')).rejects.toMatchObject({ code: 'conflict' });
  });
});

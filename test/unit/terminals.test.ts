/**
 * The terminal manager's byte-stream logic without a real PTY: UTF-8 split
 * across reads, the ring-buffer scrollback and its offsets, `run`'s markers,
 * and the REST validation in front of it (through core.fetch()).
 */
import { describe, expect, it } from 'vitest';
import { ConfigStore } from '../../src/config.ts';
import { Core } from '../../src/core.ts';
import type { Platform, PtyProcess, PtySpawnOptions } from '../../src/platform.ts';
import { Terminals } from '../../src/terminals/manager.ts';
import { RunCollector, cleanOutput, runScript, shellFlavor } from '../../src/terminals/run.ts';
import { Scrollback } from '../../src/terminals/scrollback.ts';
import type { TerminalEvent } from '../../src/terminals/types.ts';
import { Utf8Chunker, completeLength } from '../../src/terminals/utf8.ts';
import { MemoryStorage } from './memory-platform.ts';

const encode = (text: string) => new TextEncoder().encode(text);
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const SAMPLE = 'aé€😀z'; // 1 + 2 + 3 + 4 + 1 bytes

describe('UTF-8 chunking', () => {
  it('holds back only an incomplete trailing character', () => {
    const bytes = encode(SAMPLE);
    const boundaries = new Set([0, 1, 3, 6, 10, 11]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const complete = completeLength(bytes.subarray(0, cut));
      expect(boundaries.has(complete), `cut ${cut}`).toBe(true);
      expect(complete <= cut && cut - complete <= 3).toBe(true);
    }
    expect(completeLength(new Uint8Array([0x41, 0xff]))).toBe(2); // invalid bytes are not held
    expect(completeLength(new Uint8Array([0x80, 0x80, 0x80, 0x80]))).toBe(4);
  });

  it('reassembles text split at every pair of byte positions', () => {
    const bytes = encode(SAMPLE);
    for (let i = 0; i <= bytes.length; i++) {
      for (let j = i; j <= bytes.length; j++) {
        const chunker = new Utf8Chunker();
        const pieces = [bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)].map((piece) => chunker.push(piece));
        expect(chunker.flush().length).toBe(0);
        for (const piece of pieces) expect(decode(piece)).not.toContain('\ufffd');
        expect(pieces.map(decode).join('')).toBe(SAMPLE);
      }
    }
  });

  it('gives up an incomplete tail at flush', () => {
    const chunker = new Utf8Chunker();
    expect(chunker.push(new Uint8Array([0x41, 0xe2, 0x82])).length).toBe(1);
    expect([...chunker.flush()]).toEqual([0xe2, 0x82]);
  });
});

describe('Scrollback', () => {
  it('keeps offsets growing and the newest bytes when it wraps', () => {
    const scrollback = new Scrollback(10);
    scrollback.write(encode('0123456'));
    expect([scrollback.start, scrollback.end]).toEqual([0, 7]);
    scrollback.write(encode('789abc'));
    expect([scrollback.start, scrollback.end]).toEqual([3, 13]);
    expect(decode(scrollback.slice(3, 13))).toBe('3456789abc');
    scrollback.write(encode('0123456789ABCDEFGHIJ')); // larger than the whole buffer
    expect([scrollback.start, scrollback.end]).toEqual([23, 33]);
    expect(decode(scrollback.slice(23, 33))).toBe('ABCDEFGHIJ');
  });

  it('grows on demand up to its capacity', () => {
    const scrollback = new Scrollback(300 * 1024);
    let written = '';
    for (let i = 0; i < 10000; i++) {
      const line = `line ${i} ${'x'.repeat(i % 97)}\n`;
      scrollback.write(encode(line));
      written += line;
    }
    const held = decode(scrollback.slice(scrollback.start, scrollback.end));
    expect(scrollback.end).toBe(encode(written).length);
    expect(scrollback.end - scrollback.start).toBe(300 * 1024);
    expect(written.endsWith(held)).toBe(true);
  });

  it('starts at a whole character after wrapping into one', () => {
    const scrollback = new Scrollback(8);
    scrollback.write(encode('😀😀😀')); // 12 bytes; a plain cut would start inside the second
    expect(scrollback.start).toBe(4);
    expect(decode(scrollback.slice(scrollback.start, scrollback.end))).toBe('😀😀');
    scrollback.write(encode('é')); // 14 bytes written: cut at 6 is inside a character
    expect(scrollback.start).toBe(8);
    expect(decode(scrollback.slice(scrollback.start, scrollback.end))).toBe('😀é');
    expect(scrollback.characterStart(10)).toBe(8);
    expect(scrollback.characterStart(12)).toBe(12);
  });
});

describe('run markers', () => {
  it('knows which commands are shells', () => {
    expect(shellFlavor('/bin/bash')).toBe('posix');
    expect(shellFlavor('zsh')).toBe('posix');
    expect(shellFlavor('-sh')).toBe('posix');
    expect(shellFlavor('/usr/bin/fish')).toBe('fish');
    expect(shellFlavor('/usr/bin/python3')).toBeNull();
  });

  it('finds the output between the markers, never the echoed line', () => {
    const script = runScript('echo hi', 'posix', 'abc123');
    const collector = new RunCollector(script, 1000);
    // What a shell sends back: the echo of the typed line (escapes as text), then the real markers.
    const stream = `$ ${script.input.replace(/\r/g, '\r\n')}` + '\x1b[?2004l\r\x1b]7770;S;abc123\x07hi\r\n\x1b]7770;E;abc123;0\x07$ ';
    for (const ch of stream) collector.push(ch); // one character at a time: markers split everywhere
    expect(collector.done).toBe(true);
    expect(collector.output).toBe('hi');
    expect(collector.exitCode).toBe(0);
    expect(script.input).not.toContain(script.start);
  });

  it('keeps only the newest output when it is long', () => {
    const script = runScript('yes', 'posix', 'id');
    const collector = new RunCollector(script, 100);
    collector.push('\x1b]7770;S;id\x07');
    for (let i = 0; i < 1000; i++) collector.push(`${i}\r\n`);
    collector.push('\x1b]7770;E;id;141\x07');
    expect(collector.exitCode).toBe(141);
    expect(collector.truncated).toBe(true);
    expect(collector.output.endsWith('998\n999')).toBe(true);
    expect(collector.output.length).toBeLessThan(200);
  });

  it('cleans output as $(…) would', () => {
    expect(cleanOutput('a\r\nb\r\n\r\n')).toBe('a\nb');
  });
});

/** A PTY the test drives: it records writes and emits the bytes the test gives it. */
class FakePty implements PtyProcess {
  readonly pid = 4242;
  readonly writes: string[] = [];
  killed = false;
  #data: ((chunk: Uint8Array) => void)[] = [];
  #exit: ((code: number | null, signal: number | null) => void)[] = [];
  constructor(readonly options: PtySpawnOptions) {}
  write(data: string) {
    this.writes.push(data);
  }
  resize() {}
  kill() {
    this.killed = true;
    this.exit(null, 9);
  }
  onData(listener: (chunk: Uint8Array) => void) {
    this.#data.push(listener);
  }
  onExit(listener: (code: number | null, signal: number | null) => void) {
    this.#exit.push(listener);
  }
  emit(bytes: Uint8Array | string) {
    const chunk = typeof bytes === 'string' ? encode(bytes) : bytes;
    for (const listener of this.#data) listener(chunk);
  }
  exit(code: number | null, signal: number | null = null) {
    for (const listener of this.#exit.splice(0)) listener(code, signal);
  }
}

function fakeManager(scrollbackBytes = 8 * 1024 * 1024) {
  const ptys: FakePty[] = [];
  const manager = new Terminals({
    pty: { spawn: (options) => ptys[ptys.push(new FakePty(options)) - 1]! },
    system: {
      interfaceAddresses: () => [],
      defaultShell: () => '/bin/bash',
      homeDir: () => '/home/u',
      baseEnv: () => ({ PATH: '/bin', TERM: 'xterm-256color' }),
      isDirectory: async (path) => path !== '/missing',
      resolveCommand: async (command) => (command === 'nope' ? null : `/bin/${command.replace(/^\/bin\//, '')}`),
    },
    limits: () => ({ maxTerminals: 3, maxBodyBytes: 1 << 20, maxInputBytes: 16, scrollbackBytes }),
    log: () => {},
  });
  const events: TerminalEvent[] = [];
  manager.subscribe((event) => events.push(event));
  return { manager, ptys, events };
}

describe('Terminals (fake PTY)', () => {
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
    await expect(manager.run(id, 'echo again')).rejects.toMatchObject({ code: 'conflict' });
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

describe('terminals REST validation', () => {
  async function core() {
    const storage = new MemoryStorage();
    const platform: Platform = {
      runtime: 'node',
      listen: async (_host, port) => ({ port, close: async () => {} }),
      storage,
      system: {
        interfaceAddresses: () => [],
        defaultShell: () => '/bin/sh',
        homeDir: () => '/tmp',
        baseEnv: () => ({}),
        isDirectory: async (path) => path === '/tmp',
        resolveCommand: async (command) => (command === 'sh' || command === '/bin/sh' ? '/bin/sh' : null),
      },
      pty: { spawn: (options) => new FakePty(options) },
      upgradeWebSocket: () => new Response(null, { status: 500 }),
      log: () => {},
    };
    const instance = new Core({ platform, config: await ConfigStore.open(storage, false) });
    await instance.start('127.0.0.1', 42031);
    return (path: string, method = 'GET', body?: string) =>
      instance.fetch(new Request(`http://127.0.0.1:42031${path}`, { method, body, headers: { host: '127.0.0.1:42031' } }));
  }

  it('answers 400 naming the field, 404 for unknown ids', async () => {
    const request = await core();
    const cases: [string, string, string | undefined, number, RegExp][] = [
      ['/api/terminals', 'POST', '{', 400, /^body/],
      ['/api/terminals', 'POST', '{"cols":"wide"}', 400, /^cols/],
      ['/api/terminals', 'POST', '{"cols":1001}', 400, /^cols/],
      ['/api/terminals', 'POST', '{"rows":0}', 400, /^rows/],
      ['/api/terminals', 'POST', '{"shell":"bash"}', 400, /shell/],
      ['/api/terminals', 'POST', '{"env":{"A":1}}', 400, /^env/],
      ['/api/terminals', 'POST', '{"args":"-l"}', 400, /^args/],
      ['/api/terminals', 'POST', '{"cwd":"/nowhere"}', 400, /^cwd/],
      ['/api/terminals', 'POST', '{"command":"nosuch"}', 400, /^command/],
      ['/api/terminals/zzz', 'GET', undefined, 404, /zzz/],
      ['/api/terminals/zzz', 'DELETE', undefined, 404, /zzz/],
      ['/api/terminals/zzz/input', 'POST', '{"data":"x"}', 404, /zzz/],
      ['/api/terminals/zzz/output', 'GET', undefined, 404, /zzz/],
    ];
    for (const [path, method, body, status, message] of cases) {
      const response = await request(path, method, body);
      const json = (await response.json()) as { error: { code: string; message: string } };
      expect(response.status, `${method} ${path} ${body}`).toBe(status);
      expect(json.error.message, `${method} ${path} ${body}`).toMatch(message);
    }
    const created = await request('/api/terminals', 'POST', '{"command":"sh","cols":100,"rows":30}');
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    for (const [path, method, body, field] of [
      [`/api/terminals/${id}/output?since=abc`, 'GET', undefined, 'since'],
      [`/api/terminals/${id}/output?since=-1`, 'GET', undefined, 'since'],
      [`/api/terminals/${id}/output?since=5`, 'GET', undefined, 'since'],
      [`/api/terminals/${id}/input`, 'POST', '{"data":5}', 'data'],
      [`/api/terminals/${id}/resize`, 'POST', '{"cols":10}', 'rows'],
      [`/api/terminals/${id}/run`, 'POST', '{"command":"  "}', 'command'],
      [`/api/terminals/${id}/run`, 'POST', '{"command":"ls","timeoutMs":0}', 'timeoutMs'],
    ] as const) {
      const response = await request(path, method, body);
      expect(response.status, path).toBe(400);
      expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(new RegExp(`^${field}`));
    }
    expect((await request(`/api/terminals/${id}/output?since=0`)).status).toBe(200);
  });
});

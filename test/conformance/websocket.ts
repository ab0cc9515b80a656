/**
 * the /ws stream on a real server per runtime —
 * gate on the handshake, frames, replay exactness, backpressure, shutdown.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig, serializeConfig } from '../../src/config.ts';
import { savedConfig, startServer, tempHome, type RunningServer } from '../harness.ts';
import { bearer, raw } from '../http.ts';
import { rawUpgrade, TestSocket, wsUrl } from '../ws-client.ts';
import type { Target } from './suite.ts';

const tokenOf = (server: RunningServer): string => savedConfig(server).authToken;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The server process's resident memory in bytes (Linux). */
function rssOf(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match![1]) * 1024;
}

/** What `head -c N /dev/zero | base64` prints through a PTY: 76-character lines ending in \r\n. */
function base64PtyBytes(n: number): number {
  const chars = Math.ceil(n / 3) * 4;
  return chars + 2 * Math.ceil(chars / 76);
}

/** What `seq FROM TO` prints through a PTY (which turns \n into \r\n). */
function seqOutput(from: number, to: number): string {
  const lines: string[] = [];
  for (let i = from; i <= to; i++) lines.push(`${i}\r\n`);
  return lines.join('');
}

export function websocketChecks({ runtime }: Target): void {
  let local: RunningServer;
  let exposed: RunningServer;
  /** Short idle timeout, for the idle and shutdown checks. */
  let tuned: RunningServer;
  let tunedHome: string;

  const open = (server: RunningServer, options: Parameters<typeof TestSocket.open>[1] = {}, path = '/ws') =>
    TestSocket.open(wsUrl(server.url, path), options);

  describe('websocket', () => {
    beforeAll(async () => {
      tunedHome = tempHome();
      const config = defaultConfig(false);
      config.limits.wsIdleTimeoutMs = 400;
      writeFileSync(join(tunedHome, 'config.json'), serializeConfig(config), { mode: 0o600 });
      [local, exposed, tuned] = await Promise.all([
        startServer(runtime),
        startServer(runtime, { host: '0.0.0.0' }),
        startServer(runtime, { home: tunedHome }),
      ]);
    });
    afterAll(async () => {
      await Promise.all([local?.stop(), exposed?.stop(), tuned?.stop()]);
      rmSync(tunedHome, { recursive: true, force: true });
    });

    describe('connection', () => {
      it('sends the welcome frame with the runtime as mode, on /ws and /api/ws', async () => {
        for (const path of ['/ws', '/api/ws']) {
          const socket = await open(local, {}, path);
          const welcome = await socket.waitFor((f) => f.id === 'welcome');
          expect(welcome).toEqual({ id: 'welcome', success: true, data: { version: expect.stringMatching(/^\d+\.\d+\.\d+/), mode: runtime } });
          await socket.close();
        }
      });

      it('answers heartbeats, with and without an id', async () => {
        const socket = await open(local);
        const answer = await socket.request({ type: 'heartbeat' });
        expect(answer).toMatchObject({ type: 'heartbeat', success: true });
        expect(Date.parse(answer.data.time)).not.toBeNaN();
        socket.send({ type: 'heartbeat' });
        await socket.waitFor((f) => f.type === 'heartbeat' && f.id === null);
        await socket.close();
      });

      it('answers malformed and unknown frames with an error frame and stays up', async () => {
        const socket = await open(local);
        const cases: [string | Buffer, RegExp, unknown][] = [
          ['not json', /^frame: not valid JSON/, null],
          ['[1,2]', /^frame: must be a JSON object/, null],
          ['{"id":"a"}', /^type: required/, 'a'],
          ['{"id":"b","type":"dance"}', /^type: unknown frame type "dance"/, 'b'],
          ['{"id":"c","type":"subscribe"}', /^terminalId: /, 'c'],
          ['{"id":"d","type":"subscribe","terminalId":"x","since":-1}', /^since: /, 'd'],
          ['{"id":"e","type":"command","command":"terminal.fly"}', /^command: unknown command "terminal.fly"/, 'e'],
          ['{"id":"f","type":"command","command":"terminal.create","params":{"cols":0,"rows":5}}', /^cols: /, 'f'],
          ['{"id":"g","type":"command","command":"terminal.list","params":{"bogus":1}}', /^bogus: unknown field/, 'g'],
          [Buffer.from([0xff, 0xfe, 0x00]), /^frame: binary frame is not valid UTF-8/, null],
        ];
        for (const [frame, message, id] of cases) {
          socket.send(frame);
          const answer = await socket.waitFor((f) => f.success === false && message.test(f.error.message), 5000, String(message));
          expect(answer.id, String(message)).toEqual(id);
          expect(answer.error.code).toBe('bad_request');
          // Answers to heartbeat, subscribe and unsubscribe carry the type, failed ones too.
          const type = typeof frame === 'string' && /"type":"(subscribe|unsubscribe|heartbeat)"/.exec(frame)?.[1];
          expect(answer.type, String(message)).toBe(type || undefined);
        }
        expect(await socket.request({ type: 'heartbeat' })).toMatchObject({ success: true });
        await socket.close();
      });

      it('runs a command without an id unanswered, and answers its failure with type "command" naming it', async () => {
        const socket = await open(local);
        const terminal = await socket.command('terminal.create', { command: 'cat' });
        await socket.request({ type: 'subscribe', terminalId: terminal.id });
        const before = socket.frames.length;
        socket.send({ type: 'command', command: 'terminal.input', params: { terminalId: terminal.id, data: 'quiet\n' } });
        await socket.outputUntil(terminal.id, (received) => received.text.includes('quiet'));
        // A heartbeat's answer comes after anything the input could have been answered with.
        const heartbeat = await socket.request({ type: 'heartbeat' });
        expect(socket.frames.slice(before).filter((f) => 'success' in f)).toEqual([heartbeat]);
        const failures: [object | string, RegExp, string][] = [
          [{ type: 'command', command: 'terminal.input', params: { terminalId: 'nope', data: 'x' } }, /^terminal\.input: terminal "nope" not found/, 'not_found'],
          [{ type: 'command', command: 'terminal.fly' }, /^terminal\.fly: command: unknown command/, 'bad_request'],
          ['{"id":{},"type":"command","command":"terminal.list"}', /^terminal\.list: id: a string/, 'bad_request'],
          ['{"type":"command","command":"terminal.input","params":"x"}', /^terminal\.input: params: /, 'bad_request'],
        ];
        for (const [frame, message, code] of failures) {
          socket.send(frame);
          const answer = await socket.waitFor((f) => f.success === false && message.test(f.error.message), 5000, String(message));
          expect(answer).toMatchObject({ id: null, type: 'command', error: { code } });
        }
        await socket.command('terminal.close', { terminalId: terminal.id });
        await socket.close();
      });

      it('answers a plain GET on /ws with 400', async () => {
        const response = await raw(`${local.url}/ws`);
        expect(response.status).toBe(400);
        expect(response.json().error.code).toBe('bad_request');
      });

      it('closes connections that send nothing for the idle timeout, and keeps those that heartbeat', async () => {
        const [silent, beating] = await Promise.all([open(tuned), open(tuned)]);
        const timer = setInterval(() => beating.send({ type: 'heartbeat' }), 100);
        try {
          const closed = await Promise.race([silent.closed, sleep(3000).then(() => null)]);
          expect(closed?.code).toBe(4000);
          await sleep(500);
          expect(beating.ws.readyState).toBe(beating.ws.OPEN);
        } finally {
          clearInterval(timer);
        }
        await beating.close();
      });
    });

    describe('upgrade gate, local mode', () => {
      it('accepts without a token and selects termgate.v1 when offered', async () => {
        const socket = await open(local, { protocols: ['termgate.v1'] });
        expect(socket.ws.protocol).toBe('termgate.v1');
        await socket.waitFor((f) => f.id === 'welcome');
        await socket.close();
      });

      it('refuses a foreign Origin and a foreign Host before the upgrade, accepts its own origin', async () => {
        // A broken handshake is a 400 on every runtime (not a 500, not a hang).
        for (const broken of [{ 'sec-websocket-key': '' }, { 'sec-websocket-version': '8' }]) {
          expect((await rawUpgrade(`${local.url}/ws`, broken)).status, JSON.stringify(broken)).toBe(400);
        }
        const origin = await rawUpgrade(`${local.url}/ws`, { origin: 'http://evil.example' });
        expect(origin.status).toBe(403);
        const host = await rawUpgrade(`${local.url}/ws`, { host: 'evil.example' });
        expect(host.status).toBe(403);
        const own = await rawUpgrade(`${local.url}/ws`, { origin: `http://127.0.0.1:${local.port}` });
        expect(own.status).toBe(101);
      });
    });

    describe('upgrade gate, exposed mode', () => {
      it('refuses an upgrade without a valid token with 401 before it completes', async () => {
        for (const headers of [{}, { 'sec-websocket-protocol': 'termgate.v1' }, { 'sec-websocket-protocol': 'bearer.wrong' }, bearer('wrong')]) {
          const response = await rawUpgrade(`${exposed.url}/ws`, headers);
          expect(response.status, JSON.stringify(headers)).toBe(401);
          expect(String(response.headers['www-authenticate'])).toMatch(/Bearer realm="termgate"/);
        }
        expect((await rawUpgrade(`${exposed.url}/ws?token=wrong`)).status).toBe(401);
        await expect(open(exposed)).rejects.toThrow(/401/);
      });

      it('refuses a foreign Origin and a foreign Host even with a valid token', async () => {
        const token = tokenOf(exposed);
        expect((await rawUpgrade(`${exposed.url}/ws?token=${token}`, { origin: 'http://evil.example' })).status).toBe(403);
        expect((await rawUpgrade(`${exposed.url}/ws?token=${token}`, { host: 'evil.example' })).status).toBe(403);
      });

      it('accepts ?token=, an Authorization header, and bearer.<token> alone (echoed)', async () => {
        const token = tokenOf(exposed);
        const byQuery = await open(exposed, {}, `/ws?token=${token}`);
        await byQuery.waitFor((f) => f.id === 'welcome');
        await byQuery.close();
        const byHeader = await open(exposed, { headers: bearer(token) });
        await byHeader.waitFor((f) => f.id === 'welcome');
        await byHeader.close();
        const byProtocol = await open(exposed, { protocols: [`bearer.${token}`] });
        expect(byProtocol.ws.protocol).toBe(`bearer.${token}`);
        await byProtocol.waitFor((f) => f.id === 'welcome');
        await byProtocol.close();
      });

      it('answers termgate.v1 when offered with bearer.<token>, so the secret is not echoed; lists with and without spaces', async () => {
        const token = tokenOf(exposed);
        const socket = await open(exposed, { protocols: ['termgate.v1', `bearer.${token}`] });
        expect(socket.ws.protocol).toBe('termgate.v1');
        await socket.waitFor((f) => f.id === 'welcome');
        await socket.close();
        for (const list of [`termgate.v1, bearer.${token}`, `termgate.v1,bearer.${token}`, `bearer.${token},termgate.v1`]) {
          const response = await rawUpgrade(`${exposed.url}/ws`, { 'sec-websocket-protocol': list });
          expect(response.status, list).toBe(101);
          expect(response.headers['sec-websocket-protocol'], list).toBe('termgate.v1');
          expect(JSON.stringify(response.headers)).not.toContain(token);
        }
        for (const list of [`bearer.${token}`, `other, bearer.${token}`, `other,bearer.${token}`]) {
          const response = await rawUpgrade(`${exposed.url}/ws`, { 'sec-websocket-protocol': list });
          expect(response.status, list).toBe(101);
          expect(response.headers['sec-websocket-protocol'], list).toBe(`bearer.${token}`);
        }
      });

      it('keeps an open socket alive across token rotation; the old token then fails', async () => {
        const old = tokenOf(exposed);
        const socket = await open(exposed, { protocols: ['termgate.v1', `bearer.${old}`] });
        await socket.waitFor((f) => f.id === 'welcome');
        const rotated = await raw(`${exposed.url}/api/auth/rotate`, { method: 'POST', headers: bearer(old) });
        expect(rotated.status).toBe(200);
        const fresh = rotated.json().token as string;
        expect(await socket.request({ type: 'heartbeat' })).toMatchObject({ success: true });
        expect(socket.ws.readyState).toBe(socket.ws.OPEN);
        expect((await rawUpgrade(`${exposed.url}/ws`, { 'sec-websocket-protocol': `termgate.v1, bearer.${old}` })).status).toBe(401);
        expect((await rawUpgrade(`${exposed.url}/ws`, { 'sec-websocket-protocol': `termgate.v1, bearer.${fresh}` })).status).toBe(101);
        await socket.close();
      });
    });

    describe('terminals over the socket', () => {
      it('subscribes and receives a command\'s output, then its exit code, in order', async () => {
        const [socket, other] = await Promise.all([open(local), open(local)]);
        const terminal = await socket.command('terminal.create', {
          command: 'sh',
          args: ['-c', 'read line; echo "got:$line"; exit 3'],
        });
        expect(terminal).toMatchObject({ id: expect.any(String), command: 'sh', exited: false });
        expect((await other.event('terminal.created', terminal.id)).event.data.id).toBe(terminal.id);
        const ack = await socket.request({ type: 'subscribe', terminalId: terminal.id, since: 0 });
        expect(ack).toMatchObject({ type: 'subscribe', success: true, data: { terminalId: terminal.id, since: 0, dropped: 0 } });
        await socket.command('terminal.input', { terminalId: terminal.id, data: 'hello\n' });
        const exit = await socket.event('terminal.exit', terminal.id);
        expect(exit.event.data.exitCode).toBe(3);
        // Exit comes after every byte: the output is complete when it arrives.
        const received = socket.output.get(terminal.id)!;
        expect(received.text).toContain('got:hello\r\n');
        expect(received.contiguous).toBe(true);
        expect(received.start).toBe(0);
        const read = await socket.command('terminal.read', { terminalId: terminal.id, since: 0 });
        expect(received.text).toBe(read.data);
        expect(received.next).toBe(read.next);
        await socket.command('terminal.close', { terminalId: terminal.id });
        await Promise.all([socket.close(), other.close()]);
      });

      it('runs command frames with correlated answers: create, list, get, input, resize, read, run, close', async () => {
        const socket = await open(local);
        const terminal = await socket.command('terminal.create', {
          command: 'sh',
          args: ['-c', 'while read line; do stty size; done'],
          cols: 80,
          rows: 24,
          name: 'ws-commands',
        });
        expect(terminal).toMatchObject({ name: 'ws-commands', cols: 80, rows: 24 });
        expect((await socket.command('terminal.list')).terminals.map((t: { id: string }) => t.id)).toContain(terminal.id);
        expect(await socket.command('terminal.get', { terminalId: terminal.id })).toMatchObject({ id: terminal.id });
        await socket.request({ type: 'subscribe', terminalId: terminal.id });
        expect(await socket.command('terminal.resize', { terminalId: terminal.id, cols: 100, rows: 30 })).toMatchObject({ id: terminal.id, cols: 100, rows: 30 });
        await socket.event('terminal.resized', terminal.id);
        await socket.command('terminal.input', { terminalId: terminal.id, data: '\n' });
        await socket.outputUntil(terminal.id, (r) => r.text.includes('30 100'));
        const read = await socket.command('terminal.read', { terminalId: terminal.id });
        expect(read.data).toContain('30 100');

        const unknown = await socket.request({ type: 'command', command: 'terminal.input', params: { terminalId: 'nope', data: 'x' } });
        expect(unknown).toMatchObject({ success: false, error: { code: 'not_found' } });
        const notSubscribed = await socket.request({ type: 'subscribe', terminalId: 'nope' });
        expect(notSubscribed).toMatchObject({ type: 'subscribe', success: false, error: { code: 'not_found' } });

        const shell = await socket.command('terminal.create', { command: 'sh' });
        const run = await socket.command('terminal.run', { terminalId: shell.id, command: 'echo run-ok; (exit 5)' }, 20_000);
        expect(run).toMatchObject({ exitCode: 5, timedOut: false });
        expect(run.output).toContain('run-ok');

        expect(await socket.command('terminal.close', { terminalId: terminal.id })).toEqual({ terminalId: terminal.id, closed: true });
        await socket.event('terminal.closed', terminal.id);
        const gone = await socket.request({ type: 'command', command: 'terminal.get', params: { terminalId: terminal.id } });
        expect(gone).toMatchObject({ success: false, error: { code: 'not_found' } });
        expect(await socket.request({ type: 'unsubscribe', terminalId: terminal.id })).toMatchObject({ success: true });
        await socket.command('terminal.close', { terminalId: shell.id });
        await socket.close();
      });

      it('replays exactly from a since taken mid-stream: seq 1 200000, no gap, no duplicate', async () => {
        const producer = await open(local);
        // 40 bursts of 5000 lines, so subscribers join while output is flowing.
        const script = 'i=0; while [ $i -lt 40 ]; do seq $((i*5000+1)) $(((i+1)*5000)); i=$((i+1)); sleep 0.02; done';
        const expected = seqOutput(1, 200_000);
        const terminal = await producer.command('terminal.create', { command: 'sh', args: ['-c', script] });
        await producer.request({ type: 'subscribe', terminalId: terminal.id, since: 0 });
        const first = await producer.outputUntil(terminal.id, (r) => r.next >= 300_000, 20_000);
        const mid = first.next;
        const odd = mid - 7; // inside a line: any byte offset is a valid resume point for ASCII
        const [a, b] = await Promise.all([open(local), open(local)]);
        const [ackA, ackB] = await Promise.all([
          a.request({ type: 'subscribe', terminalId: terminal.id, since: mid }),
          b.request({ type: 'subscribe', terminalId: terminal.id, since: odd }),
        ]);
        expect(ackA.data).toMatchObject({ since: mid, dropped: 0 });
        expect(ackB.data).toMatchObject({ since: odd, dropped: 0 });
        expect(ackA.data.next).toBeLessThan(expected.length); // joined while the command was still printing
        await Promise.all([
          producer.event('terminal.exit', terminal.id, 30_000),
          a.event('terminal.exit', terminal.id, 30_000),
          b.event('terminal.exit', terminal.id, 30_000),
        ]);
        const all = producer.output.get(terminal.id)!;
        expect(all.contiguous).toBe(true);
        expect(all.text.length).toBe(expected.length);
        expect(all.text === expected).toBe(true);
        for (const [socket, since] of [
          [a, mid],
          [b, odd],
        ] as const) {
          const received = socket.output.get(terminal.id)!;
          expect(received.start).toBe(since);
          expect(received.contiguous).toBe(true);
          expect(received.next).toBe(expected.length);
          expect(received.text === expected.slice(since)).toBe(true);
        }
        const beyond = await a.request({ type: 'subscribe', terminalId: terminal.id, since: expected.length + 10 });
        expect(beyond).toMatchObject({ success: false, error: { code: 'bad_request', message: expect.stringMatching(/^since: /) } });
        await producer.command('terminal.close', { terminalId: terminal.id });
        await Promise.all([producer.close(), a.close(), b.close()]);
      });

      it('bounds a stalled client: 200 MB through a terminal, server RSS +<64 MB, another subscriber gets every byte', async () => {
        const control = await open(local);
        // No echo, and two waits: a warm-up stream first, then the measured one.
        const terminal = await control.command('terminal.create', {
          command: 'sh',
          args: ['-c', 'stty -echo; printf R; read a; head -c 50000000 /dev/zero | base64; read b; head -c 150000000 /dev/zero | base64'],
        });
        // "R" (1 byte) says echo is off, so the lines we send are not echoed into the count.
        const warmBytes = 1 + base64PtyBytes(50_000_000);
        const expectedBytes = warmBytes + base64PtyBytes(150_000_000);

        let next = 0;
        let contiguous = true;
        const reader = await open(local, {
          onOutputOffsets: (offset, end) => {
            if (offset !== next) contiguous = false;
            next = end;
          },
        });
        await reader.request({ type: 'subscribe', terminalId: terminal.id, since: 0 });
        for (let i = 0; next < 1 && i < 500; i++) await sleep(10);
        // Warm-up: streaming at full speed grows any runtime's heap to its working size
        // (30-70 MB on Bun and Deno, with or without a stalled client). The baseline is
        // taken after it, so the figure below is what the stalled client costs.
        await control.command('terminal.input', { terminalId: terminal.id, data: 'a\n' });
        for (let i = 0; next < warmBytes && i < 3000; i++) await sleep(20);
        expect(next).toBe(warmBytes);

        const stalled = await open(local);
        await stalled.request({ type: 'subscribe', terminalId: terminal.id });
        // Never read again: the kernel buffers fill, then the server's queue.
        (stalled.ws as unknown as { _socket: { pause(): void } })._socket.pause();

        const pid = local.process.pid!;
        const baseline = rssOf(pid);
        let peak = baseline;
        const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 50);
        try {
          await control.command('terminal.input', { terminalId: terminal.id, data: 'b\n' });
          await reader.event('terminal.exit', terminal.id, 120_000);
        } finally {
          clearInterval(sampler);
        }
        console.log(`[${runtime}] stalled client: server RSS ${baseline >> 20} MB -> peak ${peak >> 20} MB while streaming ${(next - warmBytes) >> 20} MB`);
        expect(contiguous).toBe(true);
        expect(next).toBe(expectedBytes);
        expect(peak - baseline, `RSS went from ${baseline >> 20} MB to ${peak >> 20} MB`).toBeLessThan(64 * 1024 * 1024);

        // The stalled client was cut off (4008, or 1006 once the server dropped the socket).
        (stalled.ws as unknown as { _socket: { resume(): void } })._socket.resume();
        const { code } = await Promise.race([stalled.closed, sleep(10_000).then(() => ({ code: -1, reason: '' }))]);
        expect([4008, 1006]).toContain(code);
        expect(reader.ws.readyState).toBe(reader.ws.OPEN);
        await control.command('terminal.close', { terminalId: terminal.id });
        await Promise.all([control.close(), reader.close()]);
      }, 150_000);

      it('sends a client that is behind the rest of the output when its terminal is deleted', async () => {
        // A small send queue and a scrollback that holds the whole stream, so the paused
        // client is behind (far past the kernel's buffers) yet can still be made whole.
        const home = tempHome();
        const config = defaultConfig(false);
        config.limits.wsHighWaterBytes = 16 * 1024;
        config.limits.scrollbackBytes = 32 * 1024 * 1024;
        writeFileSync(join(home, 'config.json'), serializeConfig(config), { mode: 0o600 });
        const server = await startServer(runtime, { home });
        try {
          const control = await open(server);
          const terminal = await control.command('terminal.create', {
            command: 'sh',
            args: ['-c', 'stty -echo; printf R; read a; head -c 12000000 /dev/zero | base64; read b'],
          });
          const expectedBytes = 1 + base64PtyBytes(12_000_000);
          let next = 0;
          const reader = await open(server, { onOutputOffsets: (_offset, end) => (next = end) });
          await reader.request({ type: 'subscribe', terminalId: terminal.id, since: 0 });
          const behind = await open(server);
          await behind.request({ type: 'subscribe', terminalId: terminal.id, since: 0 });
          (behind.ws as unknown as { _socket: { pause(): void } })._socket.pause();

          // "R" comes after `stty -echo`: typed before it, "a" would be echoed (3 bytes more, seen on a busy machine).
          for (let i = 0; next < 1 && i < 500; i++) await sleep(10);
          await control.command('terminal.input', { terminalId: terminal.id, data: 'a\n' });
          for (let i = 0; next < expectedBytes && i < 3000; i++) await sleep(20);
          expect(next).toBe(expectedBytes);
          await control.command('terminal.close', { terminalId: terminal.id });

          (behind.ws as unknown as { _socket: { resume(): void } })._socket.resume();
          await behind.event('terminal.closed', terminal.id, 30_000);
          const received = behind.output.get(terminal.id)!;
          expect(received.start).toBe(0);
          expect(received.contiguous).toBe(true);
          expect(received.next).toBe(expectedBytes);
          await Promise.all([control.close(), reader.close(), behind.close()]);
        } finally {
          await server.stop();
          rmSync(home, { recursive: true, force: true });
        }
      }, 60_000);
    });

    describe('shutdown', () => {
      it('closes open sockets with 1001 on SIGTERM', async () => {
        const socket = await open(tuned);
        await socket.waitFor((f) => f.id === 'welcome');
        const [closed] = await Promise.all([socket.closed, tuned.stop()]);
        expect(closed.code).toBe(1001);
      });
    });
  });
}

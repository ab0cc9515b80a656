/**
 * Terminals against a real server: real PTYs, scrollback offsets, `run`, exit
 * without loss, UTF-8 across reads, validation, and no process left behind.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, tempHome, type RunningServer } from '../harness.ts';
import { jsonCalls, raw, type RawResponse } from '../http.ts';
import type { OutputSlice as Slice, TerminalInfo } from '../../src/terminals/types.ts';
import type { Target } from './suite.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A small client for one server. */
function client(server: () => RunningServer) {
  const { call, ok } = jsonCalls(() => `${server().url}/api/terminals`);
  return {
    call,
    ok,
    create: (body: object = {}) => ok<TerminalInfo>('POST', '', body, 201),
    get: (id: string) => ok<TerminalInfo>('GET', `/${id}`),
    input: (id: string, data: string) => ok('POST', `/${id}/input`, { data }),
    remove: (id: string) => ok('DELETE', `/${id}`, undefined, 204),
    read: (id: string, since?: number) => ok<Slice>('GET', `/${id}/output${since === undefined ? '' : `?since=${since}`}`),
    run: (id: string, command: string, timeoutMs?: number) =>
      ok<{ output: string; exitCode: number | null; timedOut: boolean; durationMs: number }>('POST', `/${id}/run`, { command, timeoutMs }),

    /**
     * Follows a terminal with output?since= until `done(text)` holds (or, with
     * untilExit, until it exited and everything was read). Checks on the way
     * that each answer starts where the last one ended: no gap, no repeat.
     */
    async follow(
      id: string,
      options: { since?: number; until?: (text: string) => boolean; untilExit?: boolean; timeoutMs?: number; onSlice?: (slice: Slice) => void } = {},
    ) {
      const deadline = Date.now() + (options.timeoutMs ?? 20_000);
      let text = '';
      let since = options.since ?? 0;
      for (;;) {
        const slice = await ok<Slice>('GET', `/${id}/output?since=${since}`);
        expect(slice.since).toBe(since);
        expect(slice.dropped).toBe(0);
        options.onSlice?.(slice);
        text += slice.data;
        since = slice.next;
        if (options.until?.(text)) return { text, next: since };
        if (options.untilExit && slice.data === '') {
          const info = await ok<TerminalInfo>('GET', `/${id}`);
          // Exited and read up to the end as it stood after the exit: nothing can follow.
          if (info.exited && (await ok<Slice>('GET', `/${id}/output?since=${since}`)).data === '') return { text, next: since, info };
        }
        if (Date.now() > deadline) throw new Error(`follow ${id}: timed out; got ${JSON.stringify(text.slice(-300))}`);
        if (slice.data === '') await sleep(20);
      }
    },
  };
}

function expectError(response: RawResponse, status: number, code: string, field?: string) {
  expect(response.status, response.text).toBe(status);
  const error = response.json().error;
  expect(error.code).toBe(code);
  if (field) expect(error.message).toMatch(new RegExp(`^${field}\\b`));
}

/** Whether a process is alive (a zombie waiting for its reaper counts as gone). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function expectGone(pids: number[], why: string) {
  const deadline = Date.now() + 5000;
  while (pids.some(alive) && Date.now() < deadline) await sleep(50);
  expect(pids.filter(alive), why).toEqual([]);
}

/**
 * Background jobs an interactive shell starts in process groups of their own:
 * a plain one, one immune to the SIGHUP a dying shell or a closing PTY sends
 * (only termgate's own kill can end it), and one in a session of its own
 * (still a child of the terminal's shell).
 */
const JOBS = {
  plain: `sleep 1000 & echo "BG=$!="`,
  ignoresHangup: `(trap '' HUP; exec sleep 1000) & echo "BG=$!="`,
  ownSession: `setsid -w sh -c 'echo "BG=$$="; exec sleep 1000' &`,
} as const;

/** Starts a job of that kind in the terminal; resolves with its pid. */
async function startBackgroundJob(api: ReturnType<typeof client>, id: string, kind: keyof typeof JOBS = 'plain'): Promise<number> {
  const { next } = await api.read(id);
  await api.input(id, `${JOBS[kind]}\r`);
  const { text } = await api.follow(id, { since: next, until: (text) => /BG=\d+=/.test(text) });
  const pid = Number(/BG=(\d+)=/.exec(text)![1]);
  expect(alive(pid)).toBe(true);
  return pid;
}

/** A TERMGATE_HOME whose config has small limits, so the limit paths can be hit quickly. */
function limitedHome(): string {
  const home = tempHome();
  const hex = () => randomBytes(32).toString('hex');
  writeFileSync(
    join(home, 'config.json'),
    JSON.stringify({
      authToken: hex(),
      jwtSecret: hex(),
      apiPort: 42031,
      mcpPort: 42032,
      expose: false,
      limits: { maxTerminals: 3, maxBodyBytes: 4096, maxInputBytes: 1024, scrollbackBytes: 4096 },
    }),
    { mode: 0o600 },
  );
  return home;
}

export function terminalChecks({ runtime }: Target): void {
  describe('terminals', () => {
    let server: RunningServer;
    const api = client(() => server);

    beforeAll(async () => {
      server = await startServer(runtime);
    });
    afterAll(async () => {
      await server?.stop();
    });

    it('is a real TTY, and resize reaches the child', async () => {
      const { id } = await api.create();
      expect((await api.run(id, 'tty')).output).toMatch(/^\/dev\/pts\/\d+$/);
      expect((await api.run(id, 'tput cols; tput lines')).output).toBe('80\n24');
      expect(await api.ok('POST', `/${id}/resize`, { cols: 123, rows: 45 })).toMatchObject({ id, cols: 123, rows: 45 });
      expect((await api.run(id, 'tput cols; tput lines')).output).toBe('123\n45');
      expect(await api.get(id)).toMatchObject({ cols: 123, rows: 45 });
      await api.remove(id);
    });

    it('echoes input and runs what was typed', async () => {
      const { id } = await api.create({ name: 'echo-test' });
      expect((await api.ok<{ terminals: TerminalInfo[] }>('GET', '')).terminals.map((t) => t.id)).toContain(id);
      await api.input(id, 'echo "typed-$((6 * 7))"\r');
      const { text } = await api.follow(id, { until: (text) => text.includes('typed-42') });
      expect(text).toContain('echo "typed-$((6 * 7))"'); // the echo of the typed line
      await api.remove(id);
      expectError(await api.call('GET', `/${id}`), 404, 'not_found');
    });

    it('captures the exit code (exit 3)', async () => {
      const { id } = await api.create();
      await api.input(id, 'exit 3\r');
      const { info } = await api.follow(id, { untilExit: true });
      expect(info).toMatchObject({ exited: true, exitCode: 3 });
      expectError(await api.call('POST', `/${id}/input`, { data: 'x' }), 409, 'conflict');
      await api.remove(id);
    });

    it('run: output and exit code, timeout with Ctrl-C, the terminal stays usable', async () => {
      const { id } = await api.create();
      expect(await api.run(id, 'echo hi')).toMatchObject({ output: 'hi', exitCode: 0, timedOut: false });
      expect(await api.run(id, 'false')).toMatchObject({ output: '', exitCode: 1, timedOut: false });
      const slow = await api.run(id, 'sleep 5', 500);
      expect(slow).toMatchObject({ timedOut: true, exitCode: null });
      expect(slow.durationMs).toBeLessThan(3000);
      expect(await api.run(id, 'echo still-here; (exit 4)')).toMatchObject({ output: 'still-here', exitCode: 4, timedOut: false });
      // One run at a time per terminal: a second one meanwhile is refused.
      const first = api.run(id, 'sleep 0.5; echo first');
      await sleep(100);
      expectError(await api.call('POST', `/${id}/run`, { command: 'echo second' }), 409, 'terminal_busy');
      expect(await first).toMatchObject({ output: 'first', exitCode: 0 });
      await api.remove(id);
    });

    it('reassembles seq 1 200000 exactly from output?since=', async () => {
      const started = Date.now();
      const { id } = await api.create({ command: 'seq', args: ['1', '200000'] });
      const { text, info } = await api.follow(id, { untilExit: true, timeoutMs: 40_000 });
      expect(info!.exitCode).toBe(0);
      const lines = text.split('\r\n');
      expect(lines.pop()).toBe('');
      expect(lines.length).toBe(200000);
      lines.forEach((line, i) => {
        if (line !== String(i + 1)) expect(line, `line ${i + 1}`).toBe(String(i + 1));
      });
      console.log(`[${runtime}] seq 1 200000 reassembled in ${Date.now() - started} ms`);
      await api.remove(id);
    });

    it('loses nothing at exit: 2 MB then exit 7, 20 runs of 20', async () => {
      let good = 0;
      const failures: string[] = [];
      for (let run = 0; run < 20; run++) {
        const { id } = await api.create({ command: 'bash', args: ['-c', 'head -c 1500000 /dev/urandom | base64; exit 7'] });
        const { text, next, info } = await api.follow(id, { untilExit: true });
        const base64 = text.replace(/\r\n/g, '');
        const complete = next === 2052632 && text.length === 2052632 && base64.length === 2000000 && Buffer.from(base64, 'base64').length === 1500000;
        if (complete && info!.exitCode === 7) good++;
        else failures.push(`run ${run}: ${next} bytes, exit ${info!.exitCode}`);
        await api.remove(id);
      }
      expect(failures).toEqual([]);
      expect(good).toBe(20);
    });

    it('keeps multi-byte characters whole when a PTY read splits them', async () => {
      const bytes = [...Buffer.from('é€😀')].map((byte) => `\\x${byte.toString(16)}`);
      // Every split point k (a pause after k bytes), then every byte on its own.
      const lines = bytes.slice(1).map((_, k) => `printf '${bytes.slice(0, k + 1).join('')}'; sleep 0.05; printf '${bytes.slice(k + 1).join('')}\\n'`);
      lines.push(bytes.map((byte) => `printf '${byte}'; sleep 0.05`).join('; ') + "; printf '\\n'");
      const { id } = await api.create({ command: 'bash', args: ['-c', lines.join('; ')] });
      const nexts: number[] = [];
      const { text } = await api.follow(id, {
        untilExit: true,
        onSlice: (slice) => {
          expect(slice.data).not.toContain('\ufffd');
          nexts.push(slice.next);
        },
      });
      expect(text).toBe('é€😀\r\n'.repeat(bytes.length));
      // Every offset handed out sits on a character boundary of "é€😀\r\n" (11 bytes a line).
      for (const next of nexts) expect([0, 2, 5, 9, 10].includes(next % 11), `offset ${next}`).toBe(true);
      await api.remove(id);
    });

    it('reads the tail of the output, starting on a whole character', async () => {
      const { id } = await api.create({ command: 'printf', args: ['abc\u20acdef'] }); // € is bytes 3..5
      await api.follow(id, { untilExit: true });
      const tail = async (query: string) => api.ok<Slice>('GET', `/${id}/output?${query}`);
      expect(await tail('tail=3')).toMatchObject({ data: 'def', since: 6, next: 9, dropped: 0 });
      expect(await tail('tail=4')).toMatchObject({ data: 'def', since: 6, next: 9 }); // not half of €
      expect(await tail('tail=6')).toMatchObject({ data: '\u20acdef', since: 3, next: 9 });
      expect(await tail('tail=100')).toMatchObject({ data: 'abc\u20acdef', since: 0, next: 9, dropped: 0 });
      expectError(await api.call('GET', `/${id}/output?tail=0`), 400, 'bad_request', 'tail');
      expectError(await api.call('GET', `/${id}/output?tail=2&since=0`), 400, 'bad_request', 'tail');
      expectError(await api.call('GET', `/${id}/output?tail=x`), 400, 'bad_request', 'tail');
      await api.remove(id);
    });

    it('never starts a tail inside an escape sequence: a cut in one starts after it', async () => {
      // "ab" ESC]0;a-title BEL "cd" ESC[31m "ef": the OSC is bytes 2..13, the CSI 16..20.
      const { id } = await api.create({ command: 'printf', args: ['ab\u001b]0;a-title\u0007cd\u001b[31mef'] });
      await api.follow(id, { untilExit: true });
      const end = (await api.ok<Slice>('GET', `/${id}/output?tail=1`)).next;
      expect(end).toBe(23);
      for (let tail = 1; tail <= 23; tail++) {
        const slice = await api.ok<Slice>('GET', `/${id}/output?tail=${tail}`);
        const from = end - tail;
        const expected = from > 2 && from < 14 ? 14 : from > 16 && from < 21 ? 21 : from;
        expect(slice, `tail=${tail}`).toMatchObject({ since: expected, next: 23 });
        expect(slice.data.startsWith(']') || slice.data.startsWith('[') || /^[0-9;]/.test(slice.data), `tail=${tail}: ${JSON.stringify(slice.data)}`).toBe(false);
      }
      await api.remove(id);
    });

    it('answers bad requests with the right status and code, and keeps working', async () => {
      const { id } = await api.create();
      const bad: [string, string, unknown, number, string, string?][] = [
        ['POST', '', '{"cols": 80,', 400, 'bad_request', 'body'],
        ['POST', '', { cols: 'wide' }, 400, 'bad_request', 'cols'],
        ['POST', '', { cols: 1001 }, 400, 'bad_request', 'cols'],
        ['POST', '', { name: '' }, 400, 'bad_request', 'name'],
        ['POST', '', { rows: 0 }, 400, 'bad_request', 'rows'],
        ['POST', '', { colour: 'red' }, 400, 'bad_request', 'colour'],
        ['POST', '', { args: 'x' }, 400, 'bad_request', 'args'],
        ['POST', '', { cwd: '/no/such/dir' }, 400, 'bad_request', 'cwd'],
        ['POST', '', { command: 'no-such-command-termgate' }, 400, 'bad_request', 'command'],
        ['GET', '/nope', undefined, 404, 'not_found'],
        ['DELETE', '/nope', undefined, 404, 'not_found'],
        ['POST', '/nope/input', { data: 'x' }, 404, 'not_found'],
        ['POST', '/nope/run', { command: 'true' }, 404, 'not_found'],
        ['GET', '/nope/output', undefined, 404, 'not_found'],
        ['POST', `/${id}/input`, { data: 1 }, 400, 'bad_request', 'data'],
        ['POST', `/${id}/input`, { data: 'x', extra: true }, 400, 'bad_request', 'extra'],
        ['POST', `/${id}/resize`, { cols: 0, rows: 10 }, 400, 'bad_request', 'cols'],
        ['POST', `/${id}/resize`, { cols: 10, rows: 501 }, 400, 'bad_request', 'rows'],
        ['GET', `/${id}/output?since=abc`, undefined, 400, 'bad_request', 'since'],
        ['GET', `/${id}/output?since=-5`, undefined, 400, 'bad_request', 'since'],
        ['GET', `/${id}/output?since=999999999`, undefined, 400, 'bad_request', 'since'],
        ['POST', `/${id}/run`, { command: '' }, 400, 'bad_request', 'command'],
        ['POST', `/${id}/run`, { command: 'true', timeoutMs: -1 }, 400, 'bad_request', 'timeoutMs'],
      ];
      for (const [method, path, body, status, code, field] of bad) {
        const response = await api.call(method, path, body);
        expect(response.status, `${method} ${path} ${JSON.stringify(body)}: ${response.text}`).toBe(status);
        expectError(response, status, code, field);
      }
      expect((await raw(`${server.url}/health`)).status).toBe(200);
      expect(await api.run(id, 'echo fine')).toMatchObject({ output: 'fine', exitCode: 0 });
      await api.remove(id);
    });

    it('leaves no process behind after DELETE', async () => {
      const { id, pid } = await api.create();
      const jobs = [
        await startBackgroundJob(api, id),
        await startBackgroundJob(api, id, 'ignoresHangup'),
        await startBackgroundJob(api, id, 'ownSession'),
      ];
      await api.remove(id);
      await expectGone([pid, ...jobs], 'the shell and its background jobs');
    });

    it('hangs up before it kills: a program that traps SIGHUP can clean up on DELETE', async () => {
      const marker = join(server.home, `hup-${Date.now()}.txt`);
      const script = `trap 'echo cleaned > ${marker}; exit 0' HUP; echo ready; while :; do sleep 0.1; done`;
      const { id } = await api.create({ command: 'sh', args: ['-c', script] });
      await api.follow(id, { until: (text) => text.includes('ready') });
      await api.remove(id);
      // The redirection creates the file before echo writes to it: wait for the whole line.
      const written = () => (existsSync(marker) ? readFileSync(marker, 'utf8') : '');
      for (let i = 0; i < 40 && written() !== 'cleaned\n'; i++) await sleep(50);
      expect(written()).toBe('cleaned\n');
    });

    it('hangs up like a closing window: a program under the shell finishes its EXIT trap on DELETE', async () => {
      // With SIGHUP to every process of the session at once, this program finished its
      // trap in 3 runs of 10 (Node); on Bun it was SIGKILLed as soon as the shell exited.
      const marker = join(server.home, `exit-trap-${Date.now()}.txt`);
      const { id } = await api.create();
      await api.input(id, `bash -c 'trap "sleep 0.1; echo cleaned > ${marker}" EXIT; echo rea""dy; sleep 1000'\r`);
      await api.follow(id, { until: (text) => text.includes('ready') });
      await api.remove(id);
      const written = () => (existsSync(marker) ? readFileSync(marker, 'utf8') : '');
      for (let i = 0; i < 40 && written() !== 'cleaned\n'; i++) await sleep(50);
      expect(written()).toBe('cleaned\n');
    });
  });

  describe('terminals with small limits', () => {
    let server: RunningServer;
    const api = client(() => server);

    beforeAll(async () => {
      // Started without $SHELL, as CI and services run it (Bun's userInfo() then says "unknown").
      server = await startServer(runtime, { home: limitedHome(), env: { SHELL: undefined } });
    });
    afterAll(async () => {
      await server?.stop();
      if (server) rmSync(server.home, { recursive: true, force: true });
    });

    it('starts a working default shell when $SHELL is unset', async () => {
      const { id, command } = await api.create();
      expect(command).toMatch(/^\/.+sh$/);
      expect(await api.run(id, 'echo "shell-$((2 + 3))"')).toMatchObject({ output: 'shell-5', exitCode: 0 });
      await api.remove(id);
    });

    it('tells a reader what left the scrollback', async () => {
      const { id } = await api.create({ command: 'seq', args: ['1', '20000'] });
      for (let i = 0; i < 500 && !(await api.get(id)).exited; i++) await sleep(20);
      const slice = await api.read(id, 0);
      expect(slice.next).toBe(128894); // 1..20000 with \r\n
      expect(slice.since).toBe(slice.next - 4096);
      expect(slice.dropped).toBe(slice.since);
      expect(slice.data.endsWith('19999\r\n20000\r\n')).toBe(true);
      const later = await api.read(id, slice.next - 100);
      expect(later).toMatchObject({ since: slice.next - 100, dropped: 0 });
      await api.remove(id);
    });

    it('refuses input, bodies and terminals over the limits', async () => {
      const { id } = await api.create();
      expectError(await api.call('POST', `/${id}/input`, { data: 'x'.repeat(1025) }), 413, 'payload_too_large', 'data');
      expectError(await api.call('POST', `/${id}/input`, { data: 'é'.repeat(513) }), 413, 'payload_too_large', 'data');
      expectError(await api.call('POST', `/${id}/input`, { data: 'x'.repeat(5000) }), 413, 'payload_too_large');
      const more = [await api.create(), await api.create()];
      expectError(await api.call('POST', '', {}), 429, 'too_many_terminals');
      for (const terminal of more) await api.remove(terminal.id);
      expect(await api.run(id, 'echo ok')).toMatchObject({ output: 'ok', exitCode: 0 });
      await api.remove(id);
    });

    it('leaves no process behind after SIGTERM to the server', async () => {
      const terminals = [await api.create(), await api.create()];
      const jobs = [await startBackgroundJob(api, terminals[0]!.id), await startBackgroundJob(api, terminals[1]!.id, 'ignoresHangup')];
      expect(await server.stop()).toBe(0);
      await expectGone([...terminals.map((t) => t.pid), ...jobs], 'shells and background jobs after SIGTERM');
    });
  });
}

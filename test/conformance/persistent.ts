/**
 * Persistent terminals (docs/persistent.md) against real servers: a terminal
 * held by a process of its own survives a SIGKILL and a SIGTERM of the
 * server; the next server on the same TERMGATE_HOME takes it over with the
 * same id, name and offsets, the output printed meanwhile included, with no
 * gap and no repeat at the seam; input still works; one that exited while no
 * server ran shows its exit code; DELETE ends the shell and its holder and
 * removes its files; plain terminals still die with the server.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { savedConfig, startServer, tempHome, type RunningServer } from '../harness.ts';
import { bearer, jsonCalls, raw } from '../http.ts';
import { TestSocket, wsUrl } from '../ws-client.ts';
import type { OutputSlice as Slice, TerminalInfo } from '../../src/terminals/types.ts';
import type { Target } from './suite.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether a process is alive (a zombie waiting for its reaper counts as gone). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function expectGone(pids: number[], why: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(alive) && Date.now() < deadline) await sleep(50);
  expect(pids.filter(alive), why).toEqual([]);
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

export function persistentChecks({ runtime }: Target): void {
  describe('persistent terminals', () => {
    let server: RunningServer | undefined;
    /** Every shell and holder a test started: killed by pid in afterAll if a test failed before its DELETE. */
    const started = new Set<number>();

    const { call, ok } = jsonCalls(() => `${server!.url}/api/terminals`);
    const create = async (body: object) => {
      const info = await ok<TerminalInfo>('POST', '', body, 201);
      started.add(info.pid);
      return info;
    };
    const get = (id: string) => ok<TerminalInfo>('GET', `/${id}`);
    const list = async () => (await ok<{ terminals: TerminalInfo[] }>('GET', '')).terminals;
    const input = (id: string, data: string) => ok('POST', `/${id}/input`, { data });
    /** All output from `since` (several reads if need be). */
    const readAll = async (id: string, since = 0): Promise<Slice> => {
      const first = await ok<Slice>('GET', `/${id}/output?since=${since}`);
      let { data, next } = first;
      for (;;) {
        const more = await ok<Slice>('GET', `/${id}/output?since=${next}`);
        expect(more.since).toBe(next);
        if (more.data === '') return { ...first, data, next };
        data += more.data;
        next = more.next;
      }
    };
    const waitOutput = (id: string, pattern: RegExp, timeoutMs?: number) =>
      until(`${pattern} in terminal ${id}`, async () => {
        const slice = await readAll(id);
        return pattern.test(slice.data) ? slice : undefined;
      }, timeoutMs);

    const sessionDir = (home: string, id: string) => join(home, 'sessions', id);
    const holderPid = (home: string, id: string): number => {
      const pid = (JSON.parse(readFileSync(join(sessionDir(home, id), 'holder.json'), 'utf8')) as { holderPid: number }).holderPid;
      started.add(pid);
      return pid;
    };

    afterAll(async () => {
      await server?.stop();
      for (const pid of started) {
        if (!alive(pid)) continue;
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
    });

    it('survives a SIGKILL and a SIGTERM of the server: same id and name, output with no gap or repeat, input works; DELETE ends it all', async () => {
      const home = tempHome();
      server = await startServer(runtime, { home });
      const terminal = await create({ command: 'bash', name: 'keeper', persistent: true });
      expect(terminal).toMatchObject({ name: 'keeper', persistent: true, restored: false, exited: false });
      const holder = holderPid(server.home, terminal.id);
      expect(holder).not.toBe(terminal.pid);
      const dir = sessionDir(home, terminal.id);
      // The directory, the log, the socket and the saved state (it holds the shell's nonce) are the user's only.
      expect((statSync(dir).mode & 0o777).toString(8)).toBe('700');
      for (const name of ['holder.sock', 'output-0000000000000000.log', 'saved-terminal.json']) {
        expect((statSync(join(dir, name)).mode & 0o777).toString(8), name).toBe('600');
      }

      await waitOutput(terminal.id, /\$ |# /);
      await input(terminal.id, 'for i in $(seq 1 15); do echo tick-$i; sleep 0.2; done\n');
      await waitOutput(terminal.id, /tick-3\r\n/);
      const beforeCrash = await readAll(terminal.id);
      await server.stop('SIGKILL');
      expect(alive(terminal.pid), 'the shell outlives a SIGKILLed server').toBe(true);
      expect(alive(holder)).toBe(true);
      await sleep(1200); // ticks go on while no server runs

      server = await startServer(runtime, { home });
      const [restored] = await list();
      expect(restored).toMatchObject({ id: terminal.id, name: 'keeper', pid: terminal.pid, persistent: true, restored: true, exited: false });
      // Subscribed from where the crashed server's last read ended: the rest, no gap, no repeat.
      const socket = await TestSocket.open(wsUrl(server.url));
      const ack = await socket.request({ type: 'subscribe', terminalId: terminal.id, since: beforeCrash.next });
      expect(ack).toMatchObject({ success: true, data: { since: beforeCrash.next, dropped: 0 } });
      const live = await socket.outputUntil(terminal.id, (received) => received.text.includes('tick-15\r\n'), 15_000);
      await socket.close();
      const whole = await readAll(terminal.id);
      expect(whole.since).toBe(0);
      expect(whole.dropped).toBe(0);
      expect(whole.data.startsWith(beforeCrash.data), 'output from 0 begins with what the old server had').toBe(true);
      expect(live.start).toBe(beforeCrash.next);
      expect(live.contiguous).toBe(true);
      expect(whole.data.startsWith(beforeCrash.data + live.text)).toBe(true);
      const ticks = [...whole.data.matchAll(/tick-(\d+)\r\n/g)].map((match) => Number(match[1]));
      expect(ticks).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));

      // Printed while no server runs, after a clean stop this time.
      const records = () => ok<{ commands: { seq: number; command: string; finishedAt: string | null }[] }>('GET', `/${terminal.id}/commands`);
      await until('the loop to finish', async () => ((await records()).commands[0]?.finishedAt ? true : undefined));
      const run = await ok<{ output: string; exitCode: number }>('POST', `/${terminal.id}/run`, { command: '(sleep 1; echo during-$((2+3))) &' });
      expect(run.exitCode).toBe(0);
      const beforeStop = await readAll(terminal.id);
      expect(await server.stop('SIGTERM')).toBe(0);
      expect(alive(terminal.pid), 'the shell outlives a SIGTERMed server').toBe(true);
      await sleep(1500);

      server = await startServer(runtime, { home });
      expect(await get(terminal.id)).toMatchObject({ name: 'keeper', restored: true, exited: false });
      const afterStop = await waitOutput(terminal.id, /during-5\r\n/);
      expect(afterStop.data.startsWith(beforeStop.data)).toBe(true);
      expect(afterStop.data.match(/during-5\r\n/g)).toHaveLength(1);
      expect(afterStop.data.match(/tick-7\r\n/g)).toHaveLength(1);
      // Input still reaches the shell; its command records came along.
      const after = await ok<{ output: string; exitCode: number }>('POST', `/${terminal.id}/run`, { command: 'echo after-$((3+4))' });
      expect(after).toMatchObject({ output: 'after-7', exitCode: 0 });
      const { commands } = await records();
      expect(commands.map((record) => record.command)).toEqual(['for i in $(seq 1 15); do echo tick-$i; sleep 0.2; done', '(sleep 1; echo during-$((2+3))) &', 'echo after-$((3+4))']);
      expect(commands.map((record) => record.seq)).toEqual([1, 2, 3]);

      expect((await call('DELETE', `/${terminal.id}`)).status).toBe(204);
      await expectGone([terminal.pid, holder], 'DELETE ends the shell and its holder');
      expect(existsSync(dir), 'DELETE removes the session directory').toBe(false);
      expect(await list()).toEqual([]);
      await server.stop();
      server = undefined;
    });

    it('one whose shell exited while no server ran shows exited with its code and its output, until DELETE', async () => {
      const home = tempHome();
      server = await startServer(runtime, { home });
      const terminal = await create({ command: 'sh', args: ['-c', 'echo started; sleep 1; echo finished-$((3+4)); exit 7'], persistent: true });
      const holder = holderPid(home, terminal.id);
      await waitOutput(terminal.id, /started/);
      await server.stop('SIGKILL');
      // The holder exits once its shell has and the log is complete.
      await expectGone([terminal.pid, holder], 'the holder ends with its shell', 10_000);

      server = await startServer(runtime, { home });
      expect(await get(terminal.id)).toMatchObject({ id: terminal.id, exited: true, exitCode: 7, persistent: true, restored: true });
      const output = await readAll(terminal.id);
      expect(output.data).toMatch(/started\r\n.*finished-7\r\n/s);
      expect((await call('POST', `/${terminal.id}/input`, { data: 'x' })).status).toBe(409);
      expect((await call('DELETE', `/${terminal.id}`)).status).toBe(204);
      expect(existsSync(sessionDir(home, terminal.id))).toBe(false);
      await server.stop();

      // Nothing is left for the next server.
      server = await startServer(runtime, { home });
      expect(await list()).toEqual([]);
      await server.stop();
      server = undefined;
    });

    it('serve --stop-persistent ends the persistent terminals a previous server left: shells, holders and files', async () => {
      const home = tempHome();
      server = await startServer(runtime, { home });
      const terminal = await create({ command: 'sh', args: ['-c', 'echo up; sleep 600'], persistent: true });
      const holder = holderPid(home, terminal.id);
      await waitOutput(terminal.id, /up/);
      await server.stop();
      expect(alive(terminal.pid), 'the shell outlives a plain stop').toBe(true);

      server = await startServer(runtime, { home, args: ['--stop-persistent'] });
      expect(server.output()).toMatch(/--stop-persistent: ended 1 persistent terminal\b/);
      expect(await list()).toEqual([]);
      await expectGone([terminal.pid, holder], 'shell and holder end');
      expect(existsSync(sessionDir(home, terminal.id))).toBe(false);
      await server.stop();
      server = undefined;
    });

    it('stays the same terminal while `expose on` and `off` rebind the listener (no restart, no re-attach)', async () => {
      const home = tempHome();
      server = await startServer(runtime, { home });
      const terminal = await create({ command: 'cat', persistent: true });
      const holder = holderPid(home, terminal.id);
      const put = (expose: boolean, headers: Record<string, string> = {}) =>
        raw(`${server!.url}/api/settings/connections`, { method: 'PUT', headers, body: { expose } });
      const token = savedConfig(server).authToken;
      try {
        expect((await put(true)).status).toBe(200);
        const exposed = await raw(`${server.url}/api/terminals/${terminal.id}`, { headers: bearer(token) });
        expect(exposed.json()).toMatchObject({ id: terminal.id, pid: terminal.pid, persistent: true, restored: false, exited: false });
        const typed = await raw(`${server.url}/api/terminals/${terminal.id}/input`, { method: 'POST', headers: bearer(token), body: { data: 'while-exposed\n' } });
        expect(typed.status).toBe(200);
        expect((await put(false, bearer(token))).status).toBe(200);
        await waitOutput(terminal.id, /while-exposed\r\n.*while-exposed/s);
        expect(alive(holder), 'the same holder serves it').toBe(true);
        expect((await get(terminal.id)).restored).toBe(false);
      } finally {
        await call('DELETE', `/${terminal.id}`, undefined);
        await server.stop();
        server = undefined;
      }
    });

    it('a holder killed under a running server, or while none runs, is reported as exited, not hung on', async () => {
      const home = tempHome();
      server = await startServer(runtime, { home });
      const first = await create({ command: 'sh', args: ['-c', 'echo up; while read line; do :; done'], persistent: true });
      await waitOutput(first.id, /up/);
      process.kill(holderPid(home, first.id), 'SIGKILL');
      expect(await until('the exit', async () => ((await get(first.id)).exited ? get(first.id) : undefined))).toMatchObject({ exited: true, exitCode: null });
      expect(server.output()).toMatch(/holder went away/);
      expect((await readAll(first.id)).data).toMatch(/up/);
      expect((await call('DELETE', `/${first.id}`)).status).toBe(204);
      expect(existsSync(sessionDir(home, first.id))).toBe(false);

      const second = await create({ command: 'sh', args: ['-c', 'echo up; while read line; do :; done'], persistent: true });
      await waitOutput(second.id, /up/);
      await server.stop('SIGKILL');
      process.kill(holderPid(home, second.id), 'SIGKILL');
      await expectGone([second.pid], 'the shell ends with its holder (the PTY hangs up)');
      server = await startServer(runtime, { home });
      expect(await get(second.id)).toMatchObject({ exited: true, exitCode: null, restored: true });
      expect(server.output()).toMatch(/removed the stale socket/);
      expect((await readAll(second.id)).data).toMatch(/up/);
      expect((await call('DELETE', `/${second.id}`)).status).toBe(204);
      expect(existsSync(sessionDir(home, second.id))).toBe(false);
      await server.stop();
      server = undefined;
    });

    it('follows the config default, refuses a bad flag, and plain terminals still die with a SIGKILLed server', async () => {
      const home = tempHome();
      server = await startServer(runtime, { home });
      expect((await call('POST', '', { persistent: 'yes' })).json().error).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/^persistent: /) });
      await server.stop();
      const configPath = join(home, 'config.json');
      writeFileSync(configPath, JSON.stringify({ ...JSON.parse(readFileSync(configPath, 'utf8')), terminals: { persistent: true } }), { mode: 0o600 });

      server = await startServer(runtime, { home });
      const kept = await create({ command: 'sh', args: ['-c', 'while read line; do echo "got:$line"; done'] });
      const plain = await create({ command: 'sh', args: ['-c', 'while read line; do echo "got:$line"; done'], persistent: false });
      expect(kept.persistent).toBe(true);
      expect(plain.persistent).toBe(false);
      const holder = holderPid(home, kept.id);
      await server.stop('SIGKILL');
      await expectGone([plain.pid], 'a plain terminal dies with its server, even on SIGKILL');
      expect(alive(kept.pid)).toBe(true);

      server = await startServer(runtime, { home });
      expect((await list()).map((terminal) => terminal.id)).toEqual([kept.id]);
      await input(kept.id, 'hello\n');
      await waitOutput(kept.id, /got:hello/);
      expect((await call('DELETE', `/${kept.id}`)).status).toBe(204);
      await expectGone([kept.pid, holder], 'DELETE ends the shell and its holder');
      await server.stop();
      server = undefined;
    });
  });
}

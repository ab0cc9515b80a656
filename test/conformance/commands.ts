/**
 * Shell integration and command records against a real server, with real
 * bash, zsh and fish: the user's rc files still work, every command (run or
 * typed) gets a record with its exit code, `run` types the command as it is
 * and refuses to type into a program in the foreground, forged sequences end
 * nothing, and records reach REST, WebSocket subscribers and MCP.
 *
 * A shell that is not installed is a visible skip naming it (.ci/run installs
 * all three).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../harness.ts';
import { jsonCalls, raw, type RawResponse } from '../http.ts';
import { TestSocket, wsUrl } from '../ws-client.ts';
import type { Target } from './suite.ts';

interface CommandRecord {
  seq: number;
  command: string;
  source: 'run' | 'typed';
  cwd: string;
  exitCode: number | null;
  finishedAt: string | null;
  durationMs: number | null;
  startOffset: number;
  outputOffset: number;
  endOffset: number | null;
}

interface RunAnswer {
  output: string;
  exitCode: number | null;
  timedOut: boolean;
  seq: number | null;
  running: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function installed(shell: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${shell}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A HOME with the shell's usual rc file: it sets a variable, a prompt and a hook of its own (which writes a file each prompt). */
function homeWithRc(shell: 'bash' | 'zsh' | 'fish'): string {
  const home = mkdtempSync(join(tmpdir(), `termgate-rc-${shell}-`));
  if (shell === 'bash') {
    writeFileSync(
      join(home, '.bashrc'),
      'export RC_VAR=from-bashrc\nPS1="rc-prompt\\$ "\nPROMPT_COMMAND="echo pc >> ~/hook.log;"\n' +
        "trap 'echo dbg >> ~/debug.log' DEBUG\n",
    );
  } else if (shell === 'zsh') {
    writeFileSync(join(home, '.zshrc'), 'export RC_VAR=from-zshrc\nPS1="rc-prompt%# "\nmy_hook() { echo pc >> ~/hook.log }\nprecmd_functions+=(my_hook)\n');
  } else {
    mkdirSync(join(home, '.config', 'fish'), { recursive: true });
    writeFileSync(
      join(home, '.config', 'fish', 'config.fish'),
      'set -gx RC_VAR from-config-fish\nfunction fish_prompt; echo -n "rc-prompt> "; end\n' +
        'function my_hook --on-event fish_prompt; echo pc >> ~/hook.log; end\nset -U fish_greeting ""\n',
    );
  }
  return home;
}

function client(server: () => RunningServer) {
  const { call, ok } = jsonCalls(() => `${server().url}/api/terminals`);
  const api = {
    call,
    ok,
    create: (body: object) => ok<{ id: string; shellIntegration: string; cwd: string }>('POST', '', body, 201),
    get: (id: string) => ok<{ shellIntegration: string; cwd: string }>('GET', `/${id}`),
    input: (id: string, data: string) => ok('POST', `/${id}/input`, { data }),
    remove: (id: string) => ok('DELETE', `/${id}`, undefined, 204),
    run: (id: string, command: string, extra: object = {}) => ok<RunAnswer>('POST', `/${id}/run`, { command, timeoutMs: 10_000, ...extra }),
    commands: async (id: string, since?: number) =>
      (await ok<{ commands: CommandRecord[] }>('GET', `/${id}/commands${since === undefined ? '' : `?since=${since}`}`)).commands,
    output: (id: string, seq: number) => ok<{ data: string; exitCode: number | null; running: boolean }>('GET', `/${id}/commands/${seq}/output`),
    /** Polls the records until `done` holds (bounded): for commands typed through input. */
    async recordsUntil(id: string, done: (records: CommandRecord[]) => boolean, timeoutMs = 10_000): Promise<CommandRecord[]> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const records = await api.commands(id);
        if (done(records)) return records;
        if (Date.now() > deadline) throw new Error(`records never matched: ${JSON.stringify(records)}`);
        await sleep(100);
      }
    },
    async untilActive(id: string): Promise<void> {
      const deadline = Date.now() + 15_000;
      while ((await api.get(id)).shellIntegration !== 'active') {
        if (Date.now() > deadline) throw new Error(`terminal ${id}: shell integration never became active`);
        await sleep(100);
      }
    },
  };
  return api;
}

export function commandChecks({ runtime }: Target): void {
  describe('shell integration and command records', () => {
    let server: RunningServer;
    const api = client(() => server);
    const homes: string[] = [];

    beforeAll(async () => {
      server = await startServer(runtime);
    });
    afterAll(async () => {
      await server?.stop();
      for (const home of homes) rmSync(home, { recursive: true, force: true });
    });

    for (const shell of ['bash', 'zsh', 'fish'] as const) {
      const present = installed(shell);
      describe.skipIf(!present)(present ? shell : `${shell} (skipped: ${shell} is not installed here)`, () => {
        let id: string;
        let home: string;

        beforeAll(async () => {
          home = homeWithRc(shell);
          homes.push(home);
          ({ id } = await api.create({ command: shell, env: { HOME: home }, cwd: home }));
          await api.untilActive(id);
        });
        afterAll(async () => {
          if (id) await api.remove(id);
        });

        it("keeps the user's rc file: its variable, its prompt and its own prompt hook", async () => {
          expect((await api.run(id, 'echo "$RC_VAR"')).output).toBe(`from-${shell === 'fish' ? 'config-fish' : `${shell}rc`}`);
          const screen = await api.ok<{ lines: string[] }>('GET', `/${id}/screen`);
          expect(screen.lines.join('\n')).toContain('rc-prompt');
          const hooks = readFileSync(join(home, 'hook.log'), 'utf8').split('\n').filter(Boolean).length;
          await api.run(id, 'true');
          await sleep(200);
          expect(readFileSync(join(home, 'hook.log'), 'utf8').split('\n').filter(Boolean).length).toBeGreaterThan(hooks);
          if (shell === 'bash') expect(readFileSync(join(home, 'debug.log'), 'utf8')).toContain('dbg');
        });

        it('run returns exactly what the command printed, with its exit code, and a record', async () => {
          const hi = await api.run(id, 'echo hi');
          expect(hi).toMatchObject({ output: 'hi', exitCode: 0, timedOut: false, running: false });
          expect(hi.seq).toBeGreaterThan(0);
          for (const [command, code] of [
            ['true', 0],
            ['false', 1],
            ['ls /nonexistent-termgate', 2],
            [shell === 'fish' ? 'sh -c "exit 255"' : '(exit 255)', 255],
          ] as const) {
            expect((await api.run(id, command)).exitCode, command).toBe(code);
          }
          const [record] = await api.commands(id, hi.seq! - 1);
          expect(record).toMatchObject({ seq: hi.seq, command: 'echo hi', source: 'run', exitCode: 0 });
          expect(record!.endOffset! - record!.outputOffset).toBeGreaterThanOrEqual(2);
          expect((await api.output(id, hi.seq!)).data).toBe('hi\r\n');
        });

        it('an interrupted command records 130; a forged end sequence ends nothing', async () => {
          const slow = await api.run(id, 'sleep 30', { timeoutMs: 500 });
          expect(slow).toMatchObject({ timedOut: true, exitCode: null, running: false });
          const [interrupted] = await api.recordsUntil(id, (records) => records.some((r) => r.seq === slow.seq && r.finishedAt !== null));
          expect((await api.commands(id, slow.seq! - 1))[0]).toMatchObject({ seq: slow.seq, exitCode: 130 });
          expect(interrupted).toBeDefined();

          const forged = await api.run(id, "printf 'a\\033]133;D;0\\007b\\033]133;D;7;tg=0123456789abcdef\\007c\\n'; sleep 0.3; echo late; false");
          expect(forged).toMatchObject({ output: 'abc\nlate', exitCode: 1, timedOut: false });
        });

        it('a command that ignores the timeout\'s Ctrl-C, as a REPL does, is answered as still running; run waits for it, then types', async () => {
          const repl = await api.run(id, `sh -c 'trap "" INT; read line; echo got-$line'`, { timeoutMs: 500 });
          expect(repl).toMatchObject({ timedOut: true, exitCode: null, running: true });
          const busy = await api.call('POST', `/${id}/run`, { command: 'true', timeoutMs: 1000 });
          expect(busy.status, busy.text).toBe(409);
          expect(busy.json().error.code).toBe('terminal_busy');
          await api.input(id, 'x\r');
          await api.recordsUntil(id, (records) => records.some((r) => r.seq === repl.seq && r.finishedAt !== null));
          expect((await api.output(id, repl.seq!)).data).toContain('got-x');
          expect((await api.run(id, 'echo after')).output).toBe('after');
        });

        it('records typed commands (not empty lines, not Ctrl-C at the prompt) and follows cd', async () => {
          const before = (await api.commands(id)).at(-1)?.seq ?? 0;
          await api.input(id, '\r');
          await sleep(200);
          await api.input(id, '\x03');
          // Ctrl-C also flushes what the tty holds unread: type on after the prompt is back, as a person would.
          await sleep(300);
          await api.input(id, 'ls /nonexistent-typed\r');
          const records = await api.recordsUntil(id, (all) => all.some((r) => r.command === 'ls /nonexistent-typed' && r.finishedAt !== null));
          const typed = records.filter((r) => r.seq > before);
          expect(typed).toHaveLength(1);
          expect(typed[0]).toMatchObject({ seq: before + 1, source: 'typed', exitCode: 2 });
          expect((await api.output(id, typed[0]!.seq)).data).toContain('No such file');

          await api.input(id, 'cd /tmp\r');
          await api.recordsUntil(id, (all) => all.some((r) => r.command === 'cd /tmp' && r.finishedAt !== null));
          // The shell reports its directory just after the command's end (zsh tells the end earlier, in PROMPT_SP's mark).
          await expect.poll(async () => (await api.get(id)).cwd, { timeout: 5000, interval: 50 }).toBe('/tmp');
          expect((await api.run(id, 'pwd')).output).toBe('/tmp');
        });

        it('refuses to run while the command line holds typed text, and runs once Ctrl-U cleared it', async () => {
          await api.input(id, 'echo half-typed; false');
          const refused = await api.call('POST', `/${id}/run`, { command: 'true' });
          expect(refused.status).toBe(409);
          expect(refused.json().error).toMatchObject({ code: 'terminal_busy' });
          expect(refused.json().error.message).toMatch(/command line holds text typed since the prompt/);
          await api.ok('POST', `/${id}/keys`, { keys: ['C-u'] });
          expect(await api.run(id, 'true')).toMatchObject({ output: '', exitCode: 0 });
          // A typed line ended with Enter is no longer text on the command line.
          await api.input(id, 'echo entered-by-hand\r');
          await api.recordsUntil(id, (all) => all.some((r) => r.command === 'echo entered-by-hand' && r.finishedAt !== null));
          expect(await api.run(id, 'echo after-it')).toMatchObject({ output: 'after-it', exitCode: 0 });
          const commands = (await api.commands(id)).map((record) => record.command);
          expect(commands).toContain('echo entered-by-hand');
          expect(commands).not.toContain('echo half-typed; false');
          expect(commands.some((command) => command.includes('half-typed'))).toBe(false);
        });

        it("keeps run's commands out of the shell's history; typed ones stay in it", async () => {
          await api.run(id, 'echo agent-secret-command');
          await api.input(id, 'echo typed-by-hand\r');
          await api.recordsUntil(id, (all) => all.some((r) => r.command === 'echo typed-by-hand' && r.finishedAt !== null));
          const history = (await api.run(id, shell === 'zsh' ? 'fc -ln 1' : 'history')).output;
          expect(history).toContain('echo typed-by-hand');
          expect(history).not.toContain('agent-secret-command');
        });

        it('refuses to type into a program in the foreground: 409 terminal_busy naming it', async () => {
          await api.input(id, 'python3 -q\r');
          await api.recordsUntil(id, (all) => all.some((r) => r.command === 'python3 -q' && r.finishedAt === null));
          // python3 may be a wrapper script (pyenv's shim) until it execs the interpreter: ask until python3 is in front.
          let refused: RawResponse;
          const deadline = Date.now() + 10_000;
          do {
            await sleep(200);
            refused = await api.call('POST', `/${id}/run`, { command: 'echo never' });
            expect(refused.status).toBe(409);
            expect(refused.json()).toMatchObject({ error: { code: 'terminal_busy' } });
          } while (!/python3/.test(refused.json().error.message) && Date.now() < deadline);
          expect(refused.json().error.message).toMatch(/python3 \(pid \d+\) runs in the foreground/);
          await api.input(id, 'exit()\r');
          await api.recordsUntil(id, (all) => all.some((r) => r.command === 'python3 -q' && r.finishedAt !== null));
          expect((await api.run(id, 'echo back')).output).toBe('back');
        });

        it('detach: the command outlives timeoutMs and its record holds the result', async () => {
          const detached = await api.run(id, 'sleep 1; echo finished-late', { timeoutMs: 300, detach: true });
          expect(detached).toMatchObject({ running: true, timedOut: false, exitCode: null });
          const busy = await api.call('POST', `/${id}/run`, { command: 'echo nope' });
          expect(busy.status).toBe(409);
          await api.recordsUntil(id, (all) => all.some((r) => r.seq === detached.seq && r.finishedAt !== null));
          expect(await api.output(id, detached.seq!)).toMatchObject({ exitCode: 0, running: false });
          expect((await api.output(id, detached.seq!)).data).toContain('finished-late');
        });

        it('a multi-line command is one command and one record', async () => {
          const multi = await api.run(id, 'echo one\necho two');
          expect(multi).toMatchObject({ output: 'one\ntwo', exitCode: 0 });
          expect((await api.commands(id, multi.seq! - 1)).map((r) => r.seq)).toEqual([multi.seq]);
        });
      });
    }

    it('no integration where the caller asked for none (bash --norc) or the rc replaced the shell: run uses markers', async () => {
      const norc = await api.create({ command: 'bash', args: ['--norc'] });
      const home = mkdtempSync(join(tmpdir(), 'termgate-rc-exec-'));
      homes.push(home);
      writeFileSync(join(home, '.bashrc'), 'exec sh\n');
      const replaced = await api.create({ command: 'bash', env: { HOME: home } });
      try {
        for (const { id } of [norc, replaced]) {
          expect(await api.run(id, 'echo marker; exit_status=3; (exit $exit_status)')).toMatchObject({ output: 'marker', exitCode: 3, seq: null });
          expect((await api.get(id)).shellIntegration).toBe('none');
          expect(await api.commands(id)).toEqual([]);
          const detach = await api.call('POST', `/${id}/run`, { command: 'true', detach: true });
          expect(detach.status).toBe(409);
          expect(detach.json().error.message).toMatch(/^detach: needs shell integration/);
        }
      } finally {
        await api.remove(norc.id);
        await api.remove(replaced.id);
      }
    });

    it('wait with command: true ends when the command finishes, also one that ended between `since` and the wait', async () => {
      const { id } = await api.create({ command: 'bash' });
      try {
        await api.untilActive(id);
        const detached = await api.run(id, 'sleep 0.5; (exit 4)', { timeoutMs: 100, detach: true });
        expect(detached.running).toBe(true);
        const waited = await api.ok('POST', `/${id}/wait`, { command: true, timeoutMs: 10_000 });
        expect(waited).toMatchObject({ reason: 'command_finished', exitCode: 4, seq: detached.seq });
        const { next } = await api.ok<{ next: number }>('GET', `/${id}/output?tail=1`);
        await api.input(id, 'false\r');
        await api.recordsUntil(id, (all) => all.some((r) => r.command === 'false' && r.finishedAt !== null));
        const late = await api.ok('POST', `/${id}/wait`, { command: true, since: next, timeoutMs: 2000 });
        expect(late).toMatchObject({ reason: 'command_finished', exitCode: 1 });
      } finally {
        await api.remove(id);
      }
    });

    it('a program in the foreground of a shell without integration is refused too', async () => {
      const { id } = await api.create({ command: 'sh' });
      try {
        await api.run(id, 'true');
        await api.input(id, 'cat\r');
        await sleep(500);
        const refused = await api.call('POST', `/${id}/run`, { command: 'echo never' });
        expect(refused.status).toBe(409);
        expect(refused.json().error).toMatchObject({ code: 'terminal_busy' });
        expect(refused.json().error.message).toMatch(/\bcat\b/);
      } finally {
        await api.remove(id);
      }
    });

    it('bad command record requests are 400/404 naming the field', async () => {
      const { id } = await api.create({ command: 'bash' });
      try {
        expect((await api.call('GET', `/${id}/commands?since=x`)).json().error.message).toMatch(/^since:/);
        expect((await api.call('GET', `/${id}/commands/0/output`)).json().error.message).toMatch(/^seq:/);
        const missing = await api.call('GET', `/${id}/commands/99/output`);
        expect(missing.status).toBe(404);
        expect(missing.json().error.code).toBe('not_found');
      } finally {
        await api.remove(id);
      }
    });

    it('WebSocket subscribers get command.started and command.finished; others do not', async () => {
      const { id } = await api.create({ command: 'bash' });
      const watcher = await TestSocket.open(wsUrl(server.url), { protocols: ['termgate.v1'] });
      const bystander = await TestSocket.open(wsUrl(server.url), { protocols: ['termgate.v1'] });
      try {
        await api.untilActive(id);
        await watcher.request({ type: 'subscribe', terminalId: id });
        const answer = await watcher.request({ type: 'command', command: 'terminal.run', params: { terminalId: id, command: 'echo over-ws' } });
        expect(answer.data).toMatchObject({ output: 'over-ws', exitCode: 0 });
        const started = await watcher.waitFor((f) => f.event?.type === 'command.started' && f.event.data.seq === answer.data.seq);
        const finished = await watcher.waitFor((f) => f.event?.type === 'command.finished' && f.event.data.seq === answer.data.seq);
        expect(started.event).toMatchObject({ terminalId: id, data: { command: 'echo over-ws', source: 'run', exitCode: null } });
        expect(finished.event).toMatchObject({ terminalId: id, data: { command: 'echo over-ws', exitCode: 0 } });
        const listed = await watcher.request({ type: 'command', command: 'terminal.commands', params: { terminalId: id } });
        expect(listed.data.commands.map((r: CommandRecord) => r.command)).toContain('echo over-ws');
        expect(bystander.frames.some((f) => String(f.event?.type).startsWith('command.'))).toBe(false);
      } finally {
        await watcher.close();
        await bystander.close();
        await api.remove(id);
      }
    });

    describe('through MCP', () => {
      let sidecar: RunningServer;
      let mcp: Client;
      beforeAll(async () => {
        sidecar = await startServer(runtime, { command: 'mcp', home: server.home, args: ['--api-url', server.url] });
        mcp = new Client({ name: 'termgate-conformance', version: '1.0.0' });
        await mcp.connect(new StreamableHTTPClientTransport(new URL(`${sidecar.url}/mcp`)));
      });
      afterAll(async () => {
        await mcp?.close();
        await sidecar?.stop();
      });

      /** The structured result, with the bulk text (sent once, as the second text block) put back under `bulk`. */
      const tool = async (name: string, args: Record<string, unknown>, bulk?: string) => {
        const result = (await mcp.callTool({ name, arguments: args })) as CallToolResult;
        if (result.isError) throw new Error(`${name}: ${JSON.stringify(result.content)}`);
        const value = result.structuredContent as any;
        const second = result.content[1];
        if (bulk !== undefined && second?.type === 'text') value[bulk] = second.text;
        return value;
      };

      it('list_commands and get_command_output give the records of commands run and typed', async () => {
        const terminal = await tool('create_terminal', { command: 'bash' });
        try {
          await api.untilActive(terminal.id);
          const ran = await tool('run_command', { terminalId: terminal.id, command: 'echo via-mcp; false' }, 'output');
          expect(ran).toMatchObject({ output: 'via-mcp', exitCode: 1 });
          await api.input(terminal.id, 'echo typed-too\r');
          await api.recordsUntil(terminal.id, (all) => all.some((r) => r.command === 'echo typed-too' && r.finishedAt !== null));
          const { commands } = await tool('list_commands', { terminalId: terminal.id });
          expect(commands.map((r: CommandRecord) => [r.command, r.source, r.exitCode])).toEqual([
            ['echo via-mcp; false', 'run', 1],
            ['echo typed-too', 'typed', 0],
          ]);
          const output = await tool('get_command_output', { terminalId: terminal.id, seq: commands[1].seq }, 'data');
          expect(output).toMatchObject({ exitCode: 0, running: false });
          expect(output.data).toContain('typed-too');
        } finally {
          await tool('close_terminal', { terminalId: terminal.id });
        }
      });

      it('list_commands gives the newest 50 by default and says how many it left out; with since it pages forward; limit picks the number at every door', async () => {
        const terminal = await tool('create_terminal', { command: 'bash' });
        try {
          await api.untilActive(terminal.id);
          // 55 typed lines at once: 55 records (a line's record ends before the next line is read).
          await api.input(terminal.id, 'true\r'.repeat(55));
          await api.recordsUntil(terminal.id, (all) => all.length === 55 && all.every((r) => r.finishedAt !== null), 20_000);
          const seqs = (records: CommandRecord[]) => records.map((r) => r.seq);
          const viaMcp = await tool('list_commands', { terminalId: terminal.id });
          expect(viaMcp.commands).toHaveLength(50);
          expect(seqs(viaMcp.commands)).toEqual(Array.from({ length: 50 }, (_, i) => i + 6));
          expect(viaMcp.omitted).toBe(5);
          const all = await tool('list_commands', { terminalId: terminal.id, limit: 1000 });
          expect(all.commands).toHaveLength(55);
          expect(all.omitted).toBeUndefined();
          // REST keeps its default (every record).
          type Page = { commands: CommandRecord[]; omitted?: number; more?: true };
          const rest = await api.ok<Page>('GET', `/${terminal.id}/commands`);
          expect(rest.commands).toHaveLength(55);
          expect(rest.omitted).toBeUndefined();
          // since and limit page forward: every record once, in order, and more says when to go on.
          const paged: number[] = [];
          let pages = 0;
          for (let since = 10, more = true; more; pages++) {
            const page = await api.ok<Page>('GET', `/${terminal.id}/commands?since=${since}&limit=20`);
            expect(page.omitted).toBeUndefined();
            paged.push(...seqs(page.commands));
            more = page.more === true;
            since = page.commands.at(-1)!.seq;
          }
          expect(paged).toEqual(Array.from({ length: 45 }, (_, i) => i + 11));
          expect(pages).toBe(3);
          const viaMcpSince = await tool('list_commands', { terminalId: terminal.id, since: 2 });
          expect(seqs(viaMcpSince.commands)).toEqual(Array.from({ length: 50 }, (_, i) => i + 3));
          expect(viaMcpSince.more).toBe(true);
          const lastPage = await tool('list_commands', { terminalId: terminal.id, since: 52 });
          expect(seqs(lastPage.commands)).toEqual([53, 54, 55]);
          expect(lastPage.more).toBeUndefined();
          for (const bad of ['0', '1001', 'x']) {
            const refused = await api.call('GET', `/${terminal.id}/commands?limit=${bad}`);
            expect(refused.status, bad).toBe(400);
            expect(refused.json().error.message, bad).toMatch(/^limit:/);
          }
        } finally {
          await tool('close_terminal', { terminalId: terminal.id });
        }
      });
    });
  });
}

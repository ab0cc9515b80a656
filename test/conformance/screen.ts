/**
 * The screen and keys against a real server and a real PTY: cursor moves in
 * `lines`, the alternate screen, keys typed into a shell, application cursor
 * keys, an unknown key named in the 400.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../harness.ts';
import { raw } from '../http.ts';
import type { Target } from './suite.ts';
import type { ScreenSnapshot } from '../../src/terminals/screen.ts';

type Screen = ScreenSnapshot;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function screenChecks({ runtime }: Target): void {
  describe('screen and keys', () => {
    let server: RunningServer;
    beforeAll(async () => {
      server = await startServer(runtime);
    }, 30_000);
    afterAll(async () => {
      await server?.stop();
    });

    const api = (method: string, path: string, body?: object) =>
      raw(`${server.url}/api/terminals${path}`, { method, ...(body === undefined ? {} : { body }) });
    const create = async (body: object) => {
      const response = await api('POST', '', body);
      expect(response.status, response.text).toBe(201);
      return response.json().id as string;
    };
    const screen = async (id: string, query = '') => {
      const response = await api('GET', `/${id}/screen${query}`);
      expect(response.status, response.text).toBe(200);
      return response.json() as Screen;
    };
    const until = async (id: string, done: (s: Screen) => boolean, query = '') => {
      const deadline = Date.now() + 10_000;
      let last = await screen(id, query);
      while (!done(last) && Date.now() < deadline) {
        await sleep(50);
        last = await screen(id, query);
      }
      expect(done(last), JSON.stringify(last)).toBe(true);
      return last;
    };
    const keys = async (id: string, names: string[]) => {
      const response = await api('POST', `/${id}/keys`, { keys: names });
      expect(response.status, response.text).toBe(200);
    };

    it('renders cursor moves and \\r overwrites as lines', async () => {
      const id = await create({ command: 'sh', args: ['-c', "printf 'abc\\rX\\n\\033[3;5Hhere\\033]0;T1\\007'; sleep 30"], cols: 40, rows: 6 });
      const s = await until(id, (s) => s.lines[2] === '    here');
      expect(s.lines[0]).toBe('Xbc');
      expect(s.cols).toBe(40);
      expect(s.rows).toBe(6);
      expect(s.lines).toHaveLength(6);
      expect(s.title).toBe('T1');
      expect(s.cursor).toMatchObject({ x: 8, y: 2 });
      expect(s.offset).toBeGreaterThan(0);
      const ansi = await api('GET', `/${id}/screen?format=ansi`);
      expect(ansi.status).toBe(200);
      expect(ansi.json().data).toContain('here');
      await api('DELETE', `/${id}`);
    });

    it('serializes only the scrollback rows asked for with format=ansi', async () => {
      const id = await create({ command: 'sh', args: ['-c', "seq -f 'row-%g' 1 50; printf end; sleep 30"], cols: 40, rows: 6 });
      await until(id, (s) => s.lines.some((l) => l.includes('end')));
      const whole = (await api('GET', `/${id}/screen?format=ansi`)).json().data as string;
      expect(whole).toContain('row-1\r');
      const screenOnly = (await api('GET', `/${id}/screen?format=ansi&scrollback=0`)).json().data as string;
      expect(screenOnly).toContain('row-50');
      expect(screenOnly).not.toContain('row-40');
      const some = (await api('GET', `/${id}/screen?format=ansi&scrollback=10`)).json().data as string;
      expect(some).toContain('row-40');
      expect(some).not.toContain('row-30');
      await api('DELETE', `/${id}`);
    });

    it('trims the spaces a program wrote at the end of a row, as a person sees it', async () => {
      const id = await create({ command: 'sh', args: ['-c', "printf 'padded   \\n\\033[44m   \\033[0m\\nend'; sleep 30"], cols: 40, rows: 6 });
      const s = await until(id, (s) => s.lines[2] === 'end');
      expect(s.lines.slice(0, 2)).toEqual(['padded', '']);
      await api('DELETE', `/${id}`);
    });

    it('sees the alternate screen come and go', async () => {
      const id = await create({ command: 'sh', args: ['-c', 'printf main; sleep 0.5; tput smcup; printf alt; sleep 1; tput rmcup; sleep 30'], cols: 40, rows: 6 });
      await until(id, (s) => s.altScreen && s.lines.some((l) => l.includes('alt')));
      const back = await until(id, (s) => !s.altScreen);
      expect(back.lines[0]).toContain('main');
      await api('DELETE', `/${id}`);
    });

    it('types keys into a shell, in application cursor mode too', async () => {
      const id = await create({ command: 'sh', cols: 60, rows: 10, env: { PS1: '$ ' } });
      // Keys typed before the first prompt are echoed twice (by the tty, then by the shell): as a person would, wait for it.
      await until(id, (s) => s.lines[0]?.startsWith('$') === true);
      await keys(id, ['text:echo hi', 'Enter']);
      await until(id, (s) => s.lines.some((l) => l === 'hi'));
      await keys(id, ['text:printf "\\033[?1h"; od -c', 'Enter']);
      await sleep(300);
      await keys(id, ['Up', 'Enter', 'C-d']);
      await until(id, (s) => s.lines.some((l) => /033\s+O\s+A/.test(l)));
      await api('DELETE', `/${id}`);
    });

    it('wraps pasted text where the program asked for bracketed paste, and counts the bytes it wrote', async () => {
      const id = await create({ command: 'sh', args: ['-c', "printf '\\033[?2004hready\\n'; od -c"], cols: 80, rows: 10 });
      await until(id, (s) => s.lines.includes('ready'));
      const response = await api('POST', `/${id}/keys`, { keys: ['text:ab', 'Enter', 'C-d'] });
      expect(response.status, response.text).toBe(200);
      // ESC[200~ a b ESC[201~ CR ^D: 6 + 2 + 6 + 1 + 1.
      expect(response.json()).toEqual({ terminalId: id, bytes: 16, next: expect.any(Number) });
      await until(id, (s) => s.lines.some((l) => /033\s+\[\s+2\s+0\s+0\s+~\s+a\s+b\s+033\s+\[\s+2\s+0\s+1\s+~/.test(l)));
      await api('DELETE', `/${id}`);
    });

    it('refuses an unknown key, naming it', async () => {
      const id = await create({ command: 'sh' });
      const response = await api('POST', `/${id}/keys`, { keys: ['Enter', 'Foo'] });
      expect(response.status).toBe(400);
      expect(response.json().error.message).toContain('keys.1');
      expect(response.json().error.message).toContain('"Foo"');
      await api('DELETE', `/${id}`);
    });
  });
}

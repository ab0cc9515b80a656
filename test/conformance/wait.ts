/**
 * `wait` against a real server and real PTYs, through each door (REST, a
 * WebSocket command frame, the MCP tool wait_for through the SDK client): a
 * pattern printed 2 s later, idleness after a burst, a terminal closed during
 * the wait, and refusals that name the field.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../harness.ts';
import { raw } from '../http.ts';
import type { TestSocket } from '../ws-client.ts';
import { closeDoors, openDoors } from './doors.ts';
import type { Target } from './suite.ts';

type Door = 'REST' | 'WebSocket' | 'MCP';
const DOORS: Door[] = ['REST', 'WebSocket', 'MCP'];

interface Answer {
  ok: boolean;
  value: any;
  /** The refusal's message (with code and status through MCP). */
  error?: string;
}

export function waitChecks({ runtime }: Target): void {
  describe('wait', () => {
    let api: RunningServer;
    let sidecar: RunningServer;
    let socket: TestSocket;
    let client: Client;

    beforeAll(async () => {
      ({ api, sidecar, socket, client } = await openDoors(runtime));
    }, 30_000);
    afterAll(async () => {
      await closeDoors({ api, sidecar, socket, client });
    });

    const create = async (body: object) => {
      const response = await raw(`${api.url}/api/terminals`, { method: 'POST', body });
      expect(response.status, response.text).toBe(201);
      return response.json().id as string;
    };
    const close = (id: string) => raw(`${api.url}/api/terminals/${id}`, { method: 'DELETE' });

    /** One wait through one door. */
    const wait = async (door: Door, terminalId: string, params: object): Promise<Answer> => {
      if (door === 'REST') {
        const response = await raw(`${api.url}/api/terminals/${terminalId}/wait`, { method: 'POST', body: params });
        return response.status === 200 ? { ok: true, value: response.json() } : { ok: false, value: response.json(), error: response.json().error.message };
      }
      if (door === 'WebSocket') {
        const frame = await socket.request({ type: 'command', command: 'terminal.wait', params: { terminalId, ...params } }, 30_000);
        return frame.success ? { ok: true, value: frame.data } : { ok: false, value: frame.error, error: frame.error.message };
      }
      const result = (await client.callTool({ name: 'wait_for', arguments: { terminalId, ...params } })) as CallToolResult;
      const text = result.content[0]?.type === 'text' ? result.content[0].text : '';
      return result.isError ? { ok: false, value: text, error: text } : { ok: true, value: result.structuredContent };
    };

    for (const door of DOORS) {
      it(`${door}: a pattern printed 2 s later is matched after about 2 s, at its offset`, async () => {
        const id = await create({ command: 'sh', args: ['-c', "sleep 2; printf 'status: \\033[32mREADY\\033[0m-%s\\n' $((6*7)); sleep 30"] });
        try {
          const started = Date.now();
          const answer = await wait(door, id, { pattern: 'READY-\\d+', since: 0, timeoutMs: 10_000 });
          const elapsed = Date.now() - started;
          expect(answer.ok, answer.error).toBe(true);
          expect(answer.value).toMatchObject({ reason: 'matched', match: 'READY-42' });
          expect(elapsed).toBeGreaterThan(1500);
          expect(elapsed).toBeLessThan(4000);
          // The offsets point into the raw output: the match starts at READY (after its colour), next after the 42.
          const output = (await raw(`${api.url}/api/terminals/${id}/output?since=${answer.value.offset}`)).json();
          expect(output.data.startsWith('READY\u001b[0m-42')).toBe(true);
          const rest = (await raw(`${api.url}/api/terminals/${id}/output?since=${answer.value.next}`)).json();
          expect(rest.data.startsWith('\r\n')).toBe(true);
        } finally {
          await close(id);
        }
      });

      it(`${door}: idleMs after a burst answers idle once the output is quiet`, async () => {
        const id = await create({ command: 'sh', args: ['-c', 'for i in 1 2 3 4 5 6 7 8 9 10; do echo tick $i; sleep 0.1; done; sleep 30'] });
        try {
          const started = Date.now();
          const answer = await wait(door, id, { idleMs: 600, since: 0, timeoutMs: 10_000 });
          expect(answer.ok, answer.error).toBe(true);
          expect(answer.value.reason).toBe('idle');
          expect(Date.now() - started).toBeGreaterThan(600);
          // The burst was over: everything up to `next` holds its last line.
          const seen = (await raw(`${api.url}/api/terminals/${id}/output?since=0&limit=${answer.value.next}`)).json();
          expect(seen.data).toContain('tick 10');
        } finally {
          await close(id);
        }
      });

      it(`${door}: a terminal closed during the wait ends it`, async () => {
        const id = await create({ command: 'sleep', args: ['60'] });
        const started = Date.now();
        const waiting = wait(door, id, { pattern: 'never printed', timeoutMs: 20_000 });
        await new Promise((resolve) => setTimeout(resolve, 500));
        await close(id);
        const answer = await waiting;
        expect(answer.ok, answer.error).toBe(true);
        expect(answer.value.reason).toBe('exited');
        expect(Date.now() - started).toBeLessThan(8000);
      });

      it(`${door}: a bad pattern, or nothing to wait for, is refused naming the field`, async () => {
        const id = await create({ command: 'sleep', args: ['60'] });
        try {
          const bad = await wait(door, id, { pattern: '(unclosed', timeoutMs: 1000 });
          expect(bad.ok).toBe(false);
          expect(bad.error).toMatch(/^(termgate API: )?pattern: not a valid regular expression/);
          const nothing = await wait(door, id, { timeoutMs: 1000 });
          expect(nothing.error).toMatch(/^(termgate API: )?pattern: nothing to wait for/);
          const long = await wait(door, id, { exit: true, timeoutMs: 600_001 });
          expect(long.error).toMatch(/^(termgate API: )?timeoutMs: /);
          if (door !== 'MCP') expect(bad.value.code ?? bad.value.error?.code).toBe('bad_request');
          else expect(bad.error).toMatch(/\(bad_request 400\)$/);
        } finally {
          await close(id);
        }
      });
    }

    it('ends a wait for exit when the process exits, with its code', async () => {
      const id = await create({ command: 'sh', args: ['-c', 'sleep 0.5; exit 7'] });
      try {
        expect((await wait('REST', id, { exit: true, timeoutMs: 10_000 })).value).toMatchObject({ reason: 'exited', exitCode: 7 });
        // Already exited: answered at once.
        expect((await wait('REST', id, { exit: true, timeoutMs: 10_000 })).value).toMatchObject({ reason: 'exited', exitCode: 7 });
      } finally {
        await close(id);
      }
    });

    it('times out when nothing comes, and says so in the OpenAPI document', async () => {
      const id = await create({ command: 'sleep', args: ['60'] });
      try {
        const started = Date.now();
        expect((await wait('REST', id, { pattern: 'x', timeoutMs: 300 })).value).toEqual({ reason: 'timeout', next: 0 });
        expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      } finally {
        await close(id);
      }
      const doc = (await raw(`${api.url}/api/openapi.json`)).json();
      expect(doc.paths['/api/terminals/{terminalId}/wait'].post).toBeDefined();
    });
  });
}

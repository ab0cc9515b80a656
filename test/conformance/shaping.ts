/**
 * Output shaped for an agent's context, against a real server, real shells and
 * the MCP sidecar (SDK client): 5 MB of run output within maxBytes with head,
 * tail and the omitted count; `plain` rendered by the emulator (a `\r`
 * progress bar as its final line, colours gone); a shaped read whose `next`
 * and `omitted` range stay exact; the MCP result carrying its text once.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../harness.ts';
import { raw } from '../http.ts';
import type { TestSocket } from '../ws-client.ts';
import { closeDoors, openDoors } from './doors.ts';
import type { Target } from './suite.ts';

const bytes = (text: string) => new TextEncoder().encode(text).length;
const MARKER = /\n…\[(\d+) bytes omitted\]…\n/;
/** seq 1 800000: 5 488 895 bytes with its \n line ends. */
const SEQ_END = 800_000;
const SEQ_BYTES = 5_488_895;
/** A progress bar redrawn with \r, in colour, then a last line. */
const PROGRESS =
  "for i in 1 2 3 4 5; do printf '\\r\\033[33mprogress %3d%%\\033[0m' $((i*20)); sleep 0.05; done; printf '\\n'; printf '\\033[1;32mdone\\033[0m\\n'";

export function shapingChecks({ runtime }: Target): void {
  describe('output shaping', () => {
    let api: RunningServer;
    let sidecar: RunningServer;
    let socket: TestSocket;
    let client: Client;
    let terminalId: string;

    beforeAll(async () => {
      ({ api, sidecar, socket, client } = await openDoors(runtime));
      const created = await raw(`${api.url}/api/terminals`, { method: 'POST', body: { cols: 100 } });
      expect(created.status, created.text).toBe(201);
      terminalId = created.json().id;
    }, 30_000);
    afterAll(async () => {
      if (terminalId) await raw(`${api.url}/api/terminals/${terminalId}`, { method: 'DELETE' });
      await closeDoors({ api, sidecar, socket, client });
    });

    const rest = async (path: string, body?: object) => {
      const response = await raw(`${api.url}/api/terminals/${terminalId}${path}`, body === undefined ? {} : { method: 'POST', body, timeoutMs: 60_000 });
      expect(response.status, response.text.slice(0, 500)).toBe(200);
      return response.json();
    };
    const tool = async (name: string, args: object) => {
      const result = (await client.callTool({ name, arguments: { terminalId, ...args } }, undefined, { timeout: 60_000 })) as CallToolResult;
      expect(result.isError, JSON.stringify(result.content).slice(0, 500)).toBeFalsy();
      return result;
    };
    /** The bulk text block (the second) and the fields (structuredContent). */
    const split = (result: CallToolResult) => {
      expect(result.content).toHaveLength(2);
      const [fields, bulk] = result.content;
      expect(fields?.type).toBe('text');
      expect(bulk?.type).toBe('text');
      return { fields: result.structuredContent as Record<string, any>, header: JSON.parse((fields as { text: string }).text), text: (bulk as { text: string }).text };
    };
    /** Head, count and tail of shaped seq output. */
    const checkSeq = (text: string, omittedBytes: number, maxBytes: number) => {
      expect(bytes(text)).toBeLessThanOrEqual(maxBytes);
      const match = MARKER.exec(text);
      expect(match, text.slice(0, 200)).not.toBeNull();
      expect(Number(match![1])).toBe(omittedBytes);
      const head = text.slice(0, match!.index);
      const tail = text.slice(match!.index + match![0].length);
      expect(head.startsWith('1\n2\n3\n')).toBe(true);
      expect(tail.endsWith(`\n${SEQ_END - 1}\n${SEQ_END}`)).toBe(true);
      // Whole lines either side, and nothing lost or doubled: head + omitted + tail = the whole output.
      expect(head.split('\n').every((line, i) => line === String(i + 1))).toBe(true);
      const tailLines = tail.split('\n');
      expect(tailLines.every((line, i) => line === String(SEQ_END - tailLines.length + 1 + i))).toBe(true);
      expect(bytes(head) + 1 + omittedBytes + bytes(tail)).toBe(SEQ_BYTES - 1); // run's output drops the last \n
    };

    it('MCP: 5 MB from run_command comes back within the default 64 KiB, head and tail kept, the omitted count beside', async () => {
      const result = await tool('run_command', { command: `seq 1 ${SEQ_END}`, timeoutMs: 50_000 });
      const { fields, header, text } = split(result);
      expect(fields).toMatchObject({ exitCode: 0, timedOut: false, truncated: true });
      expect(fields.output).toBeUndefined(); // sent once: in the text block, not again in structuredContent
      expect(header.output).toMatch(/next text block/);
      checkSeq(text, fields.omittedBytes, 65_536);
      // The whole result: the text within maxBytes plus a small envelope.
      const size = result.content.reduce((sum, block) => sum + (block.type === 'text' ? bytes(block.text) : 0), 0) + bytes(JSON.stringify(fields));
      expect(size).toBeLessThan(65_536 + 2048);
    }, 90_000);

    it('REST and WebSocket: run with maxBytes shapes; without it the output is whole', async () => {
      const shaped = await rest('/run', { command: `seq 1 ${SEQ_END}`, maxBytes: 10_000, timeoutMs: 50_000 });
      checkSeq(shaped.output, shaped.omittedBytes, 10_000);
      expect(shaped.truncated).toBe(true);
      const frame = await socket.request({ type: 'command', command: 'terminal.run', params: { terminalId, command: 'seq 1 100000', maxBytes: 4096 } }, 60_000);
      expect(frame.success, JSON.stringify(frame.error)).toBe(true);
      expect(bytes(frame.data.output)).toBeLessThanOrEqual(4096);
      expect(frame.data.output).toMatch(MARKER);
      const whole = await rest('/run', { command: 'seq 1 20000', timeoutMs: 50_000 });
      expect(whole.output.split('\n')).toHaveLength(20_000);
      expect(whole.omittedBytes).toBeUndefined();
      expect(whole.truncated).toBe(false);
    }, 120_000);

    it('plain: a \\r progress bar reads as its final line, colours gone, through REST, WebSocket and MCP', async () => {
      const viaRest = await rest('/run', { command: PROGRESS, plain: true });
      expect(viaRest.output).toBe('progress 100%\ndone');
      const frame = await socket.request({ type: 'command', command: 'terminal.run', params: { terminalId, command: PROGRESS, plain: true } }, 30_000);
      expect(frame.data.output).toBe('progress 100%\ndone');
      const viaMcp = split(await tool('run_command', { command: PROGRESS, plain: true }));
      expect(viaMcp.text).toBe('progress 100%\ndone');
      // Without plain: every redraw and colour is there.
      const rawRun = await rest('/run', { command: PROGRESS });
      expect(rawRun.output).toContain('\r\u001b[33mprogress  20%');
      expect(rawRun.output).toContain('progress 100%');
    });

    it('plain read: the same range rendered, its offsets unchanged', async () => {
      const before = (await rest('/output?tail=1')).next;
      await rest('/run', { command: PROGRESS });
      const after = (await rest('/output?tail=1')).next;
      const query = `since=${before}&limit=${after - before}`;
      const plain = await rest(`/output?${query}&plain=true`);
      expect(plain).toMatchObject({ since: before, next: after });
      expect(plain.data).toMatch(/^progress 100%$/m);
      expect(plain.data).toMatch(/^done$/m);
      expect(plain.data).not.toMatch(/\u001b|\r|progress {2}20%/);
      const viaMcp = split(await tool('read_output', { since: before, limit: after - before, plain: true }));
      expect(viaMcp.text).toBe(plain.data);
      expect(viaMcp.fields).toMatchObject({ terminalId, since: before, next: after });
    });

    it('read with maxBytes: head and tail, `omitted` readable exactly, `next` still the end', async () => {
      const before = (await rest('/output?tail=1')).next;
      await rest('/run', { command: 'seq 1 50000' });
      const end = (await rest('/output?tail=1')).next;
      const shaped = await rest(`/output?since=${before}&maxBytes=2000`);
      expect(shaped.since).toBe(before);
      expect(shaped.next).toBeGreaterThanOrEqual(end);
      expect(bytes(shaped.data)).toBeLessThanOrEqual(2000);
      const { since: from, next: to } = shaped.omitted;
      expect(to - from).toBe(shaped.omittedBytes);
      // head + the omitted range + tail = the whole range, byte for byte.
      const whole = (await rest(`/output?since=${before}&limit=${shaped.next - before}`)).data as string;
      const middle = (await rest(`/output?since=${from}&limit=${to - from}`)).data as string;
      const match = MARKER.exec(shaped.data)!;
      const head = shaped.data.slice(0, match.index + 1);
      const tail = shaped.data.slice(match.index + match[0].length);
      expect(head + middle + tail).toBe(whole);
      // Paging with limit stays exact and says when more is waiting.
      const page = await rest(`/output?since=${before}&limit=100`);
      expect(page).toMatchObject({ since: before, next: before + 100, more: true });
      const mcpPage = await tool('read_output', { since: before, limit: 7 });
      expect(mcpPage.structuredContent).toMatchObject({ since: before, next: before + 7, more: true });
    });

    it('screen scrollback is shaped by maxBytes too', async () => {
      await rest('/run', { command: 'seq 1 3000' });
      const screen = await rest('/screen?scrollback=3000&maxBytes=1000');
      expect(bytes(screen.scrollback.join('\n'))).toBeLessThanOrEqual(1000);
      expect(screen.omittedBytes).toBeGreaterThan(2000);
      expect(screen.scrollback.some((line: string) => /^…\[\d+ bytes omitted\]…$/.test(line))).toBe(true);
    });

    it('MCP tools say their limits and defaults in their schemas', async () => {
      const { tools } = await client.listTools();
      const byName = new Map(tools.map((t) => [t.name, t]));
      for (const name of ['run_command', 'read_output', 'read_screen']) {
        const maxBytes = byName.get(name)!.inputSchema.properties!.maxBytes as { description: string };
        expect(maxBytes.description, name).toMatch(/Default here: 65536/);
      }
      const data = byName.get('send_input')!.inputSchema.properties!.data as { description: string };
      expect(data.description).toMatch(/262144/);
      expect(byName.get('run_command')!.outputSchema!.properties).not.toHaveProperty('output');
      expect(client.getServerCapabilities()?.tools?.listChanged).toBeUndefined();
    });
  });
}

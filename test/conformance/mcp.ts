/**
 * the MCP sidecar, started as a real process (`termgate mcp`) next to
 * a real API server under the same runtime and TERMGATE_HOME, driven by the
 * official SDK's Client over its Streamable-HTTP transport.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, savedConfig, startServer, type RunningServer } from '../harness.ts';
import { bearer, raw } from '../http.ts';
import type { Target } from './suite.ts';

const TOOLS = [
  'close_terminal', 'create_terminal', 'get_command_output', 'get_terminal', 'list_commands', 'list_terminals',
  'read_output', 'read_screen', 'resize_terminal', 'run_command', 'send_input', 'send_keys', 'wait_for',
];

const tokenOf = (server: RunningServer): string => savedConfig(server).authToken;

async function connect(sidecar: RunningServer, token?: string): Promise<Client> {
  const client = new Client({ name: 'termgate-conformance', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${sidecar.url}/mcp`), {
    requestInit: token === undefined ? {} : { headers: bearer(token) },
  });
  await client.connect(transport);
  return client;
}

/**
 * Calls a tool; returns its value, or fails the test with the tool's error text. A tool with a bulk
 * text (run's output, read's data) sends it once, as a second text block: put back into the value here.
 */
async function call<T = any>(client: Client, name: string, args: Record<string, unknown> = {}): Promise<T> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  if (result.isError) throw new Error(`${name} failed: ${JSON.stringify(result.content)}`);
  const value = { ...result.structuredContent } as Record<string, unknown>;
  const [fields, bulk] = result.content;
  // The fields go to the model as one compact line of JSON: indentation would cost it about 40% more context.
  if (fields?.type === 'text') expect(fields.text, `${name}: compact JSON`).not.toMatch(/\n/);
  if (bulk?.type === 'text' && fields?.type === 'text') {
    const header = JSON.parse(fields.text) as Record<string, unknown>;
    const key = Object.keys(header).find((k) => typeof header[k] === 'string' && /^\(the next text block/.test(header[k] as string))!;
    expect(value, `${name}: ${key} is sent once`).not.toHaveProperty(key);
    value[key] = bulk.text;
  }
  return value as T;
}

/** Calls a tool that must fail; returns its error text. */
async function callFailing(client: Client, name: string, args: Record<string, unknown> = {}): Promise<string> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  expect(result.isError, `${name} should fail`).toBe(true);
  const [first] = result.content;
  return first?.type === 'text' ? first.text : JSON.stringify(result.content);
}

/** Reads until `pattern` shows up in the output from `since` (bounded). */
async function readUntil(client: Client, terminalId: string, since: number, pattern: RegExp) {
  let text = '';
  let next = since;
  for (let attempt = 0; attempt < 40 && !pattern.test(text); attempt++) {
    const slice = await call(client, 'read_output', { terminalId, since: next, waitMs: 500 });
    expect(slice.since).toBe(next);
    text += slice.data;
    next = slice.next;
  }
  expect(text).toMatch(pattern);
  return { text, next };
}

export function mcpChecks({ runtime }: Target): void {
  describe('mcp sidecar', () => {
    describe('next to a local API', () => {
      let api: RunningServer;
      let sidecar: RunningServer;
      let client: Client;

      beforeAll(async () => {
        api = await startServer(runtime);
        sidecar = await startServer(runtime, { command: 'mcp', home: api.home, args: ['--api-url', api.url] });
        client = await connect(sidecar);
      });
      afterAll(async () => {
        await client?.close();
        await sidecar?.stop();
        await api?.stop();
      });

      it('prints one machine-readable line with the MCP URL, and answers /health', async () => {
        expect(sidecar.output()).toMatch(/termgate mcp listening on http:\/\/127\.0\.0\.1:\d+\/mcp \(mode: local/);
        const health = await raw(`${sidecar.url}/health`);
        expect(health.json()).toMatchObject({ status: 'ok', name: 'termgate-mcp', runtime, mode: 'local', api: api.url });
      });

      it('initializes and lists the terminal tools, each with a description and an input schema', async () => {
        expect(client.getServerVersion()?.name).toBe('termgate');
        expect(client.getInstructions()).toMatch(/create_terminal/);
        const { tools } = await client.listTools();
        expect(tools.map((tool) => tool.name).sort()).toEqual(TOOLS);
        for (const tool of tools) {
          expect(tool.description!.length, tool.name).toBeGreaterThan(40);
          expect(tool.inputSchema.type).toBe('object');
          expect(tool.outputSchema?.type).toBe('object');
        }
        const run = tools.find((tool) => tool.name === 'run_command')!;
        expect(run.inputSchema.required).toEqual(['terminalId', 'command']);
      });

      it('creates a terminal, runs commands with their exit codes, reads output by offsets, resizes and closes', async () => {
        const terminal = await call(client, 'create_terminal', { name: 'mcp-test', cols: 100, rows: 30 });
        expect(terminal).toMatchObject({ name: 'mcp-test', cols: 100, rows: 30, exited: false });
        const terminalId: string = terminal.id;
        try {
          expect((await call(client, 'list_terminals')).terminals.map((t: { id: string }) => t.id)).toContain(terminalId);

          const hello = await call(client, 'run_command', { terminalId, command: 'echo hello' });
          expect(hello.output.trim()).toBe('hello');
          expect(hello).toMatchObject({ exitCode: 0, timedOut: false });
          expect(typeof hello.durationMs).toBe('number');
          expect(await call(client, 'run_command', { terminalId, command: 'false' })).toMatchObject({ exitCode: 1, timedOut: false });

          // Typing: the result (mcp-42) differs from the echoed keystrokes (mcp-$((6*7))).
          const start = (await call(client, 'read_output', { terminalId })).next;
          const typed = await call(client, 'send_input', { terminalId, data: 'echo mcp-$((6*7))\n' });
          expect(typed).toEqual({ terminalId, bytes: 18, next: expect.any(Number) });
          expect(typed.next).toBeGreaterThanOrEqual(start);
          const { next } = await readUntil(client, terminalId, start, /mcp-42/);

          // Offsets: reading from `start` in 7-byte pieces gives the same bytes, in order, without gaps or repeats.
          let pieces = '';
          for (let since = start, guard = 0; since < next && guard < 1000; guard++) {
            const piece = await call(client, 'read_output', { terminalId, since, limit: 7 });
            expect(piece.since).toBe(since);
            expect(piece.next - piece.since).toBeLessThanOrEqual(7);
            expect(new TextEncoder().encode(piece.data).length).toBe(piece.next - piece.since);
            pieces += piece.data;
            since = piece.next;
          }
          const whole = await call(client, 'read_output', { terminalId, since: start });
          expect(whole.data.startsWith(pieces)).toBe(true);
          expect(pieces).toMatch(/mcp-42/);

          // The recent screen: only the tail, and as plain text without the prompt's escape sequences.
          await call(client, 'run_command', { terminalId, command: "printf '\\033[31mred-tail\\033[0m\\n'" });
          // (2000: a prompt with shell integration's OSC sequences takes a few hundred bytes.)
          const recent = await call(client, 'read_output', { terminalId, tail: 2000 });
          expect(recent.next - recent.since).toBeLessThanOrEqual(2000);
          expect(recent.data).toContain('\u001b[31mred-tail');
          // The same bytes again (the prompt may have grown the tail meanwhile), as plain text.
          const range = { since: recent.since, limit: recent.next - recent.since };
          const plain = await call(client, 'read_output', { terminalId, ...range, plain: true });
          expect(plain).toMatchObject({ since: recent.since, next: recent.next });
          // The line ends in \n, or ends the text: the tail may be read before the next prompt
          // is printed, and plain text drops trailing empty lines (src/terminals/render.ts).
          expect(plain.data).toMatch(/(^|\n)red-tail(\n|$)/);
          expect(plain.data).not.toMatch(/\u001b|\r/);
          expect(await callFailing(client, 'read_output', { terminalId, tail: 10, since: 0 })).toMatch(/tail: cannot be combined/);

          expect(await call(client, 'resize_terminal', { terminalId, cols: 123, rows: 40 })).toMatchObject({ id: terminalId, cols: 123, rows: 40 });
          expect(await call(client, 'get_terminal', { terminalId })).toMatchObject({ id: terminalId, cols: 123, rows: 40, exited: false });
          expect((await call(client, 'run_command', { terminalId, command: 'tput cols' })).output.trim()).toBe('123');
        } finally {
          expect(await call(client, 'close_terminal', { terminalId })).toEqual({ terminalId, closed: true });
        }
        expect((await call(client, 'list_terminals')).terminals.map((t: { id: string }) => t.id)).not.toContain(terminalId);
        expect(await callFailing(client, 'read_output', { terminalId })).toMatch(/not_found 404/);
      });

      it('interrupts a command at its timeout and the terminal stays usable', async () => {
        const { id: terminalId } = await call(client, 'create_terminal', {});
        try {
          const slow = await call(client, 'run_command', { terminalId, command: 'sleep 30', timeoutMs: 500 });
          expect(slow.timedOut).toBe(true);
          expect(slow.durationMs).toBeLessThan(10_000);
          expect((await call(client, 'run_command', { terminalId, command: 'echo still-here' })).output.trim()).toBe('still-here');
        } finally {
          await call(client, 'close_terminal', { terminalId });
        }
      });

      it("send_keys answers the bytes it wrote for the terminal's modes (a bracketed paste is 12 more) and where its answer starts", async () => {
        const { id: terminalId } = await call(client, 'create_terminal', { command: 'sh', args: ['-c', "printf '\\033[?2004hready\\n'; cat"] });
        try {
          const { next: ready } = await readUntil(client, terminalId, 0, /ready/);
          const pasted = await call(client, 'send_keys', { terminalId, keys: ['text:ab', 'Enter'] });
          expect(pasted).toEqual({ terminalId, bytes: 15, next: ready });
          // The echo is already there when the wait begins: since = next still finds it (without since, only later output counts).
          await readUntil(client, terminalId, ready, /ab/);
          const seen = await call(client, 'wait_for', { terminalId, pattern: '\\[201~', since: pasted.next, timeoutMs: 5000 });
          expect(seen).toMatchObject({ reason: 'matched' });
          expect(await call(client, 'wait_for', { terminalId, pattern: '\\[201~', timeoutMs: 300 })).toMatchObject({ reason: 'timeout' });
          expect(await call(client, 'send_keys', { terminalId, keys: 'C-c' })).toMatchObject({ terminalId, bytes: 1 });
        } finally {
          await call(client, 'close_terminal', { terminalId });
        }
      });

      it('turns API errors and bad arguments into tool errors with a plain message', async () => {
        expect(await callFailing(client, 'run_command', { terminalId: 'no-such-terminal', command: 'true' })).toMatch(/not_found 404/);
        expect(await callFailing(client, 'send_input', { terminalId: 'no-such-terminal', data: 'x' })).toMatch(/not_found 404/);
        expect(await callFailing(client, 'close_terminal', { terminalId: 'no-such-terminal' })).toMatch(/not_found 404/);
        expect(await callFailing(client, 'create_terminal', { cwd: '/no/such/directory' })).toMatch(/bad_request 400/);
        expect(await callFailing(client, 'resize_terminal', { terminalId: 'x', cols: -1, rows: 5 })).toMatch(/not_found 404/);
        expect(await callFailing(client, 'create_terminal', { cols: -1 })).toMatch(/^termgate API: cols: .*\(bad_request 400\)$/);
        const { id: terminalId } = await call(client, 'create_terminal', {});
        try {
          expect(await callFailing(client, 'resize_terminal', { terminalId, cols: -1, rows: 5 })).toMatch(/cols: .*bad_request 400/);
          expect(await callFailing(client, 'run_command', { terminalId })).toMatch(/command: .*bad_request 400/);
          expect(await callFailing(client, 'read_output', { terminalId, waitMs: 'soon' })).toMatch(/waitMs: .*bad_request 400/);
        } finally {
          await call(client, 'close_terminal', { terminalId });
        }
        expect(await callFailing(client, 'no_such_tool')).toMatch(/no_such_tool/);
      });

      it('refuses a foreign Origin or Host with 403, as the API does', async () => {
        const initialize = {
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
        };
        const headers = { accept: 'application/json, text/event-stream' };
        const mcpUrl = `${sidecar.url}/mcp`;
        const origin = await raw(mcpUrl, { method: 'POST', body: initialize, headers: { ...headers, origin: 'http://evil.example' } });
        expect(origin.status).toBe(403);
        expect(origin.json().error.code).toBe('origin_not_allowed');
        const host = await raw(mcpUrl, { method: 'POST', body: initialize, headers: { ...headers, host: 'evil.example' } });
        expect(host.status).toBe(403);
        expect(host.json().error.code).toBe('host_not_allowed');
        expect((await raw(mcpUrl, { method: 'POST', body: initialize, headers: { ...headers, host: `localhost:${sidecar.port}` } })).status).toBe(200);
        // Stateless: no server-initiated stream, no session to delete.
        expect((await raw(mcpUrl, { headers: { accept: 'text/event-stream' } })).status).toBe(405);
      });

      it('says so and exits 0 when a sidecar already holds the port', async () => {
        const again = await runCli(runtime, ['mcp', '--port', String(sidecar.port)], { TERMGATE_HOME: api.home });
        expect(again.code).toBe(0);
        expect(again.stdout).toContain(`termgate mcp is already running at http://127.0.0.1:${sidecar.port}/mcp`);
      });
    });

    describe('exposed: API and sidecar bound to 0.0.0.0', () => {
      let api: RunningServer;
      let sidecar: RunningServer;

      beforeAll(async () => {
        api = await startServer(runtime, { host: '0.0.0.0' });
        sidecar = await startServer(runtime, { command: 'mcp', host: '0.0.0.0', home: api.home, args: ['--api-url', api.url] });
      });
      afterAll(async () => {
        await sidecar?.stop();
        await api?.stop();
      });

      it('requires a token from MCP clients, and calls the API with the token the client presented', async () => {
        const denied = await raw(`${sidecar.url}/mcp`, { method: 'POST', body: {}, headers: { accept: 'application/json, text/event-stream' } });
        expect(denied.status).toBe(401);
        expect(denied.json().error.code).toBe('unauthorized');
        await expect(connect(sidecar, 'wrong')).rejects.toThrow();

        const client = await connect(sidecar, tokenOf(api));
        try {
          const { id: terminalId } = await call(client, 'create_terminal', {});
          const hello = await call(client, 'run_command', { terminalId, command: 'echo hello' });
          expect(hello).toMatchObject({ exitCode: 0 });
          expect(hello.output.trim()).toBe('hello');
          await call(client, 'close_terminal', { terminalId });
        } finally {
          await client.close();
        }
      });

      it('follows a token rotation: the old token stops working at once, the new one works for both hops', async () => {
        const old = tokenOf(api);
        const rotated = await raw(`${api.url}/api/auth/rotate`, { method: 'POST', headers: bearer(old) });
        expect(rotated.status).toBe(200);
        const fresh: string = rotated.json().token;

        await expect(connect(sidecar, old)).rejects.toThrow();
        const client = await connect(sidecar, fresh);
        try {
          expect(Array.isArray((await call(client, 'list_terminals')).terminals)).toBe(true);
        } finally {
          await client.close();
        }
      });

      it('answers a tool error, not a crash, when the API is down, and keeps serving', async () => {
        const client = await connect(sidecar, tokenOf(api));
        try {
          await api.stop();
          expect(await callFailing(client, 'list_terminals')).toMatch(/not reachable .*termgate serve/);
          expect(await callFailing(client, 'run_command', { terminalId: 'x', command: 'true' })).toMatch(/not reachable/);
          const { tools } = await client.listTools();
          expect(tools).toHaveLength(TOOLS.length);
          expect(sidecar.process.exitCode).toBeNull();
        } finally {
          await client.close();
        }
      });
    });
  });
}

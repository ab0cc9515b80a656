/**
 * The operation table drives all three doors: for every operation, the same
 * bad input gets the same code and the same message naming the field through
 * REST, a WebSocket command frame and the MCP tool.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AnyOperation, OPERATIONS } from '../../src/terminals/operations.ts';
import type { RunningServer } from '../harness.ts';
import { raw } from '../http.ts';
import type { TestSocket } from '../ws-client.ts';
import { closeDoors, openDoors } from './doors.ts';
import type { Target } from './suite.ts';

interface Refusal {
  code: string;
  message: string;
}

type Input = Record<string, unknown>;

/** A value of the right shape but out of bounds (numbers), or of the wrong type (the rest). */
function badValue(schema: z.ZodType): unknown {
  let inner = schema;
  while (inner.def.type === 'optional') inner = (inner.def as unknown as { innerType: z.ZodType }).innerType;
  return inner.def.type === 'number' ? -1 : inner.def.type === 'string' ? 12345 : 'not-this';
}

/** Three mistakes per operation: an unknown field, a bad value in its first own field, an unknown terminal. */
function mistakes(op: AnyOperation, terminalId: string): [string, Input][] {
  const shape = op.params.shape as Record<string, z.ZodType>;
  // The required fields valid, so each case has exactly one mistake.
  const base: Input = {};
  for (const [key, schema] of Object.entries(shape)) {
    if (key === 'terminalId') base[key] = terminalId;
    else if (!schema.safeParse(undefined).success) base[key] = schema.def.type === 'number' ? 10 : 'x';
  }
  const cases: [string, Input][] = [['unknown field', { ...base, bogus: 1 }]];
  const field = Object.keys(shape).find((key) => key !== 'terminalId');
  if (field !== undefined) cases.push([`bad ${field}`, { ...base, [field]: badValue(shape[field]!) }]);
  if ('terminalId' in shape) cases.push(['unknown terminal', { terminalId: 'no-such-terminal' }]);
  return cases;
}

async function viaRest(server: RunningServer, op: AnyOperation, input: Input): Promise<Refusal> {
  const rest: Input = { ...input };
  // Path parameters (:terminalId, a command's :seq) go in the path.
  let path = op.rest.path.replace(/:(\w+)/g, (_, name: string) => {
    const value = rest[name];
    delete rest[name];
    return encodeURIComponent(String(value));
  });
  let body: object | undefined;
  if (op.rest.method === 'POST') body = rest;
  else if (Object.keys(rest).length > 0) path += `?${new URLSearchParams(Object.entries(rest).map(([k, v]) => [k, String(v)]))}`;
  const response = await raw(server.url + path, { method: op.rest.method, body });
  expect(response.status, `${op.name} via REST: ${response.text}`).toBeGreaterThanOrEqual(400);
  return response.json().error;
}

async function viaWebSocket(socket: TestSocket, op: AnyOperation, input: Input): Promise<Refusal> {
  const answer = await socket.request({ type: 'command', command: `terminal.${op.name}`, params: input });
  expect(answer.success, `${op.name} via WebSocket`).toBe(false);
  return answer.error;
}

async function viaMcp(client: Client, op: AnyOperation, input: Input): Promise<Refusal> {
  const result = (await client.callTool({ name: op.mcp.tool, arguments: input })) as CallToolResult;
  expect(result.isError, `${op.mcp.tool} should fail`).toBe(true);
  const text = result.content[0]?.type === 'text' ? result.content[0].text : '';
  const match = /^(?:termgate API: )?([\s\S]*) \((\w+) \d{3}\)$/.exec(text);
  expect(match, text).not.toBeNull();
  return { code: match![2]!, message: match![1]! };
}

export function operationChecks({ runtime }: Target): void {
  describe('operations: one definition, three doors', () => {
    let api: RunningServer;
    let sidecar: RunningServer;
    let socket: TestSocket;
    let client: Client;
    let terminalId: string;

    beforeAll(async () => {
      ({ api, sidecar, socket, client } = await openDoors(runtime));
      terminalId = (await raw(`${api.url}/api/terminals`, { method: 'POST', body: { command: 'cat' } })).json().id;
    });
    afterAll(async () => {
      if (terminalId) await raw(`${api.url}/api/terminals/${terminalId}`, { method: 'DELETE' });
      await closeDoors({ api, sidecar, socket, client });
    });

    it('answers the same mistake with the same code and message naming the field at every door', async () => {
      let compared = 0;
      for (const op of OPERATIONS as readonly AnyOperation[]) {
        for (const [what, input] of mistakes(op, terminalId)) {
          const rest = await viaRest(api, op, input);
          const ws = await viaWebSocket(socket, op, input);
          const mcp = await viaMcp(client, op, input);
          const label = `${op.name}, ${what}`;
          expect(ws, `${label}: WebSocket vs REST`).toEqual(rest);
          expect(mcp, `${label}: MCP vs REST`).toEqual(rest);
          if (what === 'unknown terminal') expect(rest.code, label).toBe('not_found');
          else expect(rest.message, label).toMatch(what === 'unknown field' ? /^bogus: unknown field/ : new RegExp(`^${what.slice(4)}: `));
          compared++;
        }
      }
      expect(compared).toBeGreaterThanOrEqual(OPERATIONS.length * 2);
      // Nothing was created or closed by a refused call: only our terminal is there, still open.
      const listed = (await raw(`${api.url}/api/terminals`)).json().terminals as { id: string; exited: boolean }[];
      expect(listed.map((t) => t.id)).toEqual([terminalId]);
    });

    it('offers every operation at every door', async () => {
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name).sort()).toEqual(OPERATIONS.map((op) => op.mcp.tool).sort());
      for (const op of OPERATIONS as readonly AnyOperation[]) {
        const frame = await socket.request({ type: 'command', command: `terminal.${op.name}`, params: { bogus: 1 } });
        expect(frame.error.message, op.name).not.toMatch(/unknown command/);
        const path = op.rest.path.replace(':terminalId', terminalId);
        const response = await raw(`${api.url}${path}?bogus=1`, { method: op.rest.method, body: op.rest.method === 'POST' ? { bogus: 1 } : undefined });
        expect(response.status, `${op.rest.method} ${path}`).not.toBe(404);
      }
    });
  });
}

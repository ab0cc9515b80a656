/** The terminals REST door through core.fetch(): 400 naming the field, 404 for unknown ids. */
import { describe, expect, it } from 'vitest';
import { ConfigStore } from '../../../src/config.ts';
import { Core } from '../../../src/core.ts';
import type { Platform } from '../../../src/platform.ts';
import { FakePty } from '../fake-pty.ts';
import { MemoryStorage } from '../memory-platform.ts';

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
        // No files here: shells start without integration, so run uses the marker method.
        installFiles: async () => {
          throw new Error('no files in unit tests');
        },
        foregroundProcess: () => null,
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

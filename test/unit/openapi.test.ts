/** GET /api/openapi.json: a valid OpenAPI 3.1 document that covers every route the server registers. */
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { unitCore } from './memory-platform.ts';

type Doc = { openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };

async function document(): Promise<{ doc: Doc; routes: { method: string; path: string }[] }> {
  const { core, request } = await unitCore();
  const response = await request('/api/openapi.json');
  expect(response.status).toBe(200);
  return { doc: (await response.json()) as Doc, routes: core.app.routes };
}

describe('openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const { doc } = await document();
    expect(doc.openapi).toBe('3.1.0');
    const result = await new Validator().validate(doc as never);
    expect(result.errors ?? [], JSON.stringify(result.errors)).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('lists every registered route, each with its error responses', async () => {
    const { doc, routes } = await document();
    const registered = routes.filter((route) => route.method !== 'ALL' && !route.path.includes('*'));
    expect(registered.length).toBeGreaterThan(20);
    for (const route of registered) {
      // Hono's `:name` and `:name{regex}` are OpenAPI's `{name}`.
      const path = route.path.replace(/:(\w+)(\{[^}]*\})?/g, '{$1}');
      const entry = doc.paths[path]?.[route.method.toLowerCase()];
      expect(entry, `${route.method} ${route.path}`).toBeDefined();
      const statuses = Object.keys(entry!.responses);
      if (!path.endsWith('/health')) expect(statuses, `${route.method} ${path}`).toEqual(expect.arrayContaining(['400', '401', '403', '500']));
    }
    const terminal = doc.paths['/api/terminals/{terminalId}/input']!.post!;
    expect(Object.keys(terminal.responses)).toEqual(expect.arrayContaining(['200', '404', '413', '415']));
  });
});

import { describe, expect, it } from 'vitest';
import { ConfigStore, parseConfig, serializeConfig, defaultConfig, ConfigError } from '../../src/config.ts';
import { Credentials } from '../../src/credentials.ts';
import { VERSION } from '../../src/version.ts';
import { readFileSync } from 'node:fs';
import { MemoryStorage, unitCore } from './memory-platform.ts';

describe('config', () => {
  it('creates fresh 64-hex secrets on first run and writes them once', async () => {
    const storage = new MemoryStorage();
    const store = await ConfigStore.open(storage, false);
    expect(store.current.authToken).toMatch(/^[0-9a-f]{64}$/);
    expect(store.current.jwtSecret).not.toBe(store.current.authToken);
    expect(store.current.apiPort).toBe(42031);
    expect(storage.writes).toBe(1);
    expect((await ConfigStore.open(new MemoryStorage(null), true)).current.apiPort).toBe(42051);
  });

  it('refuses corrupt or invalid text with an error naming the file', () => {
    expect(() => parseConfig('{', '/x/config.json')).toThrow(ConfigError);
    expect(() => parseConfig('{', '/x/config.json')).toThrow('/x/config.json');
    const bad = { ...defaultConfig(false), apiPort: 80 };
    expect(() => parseConfig(JSON.stringify(bad), '/x/c.json')).toThrow(/apiPort/);
  });

  it('follows changes another process made to the file, keeps the config when the file is corrupt', async () => {
    const storage = new MemoryStorage();
    const store = await ConfigStore.open(storage, false);
    expect(await store.follow()).toBe(false);
    await store.update((c) => void (c.allowedHosts = ['mine.lan']));
    expect(await store.follow()).toBe(false); // its own write is not news

    const outside = parseConfig(storage.text!, storage.path);
    outside.authToken = 'f'.repeat(64);
    storage.text = serializeConfig(outside);
    expect(await store.follow()).toBe(true);
    expect(store.current.authToken).toBe('f'.repeat(64));

    storage.text = '{"half": ';
    await expect(store.follow()).rejects.toThrow(ConfigError);
    expect(await store.follow()).toBe(false); // reported once
    expect(store.current.authToken).toBe('f'.repeat(64));
  });

  it('re-reads the file under the lock, so a concurrent writer is not overwritten', async () => {
    const storage = new MemoryStorage();
    const store = await ConfigStore.open(storage, false);
    const outside = parseConfig(storage.text!, storage.path);
    outside.allowedHosts = ['written-by-cli.lan'];
    storage.text = serializeConfig(outside);
    await store.update((c) => void (c.mcpPort = 45000));
    expect(parseConfig(storage.text!, storage.path)).toMatchObject({ allowedHosts: ['written-by-cli.lan'], mcpPort: 45000 });
  });

  it('keeps the version equal to package.json', () => {
    expect(VERSION).toBe(JSON.parse(readFileSync('package.json', 'utf8')).version);
  });
});

describe('credentials', () => {
  it('identifies the main token synchronously and named tokens through their hash', async () => {
    const store = await ConfigStore.open(new MemoryStorage(), false);
    const credentials = new Credentials(store);
    expect(credentials.identify(store.current.authToken)).toEqual({ kind: 'main', scope: 'admin', terminals: null });
    expect(credentials.identify('nope')).toBeNull();
    const { token } = await credentials.create('agent');
    const hash = store.current.tokens[0]!.hash;
    expect(hash).not.toContain(token.slice(3));
    const principal = await credentials.identify(token);
    expect(principal).toEqual({ kind: 'named', name: 'agent', hash, scope: 'write', terminals: null });
    expect(await credentials.identify(token.slice(0, -1) + (token.endsWith('0') ? '1' : '0'))).toBeNull();
    expect(credentials.stillValid(principal!)).toBe(true);
    await credentials.revoke('agent');
    expect(credentials.identify(token)).toBeNull();
    expect(credentials.stillValid(principal!)).toBe(false);
    // Re-created under the same name, it is another token: the old principal stays revoked.
    await credentials.create('agent');
    expect(credentials.stillValid(principal!)).toBe(false);
  });

  it('lets TERMGATE_TOKEN replace the config token and refuses rotation', async () => {
    const store = await ConfigStore.open(new MemoryStorage(), false);
    const credentials = new Credentials(store, 'fixed-secret');
    expect(credentials.identify('fixed-secret')).toEqual({ kind: 'main', scope: 'admin', terminals: null });
    expect(credentials.identify(store.current.authToken)).toBeNull();
    await expect(credentials.rotate()).rejects.toMatchObject({ code: 'conflict' });
  });

  it('persists lastUsedAt lazily, not on every request', async () => {
    const { core, storage, request } = await unitCore({ mode: 'exposed' });
    const created = await core.credentials.create('bot', { scope: 'admin' });
    const writes = storage.writes;
    for (let i = 0; i < 5; i++) {
      expect((await request('/api/tokens', { headers: { authorization: `Bearer ${created.token}` } })).status).toBe(200);
    }
    expect(storage.writes).toBe(writes);
    await core.credentials.flush();
    expect(storage.writes).toBe(writes + 1);
    expect(core.config.current.tokens[0]!.lastUsedAt).not.toBeNull();
  });

  it('gives a named token its scope (default write) and terminals; an admin token cannot be limited', async () => {
    const store = await ConfigStore.open(new MemoryStorage(), false);
    const credentials = new Credentials(store);
    const viewer = await credentials.create('viewer', { scope: 'read', terminals: ['t1', 't1', 't2'] });
    expect(viewer).toMatchObject({ scope: 'read', terminals: ['t1', 't2'] });
    const principal = await credentials.identify(viewer.token);
    expect(principal).toMatchObject({ kind: 'named', name: 'viewer', scope: 'read' });
    expect([...principal!.terminals!]).toEqual(['t1', 't2']);
    expect((await credentials.create('writer')).scope).toBe('write');
    expect(credentials.list().map(({ name, scope, terminals }) => ({ name, scope, terminals }))).toEqual([
      { name: 'viewer', scope: 'read', terminals: ['t1', 't2'] },
      { name: 'writer', scope: 'write', terminals: undefined },
    ]);
    await expect(credentials.create('boss', { scope: 'admin', terminals: ['t1'] })).rejects.toMatchObject({ code: 'bad_request', message: expect.stringMatching(/^terminals: /) });
    await expect(credentials.create('none', { terminals: [] })).rejects.toMatchObject({ code: 'bad_request' });
  });

  it('reads a token saved before scopes existed as write (never more than the default)', async () => {
    const old = await ConfigStore.open(new MemoryStorage(), false);
    const text = JSON.stringify({ ...old.current, tokens: [{ name: 'legacy', hash: 'a'.repeat(64), createdAt: 'x', lastUsedAt: null }] });
    const store = await ConfigStore.open(new MemoryStorage(text), false);
    expect(store.current.tokens[0]).toMatchObject({ name: 'legacy', scope: 'write' });
    expect(store.current).toMatchObject({ requireToken: false, audit: { recordInput: false } });
  });
});

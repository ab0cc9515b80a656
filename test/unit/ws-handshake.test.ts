/** The WebSocket handshake checks the hub makes before any runtime sees the upgrade. */
import { describe, expect, it } from 'vitest';
import { TermgateError } from '../../src/errors.ts';
import { checkHandshake } from '../../src/ws/handshake.ts';

const VALID = { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' };

function check(headers: Record<string, string | undefined>): string | null {
  return checkHandshake((name) => headers[name]);
}

function refusal(headers: Record<string, string | undefined>): string {
  try {
    check(headers);
  } catch (error) {
    expect(error).toBeInstanceOf(TermgateError);
    expect((error as TermgateError).code).toBe('bad_request');
    return (error as TermgateError).message;
  }
  throw new Error('the handshake was accepted');
}

describe('ws handshake', () => {
  it('accepts a valid handshake, with any case and a Connection list', () => {
    expect(check(VALID)).toBeNull();
    expect(check({ ...VALID, upgrade: 'WebSocket', connection: 'keep-alive, upgrade' })).toBeNull();
  });

  it('refuses what is not a WebSocket handshake, naming what is missing', () => {
    expect(refusal({ ...VALID, upgrade: undefined })).toMatch(/Upgrade: websocket/);
    expect(refusal({ ...VALID, upgrade: 'h2c' })).toMatch(/Upgrade: websocket/);
    expect(refusal({ ...VALID, connection: undefined })).toMatch(/Connection: Upgrade/);
    expect(refusal({ ...VALID, connection: 'keep-alive' })).toMatch(/Connection: Upgrade/);
    expect(refusal({ ...VALID, 'sec-websocket-key': undefined })).toMatch(/Sec-WebSocket-Key/);
    expect(refusal({ ...VALID, 'sec-websocket-version': '8' })).toMatch(/Version: 13/);
  });

  it('answers termgate.v1 when offered, else an offered bearer protocol, else none', () => {
    expect(check({ ...VALID, 'sec-websocket-protocol': 'termgate.v1, bearer.secret' })).toBe('termgate.v1');
    expect(check({ ...VALID, 'sec-websocket-protocol': 'bearer.secret,termgate.v1' })).toBe('termgate.v1');
    expect(check({ ...VALID, 'sec-websocket-protocol': 'bearer.secret' })).toBe('bearer.secret');
    expect(check({ ...VALID, 'sec-websocket-protocol': 'chat, superchat' })).toBeNull();
  });
});

/**
 * The WebSocket handshake, checked before the runtime sees the request so that
 * every runtime answers a broken one alike (Deno's upgrade would throw, a 500;
 * Bun would upgrade anyway), and the subprotocol to answer with.
 */
import { TermgateError } from '../errors.ts';
import { selectSubprotocol } from '../gate.ts';

/** Checks an upgrade request the gate has admitted; returns the subprotocol to answer with (null: none). */
export function checkHandshake(header: (name: string) => string | undefined): string | null {
  if (header('upgrade')?.toLowerCase() !== 'websocket') {
    throw new TermgateError('bad_request', 'upgrade: this endpoint speaks WebSocket only (send Upgrade: websocket)');
  }
  const connection = header('connection') ?? '';
  if (!connection.split(',').some((token) => token.trim().toLowerCase() === 'upgrade')) {
    throw new TermgateError('bad_request', 'upgrade: a WebSocket handshake needs "Connection: Upgrade"');
  }
  if (!header('sec-websocket-key') || header('sec-websocket-version') !== '13') {
    throw new TermgateError('bad_request', 'upgrade: Sec-WebSocket-Key and Sec-WebSocket-Version: 13 are required');
  }
  return selectSubprotocol(header('sec-websocket-protocol') ?? null);
}

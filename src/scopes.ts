/**
 * What a principal may do (docs/security.md): `read` (list, get, output,
 * screen, commands, subscribe), `write` (read + every operation that changes a
 * terminal), `admin` (everything: tokens, settings, rotate, audit). A token
 * limited to terminals sees and touches only those: any other id is answered
 * exactly as an unknown one, so it cannot learn that the terminal exists.
 *
 * Terminal operations need `read` or `write` by the operation table's
 * `readOnly` flag; every other /api route needs `admin` unless listed here.
 */
import type { Principal, Scope } from './credentials.ts';
import { TermgateError } from './errors.ts';

const RANK: Readonly<Record<Scope, number>> = { read: 0, write: 1, admin: 2 };

export function hasScope(principal: Principal, needed: Scope): boolean {
  return RANK[principal.scope] >= RANK[needed];
}

/** Throws 403 forbidden naming the scope `what` needs. */
export function requireScope(principal: Principal, needed: Scope, what: string): void {
  if (!hasScope(principal, needed)) throw scopeRefusal(principal, needed, what);
}

/** The 403 for `what` when the principal lacks `needed`. */
export function scopeRefusal(principal: Principal, needed: Scope, what: string): TermgateError {
  return new TermgateError('forbidden', `${what} needs the "${needed}" scope; this token has "${principal.scope}"`);
}

export function seesTerminal(principal: Principal, terminalId: string): boolean {
  return principal.terminals === null || principal.terminals.has(terminalId);
}

/** The manager's own answer for an unknown id, word for word (src/terminals/manager.ts). */
export function terminalNotFound(terminalId: string): TermgateError {
  return new TermgateError('not_found', `terminal ${JSON.stringify(terminalId)} not found`);
}

/** Throws not_found, as for an unknown terminal, when the principal may not see `terminalId`. */
export function requireVisible(principal: Principal, terminalId: string): void {
  if (!seesTerminal(principal, terminalId)) throw terminalNotFound(terminalId);
}

/** The scope a terminal operation needs, from the operation table's readOnly flag. */
export function operationScope(op: { readonly readOnly: boolean }): Scope {
  return op.readOnly ? 'read' : 'write';
}

/**
 * The checks before a terminal operation runs: its scope, then (a token
 * limited to terminals) the terminal. Such a token cannot create terminals:
 * the new one would not be in its list, and it must not grant itself more.
 */
export function authorizeOperation(op: { readonly name: string; readonly readOnly: boolean }, principal: Principal, terminalId: string | undefined): void {
  requireScope(principal, operationScope(op), `terminal.${op.name}`);
  if (terminalId !== undefined) requireVisible(principal, terminalId);
  if (op.name === 'create' && principal.terminals !== null) {
    throw new TermgateError('forbidden', 'terminal.create needs a token that is not limited to terminals; this one may use only the terminals it was created for');
  }
}

/** list's answer filtered to what the principal may see. */
export function visibleTerminals<T extends { id: string }>(principal: Principal, terminals: T[]): T[] {
  return principal.terminals === null ? terminals : terminals.filter((terminal) => principal.terminals!.has(terminal.id));
}

/** Routes outside the operation table that any admitted principal may use (the rest of /api is admin). */
const READ_ROUTES: ReadonlySet<string> = new Set(['/api/openapi.json', '/api/ws']);

/**
 * The scope a REST route needs, or null when the route decides itself (the
 * terminal operations, by their readOnly flag). Default deny: a route not
 * named here needs admin, so a route added later is not open to read tokens.
 */
export function routeScope(path: string): Scope | null {
  if (path === '/api/terminals' || path.startsWith('/api/terminals/')) return null;
  if (READ_ROUTES.has(path) || path === '/api/health') return 'read';
  return 'admin';
}

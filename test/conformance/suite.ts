/**
 * The conformance suite: the same checks against termgate started as a real
 * process under each runtime. A runtime's test file is one call to this.
 * Runtime gaps are capability flags (none today), never copied tests.
 */
import { describe } from 'vitest';
import type { Runtime } from '../harness.ts';
import { auditChecks } from './audit.ts';
import { commandChecks } from './commands.ts';
import { fuzzChecks } from './fuzz.ts';
import { gateChecks } from './gate.ts';
import { hardeningChecks } from './hardening.ts';
import { mcpChecks } from './mcp.ts';
import { nginxChecks } from './nginx.ts';
import { operationChecks } from './operations.ts';
import { persistentChecks } from './persistent.ts';
import { scopeChecks } from './scopes.ts';
import { screenChecks } from './screen.ts';
import { settingsChecks } from './settings.ts';
import { shapingChecks } from './shaping.ts';
import { terminalChecks } from './terminals.ts';
import { transportChecks } from './transport.ts';
import { uiChecks } from './ui.ts';
import { waitChecks } from './wait.ts';
import { websocketChecks } from './websocket.ts';

export interface Capabilities {
  /** An open WebSocket survives a listener rebind (Deno's server shutdown closes it with 1001: docs/connections.md says why). */
  wsSurvivesRebind: boolean;
  /**
   * Over TLS the server also speaks HTTP/2 (ALPN h2): Deno.serve does, and has no
   * option to turn it off; Node's https server and Bun.serve speak HTTP/1.1 only.
   * An HTTP/2 request carries its host as :authority, never a Host header
   * (docs/tls-and-unix.md says how the Deno adapter maps it).
   */
  http2OverTls: boolean;
}

export interface Target {
  runtime: Runtime;
  caps: Capabilities;
}

export const CAPABILITIES: Record<Runtime, Capabilities> = {
  node: { wsSurvivesRebind: true, http2OverTls: false },
  bun: { wsSurvivesRebind: true, http2OverTls: false },
  deno: { wsSurvivesRebind: false, http2OverTls: true },
};

export function conformance(runtime: Runtime): void {
  const target: Target = { runtime, caps: CAPABILITIES[runtime] };
  describe(`conformance [${runtime}]`, () => {
    auditChecks(target);
    commandChecks(target);
    gateChecks(target);
    hardeningChecks(target);
    mcpChecks(target);
    operationChecks(target);
    persistentChecks(target);
    scopeChecks(target);
    screenChecks(target);
    settingsChecks(target);
    shapingChecks(target);
    terminalChecks(target);
    transportChecks(target);
    nginxChecks(target);
    waitChecks(target);
    websocketChecks(target);
    uiChecks(target);
    fuzzChecks(target);
  });
}

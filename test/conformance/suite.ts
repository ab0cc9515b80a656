/**
 * The conformance suite: the same checks against termgate started as a real
 * process under each runtime. A runtime's test file is one call to this.
 * Runtime gaps are capability flags (none today), never copied tests.
 */
import { describe } from 'vitest';
import type { Runtime } from '../harness.ts';
import { fuzzChecks } from './fuzz.ts';
import { gateChecks } from './gate.ts';
import { hardeningChecks } from './hardening.ts';
import { mcpChecks } from './mcp.ts';
import { operationChecks } from './operations.ts';
import { screenChecks } from './screen.ts';
import { settingsChecks } from './settings.ts';
import { terminalChecks } from './terminals.ts';
import { uiChecks } from './ui.ts';
import { websocketChecks } from './websocket.ts';

export interface Capabilities {
  /** An open WebSocket survives a listener rebind (Deno's server shutdown closes it with 1001: docs/connections.md says why). */
  wsSurvivesRebind: boolean;
}

export interface Target {
  runtime: Runtime;
  caps: Capabilities;
}

export const CAPABILITIES: Record<Runtime, Capabilities> = {
  node: { wsSurvivesRebind: true },
  bun: { wsSurvivesRebind: true },
  deno: { wsSurvivesRebind: false },
};

export function conformance(runtime: Runtime): void {
  const target: Target = { runtime, caps: CAPABILITIES[runtime] };
  describe(`conformance [${runtime}]`, () => {
    gateChecks(target);
    hardeningChecks(target);
    mcpChecks(target);
    operationChecks(target);
    screenChecks(target);
    settingsChecks(target);
    terminalChecks(target);
    websocketChecks(target);
    uiChecks(target);
    fuzzChecks(target);
  });
}

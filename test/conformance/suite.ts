/**
 * The conformance suite: the same checks against termgate started as a real
 * process under each runtime. A runtime's test file is one call to this.
 * Runtime gaps are capability flags (none today), never copied tests.
 */
import { describe } from 'vitest';
import type { Runtime } from '../harness.ts';
import { gateChecks } from './gate.ts';

export interface Capabilities {}

export interface Target {
  runtime: Runtime;
  caps: Capabilities;
}

export const CAPABILITIES: Record<Runtime, Capabilities> = {
  node: {},
  bun: {},
  deno: {},
};

export function conformance(runtime: Runtime): void {
  const target: Target = { runtime, caps: CAPABILITIES[runtime] };
  describe(`conformance [${runtime}]`, () => {
    gateChecks(target);
  });
}

/**
 * Stopping a long-running command (`serve`, `mcp`) on SIGINT or SIGTERM: one
 * line saying so, the command's own cleanup, exit 0. Cleanup that outlasts
 * the grace period is cut short with `exitCodeWhenSlow`.
 */
export interface ShutdownOptions {
  /** Prefix of the line printed, e.g. "termgate" or "termgate mcp". */
  name: string;
  graceMs: number;
  exitCodeWhenSlow: number;
  cleanup(): Promise<void>;
}

export function stopOnSignals({ name, graceMs, exitCodeWhenSlow, cleanup }: ShutdownOptions): void {
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.error(`${name}: ${signal}, shutting down`);
    const forced = setTimeout(() => process.exit(exitCodeWhenSlow), graceMs);
    try {
      await cleanup();
    } catch (error) {
      console.error(`${name}: shutdown failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    }
    clearTimeout(forced);
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stop(signal));
}

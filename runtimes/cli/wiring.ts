import type { Listen, PtyHost, RuntimeName, UpgradeWebSocket } from '../../src/platform.ts';
import type { HolderCommand } from '../holder/sessions.ts';

/** What one runtime entry supplies to the CLI; everything else is shared. */
export interface RuntimeWiring {
  runtime: RuntimeName;
  listen: Listen;
  pty: PtyHost;
  upgradeWebSocket: UpgradeWebSocket;
  /** How to start a persistent terminal's holder (runtimes/<rt>/holder.ts); without it, no persistent terminals. */
  holder?: HolderCommand | undefined;
}

import type { Listen, PtyHost, RuntimeName, UpgradeWebSocket } from '../../src/platform.ts';

/** What one runtime entry supplies to the CLI; everything else is shared. */
export interface RuntimeWiring {
  runtime: RuntimeName;
  listen: Listen;
  pty: PtyHost;
  upgradeWebSocket: UpgradeWebSocket;
}

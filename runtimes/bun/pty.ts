/** PTY on Bun via Bun.spawn's terminal option. (Filled in by the terminals work.) */
import type { PtyHost } from '../../src/platform.ts';

export const bunPtyHost: PtyHost = {
  spawn() {
    throw new Error('PTY host not implemented yet');
  },
};

/** PTY on Node and Deno via @lydell/node-pty. (Filled in by the terminals work.) */
import type { PtyHost } from '../../src/platform.ts';

export const nodePtyHost: PtyHost = {
  spawn() {
    throw new Error('PTY host not implemented yet');
  },
};

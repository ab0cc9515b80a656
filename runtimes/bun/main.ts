/** termgate on Bun: the CLI with Bun.serve (listen.ts, websocket.ts) and Bun's own PTY (pty.ts; node-pty breaks under Bun); holder.ts holds persistent terminals. */
import { fileURLToPath } from 'node:url';
import { runCli } from '../cli/run.ts';
import { bunListen } from './listen.ts';
import { bunPtyHost } from './pty.ts';
import { bunUpgradeWebSocket } from './websocket.ts';

const holder = { command: process.execPath, args: [fileURLToPath(new URL('./holder.ts', import.meta.url))] };

await runCli({ runtime: 'bun', listen: bunListen, pty: bunPtyHost, upgradeWebSocket: bunUpgradeWebSocket, holder });

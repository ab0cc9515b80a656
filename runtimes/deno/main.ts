/** termgate on Deno: the CLI with Deno.serve (listen.ts), Deno.upgradeWebSocket (websocket.ts) and node-pty through npm (-A: FFI); holder.ts holds persistent terminals. */
import { fileURLToPath } from 'node:url';
import { runCli } from '../cli/run.ts';
import { nodePtyHost } from '../pty/node-pty-host.ts';
import { denoListen } from './listen.ts';
import { denoUpgradeWebSocket } from './websocket.ts';

const holder = { command: Deno.execPath(), args: ['run', '-A', '--quiet', fileURLToPath(new URL('./holder.ts', import.meta.url))] };

await runCli({ runtime: 'deno', listen: denoListen, pty: nodePtyHost, upgradeWebSocket: denoUpgradeWebSocket, holder });

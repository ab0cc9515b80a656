/** termgate on Deno: the CLI with Deno.serve (listen.ts), Deno.upgradeWebSocket (websocket.ts) and node-pty through npm (-A: FFI). */
import { runCli } from '../cli/run.ts';
import { nodePtyHost } from '../pty/node-pty-host.ts';
import { denoListen } from './listen.ts';
import { denoUpgradeWebSocket } from './websocket.ts';

await runCli({ runtime: 'deno', listen: denoListen, pty: nodePtyHost, upgradeWebSocket: denoUpgradeWebSocket });

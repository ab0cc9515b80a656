#!/usr/bin/env node
/** termgate on Node.js: the CLI with Node's listen (listen.ts), WebSockets (websocket.ts) and node-pty; holder.ts holds persistent terminals. */
import { fileURLToPath } from 'node:url';
import { runCli } from '../cli/run.ts';
import { nodePtyHost } from '../pty/node-pty-host.ts';
import { nodeListen } from './listen.ts';
import { nodeUpgradeWebSocket } from './websocket.ts';

// Node runs dist/: the holder is compiled beside this file.
const holder = { command: process.execPath, args: [fileURLToPath(new URL('./holder.js', import.meta.url))] };

await runCli({ runtime: 'node', listen: nodeListen, pty: nodePtyHost, upgradeWebSocket: nodeUpgradeWebSocket, holder });

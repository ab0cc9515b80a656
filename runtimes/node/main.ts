#!/usr/bin/env node
/** termgate on Node.js: the CLI with Node's listen (listen.ts), WebSockets (websocket.ts) and node-pty. */
import { runCli } from '../cli/run.ts';
import { nodePtyHost } from '../pty/node-pty-host.ts';
import { nodeListen } from './listen.ts';
import { nodeUpgradeWebSocket } from './websocket.ts';

await runCli({ runtime: 'node', listen: nodeListen, pty: nodePtyHost, upgradeWebSocket: nodeUpgradeWebSocket });

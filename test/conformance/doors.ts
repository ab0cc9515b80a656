/**
 * The three doors to one API server, for checks that ask the same thing
 * through each: REST (`api.url`), a WebSocket on it, and the official MCP
 * SDK client through a sidecar started next to it (same runtime, same home).
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startServer, type RunningServer, type Runtime } from '../harness.ts';
import { TestSocket, wsUrl } from '../ws-client.ts';

export interface Doors {
  api: RunningServer;
  sidecar: RunningServer;
  socket: TestSocket;
  client: Client;
}

/** Starts them all; what was started is stopped again if a later one fails. */
export async function openDoors(runtime: Runtime): Promise<Doors> {
  const opened: Partial<Doors> = {};
  try {
    opened.api = await startServer(runtime);
    opened.sidecar = await startServer(runtime, { command: 'mcp', home: opened.api.home, args: ['--api-url', opened.api.url] });
    opened.socket = await TestSocket.open(wsUrl(opened.api.url), { protocols: ['termgate.v1'] });
    opened.client = new Client({ name: 'termgate-conformance', version: '1.0.0' });
    await opened.client.connect(new StreamableHTTPClientTransport(new URL(`${opened.sidecar.url}/mcp`)));
    return opened as Doors;
  } catch (error) {
    await closeDoors(opened);
    throw error;
  }
}

/** Closes whatever of them is open, client first, the API last. */
export async function closeDoors(doors: Partial<Doors>): Promise<void> {
  await doors.client?.close();
  await doors.socket?.close();
  await doors.sidecar?.stop();
  await doors.api?.stop();
}

/**
 * --unix PATH and --tls-cert/--tls-key of `serve` and `mcp` (docs/tls-and-unix.md):
 * checked together, files read, and a socket path made ready before anything
 * listens. A socket a termgate already answers on is not an error (as a port
 * is not); a stale one, left by a server that was killed, is removed.
 */
import { resolve } from 'node:path';
import type { ListenOptions } from '../../src/platform.ts';
import { readTlsFiles } from '../host/tls.ts';
import { removeStaleSocket, socketPathState, unixSocketUrl } from '../host/unix-socket.ts';
import { CliError, usageError } from './errors.ts';
import { probeHealth } from './remote.ts';

export interface TransportOptions {
  /** Listen on this Unix socket (created 0600) instead of TCP. */
  unix?: string | undefined;
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
}

/**
 * The listen options these flags ask for, or 'running' when a termgate (or,
 * with `name`, its sidecar) already answers on the socket; that is printed here.
 */
export async function listenOptions(
  options: TransportOptions & { host?: string | undefined; port?: number | undefined },
  name: 'termgate' | 'termgate-mcp',
): Promise<ListenOptions | 'running'> {
  const { unix, tlsCert, tlsKey } = options;
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw usageError(`--tls-cert and --tls-key go together: ${tlsCert === undefined ? '--tls-cert' : '--tls-key'} is missing`);
  }
  if (unix === undefined) {
    return tlsCert === undefined || tlsKey === undefined ? {} : { tls: tlsOf(tlsCert, tlsKey) };
  }
  if (options.host !== undefined || options.port !== undefined) {
    throw usageError(`--unix replaces --host and --port: give ${options.host !== undefined ? '--host' : '--port'} or --unix, not both`);
  }
  if (tlsCert !== undefined) {
    throw usageError('--unix and --tls-cert do not go together: the socket file\'s mode (0600) already decides who connects; terminate TLS in front (docs/nginx.md)');
  }
  const unixPath = resolve(unix);
  switch (await socketPathState(unixPath)) {
    case 'absent':
      break;
    case 'stale':
      removeStaleSocket(unixPath);
      console.error(`${name}: removed the stale socket ${unixPath} (nothing listened on it)`);
      break;
    case 'not-a-socket':
      throw new CliError(`--unix: ${unixPath} exists and is not a socket; remove it or choose another path`);
    case 'live': {
      const health = await probeHealth(unixSocketUrl(unixPath), name);
      if (health === null) throw unixSocketTaken(unixPath);
      console.log(`${name === 'termgate' ? 'termgate' : 'termgate mcp'} is already running at unix:${unixPath} (runtime: ${health.runtime}, mode: ${health.mode})`);
      return 'running';
    }
  }
  return { unixPath };
}

export function unixSocketTaken(path: string): CliError {
  return new CliError(`--unix: ${path} is in use by another program (not termgate); choose another path`);
}

function tlsOf(certFile: string, keyFile: string) {
  try {
    return readTlsFiles(certFile, keyFile);
  } catch (error) {
    throw new CliError((error as Error).message);
  }
}

/** Why `serve` or `mcp` could not bind host:port, as one line (a port in use is handled by the caller first). */
import { CliError } from './errors.ts';

export function listenError(error: unknown, host: string, port: number): CliError {
  const code = (error as { code?: unknown } | null)?.code;
  const where = `${host}:${port}`;
  switch (code) {
    case 'EADDRNOTAVAIL':
      return new CliError(`cannot listen on ${where}: ${host} is not an address of this machine (--host)`);
    case 'EACCES':
    case 'EPERM':
      return new CliError(`cannot listen on ${where}: permission denied`);
    default:
      return new CliError(`cannot listen on ${where}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

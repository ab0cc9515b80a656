/** Why `serve` or `mcp` could not bind host:port (or a Unix socket), as one line (a port in use is handled by the caller first). */
import { CliError } from './errors.ts';

/** `where`: host:port or unix:PATH; `host`: the --host given, when there is one. */
export function listenError(error: unknown, where: string, host?: string): CliError {
  const code = (error as { code?: unknown } | null)?.code;
  switch (code) {
    case 'EADDRNOTAVAIL':
      return new CliError(`cannot listen on ${where}: ${host ?? where} is not an address of this machine (--host)`);
    case 'EACCES':
    case 'EPERM':
      return new CliError(`cannot listen on ${where}: permission denied`);
    default:
      return new CliError(`cannot listen on ${where}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

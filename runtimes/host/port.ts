/** The one check of a port a person gives termgate, as a flag (`--port`) or an environment variable. */

export const MIN_PORT = 1024;
export const MAX_PORT = 65535;

/**
 * `text` as a port from 1024 to 65535 (or 0, "any free port", when `allowAny`);
 * otherwise an error naming `source` (e.g. "--port", "TERMGATE_PORT") and the value.
 */
export function parsePort(text: string, source: string, allowAny = false): number {
  const port = Number(text);
  const valid = text.trim() !== '' && Number.isInteger(port) && ((allowAny && port === 0) || (port >= MIN_PORT && port <= MAX_PORT));
  if (valid) return port;
  const range = `a whole number from ${MIN_PORT} to ${MAX_PORT}${allowAny ? ' (or 0 for any free port)' : ''}`;
  throw new Error(`${source}: must be ${range}, got "${text}"`);
}

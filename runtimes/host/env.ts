/**
 * The TERMGATE_* environment variables other than TERMGATE_HOME (home.ts).
 * An invalid value is an error worded for the person who set it; it never
 * repeats a secret.
 */
import { parsePort } from './port.ts';

/** Shorter than this, a fixed token could be guessed: the gate does not limit attempts. */
const MIN_ENV_TOKEN_LENGTH = 32;

/** TERMGATE_TOKEN when set (a fixed token that replaces authToken); refused when too short to be safe. */
export function envToken(): string | undefined {
  const value = process.env.TERMGATE_TOKEN;
  if (value === undefined || value === '') return undefined;
  if (value.length < MIN_ENV_TOKEN_LENGTH) {
    // The length only: the value is a secret.
    throw new Error(`TERMGATE_TOKEN: must be at least ${MIN_ENV_TOKEN_LENGTH} characters (the gate does not limit guesses), got ${value.length}`);
  }
  return value;
}

/** TERMGATE_PORT (the API) or TERMGATE_MCP_PORT (the sidecar), when set. */
export function envPort(name: 'TERMGATE_PORT' | 'TERMGATE_MCP_PORT'): number | undefined {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : parsePort(value, name);
}

/** TERMGATE_API_URL (the API the sidecar calls) as given, when set; the caller checks it as it checks --api-url. */
export function envApiUrl(): string | undefined {
  return process.env.TERMGATE_API_URL || undefined;
}

/** Where termgate keeps its config ($TERMGATE_HOME or ~/.termgate, a separate file for --dev), and TERMGATE_TOKEN. */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, ConfigStore } from '../../src/config.ts';
import { CliError } from './cli-error.ts';
import { FileConfigStorage } from './config-file.ts';

export function configPath(dev: boolean): string {
  const home = process.env.TERMGATE_HOME || join(homedir(), '.termgate');
  return join(home, dev ? 'config.dev.json' : 'config.json');
}

export function configStorage(dev: boolean): FileConfigStorage {
  return new FileConfigStorage(configPath(dev));
}

/**
 * Opens (or creates) the config; a corrupt file becomes one clear CLI error
 * naming it. A file others may read (it holds the token) is set to 0600, and
 * that is said in one line.
 */
export async function openConfig(storage: FileConfigStorage, dev: boolean): Promise<ConfigStore> {
  let store: ConfigStore;
  try {
    store = await ConfigStore.open(storage, dev);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message);
    throw error;
  }
  const loose = await storage.tightenPermissions();
  if (loose !== null) console.error(`termgate: ${storage.path} had mode ${loose.toString(8).padStart(4, '0')}; set it to 0600 (it holds the token)`);
  return store;
}

/** Shorter than this, a fixed token could be guessed: the gate does not limit attempts. */
const MIN_ENV_TOKEN_LENGTH = 32;

/** TERMGATE_TOKEN when set (a fixed token that replaces authToken); refused when too short to be safe. */
export function envToken(): string | undefined {
  const value = process.env.TERMGATE_TOKEN;
  if (value === undefined || value === '') return undefined;
  if (value.length < MIN_ENV_TOKEN_LENGTH) {
    // The length only: the value is a secret.
    throw new CliError(`TERMGATE_TOKEN: must be at least ${MIN_ENV_TOKEN_LENGTH} characters (the gate does not limit guesses), got ${value.length}`);
  }
  return value;
}

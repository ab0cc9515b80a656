/** Where termgate keeps its config ($TERMGATE_HOME or ~/.termgate, a separate file for --dev), and opening it. */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigStore } from '../../src/config.ts';
import { FileConfigStorage } from './config-file.ts';

/** $TERMGATE_HOME, or ~/.termgate. */
export function termgateHome(): string {
  return process.env.TERMGATE_HOME || join(homedir(), '.termgate');
}

/** Persistent terminals' holders and logs (docs/persistent.md); --dev servers keep their own. */
export function sessionsDir(dev: boolean): string {
  return join(termgateHome(), dev ? 'sessions-dev' : 'sessions');
}

export function configPath(dev: boolean): string {
  return join(termgateHome(), dev ? 'config.dev.json' : 'config.json');
}

export function configStorage(dev: boolean): FileConfigStorage {
  return new FileConfigStorage(configPath(dev));
}

/**
 * Opens (or creates) the config; a corrupt file is a ConfigError naming it. A
 * file others may read (it holds the token) is set to 0600, and that is said
 * in one line.
 */
export async function openConfig(storage: FileConfigStorage, dev: boolean): Promise<ConfigStore> {
  const store = await ConfigStore.open(storage, dev);
  const loose = await storage.tightenPermissions();
  if (loose !== null) console.error(`termgate: ${storage.path} had mode ${loose.toString(8).padStart(4, '0')}; set it to 0600 (it holds the token)`);
  return store;
}

/** Where termgate keeps its config: $TERMGATE_HOME or ~/.termgate, with a separate file for --dev. */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, ConfigStore } from '../../src/config.ts';
import type { ConfigStorage } from '../../src/platform.ts';
import { CliError } from './cli-error.ts';
import { FileConfigStorage } from './config-file.ts';

export function configPath(dev: boolean): string {
  const home = process.env.TERMGATE_HOME || join(homedir(), '.termgate');
  return join(home, dev ? 'config.dev.json' : 'config.json');
}

export function configStorage(dev: boolean): FileConfigStorage {
  return new FileConfigStorage(configPath(dev));
}

/** Opens (or creates) the config; a corrupt file becomes one clear CLI error naming it. */
export async function openConfig(storage: ConfigStorage, dev: boolean): Promise<ConfigStore> {
  try {
    return await ConfigStore.open(storage, dev);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message);
    throw error;
  }
}

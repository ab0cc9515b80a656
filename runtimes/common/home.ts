/** Where termgate keeps its config: $TERMGATE_HOME or ~/.termgate, with a separate file for --dev. */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { FileConfigStorage } from './config-file.ts';

export function configPath(dev: boolean): string {
  const home = process.env.TERMGATE_HOME || join(homedir(), '.termgate');
  return join(home, dev ? 'config.dev.json' : 'config.json');
}

export function configStorage(dev: boolean): FileConfigStorage {
  return new FileConfigStorage(configPath(dev));
}

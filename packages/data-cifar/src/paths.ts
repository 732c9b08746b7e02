// Where the datasets live on disk: the per-user cache folder and the environment variables that override it.
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Environment variable naming the cache folder (downloads and extracted datasets). */
export const DATA_DIR_ENV = 'RESNET_DATA_DIR';

/**
 * The cache folder: the option, else `$RESNET_DATA_DIR`, else `$XDG_CACHE_HOME/resnet-js`, else
 * `%LOCALAPPDATA%\resnet-js` on Windows, else `~/.cache/resnet-js`.
 */
export function resolveCacheDir(
  option?: string,
  env: Record<string, string | undefined> = process.env,
): string {
  if (option) return option;
  if (env[DATA_DIR_ENV]) return env[DATA_DIR_ENV];
  if (env['XDG_CACHE_HOME']) return join(env['XDG_CACHE_HOME'], 'resnet-js');
  if (process.platform === 'win32' && env['LOCALAPPDATA']) return join(env['LOCALAPPDATA'], 'resnet-js');
  return join(homedir(), '.cache', 'resnet-js');
}

/**
 * Where the app keeps its data when Electron does not say (browser mode, tests): the same folder as
 * Electron's userData for "IRD Studio", so `ird-studio serve` and the desktop app share their registries
 * and runs. $IRD_DATA_DIR and $IRD_RUNS_DIR override.
 * Must not: create folders (callers write into them when they need to).
 */
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'

export const PRODUCT_NAME = 'IRD Studio'

/** Electron's default userData for the product name, per platform. */
export function defaultAppDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.IRD_DATA_DIR) return resolve(env.IRD_DATA_DIR)
  if (platform === 'win32') return join(env.APPDATA || join(homedir(), 'AppData', 'Roaming'), PRODUCT_NAME)
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', PRODUCT_NAME)
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), PRODUCT_NAME)
}

export function defaultRunsDir(dataDir: string, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.IRD_RUNS_DIR || join(dataDir, 'runs'))
}

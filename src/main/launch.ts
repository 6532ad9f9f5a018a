/**
 * `npm start`: builds the app and starts it in Electron, or says clearly why it cannot and what to do.
 *
 * Electron ≥ 42 fetches its binary on first launch (node_modules/electron/index.js downloads it when
 * dist/ is missing), which fails without internet. This launcher looks for the binary first — never
 * triggering that download — and points to the alternatives: ELECTRON_EXEC_PATH, or browser mode.
 * Must not: download anything, or be imported by the app (it is a development launcher run with tsx).
 */
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

/** The Electron executable, or null with the reason it is missing. */
export function findElectron(env: NodeJS.ProcessEnv = process.env, electronDir?: string): { path: string } | { path: null; reason: string } {
  if (env.ELECTRON_EXEC_PATH) {
    return existsSync(env.ELECTRON_EXEC_PATH) ? { path: env.ELECTRON_EXEC_PATH } : { path: null, reason: `ELECTRON_EXEC_PATH=${env.ELECTRON_EXEC_PATH} does not exist` }
  }
  let dir = electronDir
  if (!dir) {
    try {
      dir = dirname(createRequire(import.meta.url).resolve('electron/package.json'))
    } catch {
      return { path: null, reason: 'the electron package is not installed (run `npm ci`)' }
    }
  }
  const pathFile = join(dir, 'path.txt')
  const rel = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : null
  if (env.ELECTRON_OVERRIDE_DIST_PATH) {
    const p = join(env.ELECTRON_OVERRIDE_DIST_PATH, rel || 'electron')
    return existsSync(p) ? { path: p } : { path: null, reason: `ELECTRON_OVERRIDE_DIST_PATH has no ${rel || 'electron'} (${p})` }
  }
  if (!rel) return { path: null, reason: `the Electron binary was never downloaded (${join(dir, 'dist')} is missing; Electron fetches it on first launch, which needs internet)` }
  const full = join(dir, 'dist', rel)
  return existsSync(full) ? { path: full } : { path: null, reason: `the Electron binary is missing (${full})` }
}

export const HOW_TO_GET_ELECTRON = [
  'To run the desktop app:',
  '  • on a machine with internet, `npx install-electron` (or start it once) downloads the binary into node_modules/electron/dist;',
  '  • or point ELECTRON_EXEC_PATH at an unpacked Electron 45 executable: ELECTRON_EXEC_PATH=/opt/electron/electron npm start',
  'Without Electron, the same interface runs in a browser: `npm run serve` (prints http://127.0.0.1:PORT/?token=…).'
].join('\n')

async function main(): Promise<number> {
  const found = findElectron()
  if (found.path === null) {
    process.stderr.write(`IRD Studio cannot start: ${found.reason}.\n${HOW_TO_GET_ELECTRON}\n`)
    return 1
  }
  // electron-vite preview builds main, preload and renderer, then starts Electron from ELECTRON_EXEC_PATH.
  const child = spawn(process.platform === 'win32' ? 'npx.cmd' : 'npx', ['electron-vite', 'preview'], {
    stdio: 'inherit',
    env: { ...process.env, ELECTRON_EXEC_PATH: found.path }
  })
  return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 1)))
}

if (process.argv[1] && /launch\.[cm]?[jt]s$/.test(process.argv[1])) {
  void main().then((code) => process.exit(code))
}

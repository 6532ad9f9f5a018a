#!/usr/bin/env node
/**
 * `npm run dist`: build installers offline with electron-builder (configuration: electron-builder.yml).
 *
 * electron-builder normally downloads Electron from GitHub; lab machines cannot. This wrapper finds an
 * Electron distribution that is already on disk and passes it as `electronDist`:
 *   1. $ELECTRON_DIST: an unpacked Electron folder (holding the `electron` executable, `electron.exe`, or
 *      `Electron.app`), or a folder holding electron-v<version>-<platform>-<arch>.zip;
 *   2. node_modules/electron/dist (present once Electron has been launched with internet access).
 * When none is found it says what is missing and how to get it, and exits 1 before building anything.
 *
 * Usage: npm run dist [-- --dir] [-- --linux|--win|--mac] [-- --skip-build] [-- --project-dir DIR]
 *        [-- --output DIR]; any other argument goes to electron-builder unchanged.
 *   --dir          only the unpacked app (release/<platform>-unpacked): no installer tools needed
 *   --skip-build   do not run `electron-vite build` first (out/ must exist)
 * Owns: finding Electron and the installer tools, and explaining what is missing. Must not: download.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const args = process.argv.slice(2)
const take = (flag) => {
  const i = args.indexOf(flag)
  if (i < 0) return undefined
  const v = args[i + 1]
  args.splice(i, 2)
  return v
}
const has = (flag) => {
  const i = args.indexOf(flag)
  if (i >= 0) args.splice(i, 1)
  return i >= 0
}
const projectDir = resolve(take('--project-dir') ?? repo)
const output = take('--output')
const skipBuild = has('--skip-build')
const dirOnly = args.includes('--dir')

function die(lines) {
  process.stderr.write(`\nnpm run dist: ${lines.join('\n  ')}\n\n`)
  process.exit(1)
}

const platform = args.includes('--win') ? 'win32' : args.includes('--mac') ? 'darwin' : args.includes('--linux') ? 'linux' : process.platform
const arch = args.includes('--arm64') ? 'arm64' : process.arch === 'arm64' ? 'arm64' : 'x64'
let electronVersion
try {
  electronVersion = JSON.parse(readFileSync(join(repo, 'node_modules/electron/package.json'), 'utf8')).version
} catch {
  die(['node_modules/electron is missing: run `npm ci` first (it installs the electron package; Electron itself is not downloaded).'])
}
const zipName = `electron-v${electronVersion}-${platform}-${arch}.zip`
const exe = { linux: 'electron', win32: 'electron.exe', darwin: 'Electron.app' }[platform]

/** Why `dir` is not a usable Electron distribution, or null. */
function problem(dir) {
  if (!existsSync(dir)) return `${dir} does not exist`
  if (!statSync(dir).isDirectory()) return `${dir} is not a folder`
  if (existsSync(join(dir, exe))) return null
  if (existsSync(join(dir, zipName))) return null
  const zips = readdirSync(dir).filter((f) => /^electron-v.*\.zip$/.test(f))
  return `${dir} holds neither the ${exe} executable nor ${zipName}${zips.length ? ` (found ${zips.join(', ')}: another version or platform; this build needs Electron ${electronVersion} for ${platform}-${arch})` : ''}`
}

const candidates = []
if (process.env.ELECTRON_DIST) candidates.push(['ELECTRON_DIST', resolve(process.env.ELECTRON_DIST)])
candidates.push(['node_modules/electron/dist', join(repo, 'node_modules/electron/dist')])
const tried = []
let electronDist
for (const [label, dir] of candidates) {
  const p = problem(dir)
  if (!p) {
    electronDist = dir
    break
  }
  tried.push(`${label}: ${p}`)
  // An explicit ELECTRON_DIST that is wrong is an error, not something to fall back from silently.
  if (label === 'ELECTRON_DIST') die([`ELECTRON_DIST is set but unusable: ${p}.`, `Point it at an unpacked Electron ${electronVersion} (${platform}-${arch}) folder, or a folder holding ${zipName}.`])
}
if (!electronDist) {
  die([
    `no Electron ${electronVersion} distribution for ${platform}-${arch} on this machine, and electron-builder would download one (this machine is offline):`,
    ...tried.map((t) => `  - ${t}`),
    'To build offline:',
    `  1. on a connected machine, download ${zipName}`,
    `     (https://github.com/electron/electron/releases/tag/v${electronVersion}, or: npx electron@${electronVersion} --version, which unpacks it into node_modules/electron/dist);`,
    `  2. copy it here and set ELECTRON_DIST to the folder holding the zip (or to the unzipped folder), e.g.`,
    `     ELECTRON_DIST=/opt/electron-${electronVersion} npm run dist`
  ])
}

// Installer targets use tools electron-builder fetches from GitHub into its cache on first use.
if (!dirOnly) {
  const cache = process.env.ELECTRON_BUILDER_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'electron-builder')
  const need = platform === 'linux' ? ['appimage', 'fpm'] : platform === 'win32' ? ['nsis', 'nsis-resources', 'winCodeSign'] : []
  const missing = need.filter((t) => !existsSync(join(cache, t)))
  if (missing.length) {
    process.stderr.write(
      `npm run dist: note: electron-builder's cache ${cache} lacks ${missing.join(', ')}; it will try to download ` +
        `${missing.length > 1 ? 'them' : 'it'} from GitHub (offline this fails: copy that cache folder from a connected machine, ` +
        `set ELECTRON_BUILDER_CACHE, or build only the unpacked app with \`npm run dist -- --dir\`).` +
        `${platform === 'linux' && missing.includes('fpm') ? ' The deb target also needs fpm (Debian: apt-get install ruby && gem install fpm, then USE_SYSTEM_FPM=true).' : ''}\n`
    )
  }
}

if (!skipBuild) {
  const b = spawnSync(process.execPath, [join(repo, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'], { cwd: projectDir, stdio: 'inherit' })
  if (b.status !== 0) die(['`electron-vite build` failed (see above); nothing was packaged.'])
}
if (!existsSync(join(projectDir, 'out/main/index.js'))) die([`${join(projectDir, 'out/main/index.js')} is missing: build the app first (drop --skip-build).`])

const builderArgs = [
  join(repo, 'node_modules/electron-builder/cli.js'),
  '--projectDir', projectDir,
  '--config', join(projectDir, 'electron-builder.yml'),
  `-c.electronDist=${electronDist}`,
  `-c.electronVersion=${electronVersion}`,
  '--publish', 'never',
  ...(output ? [`-c.directories.output=${resolve(output)}`] : []),
  ...args
]
process.stderr.write(`npm run dist: Electron ${electronVersion} from ${electronDist}\n`)
const r = spawnSync(process.execPath, builderArgs, { cwd: projectDir, stdio: 'inherit' })
if (r.status !== 0) die([`electron-builder failed (exit ${r.status ?? r.signal}); see its message above.`])

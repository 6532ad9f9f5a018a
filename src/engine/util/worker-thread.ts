/**
 * Starting engine worker threads from TypeScript sources (tests, tsx, the dev CLI) or from the build
 * (out/main/<name>.js). Node 20 workers ignore `--import tsx` in execArgv, so a .ts entry is started
 * through a tiny eval bootstrap that registers tsx's ESM loader first.
 * Must not: know what the worker does.
 */
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'

/** tsx's ESM register API, resolved from this package. */
function tsxRegisterUrl(): string {
  const require = createRequire(import.meta.url)
  const pkgFile = require.resolve('tsx/package.json')
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { exports?: Record<string, { import?: { default?: string } | string }> }
  const api = pkg.exports?.['./esm/api']
  const rel = typeof api === 'object' && api && typeof api.import === 'object' ? api.import.default : undefined
  if (!rel) throw new Error('cannot find tsx/esm/api to run a TypeScript worker entry')
  return pathToFileURL(join(dirname(pkgFile), rel)).href
}

/** Start a worker on a .js entry directly, on a .ts entry through tsx. */
export function startWorker(entry: string | URL): Worker {
  const href = typeof entry === 'string' ? pathToFileURL(entry).href : entry.href
  if (/\.[cm]?ts$/.test(href)) {
    const code = `import(${JSON.stringify(tsxRegisterUrl())}).then((m) => { m.register(); return import(${JSON.stringify(href)}) })`
    return new Worker(code, { eval: true })
  }
  return new Worker(entry)
}

/**
 * The entry of a worker that sits beside `moduleUrl` as `sourceName` (running from source), or was
 * built as `builtName` next to the calling chunk or one folder up (out/main/chunks → out/main).
 */
export function resolveWorkerEntry(moduleUrl: string, sourceName: string, builtName: string, what: string): string {
  const file = fileURLToPath(moduleUrl)
  const dir = dirname(file)
  if (/\.[cm]?ts$/.test(file)) return join(dir, sourceName)
  const candidates = [join(dir, builtName), join(dir, '..', builtName)]
  const found = candidates.find((c) => existsSync(c))
  if (!found) {
    const entryName = builtName.replace(/\.[cm]?js$/, '')
    throw new Error(`${what} worker entry not found (looked for ${candidates.join(', ')}); is "${entryName}" an entry of the main build?`)
  }
  return found
}

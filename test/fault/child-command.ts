/**
 * How tests start test/fault/child.ts: bundled once per test process with esbuild (tsx's dependency) into
 * node_modules/.cache, so each child skips tsx's per-module loader hooks (~25 % of a child's CPU time on
 * this project's 2-core machine: 2.5 s instead of 3.3 s); through `--import tsx` when esbuild is missing.
 */
import { mkdirSync, renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { REPO_ROOT } from '../helpers/shared-data'

let cached: Promise<string[]> | null = null

/** node arguments that run child.ts (append the JSON argument). */
export function childArgs(): Promise<string[]> {
  cached ??= (async () => {
    const source = join(REPO_ROOT, 'test/fault/child.ts')
    try {
      const { build } = (await import('esbuild')) as typeof import('esbuild')
      const dir = join(REPO_ROOT, 'node_modules/.cache/ird-fault')
      mkdirSync(dir, { recursive: true })
      // one file for every test process: each builds to its own name and renames it into place (atomic)
      const outfile = join(dir, 'child.mjs')
      const tmp = join(dir, `child-${process.pid}.tmp.mjs`)
      try {
        await build({ entryPoints: [source], bundle: true, platform: 'node', format: 'esm', outfile: tmp, external: ['@tensorflow/*'], logLevel: 'error' })
        renameSync(tmp, outfile)
      } finally {
        rmSync(tmp, { force: true })
      }
      return [outfile]
    } catch {
      return ['--import', 'tsx', source]
    }
  })()
  return cached
}

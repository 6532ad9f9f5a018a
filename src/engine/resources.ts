/**
 * Where the app's bundled resources are: the embedded demo model and the bundled demo task data.
 *
 *   resources/models/ird-demo-bert/   Hugging Face folder (config.json, vocab.txt, model.safetensors, README.md)
 *   resources/data/sst2-demo/         train.tsv, dev.tsv (GLUE SST-2 layout) and NOTICE.md
 *
 * Looked up, in order: $IRD_RESOURCES; Electron's process.resourcesPath (packaged app: electron-builder
 * copies resources/ there as extraResources); the source checkout's resources/ (found by walking up from
 * this module, which works from src/engine and from the built out/main).
 * Must not: download anything, or fail when a resource is absent (callers get null and say so).
 */
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const DEMO_MODEL_NAME = 'ird-demo-bert'
export const DEMO_DATA_NAME = 'sst2-demo'

function candidateRoots(): string[] {
  const roots: string[] = []
  if (process.env.IRD_RESOURCES) roots.push(resolve(process.env.IRD_RESOURCES))
  const rp = (process as unknown as { resourcesPath?: string }).resourcesPath
  if (rp) roots.push(join(rp, 'resources'), rp)
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 6; i++) {
    roots.push(join(dir, 'resources'))
    const up = dirname(dir)
    if (up === dir) break
    dir = up
  }
  return roots
}

/** The first resources folder holding `rel`, or null. */
export function findResource(rel: string): string | null {
  for (const root of candidateRoots()) {
    const p = join(root, rel)
    if (existsSync(p)) return p
  }
  return null
}

/** The embedded demo model's folder, or null when this build does not include it. */
export function demoModelDir(): string | null {
  const dir = findResource(join('models', DEMO_MODEL_NAME))
  return dir && existsSync(join(dir, 'config.json')) && existsSync(join(dir, 'model.safetensors')) ? dir : null
}

/** The bundled demo task data folder (SST-2 subset), or null. */
export function demoDataDir(): string | null {
  const dir = findResource(join('data', DEMO_DATA_NAME))
  return dir && existsSync(join(dir, 'train.tsv')) ? dir : null
}

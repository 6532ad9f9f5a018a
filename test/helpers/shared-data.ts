/** Where tests and benchmarks find ../shared/data (the shipped app never reads it). */
import { existsSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
export const SHARED_DATA = process.env.IRD_SHARED_DATA ?? resolve(REPO_ROOT, '../shared/data')
export const GLUE_DIR = resolve(SHARED_DATA, 'glue')
export const VOCAB_FILE = resolve(SHARED_DATA, 'vocab/bert-base-uncased-vocab.txt')
export const FIXTURES_DIR = resolve(REPO_ROOT, 'test/fixtures')

if (!existsSync(SHARED_DATA)) {
  throw new Error(`shared data not found at ${SHARED_DATA}: clone next to ../shared or set IRD_SHARED_DATA`)
}

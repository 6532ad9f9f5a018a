/**
 * SHA-256 of a data file's bytes: what ties a mask, a run or a prediction export to the exact data it
 * came from. Owns: hashing bytes and files (streamed, so a large file is not held twice). Must not: hash
 * decoded text (a BOM or line-ending change must change the hash, since it can change the rows).
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import type { Dataset } from './types'

export function sha256Bytes(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256')
    createReadStream(file)
      .on('data', (chunk) => h.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')))
  })
}

/** What a mask or run records about its data: enough to refuse a mismatched file later. */
export interface DataRef {
  name: string
  task?: string
  file: string
  sha256: string
  rows: number
}

export function dataRef(ds: Dataset): DataRef {
  return { name: ds.name, task: ds.task, file: ds.file, sha256: ds.sha256, rows: ds.examples.length }
}

/** Null when `file` still holds the bytes `ref` was made from; otherwise why not. */
export async function checkDataRef(ref: DataRef, file = ref.file): Promise<string | null> {
  let sha: string
  try {
    sha = await sha256File(file)
  } catch (e) {
    return `cannot read ${file} to check it against the recorded data (${e instanceof Error ? e.message : String(e)})`
  }
  return sha === ref.sha256 ? null : `${file} has changed since it was used (SHA-256 ${sha.slice(0, 12)}… instead of ${ref.sha256.slice(0, 12)}…): results tied to the old data do not apply to it`
}

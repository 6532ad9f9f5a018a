/** Shared by the checkpoint-IO tests: fixture paths, temp folders, folder snapshots, hand-made files. */
import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const IO_FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../../fixtures/io')

const made: string[] = []

export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ird-io-'))
  made.push(d)
  return d
}

export function cleanTempDirs(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true })
}

/** Every file under `dir` with size, mtime and content hash: equal snapshots mean nothing changed. */
export function snapshot(dir: string): string[] {
  const out: string[] = []
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name)
      const st = statSync(p)
      if (st.isDirectory()) {
        out.push(`${relative(dir, p)}/`)
        walk(p)
      } else {
        const h = createHash('sha1').update(readFileSync(p)).digest('hex')
        out.push(`${relative(dir, p)} ${st.size} ${st.mtimeMs} ${h}`)
      }
    }
  }
  walk(dir)
  return out
}

/** A safetensors file from a header (object, raw text or raw bytes) and data bytes, for hostile cases. */
export function rawSafetensors(header: unknown, data: Uint8Array | number = 0, opts: { pad?: boolean; length?: bigint } = {}): Buffer {
  let h = Buffer.isBuffer(header) ? header : Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8')
  if (opts.pad !== false && h.length % 8) h = Buffer.concat([h, Buffer.alloc(8 - (h.length % 8), 0x20)])
  const len = Buffer.alloc(8)
  len.writeBigUInt64LE(opts.length ?? BigInt(h.length))
  const body = typeof data === 'number' ? Buffer.alloc(data) : Buffer.from(data)
  return Buffer.concat([len, h, body])
}

/** Bit-level equality of two float arrays (NaN payloads and signed zeros included). */
export function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))
}

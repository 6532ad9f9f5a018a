/**
 * Zip archives for exports (GLUE submissions, run bundles): written atomically, read back defensively.
 *
 * Owns: building an archive from named byte arrays (fflate), and reading an untrusted archive with every
 * check made before anything is decompressed or written: entry names (no path traversal, no duplicates),
 * entry count, per-entry and total uncompressed size caps, and each entry's CRC-32 from the central
 * directory (fflate unpacks into a buffer of the declared size, so a header that under-declares would
 * otherwise give silently truncated data).
 * Must not: write extracted entries anywhere (callers decide where, inside their own folder).
 */
import { readFileSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import { crc32 } from 'node:zlib'
import { unzipSync, zipSync, type Zippable } from 'fflate'
import { writeFileAtomic } from '../io/atomic'
import { unsafeRelativeName } from './paths'

export class ZipError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly entry?: string
  ) {
    super(message)
    this.name = 'ZipError'
  }
}

export interface ZipEntryInput {
  /** Forward-slash path inside the archive. */
  name: string
  data: Uint8Array | string
  /** Store this entry uncompressed (already-dense data such as float tensors gains little from deflate). */
  store?: boolean
}

/** Without ZIP64 (fflate writes none) an entry or archive must stay below 4 GiB. */
const ZIP32_LIMIT = 0xffffffff

/** The archive's bytes; entries are deflated (level 6) unless `store` is set. */
export function buildZip(entries: readonly ZipEntryInput[], opts: { store?: boolean; mtime?: Date } = {}): Uint8Array {
  const seen = new Set<string>()
  const tree: Zippable = {}
  let total = 0
  for (const e of entries) {
    const why = unsafeRelativeName(e.name)
    if (why) throw new Error(`cannot add "${e.name}" to a zip: ${why}`)
    if (e.name.endsWith('/')) throw new Error(`cannot add "${e.name}" to a zip: folders are implied by file names`)
    if (seen.has(e.name)) throw new Error(`cannot add "${e.name}" to a zip twice`)
    seen.add(e.name)
    const data = typeof e.data === 'string' ? Buffer.from(e.data, 'utf8') : e.data
    total += data.byteLength
    if (data.byteLength >= ZIP32_LIMIT || total >= ZIP32_LIMIT) throw new Error(`cannot zip "${e.name}": the archive would exceed 4 GiB, which this writer (no ZIP64) cannot hold`)
    // A flat key with slashes: fflate's nested-object form would split it the same way, but a flat key
    // keeps "__proto__"-like names from meaning anything.
    tree[e.name] = [new Uint8Array(data.buffer, data.byteOffset, data.byteLength), { level: opts.store || e.store ? 0 : 6, mtime: opts.mtime ?? new Date() }]
  }
  return zipSync(tree)
}

/** Write a zip archive atomically. Returns its size in bytes. */
export function writeZipAtomic(path: string, entries: readonly ZipEntryInput[], opts: { store?: boolean } = {}): number {
  const bytes = buildZip(entries, opts)
  writeFileAtomic(resolve(path), bytes)
  return bytes.byteLength
}

export interface ZipLimits {
  /** Largest archive file read. Default 4 GiB. */
  maxArchiveBytes?: number
  /** Most entries. Default 10 000. */
  maxEntries?: number
  /** Largest uncompressed entry. Default 2 GiB. */
  maxEntryBytes?: number
  /** Largest sum of uncompressed entries. Default 3 GiB. */
  maxTotalBytes?: number
}

export const DEFAULT_ZIP_LIMITS: Required<ZipLimits> = {
  maxArchiveBytes: 4 * 1024 ** 3,
  maxEntries: 10_000,
  maxEntryBytes: 2 * 1024 ** 3,
  maxTotalBytes: 3 * 1024 ** 3
}

/** Entry name → CRC-32, from the central directory (fflate's filter does not show CRCs). */
function centralCrcs(file: string, b: Buffer): Map<string, number> {
  let eocd = -1
  for (let i = b.length - 22; i >= Math.max(0, b.length - 22 - 65535); i--) {
    if (b.readUInt32LE(i) === 0x06054b50) {
      eocd = i
      break
    }
  }
  if (eocd < 0) throw new ZipError(`${file}: no end-of-central-directory record: not a zip archive, or a truncated one`, file)
  const count = b.readUInt16LE(eocd + 10)
  let off = b.readUInt32LE(eocd + 16)
  const out = new Map<string, number>()
  for (let i = 0; i < count; i++) {
    if (off + 46 > b.length || b.readUInt32LE(off) !== 0x02014b50) {
      throw new ZipError(`${file}: central directory entry ${i + 1} at offset ${off} is damaged (the archive is truncated or corrupt)`, file)
    }
    const nameLen = b.readUInt16LE(off + 28)
    const name = b.subarray(off + 46, off + 46 + nameLen).toString('utf8')
    out.set(name, b.readUInt32LE(off + 16))
    off += 46 + nameLen + b.readUInt16LE(off + 30) + b.readUInt16LE(off + 32)
  }
  return out
}

/**
 * Read a zip archive from an untrusted source into memory, entry name → bytes. Folder entries (names
 * ending in "/") are skipped. Throws ZipError naming the archive and the entry.
 */
export function readZipSafe(path: string, limits: ZipLimits = {}): Map<string, Uint8Array> {
  const file = resolve(path)
  const lim = { ...DEFAULT_ZIP_LIMITS, ...limits }
  let size: number
  try {
    const st = statSync(file)
    if (!st.isFile()) throw new ZipError(`${file}: not a file`, file)
    size = st.size
  } catch (e) {
    if (e instanceof ZipError) throw e
    throw new ZipError(`${file}: cannot read (${(e as Error).message})`, file)
  }
  if (size > lim.maxArchiveBytes) throw new ZipError(`${file}: the archive is ${size} bytes, above the ${lim.maxArchiveBytes}-byte limit`, file)
  if (size < 22) throw new ZipError(`${file}: ${size} bytes is too short for a zip archive (the end record alone takes 22 bytes)`, file)
  const bytes = readFileSync(file)
  const declared = new Map<string, number>()
  let count = 0
  let total = 0
  const check = (info: { name: string; size: number; originalSize: number; compression: number }): boolean => {
    const { name } = info
    if (name.endsWith('/')) return false
    count++
    if (count > lim.maxEntries) throw new ZipError(`${file}: more than ${lim.maxEntries} entries`, file)
    const why = unsafeRelativeName(name)
    if (why) throw new ZipError(`${file}: entry ${JSON.stringify(name)} is refused: ${why}`, file, name)
    if (declared.has(name)) throw new ZipError(`${file}: entry "${name}" appears twice (an archive may hold each name once)`, file, name)
    if (info.compression !== 0 && info.compression !== 8) {
      throw new ZipError(`${file}: entry "${name}" uses compression method ${info.compression}; only stored (0) and deflate (8) are read`, file, name)
    }
    if (info.compression === 0 && info.size !== info.originalSize) {
      throw new ZipError(`${file}: entry "${name}" is stored uncompressed but declares ${info.size} bytes stored and ${info.originalSize} bytes unpacked`, file, name)
    }
    if (info.originalSize > lim.maxEntryBytes) {
      throw new ZipError(`${file}: entry "${name}" unpacks to ${info.originalSize} bytes, above the ${lim.maxEntryBytes}-byte limit per entry`, file, name)
    }
    total += info.originalSize
    if (total > lim.maxTotalBytes) throw new ZipError(`${file}: the entries unpack to more than ${lim.maxTotalBytes} bytes in all (limit)`, file, name)
    declared.set(name, info.originalSize)
    return true
  }
  let files: Record<string, Uint8Array>
  try {
    files = unzipSync(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), { filter: check })
  } catch (e) {
    if (e instanceof ZipError) throw e
    throw new ZipError(`${file}: not a readable zip archive (${(e as Error).message}); it may be truncated or damaged`, file)
  }
  const crcs = centralCrcs(file, bytes)
  const out = new Map<string, Uint8Array>()
  for (const [name, n] of declared) {
    const data = files[name]
    if (!data || data.byteLength !== n) {
      throw new ZipError(`${file}: entry "${name}" unpacked to ${data?.byteLength ?? 0} bytes, but its header declares ${n}: the archive is damaged`, file, name)
    }
    const want = crcs.get(name)
    const got = crc32(data) >>> 0
    if (want !== undefined && want >>> 0 !== got) {
      throw new ZipError(
        `${file}: entry "${name}" fails its CRC-32 check (${got.toString(16).padStart(8, '0')}, the archive says ${(want >>> 0).toString(16).padStart(8, '0')}): the archive is damaged, or its sizes were altered`,
        file,
        name
      )
    }
    out.set(name, data)
  }
  return out
}

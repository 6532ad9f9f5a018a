/**
 * Zip archives for exports (GLUE submissions, run bundles): written atomically, read back defensively.
 *
 * Owns: building an archive from named byte arrays (fflate), and reading an untrusted archive as a
 * stream. The central directory is read from the end of the file (never the whole archive) and every
 * entry's name (no path traversal, no duplicates), method, flags, count and declared sizes are checked
 * before anything is decompressed. Each entry is then inflated in small pieces (fflate's streaming
 * Inflate) and stops at the first byte over its cap — the size its header declares, the caller's cap
 * (a run bundle's bundle.json) and the per-entry and total limits — so memory stays flat whatever the
 * archive claims, and a zip bomb is refused naming the entry. Each entry's CRC-32 is checked at its end.
 * Must not: write extracted entries anywhere (callers decide where, inside their own folder).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { resolve } from 'node:path'
import { crc32 } from 'node:zlib'
import { Inflate, zipSync, type Zippable } from 'fflate'
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

/** One file entry of an archive, as its central directory describes it. */
export interface ZipEntryInfo {
  name: string
  /** 0 stored, 8 deflate. */
  method: number
  compressedSize: number
  /** The uncompressed size the central directory declares. */
  size: number
  crc: number
  localOffset: number
}

/** Compressed bytes read per system call, and pushed into the inflater per call (bounds each output piece). */
const READ_CHUNK = 1 << 16
const INFLATE_PUSH = 1 << 12
/** Largest central directory read (10 000 entries with 1 KiB names fit well below it). */
const MAX_CENTRAL_DIRECTORY = 64 * 1024 ** 2

export interface ExtractCap {
  /** At most this many bytes (in addition to the header's declared size and the limits). */
  bytes: number
  /** Who sets the cap, for the refusal ("bundle.json declares"). */
  by: string
}

/**
 * An untrusted zip archive opened for streaming extraction. `open` checks the whole central directory;
 * `extract` inflates one entry in pieces and refuses at the first byte over its cap. Close it when done.
 */
export class ZipReader {
  readonly entries: readonly ZipEntryInfo[]
  private readonly byName: Map<string, ZipEntryInfo>
  private unpacked = 0
  private fd: number | null

  private constructor(
    readonly file: string,
    fd: number,
    private readonly size: number,
    entries: ZipEntryInfo[],
    readonly limits: Required<ZipLimits>
  ) {
    this.fd = fd
    this.entries = entries
    this.byName = new Map(entries.map((e) => [e.name, e]))
  }

  static open(path: string, limits: ZipLimits = {}): ZipReader {
    const file = resolve(path)
    const lim = { ...DEFAULT_ZIP_LIMITS, ...limits }
    let fd: number
    try {
      fd = openSync(file, 'r')
    } catch (e) {
      throw new ZipError(`${file}: cannot read (${(e as Error).message})`, file)
    }
    try {
      const st = fstatSync(fd)
      if (!st.isFile()) throw new ZipError(`${file}: not a file`, file)
      if (st.size > lim.maxArchiveBytes) throw new ZipError(`${file}: the archive is ${st.size} bytes, above the ${lim.maxArchiveBytes}-byte limit`, file)
      if (st.size < 22) throw new ZipError(`${file}: ${st.size} bytes is too short for a zip archive (the end record alone takes 22 bytes)`, file)
      const entries = readCentralDirectory(file, fd, st.size, lim)
      return new ZipReader(file, fd, st.size, entries, lim)
    } catch (e) {
      closeSync(fd)
      if (e instanceof ZipError) throw e
      throw new ZipError(`${file}: not a readable zip archive (${(e as Error).message}); it may be truncated or damaged`, file)
    }
  }

  get(name: string): ZipEntryInfo | undefined {
    return this.byName.get(name)
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd)
    this.fd = null
  }

  private readAt(buf: Uint8Array, position: number): number {
    if (this.fd === null) throw new Error(`${this.file}: the archive was closed`)
    let off = 0
    while (off < buf.byteLength) {
      const n = readSync(this.fd, buf, off, buf.byteLength - off, position + off)
      if (n === 0) break
      off += n
    }
    return off
  }

  /** Where an entry's compressed data starts (after its local header), checked against the file. */
  private dataOffset(e: ZipEntryInfo): number {
    const h = Buffer.alloc(30)
    if (this.readAt(h, e.localOffset) < 30 || h.readUInt32LE(0) !== 0x04034b50) {
      throw new ZipError(`${this.file}: entry "${e.name}": no local header at offset ${e.localOffset}: the archive is damaged`, this.file, e.name)
    }
    const start = e.localOffset + 30 + h.readUInt16LE(26) + h.readUInt16LE(28)
    if (start + e.compressedSize > this.size) {
      throw new ZipError(`${this.file}: entry "${e.name}": its ${e.compressedSize} compressed bytes run past the end of the ${this.size}-byte archive: it is truncated or damaged`, this.file, e.name)
    }
    return start
  }

  /**
   * Inflate `entry` and hand its bytes to `sink` in pieces. Stops at the first byte over the smallest of:
   * the size the central directory declares, `cap`, the per-entry limit, and what is left of the total
   * limit; nothing over the cap reaches `sink`. Returns the number of bytes. Throws ZipError naming the
   * entry and which cap it broke, or the damage found (truncated data, a short entry, a CRC mismatch).
   */
  extract(entry: ZipEntryInfo | string, sink: (piece: Uint8Array) => void, cap?: ExtractCap): number {
    const e = typeof entry === 'string' ? this.byName.get(entry) : entry
    if (!e) throw new ZipError(`${this.file}: no entry "${String(entry)}" in the archive`, this.file, String(entry))
    const file = this.file
    const caps: Array<{ bytes: number; why: (n: number) => string }> = [
      { bytes: e.size, why: (n) => `unpacks to more than the ${n} bytes its header declares: the archive is damaged, or a zip bomb` },
      { bytes: this.limits.maxEntryBytes, why: (n) => `unpacks to more than ${n} bytes, the limit per entry` },
      { bytes: this.limits.maxTotalBytes - this.unpacked, why: () => `takes the archive past ${this.limits.maxTotalBytes} unpacked bytes in all (limit)` }
    ]
    if (cap) caps.push({ bytes: cap.bytes, why: (n) => `unpacks to more than the ${n} bytes ${cap.by}` })
    const limit = caps.reduce((a, b) => (b.bytes < a.bytes ? b : a))
    let written = 0
    let crc = 0
    const take = (piece: Uint8Array): void => {
      if (piece.byteLength === 0) return
      if (written + piece.byteLength > limit.bytes) {
        // the bytes up to the cap are the entry's; the first one over it is refused
        const room = limit.bytes - written
        if (room > 0) sink(piece.subarray(0, room))
        throw new ZipError(`${file}: entry "${e.name}" ${limit.why(limit.bytes)}; refused at byte ${limit.bytes + 1}, before anything more was unpacked`, file, e.name)
      }
      written += piece.byteLength
      crc = crc32(piece, crc)
      sink(piece)
    }
    const start = this.dataOffset(e)
    const buf = Buffer.alloc(Math.min(READ_CHUNK, Math.max(1, e.compressedSize)))
    // fflate's Inflate throws "unexpected EOF" when the last push ends before the deflate stream does.
    const inflater = e.method === 8 ? new Inflate((piece) => take(piece)) : null
    try {
      for (let pos = 0; pos < e.compressedSize; ) {
        const want = Math.min(buf.byteLength, e.compressedSize - pos)
        const got = this.readAt(buf.subarray(0, want), start + pos)
        if (got < want) throw new ZipError(`${file}: entry "${e.name}" is truncated: its data ends after ${pos + got} of ${e.compressedSize} compressed bytes`, file, e.name)
        const chunk = buf.subarray(0, got)
        pos += got
        if (!inflater) {
          // a copy: the read buffer is reused
          take(Uint8Array.prototype.slice.call(chunk))
          continue
        }
        for (let o = 0; o < chunk.byteLength; o += INFLATE_PUSH) inflater.push(chunk.subarray(o, o + INFLATE_PUSH), pos === e.compressedSize && o + INFLATE_PUSH >= chunk.byteLength)
      }
      if (inflater && e.compressedSize === 0) inflater.push(new Uint8Array(0), true)
    } catch (err) {
      if (err instanceof ZipError) throw err
      throw new ZipError(`${file}: entry "${e.name}" cannot be inflated (${(err as Error).message}): the archive is damaged or truncated`, file, e.name)
    }
    if (written !== e.size) {
      throw new ZipError(`${file}: entry "${e.name}" unpacked to ${written} bytes, but its header declares ${e.size}: the archive is damaged`, file, e.name)
    }
    if (crc >>> 0 !== e.crc >>> 0) {
      throw new ZipError(
        `${file}: entry "${e.name}" fails its CRC-32 check (${(crc >>> 0).toString(16).padStart(8, '0')}, the archive says ${(e.crc >>> 0).toString(16).padStart(8, '0')}): the archive is damaged, or its sizes were altered`,
        file,
        e.name
      )
    }
    this.unpacked += written
    return written
  }

  /** An entry's bytes in memory; `cap` bounds them (never more than `cap.bytes` is held). */
  read(entry: ZipEntryInfo | string, cap?: ExtractCap): Uint8Array {
    const pieces: Uint8Array[] = []
    const n = this.extract(entry, (p) => pieces.push(p), cap)
    const out = new Uint8Array(n)
    let o = 0
    for (const p of pieces) {
      out.set(p, o)
      o += p.byteLength
    }
    return out
  }
}

/** Parse and check the central directory; nothing is decompressed. */
function readCentralDirectory(file: string, fd: number, size: number, lim: Required<ZipLimits>): ZipEntryInfo[] {
  const readAt = (len: number, pos: number): Buffer => {
    const b = Buffer.alloc(len)
    let off = 0
    while (off < len) {
      const n = readSync(fd, b, off, len - off, pos + off)
      if (n === 0) break
      off += n
    }
    return b.subarray(0, off)
  }
  const tailLen = Math.min(size, 22 + 65535)
  const tail = readAt(tailLen, size - tailLen)
  let eocd = -1
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === 0x06054b50) {
      eocd = i
      break
    }
  }
  if (eocd < 0) throw new ZipError(`${file}: no end-of-central-directory record: not a readable zip archive, or a truncated one`, file)
  const disk = tail.readUInt16LE(eocd + 4)
  const count = tail.readUInt16LE(eocd + 10)
  const cdSize = tail.readUInt32LE(eocd + 12)
  const cdOffset = tail.readUInt32LE(eocd + 16)
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) throw new ZipError(`${file}: a ZIP64 archive; this reader takes archives below 4 GiB and 65 535 entries (ZIP64 is not read)`, file)
  if (disk !== 0 || tail.readUInt16LE(eocd + 6) !== 0) throw new ZipError(`${file}: a multi-part (spanned) archive, which is not read`, file)
  if (count > lim.maxEntries) throw new ZipError(`${file}: ${count} entries, more than ${lim.maxEntries}`, file)
  if (cdSize > MAX_CENTRAL_DIRECTORY) throw new ZipError(`${file}: a central directory of ${cdSize} bytes, more than the ${MAX_CENTRAL_DIRECTORY} read`, file)
  const eocdPos = size - tailLen + eocd
  if (cdOffset + cdSize > eocdPos) throw new ZipError(`${file}: the central directory (offset ${cdOffset}, ${cdSize} bytes) runs past its end record: the archive is truncated or damaged`, file)
  const cd = readAt(cdSize, cdOffset)
  const out: ZipEntryInfo[] = []
  const seen = new Set<string>()
  let off = 0
  let total = 0
  let files = 0
  for (let i = 0; i < count; i++) {
    if (off + 46 > cd.length || cd.readUInt32LE(off) !== 0x02014b50) {
      throw new ZipError(`${file}: central directory entry ${i + 1} at offset ${cdOffset + off} is damaged (the archive is truncated or corrupt)`, file)
    }
    const flags = cd.readUInt16LE(off + 8)
    const method = cd.readUInt16LE(off + 10)
    const crc = cd.readUInt32LE(off + 16)
    const compressedSize = cd.readUInt32LE(off + 20)
    const usize = cd.readUInt32LE(off + 24)
    const nameLen = cd.readUInt16LE(off + 28)
    const next = off + 46 + nameLen + cd.readUInt16LE(off + 30) + cd.readUInt16LE(off + 32)
    if (next > cd.length) throw new ZipError(`${file}: central directory entry ${i + 1} runs past the directory's end: the archive is damaged`, file)
    const localOffset = cd.readUInt32LE(off + 42)
    const name = cd.subarray(off + 46, off + 46 + nameLen).toString(flags & 0x800 ? 'utf8' : 'latin1')
    off = next
    if (name.endsWith('/')) continue
    if (++files > lim.maxEntries) throw new ZipError(`${file}: more than ${lim.maxEntries} entries`, file)
    const why = unsafeRelativeName(name)
    if (why) throw new ZipError(`${file}: entry ${JSON.stringify(name)} is refused: ${why}`, file, name)
    if (seen.has(name)) throw new ZipError(`${file}: entry "${name}" appears twice (an archive may hold each name once)`, file, name)
    seen.add(name)
    if (flags & 0x1) throw new ZipError(`${file}: entry "${name}" is encrypted, which is not read`, file, name)
    if (method !== 0 && method !== 8) throw new ZipError(`${file}: entry "${name}" uses compression method ${method}; only stored (0) and deflate (8) are read`, file, name)
    if (compressedSize === 0xffffffff || usize === 0xffffffff || localOffset === 0xffffffff) throw new ZipError(`${file}: entry "${name}" needs ZIP64, which is not read`, file, name)
    if (method === 0 && compressedSize !== usize) {
      throw new ZipError(`${file}: entry "${name}" is stored uncompressed but declares ${compressedSize} bytes stored and ${usize} bytes unpacked`, file, name)
    }
    if (usize > lim.maxEntryBytes) throw new ZipError(`${file}: entry "${name}" unpacks to ${usize} bytes, above the ${lim.maxEntryBytes}-byte limit per entry`, file, name)
    total += usize
    if (total > lim.maxTotalBytes) throw new ZipError(`${file}: the entries unpack to more than ${lim.maxTotalBytes} bytes in all (limit)`, file, name)
    if (localOffset + 30 > cdOffset) throw new ZipError(`${file}: entry "${name}": its local header offset ${localOffset} lies beyond the data area: the archive is damaged`, file, name)
    out.push({ name, method, compressedSize, size: usize, crc, localOffset })
  }
  return out
}

/**
 * Read a zip archive from an untrusted source into memory, entry name → bytes. Folder entries (names
 * ending in "/") are skipped. Every entry is inflated as a stream under the limits, so the memory used is
 * at most what the limits allow (pass small ones for archives that should be small). Throws ZipError
 * naming the archive and the entry.
 */
export function readZipSafe(path: string, limits: ZipLimits = {}): Map<string, Uint8Array> {
  const zip = ZipReader.open(path, limits)
  try {
    const out = new Map<string, Uint8Array>()
    for (const e of zip.entries) out.set(e.name, zip.read(e))
    return out
  } finally {
    zip.close()
  }
}

/**
 * Hand-made zip archives for the unpacking tests: entries whose deflate data, CRC and declared sizes the
 * test chooses (so that headers can lie), and a deflate stream of N × 16 MiB zeros built by concatenating
 * one sync-flushed block run, so that a 1 GiB bomb costs ~1 MB to build and never 1 GiB of memory.
 */
import { closeSync, openSync, writeSync } from 'node:fs'
import { constants, crc32, deflateRawSync } from 'node:zlib'

export interface RawEntry {
  name: string
  /** Raw deflate data (method 8), or the bytes themselves with `stored`. */
  data: Uint8Array | Uint8Array[]
  stored?: boolean
  crc: number
  /** The uncompressed size the headers declare (may lie). */
  size: number
}

export function deflatedEntry(name: string, bytes: Uint8Array): RawEntry {
  return { name, data: deflateRawSync(bytes), crc: crc32(bytes) >>> 0, size: bytes.byteLength }
}

const ZERO_CHUNK = 16 * 1024 * 1024

/** Deflate data for `chunks` × 16 MiB of zeros, with the true CRC-32 and size. */
export function zeroBomb(name: string, chunks: number): RawEntry {
  const zeros = new Uint8Array(ZERO_CHUNK)
  const block = deflateRawSync(zeros, { finishFlush: constants.Z_SYNC_FLUSH, level: 9 })
  let crc = 0
  for (let i = 0; i < chunks; i++) crc = crc32(zeros, crc)
  // a final, empty fixed-Huffman block ends the stream
  const parts: Uint8Array[] = [...Array.from({ length: chunks }, () => block), Uint8Array.from([0x03, 0x00])]
  return { name, data: parts, crc: crc >>> 0, size: chunks * ZERO_CHUNK }
}

/** Write a zip archive of `entries` to `file`, streaming (nothing is concatenated in memory). */
export function writeRawZip(file: string, entries: RawEntry[]): void {
  const fd = openSync(file, 'w')
  let pos = 0
  const put = (b: Uint8Array) => {
    let off = 0
    while (off < b.byteLength) off += writeSync(fd, b, off, b.byteLength - off)
    pos += b.byteLength
  }
  const central: Buffer[] = []
  try {
    for (const e of entries) {
      const parts = Array.isArray(e.data) ? e.data : [e.data]
      const csize = parts.reduce((n, p) => n + p.byteLength, 0)
      const name = Buffer.from(e.name, 'utf8')
      const method = e.stored ? 0 : 8
      const local = Buffer.alloc(30)
      local.writeUInt32LE(0x04034b50, 0)
      local.writeUInt16LE(20, 4)
      local.writeUInt16LE(0x800, 6)
      local.writeUInt16LE(method, 8)
      local.writeUInt32LE(e.crc >>> 0, 14)
      local.writeUInt32LE(csize, 18)
      local.writeUInt32LE(e.size, 22)
      local.writeUInt16LE(name.length, 26)
      const offset = pos
      put(local)
      put(name)
      for (const p of parts) put(p)
      const c = Buffer.alloc(46)
      c.writeUInt32LE(0x02014b50, 0)
      c.writeUInt16LE(20, 4)
      c.writeUInt16LE(20, 6)
      c.writeUInt16LE(0x800, 8)
      c.writeUInt16LE(method, 10)
      c.writeUInt32LE(e.crc >>> 0, 16)
      c.writeUInt32LE(csize, 20)
      c.writeUInt32LE(e.size, 24)
      c.writeUInt16LE(name.length, 28)
      c.writeUInt32LE(offset, 42)
      central.push(c, name)
    }
    const cdOffset = pos
    for (const c of central) put(c)
    const end = Buffer.alloc(22)
    end.writeUInt32LE(0x06054b50, 0)
    end.writeUInt16LE(entries.length, 8)
    end.writeUInt16LE(entries.length, 10)
    end.writeUInt32LE(pos - cdOffset, 12)
    end.writeUInt32LE(cdOffset, 16)
    put(end)
  } finally {
    closeSync(fd)
  }
}

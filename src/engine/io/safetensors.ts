/**
 * The safetensors format: read (defensively) and write (atomically, in the layout the Python library
 * produces), plus exact float16/bfloat16 <-> float32 conversion.
 *
 * Layout: u64 little-endian N, N bytes of UTF-8 JSON `{name: {dtype, shape, data_offsets: [b, e]},
 * "__metadata__"?: {string: string}}` (padded with spaces so the data starts 8-byte aligned), then the
 * data section; offsets are relative to it and must tile it exactly, with no gaps or overlaps.
 *
 * Owns: the byte format and every check a hostile file needs before a byte of tensor data is trusted.
 * Must not: know about models or parameter names (that is model-folder.ts), or allocate tf tensors.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { endianness } from 'node:os'
import { resolve } from 'node:path'
import { writeFileAtomic } from './atomic'
import { JsonError, parseJsonStrict } from './strict-json'

export type Dtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'U64' | 'I32' | 'U32' | 'I16' | 'U16' | 'I8' | 'U8' | 'BOOL'

export const ITEM_SIZE: Readonly<Record<Dtype, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  U64: 8,
  I32: 4,
  U32: 4,
  I16: 2,
  U16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1
}

export const DTYPES = Object.keys(ITEM_SIZE) as Dtype[]

export function isDtype(s: unknown): s is Dtype {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(ITEM_SIZE, s)
}

/**
 * Tensor data as read: one typed array per dtype. F16 and BF16 are kept as their raw bits
 * (Uint16Array) so that nothing is lost; `toFloat32` converts on request.
 */
export type TensorData =
  | Float64Array
  | Float32Array
  | BigInt64Array
  | BigUint64Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Uint16Array
  | Int8Array
  | Uint8Array

export interface SafeTensor {
  dtype: Dtype
  shape: number[]
  data: TensorData
}

/** What may be written: the dtype's own typed array, or floats to be converted (see encodeData). */
export interface TensorInput {
  dtype: Dtype
  shape: readonly number[]
  data: TensorData
}

export interface TensorEntry {
  dtype: Dtype
  shape: number[]
  /** Byte offsets relative to the start of the data section, end exclusive. */
  begin: number
  end: number
}

export interface SafetensorsHeader {
  file: string
  /** N, the JSON header's length in bytes (padding included). */
  headerLength: number
  /** Absolute file offset of the data section (8 + N). */
  dataStart: number
  dataLength: number
  fileSize: number
  /** In the order the header lists them. */
  tensors: Map<string, TensorEntry>
  metadata: Record<string, string> | null
}

export class SafetensorsError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly tensor?: string
  ) {
    super(message)
    this.name = 'SafetensorsError'
  }
}

/** Same cap as the reference implementation: a larger header is a corrupt or hostile file. */
export const MAX_HEADER_BYTES = 100_000_000

function checkHostEndianness(): void {
  // Typed arrays use the host's byte order; every platform Node ships for is little-endian today.
  if (endianness() !== 'LE') throw new Error('safetensors IO needs a little-endian host')
}

function fail(file: string, message: string, tensor?: string): never {
  throw new SafetensorsError(`${file}: ${tensor !== undefined ? `tensor "${tensor}": ` : ''}${message}`, file, tensor)
}

function shapeNumel(file: string, name: string, shape: unknown): number {
  if (!Array.isArray(shape)) fail(file, `"shape" must be an array of non-negative integers, found ${JSON.stringify(shape)}`, name)
  let n = 1
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || (d as number) < 0) {
      fail(file, `"shape" must be an array of non-negative integers, found ${JSON.stringify(shape)}`, name)
    }
    n *= d as number
    if (n > Number.MAX_SAFE_INTEGER) fail(file, `shape ${JSON.stringify(shape)} has more elements than can be addressed`, name)
  }
  return n
}

function parseEntry(file: string, name: string, raw: unknown): TensorEntry {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    fail(file, `header entry must be an object {dtype, shape, data_offsets}, found ${JSON.stringify(raw)}`, name)
  }
  const r = raw as Record<string, unknown>
  if (!isDtype(r.dtype)) {
    fail(file, `unknown dtype ${JSON.stringify(r.dtype)} (supported: ${DTYPES.join(', ')})`, name)
  }
  const count = shapeNumel(file, name, r.shape)
  const offs = r.data_offsets
  if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    fail(file, `"data_offsets" must be [begin, end] with non-negative integers, found ${JSON.stringify(offs)}`, name)
  }
  const [begin, end] = offs as [number, number]
  if (end < begin) fail(file, `data_offsets [${begin}, ${end}] end before they begin`, name)
  const need = count * ITEM_SIZE[r.dtype]
  if (end - begin !== need) {
    fail(
      file,
      `dtype ${r.dtype} with shape ${JSON.stringify(r.shape)} needs ${need} bytes, but data_offsets [${begin}, ${end}] span ${end - begin} bytes`,
      name
    )
  }
  return { dtype: r.dtype, shape: [...(r.shape as number[])], begin, end }
}

function parseMetadata(file: string, raw: unknown): Record<string, string> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    fail(file, `"__metadata__" must be an object of strings, found ${JSON.stringify(raw)}`)
  }
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') fail(file, `"__metadata__" values must be strings, but "${k}" is ${JSON.stringify(v)}`)
  }
  return raw as Record<string, string>
}

/** The data section must be tiled exactly: sorted by offset, each tensor starts where the last ended. */
function checkCoverage(file: string, tensors: Map<string, TensorEntry>, dataLength: number, dataStart: number): void {
  const sorted = [...tensors.entries()].sort((a, b) => a[1].begin - b[1].begin || a[1].end - b[1].end)
  let prevEnd = 0
  let prevName: string | undefined
  for (const [name, t] of sorted) {
    if (t.begin < prevEnd) {
      fail(file, `data_offsets [${t.begin}, ${t.end}] overlap tensor "${prevName}" (which ends at ${prevEnd}; file offset ${dataStart + t.begin}); each byte of the data section belongs to one tensor`, name)
    }
    if (t.begin > prevEnd) {
      fail(
        file,
        `bytes ${prevEnd}..${t.begin} of the data section belong to no tensor (a hole ${prevName ? `after "${prevName}"` : 'at the start'}); the format requires the data section to be fully covered`,
        name
      )
    }
    if (t.end > dataLength) {
      fail(
        file,
        `data ends at byte ${t.end} of the data section, but the file holds only ${dataLength} bytes after the header: the file is truncated or its offsets are out of range (the tensor would end at file offset ${dataStart + t.end}, the file ends at ${dataStart + dataLength})`,
        name
      )
    }
    prevEnd = t.end
    prevName = name
  }
  if (prevEnd !== dataLength) {
    fail(file, `${dataLength - prevEnd} bytes after the last tensor ("${prevName ?? 'none'}") belong to no tensor; the format requires the data section to be fully covered`)
  }
}

function readExact(fd: number, file: string, into: Uint8Array, position: number, what: string): void {
  let got = 0
  while (got < into.byteLength) {
    const n = readSync(fd, into, got, into.byteLength - got, position + got)
    if (n === 0) fail(file, `unexpected end of file while reading ${what} (the file is truncated or changed while being read)`)
    got += n
  }
}

function openForRead(path: string): { fd: number; file: string } {
  const file = resolve(path)
  try {
    return { fd: openSync(file, 'r'), file }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT') fail(file, 'file not found')
    if (code === 'EISDIR') fail(file, 'is a folder, not a .safetensors file')
    fail(file, `cannot open: ${(e as Error).message}`)
  }
}

function readHeaderFd(fd: number, file: string): SafetensorsHeader {
  const st = fstatSync(fd)
  if (!st.isFile()) fail(file, 'is not a regular file')
  const fileSize = st.size
  if (fileSize < 8) fail(file, `is ${fileSize} bytes long, too short to be safetensors (the header length alone takes 8 bytes)`)
  const lenBuf = Buffer.alloc(8)
  readExact(fd, file, lenBuf, 0, 'the header length')
  const n64 = lenBuf.readBigUInt64LE(0)
  if (n64 > BigInt(MAX_HEADER_BYTES)) {
    fail(file, `header length ${n64} exceeds the ${MAX_HEADER_BYTES / 1e6} MB limit: not a safetensors file, or a corrupt one`)
  }
  const n = Number(n64)
  if (8 + n > fileSize) {
    fail(file, `header length ${n} runs past the end of the ${fileSize}-byte file: truncated, or not a safetensors file`)
  }
  const headerBytes = Buffer.alloc(n)
  readExact(fd, file, headerBytes, 8, 'the header')
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes)
  } catch {
    fail(file, 'the header is not valid UTF-8: not a safetensors file, or a corrupt one')
  }
  let raw: unknown
  try {
    raw = parseJsonStrict(text, `${file} (safetensors header)`)
  } catch (e) {
    if (e instanceof JsonError) throw new SafetensorsError(e.message, file)
    throw e
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail(file, 'the header must be a JSON object {name: {dtype, shape, data_offsets}}')
  const tensors = new Map<string, TensorEntry>()
  let metadata: Record<string, string> | null = null
  for (const [name, entry] of Object.entries(raw)) {
    if (name === '__metadata__') metadata = parseMetadata(file, entry)
    else tensors.set(name, parseEntry(file, name, entry))
  }
  const dataStart = 8 + n
  const dataLength = fileSize - dataStart
  checkCoverage(file, tensors, dataLength, dataStart)
  return { file, headerLength: n, dataStart, dataLength, fileSize, tensors, metadata }
}

/** Read and validate only the header: cheap even for multi-GB files (sharded lookups, inspection). */
export function readSafetensorsHeader(path: string): SafetensorsHeader {
  checkHostEndianness()
  const { fd, file } = openForRead(path)
  try {
    return readHeaderFd(fd, file)
  } finally {
    closeSync(fd)
  }
}

function wrap(dtype: Dtype, buf: ArrayBuffer): TensorData {
  switch (dtype) {
    case 'F64':
      return new Float64Array(buf)
    case 'F32':
      return new Float32Array(buf)
    case 'F16':
    case 'BF16':
    case 'U16':
      return new Uint16Array(buf)
    case 'I64':
      return new BigInt64Array(buf)
    case 'U64':
      return new BigUint64Array(buf)
    case 'I32':
      return new Int32Array(buf)
    case 'U32':
      return new Uint32Array(buf)
    case 'I16':
      return new Int16Array(buf)
    case 'I8':
      return new Int8Array(buf)
    case 'U8':
    case 'BOOL':
      return new Uint8Array(buf)
  }
}

function readEntries(fd: number, header: SafetensorsHeader, names: Iterable<string>): Map<string, SafeTensor> {
  const st = fstatSync(fd)
  if (st.size !== header.fileSize) fail(header.file, `changed size since its header was read (${header.fileSize} → ${st.size} bytes)`)
  const out = new Map<string, SafeTensor>()
  for (const name of names) {
    const e = header.tensors.get(name)
    if (!e) fail(header.file, 'not in this file', name)
    // A fresh buffer per tensor: data offsets need not be aligned to the item size in the file.
    const buf = new ArrayBuffer(e.end - e.begin)
    readExact(fd, header.file, new Uint8Array(buf), header.dataStart + e.begin, `tensor "${name}"`)
    out.set(name, { dtype: e.dtype, shape: [...e.shape], data: wrap(e.dtype, buf) })
  }
  return out
}

/** Read tensors (all, or `names`) of a file whose header was read with readSafetensorsHeader. */
export function readTensors(header: SafetensorsHeader, names?: Iterable<string>): Map<string, SafeTensor> {
  checkHostEndianness()
  const { fd } = openForRead(header.file)
  try {
    return readEntries(fd, header, names ?? header.tensors.keys())
  } finally {
    closeSync(fd)
  }
}

/** Read a whole safetensors file (or only `names` from it). */
export function readSafetensors(
  path: string,
  opts: { names?: Iterable<string> } = {}
): { header: SafetensorsHeader; metadata: Record<string, string> | null; tensors: Map<string, SafeTensor> } {
  checkHostEndianness()
  const { fd, file } = openForRead(path)
  try {
    const header = readHeaderFd(fd, file)
    return { header, metadata: header.metadata, tensors: readEntries(fd, header, opts.names ?? header.tensors.keys()) }
  } finally {
    closeSync(fd)
  }
}

// ------------------------------------------------------------------ float16 / bfloat16 conversion

/** float32 bit pattern → float16 bit pattern, round to nearest, ties to even (IEEE 754 default). */
export function f32BitsToF16Bits(x: number): number {
  const sign = (x >>> 16) & 0x8000
  const exp = (x >>> 23) & 0xff
  const mant = x & 0x7fffff
  if (exp === 0xff) {
    // Keep a NaN's top payload bits; a NaN whose payload would vanish must not become infinity.
    return mant === 0 ? sign | 0x7c00 : sign | 0x7c00 | (mant >>> 13 || 0x200)
  }
  const e = exp - 112 // rebias: 127 → 15
  if (e >= 31) return sign | 0x7c00
  if (e >= 1) {
    let h = (e << 10) | (mant >>> 13)
    const rem = mant & 0x1fff
    // A carry out of the mantissa correctly bumps the exponent (up to infinity).
    if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++
    return sign | h
  }
  // float16 subnormal: value = m · 2^-24 with m = significand >> (14 - e).
  const shift = 14 - e
  if (shift > 24) return sign
  const sig = mant | 0x800000
  let h = sig >>> shift
  const rem = sig & ((1 << shift) - 1)
  const half = 1 << (shift - 1)
  if (rem > half || (rem === half && h & 1)) h++
  return sign | h
}

/** float16 bit pattern → float32 bit pattern (exact: every float16 is a float32). */
export function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16
  const exp = (h >>> 10) & 0x1f
  const mant = h & 0x3ff
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0
  if (mant === 0) return sign >>> 0
  // Subnormal: normalise the significand, lowering the exponent once per shift.
  let e = 113
  let m = mant
  while ((m & 0x400) === 0) {
    m <<= 1
    e--
  }
  return (sign | (e << 23) | ((m & 0x3ff) << 13)) >>> 0
}

/** float32 bit pattern → bfloat16 bit pattern, round to nearest, ties to even. */
export function f32BitsToBf16Bits(x: number): number {
  if ((x & 0x7fffffff) > 0x7f800000) {
    const h = x >>> 16
    return (h & 0x7f) === 0 ? h | 0x40 : h
  }
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff
}

let f16Table: Uint32Array | null = null

/** Exact float16 → float32. */
export function f16ToF32(bits: Uint16Array): Float32Array {
  if (!f16Table) {
    f16Table = new Uint32Array(65536)
    for (let h = 0; h < 65536; h++) f16Table[h] = f16BitsToF32Bits(h)
  }
  const out = new Float32Array(bits.length)
  // Work on bit patterns: going through JS numbers could canonicalise NaN payloads.
  const o = new Uint32Array(out.buffer)
  const t = f16Table
  for (let i = 0; i < bits.length; i++) o[i] = t[bits[i]]
  return out
}

/** float32 → float16, round to nearest even; out-of-range values become ±infinity. */
export function f32ToF16(values: Float32Array): Uint16Array {
  const x = new Uint32Array(values.buffer, values.byteOffset, values.length)
  const out = new Uint16Array(values.length)
  for (let i = 0; i < x.length; i++) out[i] = f32BitsToF16Bits(x[i])
  return out
}

/** Exact bfloat16 → float32. */
export function bf16ToF32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length)
  const o = new Uint32Array(out.buffer)
  for (let i = 0; i < bits.length; i++) o[i] = bits[i] << 16
  return out
}

/** float32 → bfloat16, round to nearest even. */
export function f32ToBf16(values: Float32Array): Uint16Array {
  const x = new Uint32Array(values.buffer, values.byteOffset, values.length)
  const out = new Uint16Array(values.length)
  for (let i = 0; i < x.length; i++) out[i] = f32BitsToBf16Bits(x[i])
  return out
}

/**
 * A tensor's values as float32. F32 data is returned as is (not copied); F16 and BF16 convert
 * exactly; F64 and 64-bit integers round to the nearest float32; BOOL gives 0 or 1.
 */
export function toFloat32(t: SafeTensor): Float32Array {
  const d = t.data
  switch (t.dtype) {
    case 'F32':
      return d as Float32Array
    case 'F16':
      return f16ToF32(d as Uint16Array)
    case 'BF16':
      return bf16ToF32(d as Uint16Array)
    case 'BOOL': {
      const out = new Float32Array(d.length)
      const b = d as Uint8Array
      for (let i = 0; i < b.length; i++) out[i] = b[i] !== 0 ? 1 : 0
      return out
    }
    case 'I64':
    case 'U64': {
      const out = new Float32Array(d.length)
      const b = d as BigInt64Array | BigUint64Array
      for (let i = 0; i < b.length; i++) out[i] = Number(b[i])
      return out
    }
    default:
      return Float32Array.from(d as Float64Array)
  }
}

// ------------------------------------------------------------------ writing

const NATIVE: Record<Dtype, { new (n: number): TensorData; name: string }> = {
  F64: Float64Array,
  F32: Float32Array,
  F16: Uint16Array,
  BF16: Uint16Array,
  I64: BigInt64Array,
  U64: BigUint64Array,
  I32: Int32Array,
  U32: Uint32Array,
  I16: Int16Array,
  U16: Uint16Array,
  I8: Int8Array,
  U8: Uint8Array,
  BOOL: Uint8Array
}

/**
 * The bytes to store for one tensor. Accepted: the dtype's own typed array (Uint16Array bit patterns
 * for F16/BF16), or a Float32Array for F16/BF16/F64, or a Float64Array for F32 (converted with
 * round-to-nearest-even).
 */
function encodeData(file: string, name: string, dtype: Dtype, data: TensorData): Uint8Array {
  let d: TensorData = data
  if (!(data instanceof NATIVE[dtype])) {
    if ((dtype === 'F16' || dtype === 'BF16') && data instanceof Float32Array) d = dtype === 'F16' ? f32ToF16(data) : f32ToBf16(data)
    else if (dtype === 'F32' && data instanceof Float64Array) d = Float32Array.from(data)
    else if (dtype === 'F64' && data instanceof Float32Array) d = Float64Array.from(data)
    else {
      const alt = dtype === 'F16' || dtype === 'BF16' ? ' or a Float32Array' : dtype === 'F32' ? ' or a Float64Array' : dtype === 'F64' ? ' or a Float32Array' : ''
      fail(file, `data for dtype ${dtype} must be a ${NATIVE[dtype].name}${alt}, found ${data?.constructor?.name ?? typeof data}`, name)
    }
  }
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength)
}

/** The reference implementation's order: larger dtypes first (keeps every tensor aligned), then by name. */
const WRITE_RANK: Record<Dtype, number> = { BOOL: 0, U8: 1, I8: 2, I16: 3, U16: 4, F16: 5, BF16: 6, I32: 7, U32: 8, F32: 9, F64: 10, I64: 11, U64: 12 }

/** The file's bytes as chunks (header, then each tensor's data viewed in place, not copied). */
export function serializeSafetensors(
  tensors: Record<string, TensorInput> | Map<string, TensorInput>,
  metadata?: Record<string, string> | null,
  file = '<safetensors>'
): { chunks: Uint8Array[]; byteLength: number } {
  checkHostEndianness()
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors)
  const prepared: Array<{ name: string; nameBytes: Buffer; dtype: Dtype; shape: number[]; bytes: Uint8Array }> = []
  for (const [name, t] of entries) {
    if (name === '' || name === '__metadata__') fail(file, `"${name}" cannot be a tensor name`, name)
    if (!isDtype(t.dtype)) fail(file, `unknown dtype ${JSON.stringify(t.dtype)} (supported: ${DTYPES.join(', ')})`, name)
    const count = shapeNumel(file, name, t.shape)
    if (t.data.length !== count) {
      fail(file, `shape ${JSON.stringify(t.shape)} has ${count} elements but the data holds ${t.data.length}`, name)
    }
    prepared.push({ name, nameBytes: Buffer.from(name, 'utf8'), dtype: t.dtype, shape: [...t.shape], bytes: encodeData(file, name, t.dtype, t.data) })
  }
  prepared.sort((a, b) => WRITE_RANK[b.dtype] - WRITE_RANK[a.dtype] || Buffer.compare(a.nameBytes, b.nameBytes))

  // Built by hand rather than through an object, so that a name like "__proto__" stays a plain key.
  const parts: string[] = []
  if (metadata) {
    const meta: string[] = []
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') fail(file, `"__metadata__" values must be strings, but "${k}" is ${JSON.stringify(v)}`)
      meta.push(`${JSON.stringify(k)}:${JSON.stringify(v)}`)
    }
    parts.push(`"__metadata__":{${meta.join(',')}}`)
  }
  let offset = 0
  for (const p of prepared) {
    const end = offset + p.bytes.byteLength
    parts.push(`${JSON.stringify(p.name)}:{"dtype":"${p.dtype}","shape":${JSON.stringify(p.shape)},"data_offsets":[${offset},${end}]}`)
    offset = end
  }
  let header = Buffer.from(`{${parts.join(',')}}`, 'utf8')
  const pad = (8 - (header.byteLength % 8)) % 8
  if (pad) header = Buffer.concat([header, Buffer.alloc(pad, 0x20)])
  if (header.byteLength > MAX_HEADER_BYTES) fail(file, `the header would be ${header.byteLength} bytes, above the ${MAX_HEADER_BYTES / 1e6} MB limit readers enforce`)
  const len = Buffer.alloc(8)
  len.writeBigUInt64LE(BigInt(header.byteLength))
  return { chunks: [len, header, ...prepared.map((p) => p.bytes)], byteLength: 8 + header.byteLength + offset }
}

/** Write a safetensors file atomically. Returns the file size in bytes. */
export function writeSafetensors(
  path: string,
  tensors: Record<string, TensorInput> | Map<string, TensorInput>,
  metadata?: Record<string, string> | null
): number {
  const file = resolve(path)
  const { chunks, byteLength } = serializeSafetensors(tensors, metadata, file)
  writeFileAtomic(file, chunks)
  return byteLength
}

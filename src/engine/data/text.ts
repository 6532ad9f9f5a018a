/**
 * Bytes → physical lines. Owns: byte-order marks, UTF-16 conversion, binary-file detection, empty files,
 * line splitting (LF, CRLF, lone CR), the per-line size limit, and locating bad UTF-8 / NUL bytes to a
 * line and byte position. Must not: know about columns, quoting or labels (the parsers do), or decode
 * an over-long line (a 2 GB single-line file must cost one linear scan, not a 2 GB string).
 */
import { Buffer, isUtf8 } from 'node:buffer'
import type { ProblemLog } from './problems'

export const DEFAULT_MAX_LINE_BYTES = 1 << 20
/** How much of the file start is examined for binary signatures. */
const SNIFF_BYTES = 8192

export interface TextLines {
  /** Physical lines without their terminator; lines[i] is line i + 1. */
  lines: string[]
  /** Lines that could not be read at all (too long): their entry in `lines` is ''. */
  unreadable: Set<number>
  /** Lines with an error found here (encoding, NUL): the row that contains them is bad. */
  badLines: Set<number>
  bom: boolean
  /** The encoding the text was decoded from. */
  encoding: string
}

export interface ReadTextOptions {
  file: string
  maxLineBytes?: number
  /** A WHATWG encoding label; default utf-8 (validated strictly, line by line on failure). */
  encoding?: string
  /** Byte of the field delimiter, so an encoding error can name its column. */
  delimiter?: string
}

const MAGIC: Array<[string, number[]]> = [
  ['a ZIP archive (also .xlsx/.docx/.ods)', [0x50, 0x4b, 0x03, 0x04]],
  ['a gzip archive', [0x1f, 0x8b]],
  ['a PDF document', [0x25, 0x50, 0x44, 0x46, 0x2d]],
  ['a PNG image', [0x89, 0x50, 0x4e, 0x47]],
  ['a JPEG image', [0xff, 0xd8, 0xff]],
  ['a Parquet file', [0x50, 0x41, 0x52, 0x31]],
  ['an SQLite database', [0x53, 0x51, 0x4c, 0x69, 0x74, 0x65, 0x20, 0x66]],
  ['a legacy Excel (.xls) / OLE file', [0xd0, 0xcf, 0x11, 0xe0]],
  ['an Arrow/Feather file', [0x41, 0x52, 0x52, 0x4f, 0x57, 0x31]],
  ['a NumPy array', [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]]
]

// WHATWG maps latin1 / iso-8859-1 / ascii to windows-1252, but Node 20's TextDecoder decodes them as
// ISO-8859-1 (0x93 → U+0093 instead of “): decode 0x80-0x9F by hand.
const LATIN1_LABELS = new Set(['windows-1252', 'cp1252', 'x-cp1252', 'latin1', 'iso-8859-1', 'iso8859-1', 'l1', 'ascii', 'us-ascii'])
const CP1252_HIGH = '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f' +
  '\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178'

function decodeWindows1252(b: Uint8Array): string {
  const s = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1')
  return /[\u0080-\u009f]/.test(s) ? s.replace(/[\u0080-\u009f]/g, (c) => CP1252_HIGH[c.charCodeAt(0) - 0x80]) : s
}

function startsWith(b: Uint8Array, sig: number[]): boolean {
  if (b.length < sig.length) return false
  for (let i = 0; i < sig.length; i++) if (b[i] !== sig[i]) return false
  return true
}

function lineOfOffset(b: Uint8Array, offset: number): { line: number; col: number } {
  let line = 1
  let start = 0
  for (let i = 0; i < offset; i++) {
    if (b[i] === 0x0a) {
      line++
      start = i + 1
    }
  }
  return { line, col: offset - start + 1 }
}

/** 0-based byte offset of the first byte that breaks UTF-8 in b[s, e), or -1. */
export function firstInvalidUtf8(b: Uint8Array, s: number, e: number): number {
  let i = s
  while (i < e) {
    const c = b[i]
    if (c < 0x80) {
      i++
      continue
    }
    let need: number
    let min: number
    if (c >= 0xc2 && c <= 0xdf) [need, min] = [1, 0x80]
    else if (c >= 0xe0 && c <= 0xef) [need, min] = [2, 0x800]
    else if (c >= 0xf0 && c <= 0xf4) [need, min] = [3, 0x10000]
    else return i
    if (i + need >= e) return i // truncated sequence at the end of the line
    let cp = c & (0x3f >> need)
    for (let k = 1; k <= need; k++) {
      const cc = b[i + k]
      if ((cc & 0xc0) !== 0x80) return i
      cp = (cp << 6) | (cc & 0x3f)
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i
    i += need + 1
  }
  return -1
}

function fieldIndexAt(b: Uint8Array, lineStart: number, offset: number, delimiter?: string): number | undefined {
  if (delimiter === undefined || delimiter.length !== 1) return undefined
  const d = delimiter.charCodeAt(0)
  let n = 0
  for (let i = lineStart; i < offset; i++) if (b[i] === d) n++
  return n
}

/**
 * Decodes `bytes` into physical lines, logging file-level problems (empty, binary, UTF-16 without BOM)
 * and line-level ones (bad UTF-8, NUL bytes, over-long lines). Returns null when the file cannot be read
 * as text at all; the reason is in the log.
 */
export function readTextLines(bytes: Uint8Array, log: ProblemLog, opts: ReadTextOptions): TextLines | null {
  const { file } = opts
  const maxLineBytes = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES
  let buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let encoding = (opts.encoding ?? 'utf-8').toLowerCase()
  let bom = false

  if (buf.length === 0) {
    log.add({ file, line: 1, code: 'empty_file', severity: 'error', message: `${file} is empty (0 bytes). Choose the file that holds the data, or re-export it.` }, 'file')
    return null
  }

  // Byte-order marks decide the encoding whatever was asked: they are unambiguous.
  if (startsWith(buf, [0xef, 0xbb, 0xbf])) {
    bom = true
    buf = buf.subarray(3)
    encoding = 'utf-8'
  } else if (startsWith(buf, [0xff, 0xfe]) || startsWith(buf, [0xfe, 0xff])) {
    const le = buf[0] === 0xff
    const text = new TextDecoder(le ? 'utf-16le' : 'utf-16be').decode(buf.subarray(2))
    buf = Buffer.from(text, 'utf8')
    bom = true
    encoding = 'utf-8'
    log.add({
      file, line: 1, code: 'encoding', severity: 'warning',
      message: `${file} is UTF-16 (${le ? 'little' : 'big'}-endian, with a byte-order mark); it was converted to UTF-8 for reading. Saving it as UTF-8 makes it smaller and readable by more tools.`
    }, 'file')
  }

  const head = buf.subarray(0, SNIFF_BYTES)
  for (const [what, sig] of MAGIC) {
    if (startsWith(head, sig)) {
      log.add({ file, line: 1, offset: 1, code: 'binary_file', severity: 'error', message: `${file} is ${what}, not a text file. Export the data as TSV, CSV (UTF-8) or JSON Lines and load that.` }, 'file')
      return null
    }
  }
  const firstNul = head.indexOf(0)
  if (firstNul >= 0) {
    // UTF-16 without a BOM: every other byte is NUL in ASCII-heavy text.
    let evenNul = 0
    let oddNul = 0
    for (let i = 0; i < head.length; i++) {
      if (head[i] !== 0) continue
      if (i % 2 === 0) evenNul++
      else oddNul++
    }
    const half = head.length / 2
    const { line, col } = lineOfOffset(buf, firstNul)
    if (evenNul > 0.4 * half || oddNul > 0.4 * half) {
      log.add({ file, line: 1, code: 'encoding', severity: 'error', message: `${file} looks like UTF-16 text without a byte-order mark (every other byte is 0). Re-save it as UTF-8 (in Excel: "CSV UTF-8"; in an editor: encoding UTF-8).` }, 'file')
    } else {
      log.add({ file, line, offset: col, code: 'binary_file', severity: 'error', message: `${file} holds a NUL byte at line ${line}, byte ${col}: it is a binary file, not text. Export the data as TSV, CSV (UTF-8) or JSON Lines and load that.` }, 'file')
    }
    return null
  }
  let control = 0
  for (let i = 0; i < head.length; i++) {
    const c = head[i]
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x0c) control++
  }
  if (head.length >= 64 && control > 0.1 * head.length) {
    log.add({ file, line: 1, code: 'binary_file', severity: 'error', message: `${file} is mostly control characters (${control} of its first ${head.length} bytes): it is a binary file, not text. Export the data as TSV, CSV (UTF-8) or JSON Lines and load that.` }, 'file')
    return null
  }
  let allSpace = true
  for (let i = 0; i < buf.length && allSpace; i++) {
    const c = buf[i]
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) allSpace = false
  }
  if (allSpace) {
    log.add({ file, line: 1, code: 'empty_file', severity: 'error', message: `${file} holds only whitespace${bom ? ' (after its byte-order mark)' : ''}: there is no data to load. Choose the file that holds the data, or re-export it.` }, 'file')
    return null
  }

  const isUtf = encoding === 'utf-8' || encoding === 'utf8'
  const wholeValid = isUtf && isUtf8(buf)
  const fatal = isUtf && !wholeValid ? new TextDecoder('utf-8', { fatal: true }) : null
  let lenient: { decode(input: Uint8Array): string } | null = null
  if (!isUtf) {
    try {
      lenient = new TextDecoder(encoding)
    } catch {
      log.add({ file, line: 1, code: 'encoding', severity: 'error', message: `unknown text encoding '${opts.encoding}'. Use a WHATWG label such as utf-8, windows-1252 or latin1.` }, 'file')
      return null
    }
  }
  if (lenient && LATIN1_LABELS.has(encoding)) lenient = { decode: decodeWindows1252 }
  const replacing = new TextDecoder('utf-8')
  // A file with lone CRs and no LF (classic Mac) would otherwise read as one enormous line.
  const nl = buf.indexOf(0x0a) < 0 && buf.indexOf(0x0d) >= 0 ? 0x0d : 0x0a
  // Position of the next NUL at or after the current line: one forward scan in all (re-searching from
  // every line start would be quadratic when a lone NUL sits near the end of a big file).
  let nextNul = buf.indexOf(0)

  const lines: string[] = []
  const unreadable = new Set<number>()
  const badLines = new Set<number>()
  let start = 0
  let lineNo = 0
  const n = buf.length
  while (start < n) {
    let end = buf.indexOf(nl, start)
    const next = end < 0 ? n : end + 1
    if (end < 0) end = n
    lineNo++
    let e = end
    if (nl === 0x0a && e > start && buf[e - 1] === 0x0d) e--
    if (e - start > maxLineBytes) {
      lines.push('')
      unreadable.add(lineNo)
      log.add({
        file, line: lineNo, code: 'line_too_long', severity: 'error',
        message: `line ${lineNo} is ${(e - start).toLocaleString('en-US')} bytes long, over the limit of ${maxLineBytes.toLocaleString('en-US')} bytes per line; it was skipped. A line this long is usually a missing line break, a whole JSON array on one line, or a binary blob: fix the export, or raise maxLineBytes if the text really is that long.`
      })
      start = next
      continue
    }
    if (nextNul >= 0 && nextNul < start) nextNul = buf.indexOf(0, start)
    if (nextNul >= 0 && nextNul < e) {
      const z = nextNul
      badLines.add(lineNo)
      log.add({
        file, line: lineNo, offset: z - start + 1, column: fieldIndexAt(buf, start, z, opts.delimiter), code: 'nul_byte', severity: 'error',
        message: `line ${lineNo} holds a NUL byte at byte ${z - start + 1}; text files never do. The line is probably corrupted: fix or delete it.`
      })
    }
    if (wholeValid) {
      lines.push(buf.toString('utf8', start, e))
    } else if (fatal) {
      const slice = buf.subarray(start, e)
      try {
        lines.push(fatal.decode(slice))
      } catch {
        const bad = firstInvalidUtf8(buf, start, e)
        const at = bad < 0 ? 0 : bad - start
        const byte = bad < 0 ? '' : ` (byte 0x${buf[bad].toString(16).toUpperCase().padStart(2, '0')})`
        badLines.add(lineNo)
        log.add({
          file, line: lineNo, offset: at + 1, column: fieldIndexAt(buf, start, start + at, opts.delimiter), code: 'encoding', severity: 'error',
          message: `line ${lineNo}, byte ${at + 1}: invalid UTF-8${byte}. The file is probably in a legacy encoding such as Windows-1252 or Latin-1: re-save it as UTF-8, or load it with encoding 'windows-1252'.`
        })
        lines.push(replacing.decode(slice))
      }
    } else if (lenient) {
      lines.push(lenient.decode(buf.subarray(start, e)))
    }
    start = next
  }
  return { lines, unreadable, badLines, bom, encoding }
}

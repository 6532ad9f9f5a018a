/**
 * Physical lines → rows. Owns: delimited parsing without quoting (GLUE's TSVs are read that way: their
 * texts hold bare quotes), RFC 4180 parsing (quoted fields, doubled quotes, fields spanning lines, with
 * the row's first line kept for reports), recovery from a quote that never closes, and JSON Lines.
 * Must not: interpret columns or labels, or let one stray quote swallow the rest of the file.
 */
import type { ProblemLog } from './problems'
import type { TextLines } from './text'
import { DEFAULT_MAX_LINE_BYTES } from './text'

export interface RawRow {
  /** 1-based line where the row starts. */
  line: number
  /** 1-based line where it ends (> line when a quoted field holds line breaks). */
  endLine: number
  fields: string[]
}

export interface JsonRow {
  line: number
  value: Record<string, unknown>
}

export type Quoting = 'none' | 'rfc4180'

export interface DelimitedOptions {
  file: string
  delimiter: string
  quoting: Quoting
  /** A quoted field longer than this is taken for an unclosed quote. */
  maxRecordBytes?: number
  /** A quoted field spanning more lines than this is taken for an unclosed quote. */
  maxQuotedLines?: number
}

export const DEFAULT_MAX_QUOTED_LINES = 100

function isBlank(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== 0x20) return false
  return true
}

/** Logs blank lines only when data follows them: trailing blank lines are normal. */
class BlankLines {
  private pending: number[] = []
  constructor(private log: ProblemLog, private file: string) {}
  blank(line: number): void {
    this.pending.push(line)
  }
  data(): void {
    for (const line of this.pending) {
      this.log.add({ file: this.file, line, code: 'blank_line', severity: 'warning', message: `line ${line} is blank; it was skipped. Delete it if it is not meant to be there.` })
    }
    this.pending = []
  }
}

export function parseDelimited(text: TextLines, opts: DelimitedOptions, log: ProblemLog): RawRow[] {
  const { lines, unreadable } = text
  const { file, delimiter: d } = opts
  const rows: RawRow[] = []
  const blanks = new BlankLines(log, file)
  if (opts.quoting === 'none') {
    for (let i = 0; i < lines.length; i++) {
      const s = lines[i]
      if (unreadable.has(i + 1)) continue
      if (isBlank(s)) {
        blanks.blank(i + 1)
        continue
      }
      blanks.data()
      rows.push({ line: i + 1, endLine: i + 1, fields: s.split(d) })
    }
    return rows
  }

  const maxRecord = opts.maxRecordBytes ?? DEFAULT_MAX_LINE_BYTES
  const maxQuotedLines = opts.maxQuotedLines ?? DEFAULT_MAX_QUOTED_LINES

  // Parses the row starting at line index `li`. With multiline=false a quote still open at the end of
  // the line is read as a literal character (recovery after an unbalanced quote).
  const parseRow = (li: number, multiline: boolean): { fields: string[]; next: number; unclosed?: { line: number; offset: number; field: number } } => {
    const fields: string[] = []
    let cur = li
    let line = lines[cur]
    let pos = 0
    for (;;) {
      if (line.charCodeAt(pos) === 0x22) {
        const openLine = cur
        const openPos = pos
        let val = ''
        let p = pos + 1
        let closed = false
        for (;;) {
          const q = line.indexOf('"', p)
          if (q < 0) {
            val += line.slice(p)
            const tooMany = cur + 1 - openLine >= maxQuotedLines || val.length > maxRecord
            if (multiline && cur + 1 < lines.length && !unreadable.has(cur + 2) && !tooMany) {
              val += '\n'
              cur++
              line = lines[cur]
              p = 0
              continue
            }
            break
          }
          val += line.slice(p, q)
          if (line.charCodeAt(q + 1) === 0x22) {
            val += '"'
            p = q + 2
            continue
          }
          p = q + 1
          closed = true
          break
        }
        if (!closed) {
          if (multiline) return { fields, next: cur + 1, unclosed: { line: openLine + 1, offset: openPos + 1, field: fields.length } }
          // Literal quote: the field runs to the next delimiter like an unquoted one.
          const dd = line.indexOf(d, openPos)
          fields.push(dd < 0 ? line.slice(openPos) : line.slice(openPos, dd))
          if (dd < 0) return { fields, next: cur + 1 }
          pos = dd + d.length
          if (pos >= line.length) {
            fields.push('')
            return { fields, next: cur + 1 }
          }
          continue
        }
        pos = p
        if (pos < line.length && !line.startsWith(d, pos)) {
          // RFC 4180 forbids text after the closing quote; keep it, as Python's csv module does.
          const dd = line.indexOf(d, pos)
          const rest = dd < 0 ? line.slice(pos) : line.slice(pos, dd)
          log.add({
            file, line: cur + 1, offset: pos + 1, column: fields.length, code: 'stray_quote', severity: 'warning',
            message: `line ${cur + 1}, column ${fields.length}: text follows a closing quote (…"${rest.slice(0, 20)}). It was kept as part of the field. In CSV a quote inside a quoted field must be doubled ("").`
          })
          val += rest
          pos = dd < 0 ? line.length : dd
        }
        fields.push(val)
      } else {
        const dd = line.indexOf(d, pos)
        if (dd < 0) {
          fields.push(line.slice(pos))
          return { fields, next: cur + 1 }
        }
        fields.push(line.slice(pos, dd))
        pos = dd
      }
      if (pos >= line.length) return { fields, next: cur + 1 }
      pos += d.length // at a delimiter
      if (pos >= line.length) {
        fields.push('')
        return { fields, next: cur + 1 }
      }
    }
  }

  let i = 0
  while (i < lines.length) {
    if (unreadable.has(i + 1)) {
      i++
      continue
    }
    if (isBlank(lines[i])) {
      blanks.blank(i + 1)
      i++
      continue
    }
    blanks.data()
    let r = parseRow(i, true)
    if (r.unclosed) {
      const u = r.unclosed
      log.add({
        file, line: u.line, offset: u.offset, column: u.field, code: 'unbalanced_quote', severity: 'error',
        message: `line ${u.line}, column ${u.field}: a quoted field opens at byte ${u.offset} and never closes (it would run to ${r.next >= lines.length ? 'the end of the file' : `line ${r.next}`}). Close the quote, double a quote that is part of the text (""), or load the file with quoting 'none' if quotes are never used for quoting.`
      })
      r = parseRow(i, false)
    }
    const endLine = r.next
    // An encoding error on a continuation line belongs to the row that spans it.
    for (let k = i + 2; k <= endLine; k++) if (text.badLines.has(k)) log.badLines.add(i + 1)
    rows.push({ line: i + 1, endLine, fields: r.fields })
    i = r.next
  }
  return rows
}

export function parseJsonl(text: TextLines, file: string, log: ProblemLog): JsonRow[] {
  const { lines, unreadable } = text
  const rows: JsonRow[] = []
  const blanks = new BlankLines(log, file)
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1
    if (unreadable.has(line)) continue
    const s = lines[i]
    if (s.trim() === '') {
      blanks.blank(line)
      continue
    }
    blanks.data()
    let v: unknown
    try {
      v = JSON.parse(s)
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e)
      const m = /position (\d+)/.exec(msg)
      const arrayHint = i === 0 && s.trimStart().startsWith('[')
        ? ' The file looks like one JSON array; JSON Lines needs one object per line: convert it (e.g. jq -c ".[]").'
        : ' Each line must be one complete JSON object, e.g. {"text": "…", "label": "pos"}; fix or delete this line.'
      log.add({ file, line, offset: m ? Number(m[1]) + 1 : undefined, code: 'bad_json', severity: 'error', message: `line ${line} is not valid JSON (${msg}).${arrayHint}` })
      continue
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      log.add({ file, line, code: 'bad_json', severity: 'error', message: `line ${line} holds ${Array.isArray(v) ? 'an array' : v === null ? 'null' : `a ${typeof v}`}, expected a JSON object with the text and label fields, e.g. {"text": "…", "label": "pos"}.` })
      continue
    }
    rows.push({ line, value: v as Record<string, unknown> })
  }
  return rows
}

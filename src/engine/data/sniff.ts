/**
 * Guessing what a user's file is: format and delimiter, whether its first row is a header, which
 * columns hold the texts / label / id, and whether the label is a class or a number. Owns: heuristics
 * over a sample of rows. Must not: read files or be trusted blindly: every guess carries its reason, and
 * the loader only uses one when the caller gave nothing better (a task layout or an explicit mapping).
 */
import type { Quoting } from './parse'
import type { ColumnMapping, DataFormat } from './types'

export interface FormatGuess {
  format: DataFormat
  delimiter?: string
  quoting?: Quoting
  reason: string
}

const DELIMS = ['\t', ',', ';', '|']
const DELIM_NAME: Record<string, string> = { '\t': 'tab', ',': 'comma', ';': 'semicolon', '|': 'pipe' }

export function delimiterName(d: string): string {
  return DELIM_NAME[d] ?? JSON.stringify(d)
}

function countOutsideQuotes(line: string, d: string): number {
  let n = 0
  let inQ = false
  for (let i = 0; i < line.length; i++) {
    const c = line[i]
    if (c === '"') inQ = !inQ
    else if (c === d && !inQ) n++
  }
  return n
}

/** Whether TSV fields are quoted the pandas / Excel way ("a ""b"" c"), or quotes are just characters. */
function sniffTsvQuoting(lines: string[]): Quoting {
  let quoted = 0
  for (const line of lines) {
    for (const f of line.split('\t')) {
      if (!f.startsWith('"')) continue
      // A field that opens with a quote but does not end with one (MRPC: "The foodservice pie…) means
      // quotes are plain text here.
      if (f.length < 2 || !f.endsWith('"')) return 'none'
      if (/[^"]"(?!")/.test(f.slice(1, -1).replace(/""/g, ''))) return 'none'
      quoted++
    }
  }
  return quoted > 0 ? 'rfc4180' : 'none'
}

function extOf(file: string): string {
  const m = /\.([a-z0-9]+)$/i.exec(file)
  return m ? m[1].toLowerCase() : ''
}

/** `lines`: the first lines of the file (decoded, BOM removed). */
export function sniffFormat(lines: string[], file: string): FormatGuess {
  const ext = extOf(file)
  const sample = lines.filter((l) => l.trim() !== '').slice(0, 50)
  const first = sample[0]?.trimStart() ?? ''
  if (ext === 'jsonl' || ext === 'ndjson' || ((ext === 'json' || ext === '' || ext === 'txt') && first.startsWith('{'))) {
    return { format: 'jsonl', reason: ext === 'jsonl' || ext === 'ndjson' ? `the .${ext} extension` : 'lines start with "{": JSON Lines' }
  }
  if (first.startsWith('{') && sample.every((l) => l.trimStart().startsWith('{'))) {
    return { format: 'jsonl', reason: 'every line starts with "{": JSON Lines' }
  }
  let best = { d: ext === 'csv' ? ',' : '\t', score: -1, mode: 0 }
  // The extension decides first: a .csv is comma-separated and a .tsv tab-separated whenever that
  // delimiter splits most lines alike; only otherwise does the content choose.
  const byExt = ext === 'csv' ? ',' : ext === 'tsv' || ext === 'tab' ? '\t' : undefined
  let extChoice: { d: string; score: number; mode: number } | undefined
  for (const d of DELIMS) {
    const counts = sample.map((l) => (d === '\t' ? l.split('\t').length - 1 : countOutsideQuotes(l, d)))
    const freq = new Map<number, number>()
    for (const c of counts) freq.set(c, (freq.get(c) ?? 0) + 1)
    let mode = 0
    let modeN = 0
    for (const [c, k] of freq) if (c > 0 && (k > modeN || (k === modeN && c > mode))) [mode, modeN] = [c, k]
    if (mode === 0) continue
    // Consistency first; the extension breaks ties (a .csv that is really ;-separated still sniffs).
    const score = modeN / sample.length + (ext === 'tsv' && d === '\t' ? 0.05 : 0) + (ext === 'csv' && d === ',' ? 0.05 : 0)
    if (d === byExt && modeN / sample.length >= 0.5) extChoice = { d, score, mode }
    if (score > best.score) best = { d, score, mode }
  }
  if (extChoice) best = extChoice
  if (best.score < 0) {
    // One column: a plain text file, one text per line.
    const d = ext === 'csv' ? ',' : '\t'
    return { format: d === '\t' ? 'tsv' : 'csv', delimiter: d, quoting: d === '\t' ? sniffTsvQuoting(sample) : 'rfc4180', reason: 'no delimiter found: one column' }
  }
  const why = `${extChoice ? `the .${ext} extension, and ` : ''}${delimiterName(best.d)} splits ${Math.round(Math.min(1, best.score) * 100)}% of the sampled lines into ${best.mode + 1} columns`
  if (best.d === '\t') {
    const quoting = sniffTsvQuoting(sample)
    return { format: 'tsv', delimiter: '\t', quoting, reason: `${why}${quoting === 'none' ? '; quotes are read as text' : '; fields are quoted CSV-style'}` }
  }
  return { format: 'csv', delimiter: best.d, quoting: 'rfc4180', reason: why }
}

const KNOWN_COLUMNS = new Set([
  'label', 'labels', 'gold_label', 'is_duplicate', 'score', 'quality', 'target', 'class', 'category', 'sentiment', 'y', 'rating', 'stars',
  'sentence', 'sentence1', 'sentence2', 'text', 'text_a', 'text_b', 'text1', 'text2', 'question', 'question1', 'question2', 'premise', 'hypothesis',
  '#1 string', '#2 string', '#1 id', '#2 id', 'review', 'content', 'document', 'comment', 'tweet', 'query', 'body', 'title', 'passage', 'answer', 'context', 'input',
  'id', 'index', 'idx', 'guid', 'uid', 'qid1', 'qid2', 'genre', 'source'
])

export const isNumeric = (s: string): boolean => /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(s)

export function sniffHeader(rows: string[][]): { header: boolean; reason: string } {
  if (rows.length === 0) return { header: false, reason: 'no rows' }
  const first = rows[0].map((s) => s.trim())
  const rest = rows.slice(1, 200)
  const known = first.filter((f) => KNOWN_COLUMNS.has(f.toLowerCase())).length
  if (known > 0 && known >= first.length / 2) return { header: true, reason: `the first row names known columns (${first.filter((f) => KNOWN_COLUMNS.has(f.toLowerCase())).join(', ')})` }
  if (first.some((f) => f === '')) return { header: false, reason: 'the first row has empty fields, which a header would not' }
  for (let c = 0; c < first.length; c++) {
    const vals = rest.map((r) => r[c] ?? '').filter((v) => v.trim() !== '')
    if (vals.length >= 3 && vals.filter(isNumeric).length >= 0.9 * vals.length && !isNumeric(first[c])) {
      return { header: true, reason: `column ${c} is numeric below the first row but "${first[c]}" is not` }
    }
  }
  if (rest.length === 0) return { header: false, reason: 'a single row: read as data' }
  // Short distinct names over much longer values, never repeated below: a header.
  const shortNames = first.every((f) => f.length <= 32 && !/[.!?]$/.test(f))
  const repeated = first.some((f, c) => rest.some((r) => (r[c] ?? '').trim() === f))
  const longer = first.some((f, c) => {
    const vals = rest.map((r) => r[c] ?? '')
    const avg = vals.reduce((s, v) => s + v.length, 0) / Math.max(1, vals.length)
    return avg > 2 * f.length + 8
  })
  if (shortNames && !repeated && longer && new Set(first).size === first.length) {
    return { header: true, reason: 'the first row holds short distinct names and the columns below hold longer values' }
  }
  return { header: false, reason: 'the first row looks like data' }
}

interface Profile {
  index: number
  name: string
  avgLen: number
  spaced: number
  numeric: number
  integer: number
  distinct: number
  unique: boolean
  /** Share of empty values. */
  empty: number
}

function profile(columns: string[], rows: string[][]): Profile[] {
  return columns.map((name, index) => {
    const vals = rows.map((r) => (r[index] ?? '').trim())
    const n = Math.max(1, vals.length)
    const set = new Set(vals)
    return {
      index, name,
      avgLen: vals.reduce((s, v) => s + v.length, 0) / n,
      spaced: vals.filter((v) => v.includes(' ')).length / n,
      numeric: vals.filter(isNumeric).length / n,
      integer: vals.filter((v) => /^[+-]?\d+$/.test(v)).length / n,
      distinct: set.size,
      unique: set.size === vals.length && vals.length > 0,
      empty: vals.filter((v) => v === '').length / n
    }
  })
}

const NAMES = {
  id: ['id', 'index', 'idx', 'guid', 'uid'],
  label: ['label', 'labels', 'gold_label', 'is_duplicate', 'score', 'quality', 'target', 'class', 'category', 'sentiment', 'y', 'rating', 'stars'],
  textA: ['sentence1', 'text_a', 'text1', 'question1', 'premise', '#1 string', 'question', 'sentence', 'text', 'review', 'content', 'document', 'comment', 'tweet', 'query', 'body', 'input'],
  textB: ['sentence2', 'text_b', 'text2', 'question2', 'hypothesis', '#2 string', 'sentence', 'passage', 'answer', 'context']
}

const LABEL_WORD = /label|score|class|target|sentiment|rating|stars|category|polarity/i
const ID_NAME = /(^|[^a-z])(id|ids|idx|index|qid\d*|guid|uid|pairid|promptid)([^a-z]|$)|_id$|_index$/i

export interface MappingGuess {
  mapping: ColumnMapping
  reason: string
}

/**
 * Which columns feed textA / textB / label / id. Names win (sentence1/sentence2/label…); otherwise the
 * longest spaced column is textA, a second long one textB, a short low-cardinality or numeric one the
 * label, a unique integer one the id. Returns refs as header names when there is a header, else indices.
 */
export function guessMapping(columns: string[], rows: string[][], hasHeader: boolean): MappingGuess | null {
  if (columns.length === 0) return null
  const prof = profile(columns, rows)
  const used = new Set<number>()
  const ref = (i: number) => (hasHeader ? columns[i] : i)
  const byName = (names: string[]): number | undefined => {
    if (!hasHeader) return undefined
    for (const n of names) {
      const i = columns.findIndex((c, k) => !used.has(k) && c.trim().toLowerCase() === n)
      if (i >= 0) return i
    }
    return undefined
  }
  const why: string[] = []
  const pick = (field: keyof ColumnMapping, i: number | undefined, how: string) => {
    if (i === undefined) return undefined
    used.add(i)
    why.push(`${field} = ${hasHeader ? `"${columns[i]}"` : `column ${i}`} (${how})`)
    return i
  }

  let label = pick('label', byName(NAMES.label), 'by name')
  if (label === undefined && hasHeader) {
    const i = columns.findIndex((c, k) => !used.has(k) && LABEL_WORD.test(c) && !ID_NAME.test(c))
    label = pick('label', i >= 0 ? i : undefined, 'by name')
  }
  let id = pick('id', byName(NAMES.id), 'by name')
  let a = pick('textA', byName(NAMES.textA), 'by name')
  let b = a !== undefined ? pick('textB', byName(NAMES.textB), 'by name') : undefined
  // Named text columns but no label-like name: most likely an unlabelled (test) file, whose other short
  // columns are metadata (STS-B test: genre, year). Only nameless columns are profiled for a label.
  const namedTexts = a !== undefined

  const free = () => prof.filter((p) => !used.has(p.index))
  if (a === undefined) {
    const texts = free().filter((p) => p.numeric < 0.5).sort((x, y) => y.avgLen - x.avgLen)
    a = pick('textA', texts[0]?.index, 'the longest text column')
  }
  if (label === undefined && !namedTexts) {
    const n = rows.length
    // Not ids: named like one, or integers with many distinct values (ids, years, offsets).
    const idLike = (p: Profile) => (hasHeader && ID_NAME.test(p.name)) || (p.integer > 0.95 && p.distinct > 20)
    const cands = free().filter((p) => p.empty < 0.02 && p.avgLen <= 24 && !idLike(p) && (p.numeric > 0.95 || p.distinct <= Math.max(2, Math.min(50, n / 5))))
    // The last such column: GLUE-style files put the label last, ids first.
    label = pick('label', cands[cands.length - 1]?.index, 'short values from a small set, or numbers')
  }
  if (b === undefined && a !== undefined) {
    const aLen = prof[a].avgLen
    const texts = free().filter((p) => p.numeric < 0.5 && p.spaced > 0.5 && p.avgLen >= 0.25 * aLen && p.avgLen >= 12).sort((x, y) => y.avgLen - x.avgLen)
    b = pick('textB', texts[0]?.index, 'a second long text column')
  }
  if (id === undefined) {
    const ids = free().filter((p) => p.unique && (p.integer > 0.99 || (p.spaced === 0 && p.avgLen <= 40)))
    id = pick('id', ids[0]?.index, 'unique values')
  }
  if (a === undefined) return null
  const mapping: ColumnMapping = { textA: ref(a) }
  if (b !== undefined) mapping.textB = ref(b)
  if (label !== undefined) mapping.label = ref(label)
  if (id !== undefined) mapping.id = ref(id)
  return { mapping, reason: why.join('; ') }
}

export type LabelGuess =
  | { kind: 'classification'; values: string[]; counts: Record<string, number>; reason: string }
  | { kind: 'regression'; min: number; max: number; reason: string }
  | { kind: 'none'; reason: string }

/** Orders class values: numerically when all are numbers ("2" before "10"), else by code unit. */
export function sortLabelValues(values: Iterable<string>): string[] {
  const v = [...new Set(values)]
  if (v.length > 0 && v.every(isNumeric)) return v.sort((x, y) => Number(x) - Number(y) || (x < y ? -1 : x > y ? 1 : 0))
  return v.sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))
}

export function guessLabelType(values: string[]): LabelGuess {
  const vals = values.map((v) => v.trim()).filter((v) => v !== '')
  if (vals.length === 0) return { kind: 'none', reason: 'no label values' }
  const distinct = new Set(vals)
  if (vals.every(isNumeric)) {
    const nums = [...distinct].map(Number)
    const allInt = nums.every(Number.isInteger)
    if (!allInt || distinct.size > 20) {
      let min = Infinity
      let max = -Infinity
      for (const v of vals) {
        const x = Number(v)
        if (x < min) min = x
        if (x > max) max = x
      }
      return { kind: 'regression', min, max, reason: `numeric labels with ${allInt ? `${distinct.size} distinct values` : 'fractional values'}: regression` }
    }
  }
  const counts: Record<string, number> = {}
  for (const v of vals) counts[v] = (counts[v] ?? 0) + 1
  return { kind: 'classification', values: sortLabelValues(distinct), counts, reason: `${distinct.size} distinct label values: classification` }
}

/**
 * Loading data sets: GLUE task files by their registry layout, and any user TSV / CSV / JSON Lines file
 * with a column mapping. Owns: the pipeline bytes → lines → rows → examples, column resolution, column
 * counts, label strings → class indices or floats, and the load report. Must not: throw on bad data
 * (loadWithReport reports; loadDataset / loadGlueFile throw a DatasetError that carries the report),
 * drop rows unasked, or reorder rows (ids and lines must point back into the file).
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { parseDelimited, parseJsonl, type JsonRow, type Quoting, type RawRow } from './parse'
import { DEFAULT_PROBLEM_CAP, ProblemLog } from './problems'
import { sha256Bytes } from './sha'
import { delimiterName, guessLabelType, guessMapping, isNumeric, sniffFormat, sniffHeader, sortLabelValues } from './sniff'
import { getTask, matchTask, splitFromFileName, TASKS, type TaskSpec } from './tasks'
import { DEFAULT_MAX_LINE_BYTES, readTextLines, type TextLines } from './text'
import type { ColumnMapping, ColumnRef, DataFormat, Dataset, Example, Field, Problem, Split, TaskName } from './types'
import { finishReport, runChecks, type CheckContext, type ValidateOptions, type ValidationReport } from './validate'

export interface LoadOptions extends ValidateOptions {
  /** Display name; default the file name (GLUE: "SST-2 train"). */
  name?: string
  /** Sniffed from the extension and content when absent. */
  format?: DataFormat
  /** Field delimiter for tsv/csv; sniffed when absent. */
  delimiter?: string
  /** 'none': quotes are ordinary characters (GLUE TSVs). CSV defaults to 'rfc4180'; TSV is sniffed. */
  quoting?: Quoting
  /** Whether the first row is a header; sniffed when absent (JSON Lines has none). */
  header?: boolean
  /** Which columns feed which field; from the task layout or guessed when absent (the report says so). */
  mapping?: ColumnMapping
  /** A GLUE task: gives label names, regression and range, and the column layout when the header fits. */
  task?: TaskName
  split?: Split
  /** Default: the task's, else classification when labelNames are given, else guessed from the values. */
  labelType?: 'classification' | 'regression'
  /** Class names in index order. Pass the training set's labelNames when loading its dev/test files. */
  labelNames?: string[]
  /** Take the label from the last field and tolerate empty stray fields before it (GLUE RTE). */
  labelFromLast?: boolean
  /** Column count of a header-less file; default the most common count. */
  expectedColumns?: number
  /** WHATWG encoding label; default utf-8. */
  encoding?: string
  /** Default 1 MiB. */
  maxLineBytes?: number
}

export interface FileLayout {
  format: DataFormat
  formatReason: string
  delimiter?: string
  quoting?: Quoting
  header: boolean
  headerReason: string
  /** Header names, JSON keys, or "0", "1", … for header-less files. */
  columns: string[]
  mapping?: ColumnMapping
  mappingGuessed: boolean
  mappingReason?: string
  encoding: string
  bom: boolean
}

export interface LoadReport extends ValidationReport {
  layout: FileLayout
}

export class DatasetError extends Error {
  constructor(message: string, readonly report: LoadReport) {
    super(message)
    this.name = 'DatasetError'
  }
}

/** "file:line, column X: message" for logs and error messages. */
export function formatProblem(p: Problem): string {
  const col = p.column === undefined ? '' : `, column ${typeof p.column === 'string' ? `"${p.column}"` : p.column}`
  return `${p.file}:${p.line}${col}: ${p.severity} ${p.code}: ${p.message}`
}

/** Internal result of reading a file up to rows. */
export interface Scan {
  file: string
  layout: FileLayout
  text: TextLines | null
  /** Data rows (the header row removed). */
  rows: RawRow[]
  jsonRows: JsonRow[]
  headerLine?: number
}

function decodeSample(bytes: Uint8Array, max = 65536): string[] {
  let b = bytes.subarray(0, max)
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) b = b.subarray(3)
  const lines = new TextDecoder('utf-8').decode(b).split(/\r\n|\n|\r/)
  if (bytes.length > max) lines.pop() // cut mid-line
  return lines
}

/** Reads bytes up to rows: format, text, parsing, header. Problems go to `log`. */
export function scanBytes(bytes: Uint8Array, file: string, opts: LoadOptions, log: ProblemLog): Scan {
  const sniffed = opts.format && opts.delimiter && (opts.format !== 'tsv' || opts.quoting) ? undefined : sniffFormat(decodeSample(bytes), file)
  const format = opts.format ?? sniffed?.format ?? 'tsv'
  let delimiter: string | undefined
  let quoting: Quoting | undefined
  if (format !== 'jsonl') {
    delimiter = opts.delimiter ?? (sniffed?.format === format ? sniffed.delimiter : undefined) ?? (format === 'tsv' ? '\t' : ',')
    quoting = opts.quoting ?? (format === 'csv' ? 'rfc4180' : sniffed?.format === 'tsv' ? sniffed.quoting : 'none') ?? 'none'
  }
  const formatReason = opts.format ? 'given by the caller' : sniffed?.reason ?? ''
  const text = readTextLines(bytes, log, { file, maxLineBytes: opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES, encoding: opts.encoding, delimiter })
  const layout: FileLayout = { format, formatReason, delimiter, quoting, header: false, headerReason: '', columns: [], mappingGuessed: false, encoding: text?.encoding ?? opts.encoding ?? 'utf-8', bom: text?.bom ?? false }
  const scan: Scan = { file, layout, text, rows: [], jsonRows: [] }
  if (!text) return scan

  if (format === 'jsonl') {
    scan.jsonRows = parseJsonl(text, file, log)
    const keys = new Set<string>()
    for (const r of scan.jsonRows.slice(0, 1000)) for (const k of Object.keys(r.value)) keys.add(k)
    layout.columns = [...keys]
    layout.header = false
    layout.headerReason = 'JSON Lines: fields are named by their keys'
  } else {
    const rows = parseDelimited(text, { file, delimiter: delimiter!, quoting: quoting!, maxRecordBytes: opts.maxLineBytes }, log)
    const h = opts.header === undefined ? sniffHeader(rows.slice(0, 200).map((r) => r.fields)) : { header: opts.header, reason: 'given by the caller' }
    layout.header = h.header && rows.length > 0
    layout.headerReason = h.reason
    if (layout.header) {
      layout.columns = rows[0].fields.map((s) => s.trim())
      scan.headerLine = rows[0].line
      // Two columns with one name: a mapping by name would silently take the first. Refuse instead.
      const seen = new Map<string, number>()
      layout.columns.forEach((c, i) => {
        if (c === '') return
        const prev = seen.get(c)
        if (prev === undefined) seen.set(c, i)
        else if (prev >= 0) {
          seen.set(c, -1)
          log.add({ file, line: rows[0].line, column: c, code: 'duplicate_column', severity: 'error', message: `the header on line ${rows[0].line} names two columns "${c}" (columns ${prev + 1} and ${i + 1}), so a mapping by name cannot tell them apart. Rename one of them.` }, 'file')
        }
      })
      scan.rows = rows.slice(1)
      // Problems found before the header was known name columns by index; the header names them better.
      for (const p of log.problems) if (typeof p.column === 'number' && layout.columns[p.column] !== undefined) p.column = layout.columns[p.column]
    } else {
      scan.rows = rows
      let width = opts.expectedColumns ?? 0
      if (!width) {
        const freq = new Map<number, number>()
        for (const r of rows.slice(0, 1000)) freq.set(r.fields.length, (freq.get(r.fields.length) ?? 0) + 1)
        let best = 0
        for (const [w, k] of freq) if (k > best) [width, best] = [w, k]
      }
      layout.columns = Array.from({ length: width }, (_, i) => String(i))
    }
  }
  return scan
}

/** Data rows as string fields, for guesses and previews (JSON values stringified). */
export function rowStrings(scan: Scan, limit = Infinity): string[][] {
  if (scan.layout.format !== 'jsonl') return scan.rows.slice(0, limit).map((r) => r.fields)
  const { columns } = scan.layout
  return scan.jsonRows.slice(0, limit).map((r) => columns.map((k) => jsonToString(r.value[k])))
}

function jsonToString(v: unknown): string {
  if (v === undefined || v === null) return ''
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  return JSON.stringify(v)
}

interface LabelSpec {
  hasLabels: boolean
  isRegression: boolean
  labelNames?: string[]
  labelRange?: [number, number]
  task?: TaskSpec
  /** Where labelNames came from, for messages. */
  source: 'task' | 'caller' | 'file'
}

function describeColumns(cols: string[], header: boolean): string {
  const shown = cols.slice(0, 12).map((c, i) => (header ? `"${c}"` : String(i)))
  return shown.join(', ') + (cols.length > 12 ? `, … (${cols.length} in all)` : '')
}

/**
 * Resolves a mapping to column indices (delimited) or keys (JSON Lines). A column that is not there is a
 * file-level missing_column error: nothing can be read without it.
 */
function resolveMapping(scan: Scan, mapping: ColumnMapping, log: ProblemLog, task?: TaskSpec): Partial<Record<Field, number | string>> | null {
  const { layout, file } = scan
  const out: Partial<Record<Field, number | string>> = {}
  let ok = true
  for (const field of ['textA', 'textB', 'label', 'id'] as const) {
    const ref: ColumnRef | undefined = mapping[field]
    if (ref === undefined) continue
    let found: number | string | undefined
    if (layout.format === 'jsonl') {
      if (typeof ref === 'string') found = ref
    } else if (typeof ref === 'number' || (!layout.header && /^\d+$/.test(ref))) {
      const i = Number(ref)
      if (i < layout.columns.length) found = i
    } else {
      const i = layout.columns.indexOf(ref)
      const j = i >= 0 ? i : layout.columns.findIndex((c) => c.toLowerCase() === ref.trim().toLowerCase())
      if (j >= 0) found = j
    }
    if (found !== undefined) {
      out[field] = found
      continue
    }
    ok = false
    let message: string
    if (layout.format === 'jsonl') {
      message = typeof ref === 'number'
        ? `${field} is mapped to column ${ref}, but JSON Lines fields are named: map ${field} to a key (keys seen: ${describeColumns(layout.columns, true)}).`
        : `${field} is mapped to the key "${ref}", which no object in the first 1000 lines has. Keys seen: ${describeColumns(layout.columns, true)}. Map ${field} to one of them.`
    } else if (!layout.header) {
      message = typeof ref === 'number' || /^\d+$/.test(String(ref))
        ? `${field} is mapped to column ${ref}, but rows have ${layout.columns.length} column${layout.columns.length === 1 ? '' : 's'} (0-based indices 0..${layout.columns.length - 1}). Choose an index in that range.`
        : `${field} is mapped to the column "${ref}", but ${file} has no header row (its first line is data), so columns are numbered 0..${layout.columns.length - 1}. Map ${field} by index, or load with header: true if the first line does name the columns.`
    } else {
      const hint = task ? headerHint(scan, task, field) : ''
      const read = layout.format === 'csv' || layout.format === 'tsv' ? ` (read as ${delimiterName(layout.delimiter ?? '\t')}-separated: ${layout.formatReason})` : ''
      message = `${field} is mapped to the column "${ref}", which the header on line ${scan.headerLine} does not have. Columns: ${describeColumns(layout.columns, true)}${read}. Map ${field} to one of them.${hint}`
    }
    log.add({ file, line: scan.headerLine ?? 1, column: ref, field, code: 'missing_column', severity: 'error', message }, 'file')
  }
  return ok ? out : null
}

function headerHint(scan: Scan, task: TaskSpec, field: Field): string {
  const det = matchTask(scan.layout.columns, rowStrings(scan, 200), scan.file)
  if (det && det.task !== task.name) return ` This file looks like ${TASKS[det.task].displayName}${det.split ? ` ${det.split}` : ''} (${det.reason}), not ${task.displayName}.`
  if (det && field === 'label' && det.split === 'test') return ' This looks like a test file, which has no labels: load it as split "test".'
  return ''
}

/** The task layout whose column names all appear in this header, if any. */
function taskMappingFor(scan: Scan, task: TaskSpec, split?: Split): ColumnMapping | undefined {
  const order: Split[] = split ? [split] : ['train', 'dev', 'test']
  for (const s of order) {
    const m = task.splits[s].mapping
    const refs = Object.values(m) as ColumnRef[]
    if (scan.layout.header && refs.every((r) => typeof r === 'string' && scan.layout.columns.includes(r))) return m
    if (!scan.layout.header && !task.splits[s].header && refs.every((r) => typeof r === 'number' && r < scan.layout.columns.length)) return m
  }
  return undefined
}

function quoteList(names: string[]): string {
  return names.map((n) => `"${n}"`).join(', ')
}

/** Builds the dataset from scanned rows, then runs the checks. */
export function buildReport(scan: Scan, bytes: Uint8Array, opts: LoadOptions, log: ProblemLog): LoadReport {
  const { file, layout } = scan
  const task = opts.task ? getTask(opts.task) : undefined
  const sha256 = sha256Bytes(bytes)
  const name = opts.name ?? basename(file)
  const empty = (spec?: Partial<LabelSpec>): LoadReport => {
    const ds: Dataset = { name, task: task?.name, file, format: layout.format, sha256, examples: [], labelNames: spec?.labelNames ?? task?.labelNames, isRegression: spec?.isRegression ?? task?.isRegression ?? false, hasLabels: spec?.hasLabels ?? false }
    return { ...finishReport(ds, { log }, opts), layout }
  }
  if (!scan.text) return empty()
  const nRows = layout.format === 'jsonl' ? scan.jsonRows.length : scan.rows.length
  if (nRows === 0 && log.fileErrors === 0) {
    const only = layout.header ? `only a header (line ${scan.headerLine})` : 'no data rows'
    log.add({ file, line: scan.headerLine ?? 1, code: 'no_rows', severity: 'error', message: `${file} has ${only}: there is nothing to load. Check that this is the right file.` }, 'file')
    return empty()
  }

  // Mapping: the caller's, else the task layout that fits the header, else a guess (reported as such).
  let mapping = opts.mapping
  if (!mapping && task) {
    mapping = taskMappingFor(scan, task, opts.split)
    if (mapping) layout.mappingReason = `the ${task.displayName} column layout`
  }
  if (!mapping) {
    const g = guessMapping(layout.columns, rowStrings(scan, 2000), layout.header || layout.format === 'jsonl')
    if (!g) {
      log.add({ file, line: 1, code: 'missing_column', severity: 'error', message: `no text column could be found in ${file}. Give a column mapping ({ textA, textB?, label?, id? }).` }, 'file')
      return empty()
    }
    mapping = g.mapping
    layout.mappingGuessed = true
    layout.mappingReason = g.reason
  } else if (!layout.mappingReason) {
    layout.mappingReason = 'given by the caller'
  }
  layout.mapping = mapping
  const cols = resolveMapping(scan, mapping, log, task)
  if (!cols) return empty({ hasLabels: mapping.label !== undefined })
  // Report columns by header name where there is one.
  const named: ColumnMapping = { textA: colName(layout, cols.textA!) }
  if (cols.textB !== undefined) named.textB = colName(layout, cols.textB)
  if (cols.label !== undefined) named.label = colName(layout, cols.label)
  if (cols.id !== undefined) named.id = colName(layout, cols.id)

  // Pass 1: rows → raw strings, column counts.
  const examples: Example[] = []
  const rawLabels: Array<string | undefined> = []
  const skip = new Set<number>()
  // Rows whose label was already reported while reading (a JSON object where a label belongs).
  const labelFaults = new Set<number>()
  const labelFromLast = opts.labelFromLast ?? false
  if (layout.format === 'jsonl') {
    readJsonRows(scan, cols, examples, rawLabels, labelFaults, log)
  } else {
    readDelimitedRows(scan, cols, labelFromLast, examples, rawLabels, skip, log)
  }

  // Labels: the task's, the caller's, or the sorted distinct values of this file.
  const hasLabels = cols.label !== undefined
  let spec: LabelSpec
  if (task) {
    spec = { hasLabels, isRegression: task.isRegression, labelNames: opts.labelNames ?? task.labelNames, labelRange: opts.labelRange ?? task.labelRange, task, source: opts.labelNames ? 'caller' : 'task' }
  } else if (opts.labelType === 'regression') {
    spec = { hasLabels, isRegression: true, labelRange: opts.labelRange, source: 'caller' }
  } else if (opts.labelType === 'classification' || opts.labelNames) {
    spec = { hasLabels, isRegression: false, labelNames: opts.labelNames, source: opts.labelNames ? 'caller' : 'file' }
  } else {
    const g = guessLabelType(rawLabels.filter((v, i): v is string => v !== undefined && !skip.has(examples[i].line)))
    spec = { hasLabels, isRegression: g.kind === 'regression', labelRange: opts.labelRange, source: 'file' }
  }
  if (hasLabels && !spec.isRegression && !spec.labelNames) {
    spec.labelNames = sortLabelValues(rawLabels.filter((v, i): v is string => v !== undefined && v.trim() !== '' && !skip.has(examples[i].line)).map((v) => v.trim()))
  }
  if (hasLabels) mapLabels(file, examples, rawLabels, spec, named.label!, skip, labelFaults, log)

  const dataset: Dataset = {
    name, task: task?.name, file, format: layout.format, sha256, examples,
    labelNames: spec.isRegression ? undefined : spec.labelNames,
    isRegression: spec.isRegression, hasLabels, mapping: named
  }
  const ctx: CheckContext = { log, skipLines: skip, duplicateLines: new Set() }
  runChecks(dataset, ctx, opts, false)
  return { ...finishReport(dataset, ctx, opts), layout }
}

function colName(layout: FileLayout, c: number | string): string | number {
  return typeof c === 'number' && layout.header ? layout.columns[c] : c
}

function readDelimitedRows(
  scan: Scan, cols: Partial<Record<Field, number | string>>, labelFromLast: boolean,
  examples: Example[], rawLabels: Array<string | undefined>, skip: Set<number>, log: ProblemLog
): void {
  const { file, layout } = scan
  const n = layout.columns.length
  const ia = cols.textA as number
  const ib = cols.textB as number | undefined
  const il = cols.label as number | undefined
  const iid = cols.id as number | undefined
  const isTsv = layout.delimiter === '\t'
  const what = `${n} (${layout.header ? `header: ${describeColumns(layout.columns, true)}` : 'as in most rows'})`
  const d = delimiterName(layout.delimiter ?? '\t')
  let index = 0
  for (const r of scan.rows) {
    const f = r.fields
    const m = f.length
    let labelField = il === undefined ? undefined : f[il]
    if (m < n) {
      skip.add(r.line)
      const missing = layout.header ? layout.columns[m] : m
      const hint = isTsv
        ? 'A tab may be missing, or a text may hold a line break (in TSV a line is a row).'
        : 'A delimiter may be missing, or a line break inside a text is not quoted.'
      log.add({ file, line: r.line, column: missing, code: 'column_count', severity: 'error', message: `line ${r.line} has ${m} column${m === 1 ? '' : 's'} (${d}-separated), expected ${what}. ${hint} Fix the row or delete it.` })
    } else if (m > n) {
      const lastEmpty = (a: number, b: number) => f.slice(a, b).every((s) => s.trim() === '')
      if (labelFromLast && il !== undefined && il === n - 1 && lastEmpty(n - 1, m - 1)) {
        labelField = f[m - 1]
        log.add({ file, line: r.line, column: layout.header ? layout.columns[n - 1] : n - 1, code: 'column_count', severity: 'warning', message: `line ${r.line} has ${m} columns, expected ${n}: ${m - n} empty stray column${m - n === 1 ? '' : 's'} before the last. The label was taken from the last column (as GLUE's own readers do); nothing to do unless the texts look wrong.` })
      } else if (lastEmpty(n, m)) {
        log.add({ file, line: r.line, column: n, code: 'column_count', severity: 'warning', message: `line ${r.line} has ${m - n} empty column${m - n === 1 ? '' : 's'} past the ${n} expected (a trailing ${d}); ignored.` })
      } else {
        skip.add(r.line)
        const hint = isTsv
          ? layout.quoting === 'none' ? 'A text probably holds a tab: remove it, or quote the field and load with quoting "rfc4180".' : 'A text probably holds an unquoted tab.'
          : `A text holding a ${d} must be enclosed in double quotes.`
        log.add({ file, line: r.line, column: n, code: 'column_count', severity: 'error', message: `line ${r.line} has ${m} columns (${d}-separated), expected ${what}. ${hint}` })
      }
    }
    const ex: Example = { id: iid !== undefined && f[iid] !== undefined && f[iid].trim() !== '' ? f[iid].trim() : String(index), line: r.line, textA: f[ia] ?? '' }
    if (ib !== undefined) ex.textB = f[ib] ?? ''
    examples.push(ex)
    rawLabels.push(labelField)
    index++
  }
}

function readJsonRows(
  scan: Scan, cols: Partial<Record<Field, number | string>>,
  examples: Example[], rawLabels: Array<string | undefined>, labelFaults: Set<number>, log: ProblemLog
): void {
  const { file } = scan
  const text = (r: JsonRow, key: string, field: Field): string => {
    const v = r.value[key]
    if (v === undefined || v === null) return ''
    if (typeof v === 'string') return v
    if (typeof v === 'number' || typeof v === 'boolean') return String(v)
    log.add({ file, line: r.line, column: key, field, code: 'bad_text_value', severity: 'error', message: `line ${r.line}: "${key}" holds ${Array.isArray(v) ? 'an array' : 'an object'}, expected a string. Flatten it to text, or map ${field} to another key.` })
    return JSON.stringify(v)
  }
  let index = 0
  for (const r of scan.jsonRows) {
    const idv = cols.id !== undefined ? r.value[cols.id as string] : undefined
    const ex: Example = { id: typeof idv === 'string' || typeof idv === 'number' ? String(idv) : String(index), line: r.line, textA: text(r, cols.textA as string, 'textA') }
    if (cols.textB !== undefined) ex.textB = text(r, cols.textB as string, 'textB')
    let raw: string | undefined
    if (cols.label !== undefined) {
      const v = r.value[cols.label as string]
      if (typeof v === 'string') raw = v
      else if (typeof v === 'number' || typeof v === 'boolean') raw = String(v)
      else if (v !== undefined && v !== null) {
        labelFaults.add(r.line)
        log.add({ file, line: r.line, column: cols.label, field: 'label', code: 'bad_label_value', severity: 'error', message: `line ${r.line}: "${cols.label}" holds ${Array.isArray(v) ? 'an array' : 'an object'}, expected one label (a string or a number). Multi-label data is not supported: pick one label per row.` })
      }
    }
    examples.push(ex)
    rawLabels.push(raw)
    index++
  }
}

function mapLabels(
  file: string, examples: Example[], raw: Array<string | undefined>, spec: LabelSpec, column: string | number,
  skip: Set<number>, labelFaults: Set<number>, log: ProblemLog
): void {
  const names = spec.labelNames ?? []
  const exact = new Map(names.map((n, i) => [n, i]))
  const numericNames = names.length > 0 && names.every(isNumeric)
  const byNumber = new Map(numericNames ? names.map((n, i) => [Number(n), i]) : [])
  const lower = new Map(names.map((n) => [n.toLowerCase(), n]))
  const owner = spec.task ? spec.task.displayName : 'this dataset'
  const range = spec.labelRange
  for (let k = 0; k < examples.length; k++) {
    const ex = examples[k]
    const r = raw[k]
    const quiet = skip.has(ex.line)
    if (labelFaults.has(ex.line)) continue
    const v = r?.trim() ?? ''
    if (v === '') {
      if (!quiet) log.add({ file, line: ex.line, column, field: 'label', code: 'missing_label', severity: 'error', message: `line ${ex.line}: the label (column ${typeof column === 'string' ? `"${column}"` : column}) is empty. Every row of a labelled file needs one: add it or delete the row${spec.task ? '; a file without labels is loaded as split "test"' : ''}.` })
      continue
    }
    if (spec.isRegression) {
      if (!isNumeric(v)) {
        if (!quiet) log.add({ file, line: ex.line, column, field: 'label', code: 'bad_label_value', severity: 'error', message: `line ${ex.line}: "${v.slice(0, 40)}" is not a number, but ${owner} is a regression task: the label must be a number${range ? ` from ${range[0]} to ${range[1]}` : ''} (e.g. 3.8). Fix the value or delete the row.` })
        continue
      }
      const x = Number(v)
      ex.label = x
      if (range && (x < range[0] || x > range[1]) && !quiet) {
        log.add({ file, line: ex.line, column, field: 'label', code: 'label_out_of_range', severity: 'warning', message: `line ${ex.line}: score ${v} is outside ${owner}'s range ${range[0]}-${range[1]}. It is kept as it is; check whether it is a typo.` })
      }
      continue
    }
    let i = exact.get(v)
    if (i === undefined && numericNames && isNumeric(v)) i = byNumber.get(Number(v))
    if (i !== undefined) {
      ex.label = i
      continue
    }
    if (quiet) continue
    let hint: string
    const ci = lower.get(v.toLowerCase())
    if (ci !== undefined) hint = `Did you mean "${ci}"? Labels are case-sensitive.`
    else if (!numericNames && /^\d+$/.test(v) && Number(v) < names.length) {
      hint = spec.task?.name.startsWith('mnli')
        ? 'Numbered labels are ambiguous here: Hugging Face datasets number MNLI entailment=0, neutral=1, contradiction=2, while GLUE files and this app use the names (contradiction, entailment, neutral). Write the label names instead.'
        : `Numbered labels are ambiguous here: write the label names (${quoteList(names)}).`
    } else if (numericNames && isNumeric(v)) hint = `${owner} has ${names.length} classes, so labels run from ${names[0]} to ${names[names.length - 1]}. Fix the value or delete the row.`
    else if (spec.source === 'caller') hint = 'The label names given (e.g. those of the training file) do not include it: fix the value, or add training rows with that label.'
    else hint = 'Fix the value or delete the row.'
    log.add({ file, line: ex.line, column, field: 'label', code: 'unknown_label', severity: 'error', message: `line ${ex.line}: label "${v.slice(0, 40)}" is not one of ${owner}'s labels (${quoteList(names)}). ${hint}` })
  }
}

/** Parses a file already in memory. Never throws on bad data. */
export function readDatasetBytes(bytes: Uint8Array, file: string, opts: LoadOptions = {}): LoadReport {
  const log = new ProblemLog(opts.problemCap ?? DEFAULT_PROBLEM_CAP)
  const scan = scanBytes(bytes, file, opts, log)
  return buildReport(scan, bytes, opts, log)
}

function unreadable(file: string, e: unknown, opts: LoadOptions): LoadReport {
  const err = e as NodeJS.ErrnoException
  const why = err.code === 'ENOENT' ? 'there is no such file' : err.code === 'EISDIR' ? 'it is a folder, not a file' : err.code === 'EACCES' ? 'permission denied' : err.code === 'ERR_FS_FILE_TOO_LARGE' ? 'it is larger than 2 GiB, too large to load at once' : err.message
  const log = new ProblemLog()
  log.add({ file, line: 1, code: 'unreadable_file', severity: 'error', message: `cannot read ${file}: ${why}. Check the path.` }, 'file')
  const ds: Dataset = { name: opts.name ?? basename(file), file, format: opts.format ?? 'tsv', sha256: '', examples: [], isRegression: false, hasLabels: false }
  return { ...finishReport(ds, { log }, opts), layout: { format: ds.format, formatReason: '', header: false, headerReason: '', columns: [], mappingGuessed: false, encoding: 'utf-8', bom: false } }
}

/** Reads and checks a file: the report lists every problem (capped per code) and says if it is usable. */
export async function loadWithReport(file: string, opts: LoadOptions = {}): Promise<LoadReport> {
  let bytes: Uint8Array
  try {
    bytes = await readFile(file)
  } catch (e) {
    return unreadable(file, e, opts)
  }
  return readDatasetBytes(bytes, file, opts)
}

function throwIfUnusable(report: LoadReport): Dataset {
  if (report.usable) return report.dataset
  const errors = report.problems.filter((p) => p.severity === 'error')
  const shown = errors.slice(0, 5).map((p) => `  ${formatProblem(p)}`).join('\n')
  const more = report.errors > 5 ? `\n  … and ${report.errors - 5} more (${report.summary})` : ''
  throw new DatasetError(`${report.verdict}\n${shown}${more}`, report)
}

/** Loads a file, throwing a DatasetError (with the full report) when it is not usable. */
export async function loadDataset(file: string, opts: LoadOptions = {}): Promise<Dataset> {
  return throwIfUnusable(await loadWithReport(file, opts))
}

/** The options that read a GLUE file exactly: tab-separated, no quoting, the registry's columns. */
export function glueLoadOptions(task: TaskName, split: Split): LoadOptions {
  const spec = getTask(task)
  const layout = spec.splits[split]
  return {
    name: `${spec.displayName} ${split}`, task: spec.name, split, format: 'tsv', delimiter: '\t', quoting: 'none',
    header: layout.header, mapping: layout.mapping, expectedColumns: layout.columns, labelFromLast: layout.labelFromLast
  }
}

/** `dir` may be the task folder (…/SST-2, …/MNLI/k-shot-16-42) or the GLUE root (…/glue). */
export function glueFilePath(dir: string, task: TaskName, split: Split): string {
  const spec = getTask(task)
  const f = spec.splits[split].file
  const tried = [join(dir, f), join(dir, spec.dir, f)]
  for (const p of tried) if (existsSync(p)) return p
  throw new Error(`no ${spec.displayName} ${split} file: looked for ${tried.join(' and ')}. Point to the folder that holds ${f}.`)
}

export async function loadGlueFile(file: string, task: TaskName, split?: Split, opts: Omit<LoadOptions, 'task' | 'split'> = {}): Promise<Dataset> {
  return throwIfUnusable(await loadGlueFileWithReport(file, task, split, opts))
}

export async function loadGlueFileWithReport(file: string, task: TaskName, split?: Split, opts: Omit<LoadOptions, 'task' | 'split'> = {}): Promise<LoadReport> {
  const s = split ?? splitFromFileName(file)
  if (!s) throw new Error(`cannot tell the split of ${file} from its name: pass 'train', 'dev' or 'test'`)
  return loadWithReport(file, { ...glueLoadOptions(task, s), ...opts })
}

export async function loadGlueSplit(dir: string, task: TaskName, split: Split, opts: Omit<LoadOptions, 'task' | 'split'> = {}): Promise<Dataset> {
  return loadGlueFile(glueFilePath(dir, task, split), task, split, opts)
}

/**
 * Looking at a file before loading it: what the import dialog shows. Owns: reading the head of a file
 * (at most PREVIEW_BYTES, so a 5 GB file previews as fast as a small one), and combining the format,
 * header, mapping, label-type and task guesses with the problems seen so far. Must not: load the whole
 * file or decide for the user: everything here is a suggestion with its reason.
 */
import { open } from 'node:fs/promises'
import { glueLoadOptions, rowStrings, scanBytes, type FileLayout, type LoadOptions } from './load'
import { ProblemLog } from './problems'
import { guessLabelType, guessMapping, type LabelGuess } from './sniff'
import { matchTask, TASKS, type DetectedTask } from './tasks'
import type { ColumnMapping, DataFormat, Problem, ProblemCode, Split, TaskName } from './types'

export const PREVIEW_BYTES = 8 << 20
const DETECT_BYTES = 64 << 10

export interface FilePreview {
  file: string
  /** File size in bytes. */
  size: number
  /** Bytes examined: less than size for large files (guesses then rest on the first rows). */
  sampledBytes: number
  layout: FileLayout
  columns: string[]
  /** The first n data rows as strings (JSON values stringified), and the line each starts on. */
  rows: string[][]
  rowLines: number[]
  /** Data rows in the examined part. */
  rowCount: number
  guessedMapping: ColumnMapping | null
  mappingReason: string
  labelGuess: LabelGuess
  detectedTask: DetectedTask | null
  /** Problems in the examined part (the full check runs at load). */
  problems: Problem[]
  counts: Partial<Record<ProblemCode, number>>
}

async function readHead(file: string, max: number): Promise<{ bytes: Uint8Array; size: number }> {
  const fh = await open(file, 'r')
  try {
    const { size } = await fh.stat()
    const n = Math.min(size, max)
    const buf = Buffer.alloc(n)
    let got = 0
    while (got < n) {
      const { bytesRead } = await fh.read(buf, got, n - got, got)
      if (bytesRead === 0) break
      got += bytesRead
    }
    let bytes: Uint8Array = buf.subarray(0, got)
    if (size > got) {
      // Cut at the last line break so the sample does not end in half a row.
      const nl = buf.lastIndexOf(0x0a, got - 1)
      if (nl > 0) bytes = buf.subarray(0, nl + 1)
    }
    return { bytes, size }
  } finally {
    await fh.close()
  }
}

/** Recognises a GLUE task from the bytes of a file's head. */
export function detectTaskInBytes(bytes: Uint8Array, file: string): DetectedTask | null {
  const scan = scanBytes(bytes, file, { header: false }, new ProblemLog(10))
  if (!scan.text || scan.layout.format === 'jsonl' || scan.rows.length === 0) return null
  return matchTask(scan.rows[0].fields, scan.rows.slice(1, 200).map((r) => r.fields), file)
}

/** The format and delimiter the loader would pick for a file (from its first bytes and its name). */
export async function sniffFileFormat(file: string): Promise<{ format: DataFormat; delimiter?: string; reason: string }> {
  const { bytes } = await readHead(file, DETECT_BYTES)
  const scan = scanBytes(bytes, file, { header: false }, new ProblemLog(10))
  return { format: scan.layout.format, delimiter: scan.layout.delimiter, reason: scan.layout.formatReason }
}

/**
 * The exact GLUE layout to read `file` with as `task` data, chosen by what the file contains — never by
 * its name: a recognised GLUE header (tab-separated, as GLUE ships it) with a label column gets the
 * labelled layout, one without gets the test layout, whatever the file is called. `role` (what the file
 * is used for) only names the labelled layout when the file name does not say train or dev. Returns
 * null when the file is not such a GLUE file (another task, a CSV, other columns): read it by its header
 * names instead (loadDataset with the task maps them by the task's layouts, then guesses, and says so).
 */
export async function glueLayoutByContent(file: string, task: TaskName, role?: Split): Promise<LoadOptions | null> {
  const detected = await detectTask(file).catch(() => null)
  if (!detected || detected.task !== task || detected.confidence < 0.5) return null
  // GLUE's exact layouts are tab-separated without quoting; the same columns in a CSV (Python's csv
  // module, a spreadsheet) are read by their header names with RFC 4180 quoting.
  if ((await sniffFileFormat(file)).format !== 'tsv') return null
  // detectTask says "test" exactly when the header has no label column
  const split: Split = detected.split === 'test' ? 'test' : (detected.split ?? (role === 'dev' ? 'dev' : role === 'test' ? 'dev' : 'train'))
  return glueLoadOptions(task, split)
}

/** Which GLUE task a file holds, from its header, its first rows and its path; null if none fits. */
export async function detectTask(file: string): Promise<DetectedTask | null> {
  const { bytes } = await readHead(file, DETECT_BYTES)
  return detectTaskInBytes(bytes, file)
}

export async function previewFile(file: string, n = 20, opts: LoadOptions = {}): Promise<FilePreview> {
  const { bytes, size } = await readHead(file, PREVIEW_BYTES)
  const log = new ProblemLog(100)
  const scan = scanBytes(bytes, file, opts, log)
  const detectedTask = scan.text && scan.layout.format !== 'jsonl' ? detectTaskInBytes(bytes.subarray(0, DETECT_BYTES), file) : null
  const strings = rowStrings(scan)
  const { layout } = scan
  const lines = layout.format === 'jsonl' ? scan.jsonRows.map((r) => r.line) : scan.rows.map((r) => r.line)

  let guessedMapping: ColumnMapping | null = opts.mapping ?? null
  let mappingReason = opts.mapping ? 'given by the caller' : ''
  if (!guessedMapping && detectedTask && detectedTask.confidence >= 0.75) {
    const spec = TASKS[detectedTask.task]
    const m = spec.splits[detectedTask.split ?? 'train'].mapping
    const fits = Object.values(m).every((r) => (typeof r === 'number' ? r < layout.columns.length : layout.columns.includes(r)))
    if (fits) {
      guessedMapping = m
      mappingReason = `the ${spec.displayName} layout`
    }
  }
  if (!guessedMapping) {
    const g = guessMapping(layout.columns, strings.slice(0, 2000), layout.header || layout.format === 'jsonl')
    guessedMapping = g?.mapping ?? null
    mappingReason = g?.reason ?? 'no text column found'
  }

  let labelGuess: LabelGuess = { kind: 'none', reason: 'no label column' }
  const labelRef = guessedMapping?.label
  if (labelRef !== undefined) {
    const idx = typeof labelRef === 'number' ? labelRef : layout.columns.indexOf(labelRef)
    if (idx >= 0) labelGuess = guessLabelType(strings.map((r) => r[idx] ?? ''))
    if (detectedTask && detectedTask.confidence >= 0.75 && labelGuess.kind !== 'none') {
      const spec = TASKS[detectedTask.task]
      labelGuess = { ...labelGuess, reason: `${labelGuess.reason}; ${spec.displayName} is ${spec.isRegression ? 'a regression task' : `${spec.numLabels}-way classification (${spec.labelNames!.join(', ')})`}` }
    }
  }

  return {
    file, size, sampledBytes: bytes.length, layout, columns: layout.columns,
    rows: strings.slice(0, n), rowLines: lines.slice(0, n), rowCount: strings.length,
    guessedMapping, mappingReason, labelGuess, detectedTask, problems: log.sorted(), counts: { ...log.counts }
  }
}

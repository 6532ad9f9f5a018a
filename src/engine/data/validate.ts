/**
 * Checks on a dataset that is already in memory (from a file or built by the UI): empty texts, labels
 * outside the label set or range, duplicate rows, duplicate ids, and dev rows that also occur in train;
 * and the report that lets the UI show all of it and the user decide. Owns: what counts as usable and
 * what `dropBadRows` / `dropDuplicates` remove. Must not: throw on bad data, or drop rows unasked.
 */
import { DEFAULT_PROBLEM_CAP, ProblemLog, summarizeProblems } from './problems'
import type { Dataset, Example, Field, Problem, ProblemCode } from './types'

export interface ValidationReport {
  /** The dataset; without dropBadRows it still holds the bad rows (best-effort values). */
  dataset: Dataset
  /** Sorted by line; at most `problemCap` per code (counts has the true totals). */
  problems: Problem[]
  counts: Partial<Record<ProblemCode, number>>
  errors: number
  warnings: number
  /** True when some code had more problems than were kept. */
  truncated: boolean
  /** True when the dataset can be trained / evaluated on as it is. */
  usable: boolean
  /** One sentence for the UI: why it is (not) usable and what to do. */
  verdict: string
  /** Counts per code, errors first. */
  summary: string
  /** Lines of the rows kept out of dataset.examples (dropBadRows / dropDuplicates). */
  droppedLines: number[]
}

export interface ValidateOptions {
  /** The training set: dev/test rows whose text(s) also occur there are reported (train_dev_overlap). */
  against?: Dataset
  /** Default true. */
  checkDuplicates?: boolean
  /** Regression targets outside [lo, hi] are warnings (STS-B: [0, 5]). */
  labelRange?: [number, number]
  /** Keep rows with errors out of dataset.examples. */
  dropBadRows?: boolean
  /** Keep exact repeats (same texts and label) out of dataset.examples, keeping the first. */
  dropDuplicates?: boolean
  problemCap?: number
}

/** Internal: lets the loader run the same checks into its own log, skipping rows it already faulted. */
export interface CheckContext {
  log: ProblemLog
  /** Rows whose fields could not be read (column count): no follow-up problems about their fields. */
  skipLines?: Set<number>
  /** Lines found to be exact duplicates, for dropDuplicates. */
  duplicateLines?: Set<number>
}

function isSpaceCode(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff
}

/** trim + runs of whitespace → one space. Scans first: a regex replace on every row is ~10× slower. */
function collapse(s: string): string {
  const t = s.trim()
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i)
    // A single space is fine; two in a row, or any other whitespace, needs the slow path.
    if (c === 32 ? isSpaceCode(t.charCodeAt(i + 1)) : isSpaceCode(c)) return t.replace(/\s+/g, ' ')
  }
  return t
}

/** The identity of a row's input: texts with whitespace collapsed (a tokenizer sees them the same). */
export function textKey(ex: Pick<Example, 'textA' | 'textB'>): string {
  return ex.textB === undefined ? collapse(ex.textA) : `${collapse(ex.textA)}\u0000${collapse(ex.textB)}`
}

function colOf(ds: Dataset, field: Field): string | number | undefined {
  return ds.mapping?.[field]
}

function where(ds: Dataset, field: Field): string {
  const c = colOf(ds, field)
  return c === undefined ? field : `${field} (column ${typeof c === 'string' ? `"${c}"` : c})`
}

export function labelText(ds: Dataset, label: number | undefined): string {
  if (label === undefined) return 'none'
  if (ds.isRegression) return String(label)
  return ds.labelNames?.[label] !== undefined ? `"${ds.labelNames[label]}"` : String(label)
}

export function checkTexts(ds: Dataset, ctx: CheckContext): void {
  const { log, skipLines } = ctx
  for (const ex of ds.examples) {
    if (skipLines?.has(ex.line)) continue
    for (const field of ['textA', 'textB'] as const) {
      const t = ex[field]
      if (t === undefined) continue // single-text rows have no textB at all
      if (t.trim() === '') {
        log.add({
          file: ds.file, line: ex.line, column: colOf(ds, field), field, code: 'empty_text', severity: 'error',
          message: `line ${ex.line}: ${where(ds, field)} is empty; every row needs text there. Fill it in or delete the row${field === 'textB' ? ', or map textB to no column if the task has single texts' : ''}.`
        })
      }
    }
  }
}

/** Label checks on in-memory data (the loader checks labels while mapping strings, with better messages). */
export function checkLabels(ds: Dataset, ctx: CheckContext, labelRange?: [number, number]): void {
  if (!ds.hasLabels) return
  const { log, skipLines } = ctx
  const n = ds.labelNames?.length ?? 0
  for (const ex of ds.examples) {
    if (skipLines?.has(ex.line)) continue
    const column = colOf(ds, 'label')
    if (ex.label === undefined) {
      log.add({ file: ds.file, line: ex.line, column, field: 'label', code: 'missing_label', severity: 'error', message: `line ${ex.line}: no label. Every row of a labelled set needs one: add it or delete the row.` })
    } else if (ds.isRegression) {
      if (!Number.isFinite(ex.label)) {
        log.add({ file: ds.file, line: ex.line, column, field: 'label', code: 'bad_label_value', severity: 'error', message: `line ${ex.line}: the regression target ${ex.label} is not a finite number.` })
      } else if (labelRange && (ex.label < labelRange[0] || ex.label > labelRange[1])) {
        log.add({ file: ds.file, line: ex.line, column, field: 'label', code: 'label_out_of_range', severity: 'warning', message: `line ${ex.line}: score ${ex.label} is outside the expected range ${labelRange[0]}-${labelRange[1]}. Check the value; it is kept as it is.` })
      }
    } else if (!Number.isInteger(ex.label) || ex.label < 0 || ex.label >= n) {
      const known = n === 0 ? 'the dataset has no label names: set labelNames' : `expected a class index 0..${n - 1} (${(ds.labelNames ?? []).join(', ')})`
      log.add({ file: ds.file, line: ex.line, column, field: 'label', code: 'unknown_label', severity: 'error', message: `line ${ex.line}: label ${ex.label} is not a class: ${known}.` })
    }
  }
}

export function checkDuplicates(ds: Dataset, ctx: CheckContext): void {
  const { log, skipLines } = ctx
  const seen = new Map<string, Example>()
  for (const ex of ds.examples) {
    if (skipLines?.has(ex.line)) continue
    const k = textKey(ex)
    if (k === '' || k === '\u0000') continue
    const first = seen.get(k)
    if (!first) {
      seen.set(k, ex)
      continue
    }
    const texts = ex.textB === undefined ? 'text' : 'texts'
    if (first.label === ex.label || !ds.hasLabels) {
      ctx.duplicateLines?.add(ex.line)
      log.add({ file: ds.file, line: ex.line, code: 'duplicate', severity: 'warning', message: `line ${ex.line} repeats line ${first.line} (same ${texts}${ds.hasLabels ? ' and label' : ''}). Repeats weigh the row double in training; delete one, or load with dropDuplicates.` })
    } else {
      log.add({ file: ds.file, line: ex.line, field: 'label', column: colOf(ds, 'label'), code: 'conflicting_duplicate', severity: 'warning', message: `line ${ex.line} has the same ${texts} as line ${first.line} but label ${labelText(ds, ex.label)} instead of ${labelText(ds, first.label)}. Decide which label is right and delete the other row.` })
    }
  }
  if (ds.mapping?.id !== undefined) {
    const ids = new Map<string, number>()
    for (const ex of ds.examples) {
      const prev = ids.get(ex.id)
      if (prev === undefined) ids.set(ex.id, ex.line)
      else log.add({ file: ds.file, line: ex.line, field: 'id', column: ds.mapping.id, code: 'duplicate_id', severity: 'warning', message: `line ${ex.line}: id "${ex.id}" was already used on line ${prev}. Ids name predictions in exports; make them unique.` })
    }
  }
}

/** Rows of `dev` whose text(s) also occur in `train`, as problems on dev's lines. */
export function checkOverlap(train: Dataset, dev: Dataset, ctx: CheckContext): number {
  const keys = new Map<string, number>()
  for (const ex of train.examples) {
    const k = textKey(ex)
    if (!keys.has(k)) keys.set(k, ex.line)
  }
  let n = 0
  for (const ex of dev.examples) {
    const at = keys.get(textKey(ex))
    if (at === undefined) continue
    n++
    ctx.log.add({
      file: dev.file, line: ex.line, code: 'train_dev_overlap', severity: 'warning',
      message: `line ${ex.line}: the same ${ex.textB === undefined ? 'text' : 'texts'} occur${ex.textB === undefined ? 's' : ''} in the training file ${train.file} (line ${at}). Scores on such rows measure memorisation, not generalisation: remove them from one of the files.`
    })
  }
  return n
}

export function runChecks(ds: Dataset, ctx: CheckContext, opts: ValidateOptions, withLabels: boolean): void {
  checkTexts(ds, ctx)
  if (withLabels) checkLabels(ds, ctx, opts.labelRange)
  if (opts.checkDuplicates !== false) checkDuplicates(ds, ctx)
  if (opts.against) checkOverlap(opts.against, ds, ctx)
}

/** Builds the report: applies dropBadRows / dropDuplicates and decides whether the data is usable. */
export function finishReport(ds: Dataset, ctx: CheckContext, opts: ValidateOptions, extraDropped: number[] = []): ValidationReport {
  const { log } = ctx
  const drop = new Set<number>()
  if (opts.dropBadRows) for (const l of log.badLines) drop.add(l)
  if (opts.dropDuplicates && ctx.duplicateLines) for (const l of ctx.duplicateLines) drop.add(l)
  let dataset = ds
  const droppedLines = [...extraDropped]
  if (drop.size > 0) {
    const kept: Example[] = []
    for (const ex of ds.examples) {
      if (drop.has(ex.line)) droppedLines.push(ex.line)
      else kept.push(ex)
    }
    dataset = { ...ds, examples: kept }
  }
  droppedLines.sort((a, b) => a - b)
  const rowErrors = log.errorCount - log.fileErrors
  const n = dataset.examples.length
  let usable: boolean
  let verdict: string
  if (log.fileErrors > 0) {
    usable = false
    verdict = `${ds.file} cannot be used: ${log.problems.find((p) => p.severity === 'error')?.message ?? 'see the problems'}`
  } else if (n === 0) {
    usable = false
    verdict = `${ds.file} holds no usable rows${droppedLines.length ? ` (${droppedLines.length} were dropped)` : ''}.`
  } else if (rowErrors > 0 && !opts.dropBadRows) {
    usable = false
    verdict = `${rowErrors.toLocaleString('en-US')} error${rowErrors === 1 ? '' : 's'} in ${log.badLines.size.toLocaleString('en-US')} row${log.badLines.size === 1 ? '' : 's'}: fix the file, or load it with dropBadRows to leave those rows out (${n.toLocaleString('en-US')} rows read).`
  } else {
    usable = true
    const dropped = droppedLines.length ? `; ${droppedLines.length.toLocaleString('en-US')} row${droppedLines.length === 1 ? '' : 's'} left out` : ''
    const warn = log.warningCount ? `; ${log.warningCount.toLocaleString('en-US')} warning${log.warningCount === 1 ? '' : 's'} to review` : ''
    verdict = `${n.toLocaleString('en-US')} rows ready${dropped}${warn}.`
  }
  const problems = log.sorted()
  return {
    dataset, problems, counts: { ...log.counts }, errors: log.errorCount, warnings: log.warningCount,
    truncated: log.truncated, usable, verdict, summary: summarizeProblems(problems, log.counts), droppedLines
  }
}

/**
 * Checks a dataset already in memory. Never throws on bad data: the report says what is wrong, where,
 * and whether the data is usable as it is.
 */
export function validateDataset(dataset: Dataset, opts: ValidateOptions = {}): ValidationReport {
  const ctx: CheckContext = { log: new ProblemLog(opts.problemCap ?? DEFAULT_PROBLEM_CAP), duplicateLines: new Set() }
  runChecks(dataset, ctx, opts, true)
  return finishReport(dataset, ctx, opts)
}

/**
 * The dataset calls as the engine process answers them (datasets:preview, detect, validate, stats) and the
 * loader runs use: src/engine/data does the work, this module turns the contract's plain options into
 * LoadOptions and the reports into the contract's JSON shapes (no examples cross the boundary).
 *
 * Runs inside the engine process (file reading and tokenising can take seconds on large files).
 * Must not: accept a registered `{ id }` (the host resolves ids to paths before relaying), or throw on bad
 * data (reports say what is wrong; only unreadable input throws, with a specific message).
 */
import { basename } from 'node:path'
import {
  datasetStats,
  detectTask,
  formatProblem,
  getTask,
  glueLayoutByContent,
  loadWithReport,
  overlap,
  previewFile,
  type Dataset,
  type LoadOptions,
  type LoadReport,
  type Split,
  type TaskName
} from '../data'
import { BertTokenizer } from '../tokenizer'
import { JobInputError } from '../jobs/run-job'
import { CodedError } from '../../shared/errors'
import type {
  CallParams,
  CallResult,
  DatasetOptions,
  DatasetPreview,
  DatasetRef,
  DatasetReport,
  DatasetStatistics
} from '../../shared/contract'

/** Lines listed in DatasetReport.droppedLines at most (droppedCount has the total). */
const MAX_DROPPED_LINES = 10_000

export function refPath(ref: DatasetRef): string {
  if ('path' in ref) return ref.path
  throw new CodedError('INVALID_ARGUMENT', `the engine reads datasets by path; dataset id "${ref.id}" must be resolved by the host first`, { field: 'params.ref' })
}

/** The contract's DatasetOptions as the loader's LoadOptions (only what the user set). */
export function toLoadOptions(o: DatasetOptions = {}): LoadOptions {
  const out: LoadOptions = {}
  if (o.task) out.task = o.task
  if (o.split) out.split = o.split
  if (o.format) out.format = o.format
  if (o.delimiter) out.delimiter = o.delimiter
  if (o.quoting) out.quoting = o.quoting
  if (o.header !== undefined) out.header = o.header
  if (o.mapping) out.mapping = o.mapping
  if (o.labelType) out.labelType = o.labelType
  if (o.labelNames) out.labelNames = o.labelNames
  if (o.labelFromLast !== undefined) out.labelFromLast = o.labelFromLast
  if (o.encoding) out.encoding = o.encoding
  if (o.dropBadRows) out.dropBadRows = true
  if (o.dropDuplicates) out.dropDuplicates = true
  return out
}

/**
 * Reads a file as the user asked. With a GLUE task and no explicit layout, a file recognised as that task
 * is read exactly as GLUE (tab-separated, no quoting, the registry's columns), like `ird-studio run` does.
 */
export async function loadForApp(path: string, options: DatasetOptions = {}, extra: LoadOptions = {}): Promise<LoadReport> {
  const user = toLoadOptions(options)
  let base: LoadOptions = {}
  if (options.task && !options.mapping && !options.format && !options.delimiter) {
    // the GLUE layout only for a GLUE file, chosen by its content (labelled or not), never its name
    base = (await glueLayoutByContent(path, options.task, options.split)) ?? {}
  }
  return loadWithReport(path, { ...base, ...user, ...extra })
}

function counts(c: Partial<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [k, v] of Object.entries(c)) if (v !== undefined) out[k] = v
  return out
}

export function toReport(r: LoadReport): DatasetReport {
  const ds = r.dataset
  return {
    file: ds.file,
    name: ds.name,
    sha256: ds.sha256,
    layout: r.layout,
    rows: ds.examples.length,
    labelNames: ds.labelNames,
    isRegression: ds.isRegression,
    hasLabels: ds.hasLabels,
    mapping: ds.mapping,
    problems: r.problems,
    counts: counts(r.counts),
    errors: r.errors,
    warnings: r.warnings,
    truncated: r.truncated,
    usable: r.usable,
    verdict: r.verdict,
    summary: r.summary,
    droppedLines: r.droppedLines.slice(0, MAX_DROPPED_LINES),
    droppedCount: r.droppedLines.length
  }
}

export async function previewCall(p: CallParams<'datasets:preview'>): Promise<DatasetPreview> {
  const file = refPath(p.ref)
  const preview = await previewFile(file, p.rows ?? 20, toLoadOptions(p.options)).catch((e: NodeJS.ErrnoException) => {
    throw new CodedError('INVALID_INPUT', `cannot preview ${file}: ${e.code === 'ENOENT' ? 'there is no such file' : e.code === 'EISDIR' ? 'it is a folder, not a file' : e.message}`)
  })
  return { ...preview, counts: counts(preview.counts) }
}

export async function detectCall(p: CallParams<'datasets:detect'>): Promise<CallResult<'datasets:detect'>> {
  const file = refPath(p.ref)
  try {
    return await detectTask(file)
  } catch (e) {
    throw new CodedError('INVALID_INPUT', `cannot read ${file}: ${(e as Error).message}`)
  }
}

export async function validateCall(p: CallParams<'datasets:validate'>): Promise<DatasetReport> {
  let against: Dataset | undefined
  if (p.against) {
    const train = await loadForApp(refPath(p.against.ref), p.against.options)
    against = train.dataset
  }
  const report = await loadForApp(refPath(p.ref), p.options, {
    ...(against ? { against, labelNames: p.options?.labelNames ?? against.labelNames } : {})
  })
  return toReport(report)
}

export async function statsCall(p: CallParams<'datasets:stats'>): Promise<DatasetStatistics> {
  const report = await loadForApp(refPath(p.ref), p.options)
  const ds = report.dataset
  if (!report.usable && ds.examples.length === 0) throw new CodedError('INVALID_INPUT', `${basename(ds.file)}: ${report.verdict}`)
  let tokenizer: BertTokenizer | undefined
  if (p.modelDir) {
    try {
      tokenizer = BertTokenizer.fromFolder(p.modelDir)
    } catch (e) {
      throw new CodedError('INVALID_INPUT', `cannot read the tokenizer of ${p.modelDir}: ${(e as Error).message}`)
    }
  }
  const lengthOf = tokenizer ? (a: string, b?: string) => tokenizer.encode(a, b, { truncation: false }).inputIds.length : undefined
  const s = datasetStats(ds, lengthOf)
  const out: DatasetStatistics = { ...s, lengthUnit: lengthOf ? 'tokens' : 'whitespace tokens' }
  if (lengthOf && p.maxLength) {
    let n = 0
    for (const e of ds.examples) if (lengthOf(e.textA, e.textB) > p.maxLength) n++
    out.truncatedRows = n
  }
  if (p.dev) {
    const dev = await loadForApp(refPath(p.dev.ref), p.dev.options, { labelNames: ds.labelNames })
    const overlapping = overlap(ds, dev.dataset)
    const devRows = dev.dataset.examples.length
    out.overlap = { devRows, overlapping, fraction: devRows ? overlapping / devRows : 0 }
  }
  return out
}

/**
 * The run job's data loader in the app: the user's reading options for the file, a check that the file
 * is not another GLUE task's, and a JobInputError naming the first problems when it is not usable.
 */
export function appDataLoader(optionsFor: (split: 'train' | 'dev') => DatasetOptions | undefined) {
  return async (file: string, task: TaskName, split: Split, labelNames?: string[]): Promise<Dataset> => {
    const detected = await detectTask(file).catch(() => null)
    if (detected && detected.task !== task && detected.confidence >= 0.9) {
      throw new JobInputError(`${file} looks like ${getTask(detected.task).displayName} data (${detected.reason}), not ${getTask(task).displayName}: choose the ${detected.task} task or another file`)
    }
    const user = optionsFor(split === 'dev' ? 'dev' : 'train') ?? {}
    const report = await loadForApp(file, { ...user, task, split: user.split ?? split }, labelNames ? { labelNames } : {})
    if (!report.usable) {
      const errors = report.problems.filter((x) => x.severity === 'error')
      const shown = errors.slice(0, 5).map((x) => `  ${formatProblem(x)}`).join('\n')
      const more = report.errors > 5 ? `\n  … and ${report.errors - 5} more (${report.summary})` : ''
      throw new JobInputError(`${basename(file)} is not usable as ${getTask(task).displayName} ${split} data: ${report.verdict}\n${shown}${more}\nFix these rows, or tick "drop bad rows" on the dataset screen.`)
    }
    return report.dataset
  }
}

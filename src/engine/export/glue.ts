/**
 * GLUE leaderboard submissions: one `<Task>.tsv` per task (`CoLA.tsv`, `SST-2.tsv`, `MRPC.tsv`,
 * `STS-B.tsv`, `QQP.tsv`, `MNLI-m.tsv`, `MNLI-mm.tsv`, `QNLI.tsv`, `RTE.tsv`, `WNLI.tsv`, `AX.tsv`) with the
 * header `index<TAB>prediction`, one row per test example in file order, labels spelt as GLUE expects
 * (0/1, entailment/not_entailment, entailment/neutral/contradiction; STS-B scores clipped to 0..5),
 * zipped into one archive for gluebenchmark.com.
 *
 * Owns: the submission layout, and predicting each run's test file(s) for it.
 * Must not: choose which run represents a task (the caller does), or write anything but the archive.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { getTask, loadDataset, loadGlueFile, type Dataset, type TaskName } from '../data'
import { predictLogits } from '../eval/predict'
import { BertForSequenceClassification } from '../model/bert'
import { loadRunModel } from '../runs/run-model'
import type { RunStore } from '../runs/store'
import { BertTokenizer } from '../tokenizer'
import { ExportError } from './artifacts'
import { resolveExportPath } from './paths'
import { writeZipAtomic } from './zip'

/** A submission file's task: a GLUE task, or AX (the diagnostic set, predicted by an MNLI model). */
export type SubmissionTask = TaskName | 'ax'

export const GLUE_SUBMISSION_FILES: Readonly<Record<SubmissionTask, string>> = {
  cola: 'CoLA.tsv',
  sst2: 'SST-2.tsv',
  mrpc: 'MRPC.tsv',
  stsb: 'STS-B.tsv',
  qqp: 'QQP.tsv',
  mnli: 'MNLI-m.tsv',
  'mnli-mm': 'MNLI-mm.tsv',
  qnli: 'QNLI.tsv',
  rte: 'RTE.tsv',
  wnli: 'WNLI.tsv',
  ax: 'AX.tsv'
}

export interface TaskPredictions {
  task: SubmissionTask
  /** Test example ids (the file's index column), in file order. */
  ids: readonly string[]
  /** Row-major [ids.length, numLabels] logits (numLabels 1 for STS-B). */
  logits: Float32Array
}

/** The label names of a submission task, or null for regression. */
function submissionLabels(task: SubmissionTask): string[] | null {
  const spec = getTask(task === 'ax' ? 'mnli' : task)
  return spec.isRegression ? null : spec.labelNames!
}

/** One submission file's text: `index\tprediction`, a row per id, LF line ends (as GLUE's own files). */
export function submissionTsv(p: TaskPredictions): string {
  const labels = submissionLabels(p.task)
  const C = labels ? labels.length : 1
  const where = GLUE_SUBMISSION_FILES[p.task]
  if (p.logits.length !== p.ids.length * C) {
    throw new ExportError(`${where}: ${p.ids.length} ids need ${p.ids.length * C} logits (${C} per row), got ${p.logits.length}`)
  }
  const seen = new Set<string>()
  const lines = ['index\tprediction']
  for (let i = 0; i < p.ids.length; i++) {
    const id = p.ids[i]
    if (id === '' || /[\t\r\n]/.test(id)) throw new ExportError(`${where}: test row ${i + 1} has id ${JSON.stringify(id)}, which cannot be written to a TSV cell`)
    if (seen.has(id)) throw new ExportError(`${where}: test id "${id}" appears twice (row ${i + 1}); GLUE scores each index once`)
    seen.add(id)
    let pred: string
    if (!labels) {
      const v = p.logits[i]
      if (!Number.isFinite(v)) throw new ExportError(`${where}: the prediction for id "${id}" is ${v}; the model produced no usable score`)
      pred = Math.min(5, Math.max(0, v)).toFixed(3)
    } else {
      let best = 0
      for (let c = 1; c < C; c++) if (p.logits[i * C + c] > p.logits[i * C + best]) best = c
      pred = labels[best]
    }
    lines.push(`${id}\t${pred}`)
  }
  return lines.join('\n') + '\n'
}

export interface SubmissionResult {
  path: string
  /** Archive entry → rows. */
  files: Record<string, number>
  /** GLUE submission files not present (the site wants all of them for a score; partial archives are fine for checks). */
  missing: string[]
}

/** Zip the submission files for these predictions. Two predictions for the same file are an error. */
export function writeGlueSubmission(out: string, preds: readonly TaskPredictions[], opts: { within?: string } = {}): SubmissionResult {
  const dest = resolveExportPath(out, opts.within)
  const entries: Array<{ name: string; data: string }> = []
  const files: Record<string, number> = {}
  for (const p of preds) {
    const name = GLUE_SUBMISSION_FILES[p.task]
    if (!name) throw new ExportError(`no GLUE submission file for task "${String(p.task)}"`)
    if (files[name] !== undefined) throw new ExportError(`two sets of predictions for ${name}: give one run per task`)
    entries.push({ name, data: submissionTsv(p) })
    files[name] = p.ids.length
  }
  if (!entries.length) throw new ExportError('no predictions to submit')
  writeZipAtomic(dest, entries)
  return { path: dest, files, missing: Object.values(GLUE_SUBMISSION_FILES).filter((f) => files[f] === undefined) }
}

export interface SubmissionFromRunsOptions {
  /** A GLUE folder (CoLA/test.tsv, MNLI/test_matched.tsv, …, diagnostic/diagnostic.tsv). */
  glueDir?: string
  /** Test file per submission task, overriding glueDir. */
  testFiles?: Partial<Record<SubmissionTask, string>>
  batchSize?: number
  maxLength?: number
  within?: string
  onProgress?: (e: { task: SubmissionTask; done: number; total: number }) => void
  shouldCancel?: () => boolean
}

function testFileFor(task: SubmissionTask, opts: SubmissionFromRunsOptions): string | undefined {
  if (opts.testFiles?.[task]) return opts.testFiles[task]
  if (!opts.glueDir) return undefined
  const f = task === 'ax' ? join(opts.glueDir, 'diagnostic', 'diagnostic.tsv') : join(opts.glueDir, getTask(task).dir, getTask(task).splits.test.file)
  return existsSync(f) ? f : undefined
}

async function loadTest(task: SubmissionTask, file: string): Promise<Dataset> {
  if (task === 'ax') {
    return loadDataset(file, { task: 'mnli', split: 'test', format: 'tsv', header: true, quoting: 'none', mapping: { id: 'index', textA: 'sentence1', textB: 'sentence2' } })
  }
  return loadGlueFile(file, task, 'test')
}

/**
 * Predict each run's test set(s) and zip the submission. An MNLI run also predicts MNLI-mm and AX when
 * their files are found. Needs an initialised TensorFlow.js backend. Returns null when cancelled.
 */
export async function exportGlueSubmission(store: RunStore, runIds: readonly string[], out: string, opts: SubmissionFromRunsOptions = {}): Promise<SubmissionResult | null> {
  resolveExportPath(out, opts.within)
  const plan: Array<{ runId: string; tasks: Array<{ task: SubmissionTask; file: string }> }> = []
  for (const id of runIds) {
    const run = store.open(id)
    const task = run.summary.task as TaskName
    const wanted: SubmissionTask[] = task === 'mnli' ? ['mnli', 'mnli-mm', 'ax'] : task === 'mnli-mm' ? ['mnli-mm', 'mnli', 'ax'] : [task]
    const tasks: Array<{ task: SubmissionTask; file: string }> = []
    for (const t of wanted) {
      const f = testFileFor(t, opts)
      if (f) tasks.push({ task: t, file: f })
      else if (t === task) throw new ExportError(`run ${run.id} (${getTask(task).displayName}): no test file: give the GLUE folder or the ${GLUE_SUBMISSION_FILES[t]} test file`)
    }
    plan.push({ runId: run.id, tasks })
  }
  const preds: TaskPredictions[] = []
  const seen = new Set<SubmissionTask>()
  for (const { runId, tasks } of plan) {
    const rm = loadRunModel(store.open(runId))
    const model = BertForSequenceClassification.fromState(rm.config, rm.state)
    try {
      const tokenizer = BertTokenizer.fromFolder(rm.modelDir)
      for (const { task, file } of tasks) {
        if (seen.has(task)) continue
        seen.add(task)
        const data = await loadTest(task, file)
        const logits = await predictLogits(model, tokenizer, data.examples, {
          batchSize: opts.batchSize,
          maxLength: opts.maxLength,
          shouldCancel: opts.shouldCancel,
          onProgress: (done, total) => opts.onProgress?.({ task, done, total })
        })
        if (!logits) return null
        preds.push({ task, ids: data.examples.map((e) => e.id), logits })
      }
    } finally {
      model.dispose()
    }
  }
  return writeGlueSubmission(out, preds, { within: opts.within })
}

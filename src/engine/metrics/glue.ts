/**
 * GLUE at task level: which metrics each task reports, its single main score, and the GLUE score over tasks.
 * Owns: the task metadata table (metric names, main score, display names), taskMetrics and glueScore.
 * Must not: implement metric arithmetic (stats.ts) or read datasets / models; it sees predictions and gold only.
 *
 * Conventions (ALGORITHMS.md):
 *   - Scores are fractions (accuracy 0.84, not 84); the GLUE leaderboard shows them ×100.
 *   - A task's main score is its metric, or the mean of its pair: MRPC and QQP mean(F1, accuracy), STS-B
 *     mean(Pearson, Spearman).
 *   - MNLI is two entries, 'mnli' (matched, reported as "mnli-m"; 'mnli-m' is accepted as an alias) and
 *     'mnli-mm' (mismatched). In the GLUE score MNLI counts once, as the mean of m and mm, so that it does
 *     not weigh twice as much as any other task. With only one of the two present, that one stands for MNLI
 *     and the other is listed as missing.
 *   - WNLI is part of the score (the GLUE definition), although the BERT paper left it out.
 */
import { accuracy, argmax, f1, logitAt, logitsShape, matthews, pearson, spearman, type Logits } from './stats'
import { checkPair, MetricInputError, type Numbers } from './validate'

export type GlueTask = 'cola' | 'sst2' | 'mrpc' | 'stsb' | 'qqp' | 'mnli' | 'mnli-mm' | 'qnli' | 'rte' | 'wnli'
export type MetricName = 'matthews_correlation' | 'accuracy' | 'f1' | 'pearson' | 'spearman'

/** Task order of the GLUE leaderboard. */
export const GLUE_TASKS: readonly GlueTask[] = ['cola', 'sst2', 'mrpc', 'stsb', 'qqp', 'mnli', 'mnli-mm', 'qnli', 'rte', 'wnli']

/** Names accepted in place of a task name. */
export const GLUE_TASK_ALIASES: Readonly<Record<string, GlueTask>> = { 'mnli-m': 'mnli' }

export interface MetricInfo {
  name: MetricName
  displayName: string
  /** Possible values: correlations reach -1, the rest stay in [0, 1]. */
  range: readonly [number, number]
  higherIsBetter: boolean
}

export const METRICS: Readonly<Record<MetricName, MetricInfo>> = {
  matthews_correlation: { name: 'matthews_correlation', displayName: 'Matthews corr.', range: [-1, 1], higherIsBetter: true },
  accuracy: { name: 'accuracy', displayName: 'Acc.', range: [0, 1], higherIsBetter: true },
  f1: { name: 'f1', displayName: 'F1', range: [0, 1], higherIsBetter: true },
  pearson: { name: 'pearson', displayName: 'Pearson corr.', range: [-1, 1], higherIsBetter: true },
  spearman: { name: 'spearman', displayName: 'Spearman corr.', range: [-1, 1], higherIsBetter: true },
}

export interface GlueTaskInfo {
  task: GlueTask
  /** How the task is written in tables: "CoLA", "MNLI-m". */
  displayName: string
  /** Key in reports and result files ("mnli-m" for the matched split). */
  reportName: string
  /** The GLUE task this entry counts towards in the GLUE score ('mnli' for both MNLI splits). */
  glueTask: string
  kind: 'classification' | 'regression'
  /** Classes of a classification task; 1 (the regression head's width) for STS-B. */
  numClasses: number
  /** Valid gold values: class indices 0..numClasses-1, or STS-B similarity scores in [0, 5]. */
  labelRange: readonly [number, number]
  /** Metrics reported by taskMetrics, in display order. */
  metrics: readonly MetricName[]
  /** Metrics whose mean is the task's main score (one, or the pair). */
  main: readonly MetricName[]
  /** Heading of the main score, as on the GLUE leaderboard: "Matthews corr.", "F1/acc.". */
  mainDisplayName: string
  higherIsBetter: boolean
}

function info(
  task: GlueTask,
  displayName: string,
  reportName: string,
  numClasses: number,
  metrics: MetricName[],
  mainDisplayName: string,
): GlueTaskInfo {
  const regression = task === 'stsb'
  return {
    task,
    displayName,
    reportName,
    glueTask: task.startsWith('mnli') ? 'mnli' : task,
    kind: regression ? 'regression' : 'classification',
    numClasses,
    labelRange: regression ? [0, 5] : [0, numClasses - 1],
    metrics,
    // Every GLUE task's main score is the mean of all the metrics it reports.
    main: metrics,
    mainDisplayName,
    higherIsBetter: true,
  }
}

export const GLUE_TASK_INFO: Readonly<Record<GlueTask, GlueTaskInfo>> = {
  cola: info('cola', 'CoLA', 'cola', 2, ['matthews_correlation'], 'Matthews corr.'),
  sst2: info('sst2', 'SST-2', 'sst2', 2, ['accuracy'], 'Acc.'),
  mrpc: info('mrpc', 'MRPC', 'mrpc', 2, ['f1', 'accuracy'], 'F1/acc.'),
  stsb: info('stsb', 'STS-B', 'stsb', 1, ['pearson', 'spearman'], 'Pearson/Spearman corr.'),
  qqp: info('qqp', 'QQP', 'qqp', 2, ['f1', 'accuracy'], 'F1/acc.'),
  mnli: info('mnli', 'MNLI-m', 'mnli-m', 3, ['accuracy'], 'Acc.'),
  'mnli-mm': info('mnli-mm', 'MNLI-mm', 'mnli-mm', 3, ['accuracy'], 'Acc.'),
  qnli: info('qnli', 'QNLI', 'qnli', 2, ['accuracy'], 'Acc.'),
  rte: info('rte', 'RTE', 'rte', 2, ['accuracy'], 'Acc.'),
  wnli: info('wnli', 'WNLI', 'wnli', 2, ['accuracy'], 'Acc.'),
}

/** The task for a name or alias; throws for anything else, listing the valid names. */
export function parseGlueTask(name: string): GlueTask {
  if (Object.prototype.hasOwnProperty.call(GLUE_TASK_INFO, name)) return name as GlueTask
  const alias = Object.prototype.hasOwnProperty.call(GLUE_TASK_ALIASES, name) ? GLUE_TASK_ALIASES[name] : undefined
  if (alias !== undefined) return alias
  throw new MetricInputError(`unknown GLUE task '${name}'; expected one of ${[...GLUE_TASKS, 'mnli-m'].join(', ')} (lower case)`)
}

/** Class indices, STS-B scores, or logits ([N, C] for classification; [N, 1] for STS-B's regression head). */
export type TaskPredictions = Numbers | Logits

export interface TaskResult {
  task: GlueTask
  reportName: string
  /** The task's metrics by name (GLUE_TASK_INFO[task].metrics). */
  metrics: Partial<Record<MetricName, number>>
  /** The task's single score: its metric, or the mean of its pair. */
  main: number
  /** Number of examples scored. */
  n: number
}

function isLogits(p: TaskPredictions): p is Logits {
  if (p === null || typeof p !== 'object') return false
  if ('shape' in p && !Array.isArray(p)) return true
  const a = p as ArrayLike<unknown>
  return typeof a.length === 'number' && a.length > 0 && typeof a[0] === 'object' && a[0] !== null
}

/** Flat predictions for the task: argmax of classification logits, column 0 of an [N, 1] regression output. */
function flatPredictions(fn: string, t: GlueTaskInfo, p: TaskPredictions): Numbers {
  if (!isLogits(p)) return p as Numbers
  const [n, c] = logitsShape(fn, 'predictions', p)
  if (t.kind === 'regression') {
    if (c !== 1) throw new MetricInputError(`${fn}: ${t.task} is a regression task; predictions must be [N] or [N, 1], got [${n}, ${c}]`)
    const out = new Float64Array(n)
    for (let i = 0; i < n; i++) out[i] = logitAt(p, 1, i, 0)
    return out
  }
  if (c !== t.numClasses) {
    throw new MetricInputError(`${fn}: ${t.task} has ${t.numClasses} classes; logits have ${c} columns`)
  }
  return argmax(p)
}

function checkRange(fn: string, name: string, a: Numbers, t: GlueTaskInfo): void {
  const [lo, hi] = t.labelRange
  for (let i = 0; i < a.length; i++) {
    if (a[i] < lo || a[i] > hi) {
      const what = t.kind === 'regression' ? 'a similarity score' : 'a class index'
      throw new MetricInputError(`${fn}: ${name}[${i}] = ${a[i]} is not ${what} of ${t.task} (${lo}..${hi})`)
    }
  }
}

function metric(name: MetricName, pred: Numbers, gold: Numbers): number {
  switch (name) {
    case 'accuracy':
      return accuracy(pred, gold)
    case 'f1':
      return f1(pred, gold, 1)
    case 'matthews_correlation':
      return matthews(pred, gold)
    case 'pearson':
      return pearson(pred, gold)
    case 'spearman':
      return spearman(pred, gold)
  }
}

/**
 * The task's metrics and main score. Classification: predictions are class indices (or logits [N, C], reduced
 * by argmax), gold class indices 0..C-1. STS-B: predicted scores (or [N, 1]) against gold scores in [0, 5];
 * predictions themselves may leave [0, 5] (an unclipped regression head).
 */
export function taskMetrics(task: GlueTask | 'mnli-m', predictions: TaskPredictions, gold: Numbers): TaskResult {
  const t = GLUE_TASK_INFO[parseGlueTask(task)]
  const fn = `taskMetrics(${task})`
  const pred = flatPredictions(fn, t, predictions)
  const labels = t.kind === 'classification'
  const n = checkPair(fn, 'predictions', pred, 'gold', gold, labels)
  checkRange(fn, 'gold', gold, t)
  if (labels) checkRange(fn, 'predictions', pred, t)
  const metrics: Partial<Record<MetricName, number>> = {}
  for (const m of t.metrics) metrics[m] = metric(m, pred, gold)
  const main = t.main.reduce((s, m) => s + (metrics[m] as number), 0) / t.main.length
  return { task: t.task, reportName: t.reportName, metrics, main, n }
}

export interface GlueScore {
  /** Mean of the task main scores present, MNLI counted once (mean of m and mm). A fraction, not ×100. */
  score: number
  /** GLUE tasks that were averaged, in leaderboard order ('mnli' once for either or both splits). */
  tasks: string[]
  /** Entries of GLUE_TASKS not given (so a partial score is never mistaken for the full one). */
  missing: GlueTask[]
  /** True when all ten entries (nine tasks) were given. */
  complete: boolean
}

/**
 * GLUE score from task main scores (taskMetrics(...).main) keyed by task name ('mnli-m' accepted for
 * 'mnli'). Averages the tasks present; says which ones those are and which are missing.
 */
export function glueScore(results: Readonly<Partial<Record<GlueTask | 'mnli-m', number>>>): GlueScore {
  if (results === null || typeof results !== 'object') throw new MetricInputError('glueScore: results must be an object')
  const given = new Map<GlueTask, number>()
  for (const [name, value] of Object.entries(results)) {
    if (value === undefined) continue
    const task = parseGlueTask(name)
    if (given.has(task)) throw new MetricInputError(`glueScore: ${task} is given twice (as '${task}' and an alias)`)
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new MetricInputError(`glueScore: results['${name}'] is ${Number.isNaN(value) ? 'NaN' : String(value)}, not a finite score`)
    }
    given.set(task, value)
  }
  if (given.size === 0) throw new MetricInputError('glueScore: results is empty; no task to average')
  const byGlueTask = new Map<string, number[]>()
  for (const task of GLUE_TASKS) {
    const v = given.get(task)
    if (v === undefined) continue
    const g = GLUE_TASK_INFO[task].glueTask
    byGlueTask.set(g, [...(byGlueTask.get(g) ?? []), v])
  }
  const tasks = [...byGlueTask.keys()]
  const mean = (a: readonly number[]): number => a.reduce((s, v) => s + v, 0) / a.length
  const score = mean(tasks.map((g) => mean(byGlueTask.get(g) as number[])))
  const missing = GLUE_TASKS.filter((t) => !given.has(t))
  return { score, tasks, missing, complete: missing.length === 0 }
}

/**
 * Plain-JSON domain types of the contract (datasets, models, runs, Fisher statistics) and the strict
 * validators for what the renderer may send about them (run configs, dataset options, data sources).
 *
 * The engine's own types (src/engine/data/types.ts, src/engine/selection/stats.ts, …) are restated here,
 * not imported: the renderer's type check must not pull node or tfjs typings. The engine process returns
 * its values into these types, so the compiler checks that both stay compatible where they meet; and
 * test/shared/domain-drift.test.ts makes `tsc` fail when a restated type and its engine original differ.
 * Owns: shapes and argument validators. Must not: import node, electron, DOM or engine modules.
 */
import {
  array,
  boolean,
  either,
  isPlainObject,
  nullable,
  number,
  object,
  oneOf,
  optional,
  string,
  ValidationError,
  type Validator
} from './validate'

/** Longest path the app accepts from the renderer. */
export const MAX_PATH_LENGTH = 4_096
/** Largest dataset the browser may upload as text (characters; the file's UTF-8 may be a little larger). */
export const MAX_UPLOAD_CHARS = 32 * 1024 * 1024
/** Longest uploaded file name. */
export const MAX_FILE_NAME_LENGTH = 255

const path = string({ maxLength: MAX_PATH_LENGTH, nonEmpty: true })

// ---------------------------------------------------------------------------------------------------------
// Tasks and datasets

export const TASK_NAMES = ['cola', 'sst2', 'mrpc', 'stsb', 'qqp', 'mnli', 'mnli-mm', 'qnli', 'rte', 'wnli'] as const
export type TaskName = (typeof TASK_NAMES)[number]
export const SPLITS = ['train', 'dev', 'test'] as const
export type Split = (typeof SPLITS)[number]
export const DATA_FORMATS = ['tsv', 'csv', 'jsonl'] as const
export type DataFormat = (typeof DATA_FORMATS)[number]
export const QUOTINGS = ['none', 'rfc4180'] as const
export type Quoting = (typeof QUOTINGS)[number]

/** A column by header name (or JSON key), or by 0-based index. */
export type ColumnRef = string | number
export interface ColumnMapping {
  textA: ColumnRef
  textB?: ColumnRef
  label?: ColumnRef
  id?: ColumnRef
}

/**
 * How to read a dataset file: every field optional (sniffed or taken from the task when absent). Stored
 * with a registered dataset, sent with validate/stats, and passed to runs as trainOptions/devOptions.
 */
export interface DatasetOptions {
  task?: TaskName
  split?: Split
  format?: DataFormat
  /** Field delimiter of tsv/csv: one character (tab, comma, semicolon, pipe…). */
  delimiter?: string
  quoting?: Quoting
  header?: boolean
  mapping?: ColumnMapping
  labelType?: 'classification' | 'regression'
  labelNames?: string[]
  /** GLUE RTE: the label is the last field. */
  labelFromLast?: boolean
  /** WHATWG encoding label (utf-8, latin1, …). */
  encoding?: string
  /** Keep rows with errors out of the dataset (they are listed in the report). */
  dropBadRows?: boolean
  /** Keep exact repeats out, keeping the first. */
  dropDuplicates?: boolean
}

/** Where a dataset file is: a path on this machine, or (browser mode) its content uploaded by the page. */
export type DataSource = { path: string } | { name: string; content: string }
/** A registered dataset (by id) or a file by path. */
export type DatasetRef = { id: string } | { path: string }

export interface DetectedTask {
  task: TaskName
  split?: Split
  /** 0..1: 1 = the exact GLUE header with matching rows; ≤ 0.6 is a guess the user should confirm. */
  confidence: number
  reason: string
}

/** One entry of the dataset registry (kept in the app data folder, survives restarts). */
export interface DatasetEntry {
  id: string
  /** Display name (the file name unless renamed). */
  name: string
  /** Absolute path of the file (for uploads: the copy in the app data folder). */
  path: string
  /** True when the file is the app's own copy of an upload (removed with the entry). */
  uploaded: boolean
  size: number
  /** SHA-256 of the file's bytes at import. */
  sha256: string
  addedAt: string
  detectedTask: DetectedTask | null
  /** The reading options the user confirmed (mapping, task, drop bad rows…). */
  options: DatasetOptions
  /** From the last validation, when there was one. */
  lastReport?: { usable: boolean; rows: number; errors: number; warnings: number; verdict: string; checkedAt: string }
}

export interface DataProblem {
  file: string
  /** 1-based line. */
  line: number
  /** Header name, or 0-based index in a header-less file. */
  column?: string | number
  field?: 'textA' | 'textB' | 'label' | 'id'
  /** 1-based byte position within the line, when known. */
  offset?: number
  /** A ProblemCode of src/engine/data/types.ts (column_count, unknown_label, …). */
  code: string
  severity: 'error' | 'warning'
  message: string
}

export interface FileLayout {
  format: DataFormat
  formatReason: string
  delimiter?: string
  quoting?: Quoting
  header: boolean
  headerReason: string
  columns: string[]
  mapping?: ColumnMapping
  mappingGuessed: boolean
  mappingReason?: string
  encoding: string
  bom: boolean
}

export type LabelGuess =
  | { kind: 'classification'; values: string[]; counts: Record<string, number>; reason: string }
  | { kind: 'regression'; min: number; max: number; reason: string }
  | { kind: 'none'; reason: string }

export interface DatasetPreview {
  file: string
  size: number
  /** Bytes examined (less than size for large files). */
  sampledBytes: number
  layout: FileLayout
  columns: string[]
  /** The first rows as strings, and the line each starts on. */
  rows: string[][]
  rowLines: number[]
  rowCount: number
  guessedMapping: ColumnMapping | null
  mappingReason: string
  labelGuess: LabelGuess
  detectedTask: DetectedTask | null
  problems: DataProblem[]
  counts: Record<string, number>
}

/** A dataset's validation report, without the rows themselves. */
export interface DatasetReport {
  file: string
  name: string
  sha256: string
  layout: FileLayout
  /** Rows in the dataset as loaded (after dropping, when asked). */
  rows: number
  labelNames?: string[]
  isRegression: boolean
  hasLabels: boolean
  mapping?: ColumnMapping
  /** Sorted by line; at most a cap per code (counts has the totals). */
  problems: DataProblem[]
  counts: Record<string, number>
  errors: number
  warnings: number
  truncated: boolean
  usable: boolean
  verdict: string
  summary: string
  /** Lines kept out (dropBadRows / dropDuplicates); at most 10 000 listed, droppedCount has the total. */
  droppedLines: number[]
  droppedCount: number
}

export interface Histogram {
  /** bins + 1 edges; bin i counts [edges[i], edges[i+1]). */
  edges: number[]
  counts: number[]
}
export interface Distribution {
  count: number
  min: number
  max: number
  mean: number
  median: number
  p95: number
  histogram: Histogram
}
export interface DatasetStatistics {
  size: number
  hasLabels: boolean
  isRegression: boolean
  labels?: Array<{ index: number; name: string; count: number; fraction: number }>
  targets?: Distribution
  unlabelled: number
  lengths: Distribution
  /** 'tokens' when a model's tokenizer counted them (with [CLS]/[SEP]), else whitespace tokens. */
  lengthUnit: 'tokens' | 'whitespace tokens'
  /** Rows longer than maxLength tokens (truncated in training), when a tokenizer and maxLength were given. */
  truncatedRows?: number
  duplicates: number
  /** With a dev set: dev rows whose text also occurs in train. */
  overlap?: { devRows: number; overlapping: number; fraction: number }
}

// ---------------------------------------------------------------------------------------------------------
// Models

export interface ModelInfo {
  /** Absolute folder path. */
  path: string
  name: string
  /** config.json's architectures[0] (or model_type), when present. */
  architecture: string | null
  layers: number
  hidden: number
  heads: number
  intermediate: number
  maxPositions: number
  /** config.json's vocab_size. */
  vocabSize: number
  /** Tokens in vocab.txt, or null without one. */
  tokenizerVocabSize: number | null
  lowercase: boolean | null
  /** Parameters of BertForSequenceClassification with 2 labels (what training uses). */
  parameters: number
  /** Weight files and their total size in bytes. */
  weightFiles: string[]
  weightBytes: number
  dtypes: string[]
  /** What is wrong or odd: missing vocab, vocab larger than the embeddings, no weights, … */
  problems: string[]
  /** True when a run can use the folder as it is. */
  usable: boolean
}

export interface ModelEntry {
  id: string
  name: string
  path: string
  /** 'demo' = the embedded demo model; 'user' = added by the user. */
  kind: 'demo' | 'user'
  addedAt?: string
  info: ModelInfo | null
  /** Why info is missing (the folder moved, …). */
  error?: string
}

// ---------------------------------------------------------------------------------------------------------
// Runs

export const SELECTION_METHODS = ['ird', 'fish', 'random', 'bitfit', 'full'] as const
export type SelectionMethod = (typeof SELECTION_METHODS)[number]
/** 'damaged': the run's summary.json or status.json cannot be read (the list says why, in `reason`). */
export const RUN_STATUSES = ['running', 'completed', 'cancelled', 'failed', 'damaged'] as const
export type RunStatus = (typeof RUN_STATUSES)[number]

/** Everything a run needs; the same settings as `ird-studio run` (src/engine/jobs/run-job.ts RunJobConfig). */
export interface RunConfig {
  name?: string
  modelDir: string
  task: TaskName
  trainFile: string
  devFile?: string
  /** How to read the files (mapping, drop bad rows…); default: as `ird-studio run` reads them. */
  trainOptions?: DatasetOptions
  devOptions?: DatasetOptions
  method: SelectionMethod
  keepRatio: number
  nSamples: number
  nSamplesExplicit?: boolean
  seed: number
  maxLength: number
  batchSize: number
  epochs: number
  lr: number
  warmupRatio: number
  weightDecay: number
  maxGradNorm: number
  fisher: { variant: 'label' | 'expect'; power: 'square' | 'absolute'; batchSize: number }
  ird: { poolFactor: number; alphaS: number; alphaP: number; maxRounds: number | null }
  maxTrainExamples: number | null
  /** Worker threads for Fisher passes and training (0 = the engine's own thread). */
  workers: number
  /** Train with a saved mask folder instead of selecting one. */
  maskDir?: string
  /** Save a training checkpoint every N optimizer steps (also after each epoch and on cancel); 0 = epoch ends only. */
  checkpointEvery?: number
}

/** What the run list shows (src/engine/runs/store.ts RunSummary). */
export interface RunSummaryInfo {
  id: string
  name?: string
  task: string
  method: string
  status: RunStatus
  reason?: string
  model: string
  keepRatio?: number
  k?: number
  trainable?: number
  nSamples?: number
  seed: number
  backend?: string
  startedAt: string
  endedAt?: string
  elapsedMs?: number
  metrics?: Record<string, number>
  main?: number
  bestEpoch?: number
  /** Things the user should know about the result (e.g. dev predictions that are a constant). */
  warnings?: string[]
}

/**
 * Every constant-prediction warning (src/engine/metrics/constant.ts) says this; views, tables and the CLI
 * recognise such a warning by it.
 */
export const CONSTANT_PREDICTIONS_PHRASE = 'learned nothing the metric can rank'

/** The run's dev predictions were (almost) constant: its score is a constant predictor's. */
export function hasConstantPredictions(run: { warnings?: readonly string[] }): boolean {
  return run.warnings?.some((w) => w.includes(CONSTANT_PREDICTIONS_PHRASE)) ?? false
}

export interface RunListEntry extends RunSummaryInfo {
  /** True while this app's engine runs it; the last progress event when there was one. */
  live: boolean
  progress?: RunProgress
}

export interface RunProgress {
  runId: string
  /** 'load' | 'select' | 'fisher' | 'ird' | 'train' | 'eval' | … (the engine's phase names). */
  phase: string
  done: number
  total: number
  /** Since the run started. */
  elapsedMs: number
  etaMs?: number
  loss?: number
  lr?: number
  epoch?: number
  round?: number
}

export interface RunPhase {
  runId: string
  phase: string
  message?: string
  /** Milliseconds since the epoch. */
  time: number
  /** The event's other fields (k, trainable, notes, …), as recorded in events.jsonl. */
  fields?: Record<string, unknown>
}

export interface RunMetric {
  runId: string
  epoch: number
  epochs?: number
  step?: number
  metrics: Record<string, number>
  main?: number
  evalLoss?: number
}

export interface Quantiles {
  count: number
  /** null where undefined (no values). */
  mean: number | null
  min: number | null
  q10: number | null
  q25: number | null
  median: number | null
  q75: number | null
  q90: number | null
  max: number | null
}

export interface IrdRoundInfo {
  round: number
  samplesBefore: number
  samplesAfter: number
  paramsBefore: number
  paramsAfter: number
  cut: boolean
  sampleMassKept: number
  paramMassKept: number
  scores: Quantiles
  fishOverlap: { intersection: number; fractionOfFish: number; fractionOfRange: number; jaccard: number }
  gradientEvaluations: number
  reusedScorePass: boolean
}

export interface FisherGroupInfo {
  /** "embeddings", "layer.0" … , "pooler". */
  group: string
  size: number
  mass: number
  massFraction: number
  selected: number
  selectedMass: number
}

export interface FisherTensorInfo {
  name: string
  layer: number
  kind: string
  size: number
  mass: number
  massFraction: number
  selected: number
  selectedMass: number
}

/** What the Fisher charts show; sent as `run:fisher` and part of a run's snapshot. */
export interface FisherChartData {
  runId: string
  method: string
  /** Present once the mask is selected (fish, ird). */
  scope?: string
  totalMass?: number
  selectedMassFraction?: number
  perLayer?: FisherGroupInfo[]
  perTensor?: FisherTensorInfo[]
  /** Histogram of log10 F over θ. */
  histogram?: { min: number; max: number; width: number; edges: number[]; counts: number[]; zeros: number; below: number; above: number }
  /** Per-sample scores s_i: their distribution and a histogram (log10). */
  sampleScores?: { scope: string; count: number; distribution: Quantiles; log10Histogram: Histogram }
  /** IRD rounds so far (live: grows round by round). */
  irdRounds: IrdRoundInfo[]
  ird?: { poolSize: number; stopReason: string; finalFishOverlap: IrdRoundInfo['fishOverlap'] }
  selectedPerTensor?: Record<string, number>
}

export interface RunFinished {
  runId: string
  status: Exclude<RunStatus, 'running'>
  reason?: string
  metrics?: Record<string, number>
  main?: number
  /** RunSummaryInfo.warnings, so an open window shows them without re-reading the run. */
  warnings?: string[]
}

/** A point of the training curve (step events, thinned to at most RUN_CURVE_POINTS). */
export interface CurvePoint {
  step: number
  epoch?: number
  loss?: number
  lr?: number
  elapsedMs: number
}
export const RUN_CURVE_POINTS = 2_000

/** Everything about one run, for a window that opens while it runs or after: then events follow. */
export interface RunSnapshot {
  summary: RunListEntry
  /** config.json as written by the run (paths absolute, hashes of the data). */
  config: Record<string, unknown> | null
  /** Milestone events in order (every phase but per-step training events). */
  events: Array<{ time: string; elapsedMs: number; phase: string; [key: string]: unknown }>
  curve: CurvePoint[]
  /** Evaluations per epoch. */
  metrics: RunMetric[]
  fisher: FisherChartData | null
  /** results.json once completed. */
  results: Record<string, unknown> | null
}

export interface RunEstimate {
  totalParams: number
  headSize: number
  thetaSize: number
  /** Entries of θ selected (fish, ird, random), from the keep ratio or as asked. */
  k: number | null
  keepRatio: number | null
  /** Trainable entries (k + head; biases for bitfit; all for full). */
  trainable: number
  trainRows: number
  devRows: number | null
  nSamples: number | null
  /** Per-sample gradients of the Fisher passes (IRD: upper bound over its rounds). */
  fisherGradients: number
  trainSteps: number
  throughput: {
    /** Fisher per-sample gradients per second and training samples per second. */
    fisherPerSec: number
    trainPerSec: number
    /** 'measured' on this engine at this model size and length, or 'assumed' (no measurement yet). */
    source: 'measured' | 'assumed'
    backend: string
    seqLen: number
  }
  seconds: { fisher: number; train: number; eval: number; total: number }
  /** Peak bytes by part (total = the peak of selection and training), from src/engine/jobs/memory.ts. */
  memoryBytes: { weights: number; fisher: number; optimizer: number; activations: number; total: number }
  /** Against this machine: 'ok', 'tight' (> 80 % of free memory), 'over'; with what to change when not ok. */
  memory?: { verdict: 'ok' | 'tight' | 'over' | 'unknown'; warning: string | null; advice: string[]; selectionBytes: number; trainingBytes: number; perInstanceBytes: number; freeBytes: number | null }
  notes: string[]
}

export interface CompareTables {
  header: string[]
  rows: string[][]
  markdown: string
  csv: string
  latex: string
}

export interface MaskOverlapMatrix {
  runIds: string[]
  /** |mask| per run (head included); null where the mask could not be read. */
  counts: Array<number | null>
  /** |A ∩ B| and Jaccard |A ∩ B| / |A ∪ B|, indexed like runIds; null where a mask is missing or the models differ. */
  intersection: Array<Array<number | null>>
  jaccard: Array<Array<number | null>>
  /** Runs whose mask could not be read (no mask/, another model shape), with why; they get null rows. */
  problems: Array<{ runId: string; message: string }>
}

// ---------------------------------------------------------------------------------------------------------
// Validators for what the renderer sends

export const columnRef: Validator<ColumnRef> = (value, p) => {
  if (typeof value === 'string') return string({ maxLength: 1_000, nonEmpty: true })(value, p)
  if (typeof value === 'number') return number({ integer: true, min: 0, max: 100_000 })(value, p)
  throw new ValidationError(p, 'a column name or 0-based column index', value)
}

export const columnMapping: Validator<ColumnMapping> = object({
  textA: columnRef,
  textB: optional(columnRef),
  label: optional(columnRef),
  id: optional(columnRef)
})

export const datasetOptions: Validator<DatasetOptions> = object({
  task: optional(oneOf(TASK_NAMES)),
  split: optional(oneOf(SPLITS)),
  format: optional(oneOf(DATA_FORMATS)),
  delimiter: optional(string({ maxLength: 1, nonEmpty: true })),
  quoting: optional(oneOf(QUOTINGS)),
  header: optional(boolean),
  mapping: optional(columnMapping),
  labelType: optional(oneOf(['classification', 'regression'] as const)),
  labelNames: optional(array(string({ maxLength: 1_000 }), { maxLength: 10_000 })),
  labelFromLast: optional(boolean),
  encoding: optional(string({ maxLength: 40, nonEmpty: true })),
  dropBadRows: optional(boolean),
  dropDuplicates: optional(boolean)
})

const fileName: Validator<string> = (value, p) => {
  const name = string({ maxLength: MAX_FILE_NAME_LENGTH, nonEmpty: true })(value, p)
  // A name, not a path: the upload is stored under the app's own folder.
  if (/[\\/\0]/.test(name) || name === '.' || name === '..') throw new ValidationError(p, 'a file name without folders', value)
  return name
}

const uploadSource = object({ name: fileName, content: string({ maxLength: MAX_UPLOAD_CHARS }) })
export const dataSource: Validator<DataSource> = (value, p) => {
  // An object naming a file or carrying content is an upload, whichever of the two is missing.
  if (isPlainObject(value) && !Object.hasOwn(value, 'path') && Object.hasOwn(value, 'name')) return uploadSource(value, p)
  return either('path', object({ path }), 'content', uploadSource, '{ path } or { name, content }')(value, p)
}

export const datasetId: Validator<string> = (value, p) => {
  const id = string({ maxLength: 100, nonEmpty: true })(value, p)
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id) || id.includes('..')) throw new ValidationError(p, 'a dataset id (letters, digits, ".", "_", "-")', value)
  return id
}

export const datasetRef: Validator<DatasetRef> = either('id', object({ id: datasetId }), 'path', object({ path }), '{ id } or { path }')

export const runId: Validator<string> = (value, p) => {
  const id = string({ maxLength: 128, nonEmpty: true })(value, p)
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id) || id.includes('..')) throw new ValidationError(p, 'a run id (letters, digits, ".", "_", "-")', value)
  return id
}

const positiveRatio: Validator<number> = (value, p) => {
  const r = number({ min: 0, max: 1 })(value, p)
  if (r <= 0) throw new ValidationError(p, '> 0', value)
  return r
}

export const runConfig: Validator<RunConfig> = object({
  name: optional(string({ maxLength: 200 })),
  modelDir: path,
  task: oneOf(TASK_NAMES),
  trainFile: path,
  devFile: optional(path),
  trainOptions: optional(datasetOptions),
  devOptions: optional(datasetOptions),
  method: oneOf(SELECTION_METHODS),
  keepRatio: positiveRatio,
  nSamples: number({ integer: true, min: 1, max: 100_000_000 }),
  nSamplesExplicit: optional(boolean),
  seed: number({ integer: true, min: 0, max: 2 ** 32 - 1 }),
  maxLength: number({ integer: true, min: 8, max: 4_096 }),
  batchSize: number({ integer: true, min: 1, max: 4_096 }),
  epochs: number({ integer: true, min: 1, max: 1_000 }),
  lr: (value, p) => {
    const lr = number({ min: 0, max: 1 })(value, p)
    if (lr <= 0) throw new ValidationError(p, '> 0', value)
    return lr
  },
  warmupRatio: number({ min: 0, max: 1 }),
  weightDecay: number({ min: 0, max: 10 }),
  maxGradNorm: number({ min: 0, max: 1e6 }),
  fisher: object({
    variant: oneOf(['label', 'expect'] as const),
    power: oneOf(['square', 'absolute'] as const),
    batchSize: number({ integer: true, min: 1, max: 1_024 })
  }),
  ird: object({
    poolFactor: number({ min: 1, max: 10_000 }),
    alphaS: positiveRatio,
    alphaP: positiveRatio,
    maxRounds: nullable(number({ integer: true, min: 1, max: 1_000 }))
  }),
  maxTrainExamples: nullable(number({ integer: true, min: 1, max: 1_000_000_000 })),
  workers: number({ integer: true, min: 0, max: 256 }),
  maskDir: optional(path),
  checkpointEvery: optional(number({ integer: true, min: 0, max: 1e9 }))
})

/** The fields of a RunConfig (a run's config.json holds these and its own record fields). */
export const RUN_CONFIG_KEYS = [
  'name', 'modelDir', 'task', 'trainFile', 'devFile', 'trainOptions', 'devOptions', 'method', 'keepRatio', 'nSamples',
  'nSamplesExplicit', 'seed', 'maxLength', 'batchSize', 'epochs', 'lr', 'warmupRatio', 'weightDecay', 'maxGradNorm',
  'fisher', 'ird', 'maxTrainExamples', 'workers', 'maskDir', 'checkpointEvery'
] as const satisfies ReadonlyArray<keyof RunConfig>

/** The defaults of `ird-studio run` (src/cli/main.ts), for forms; paths empty. */
export function defaultRunConfig(task: TaskName = 'sst2'): RunConfig {
  return {
    modelDir: '',
    task,
    trainFile: '',
    method: 'ird',
    keepRatio: 0.005,
    nSamples: 1024,
    seed: 0,
    maxLength: 128,
    batchSize: task === 'rte' ? 8 : 16,
    epochs: 7,
    lr: 5e-5,
    warmupRatio: 0,
    weightDecay: 0,
    maxGradNorm: 1,
    fisher: { variant: 'label', power: 'square', batchSize: 16 },
    ird: { poolFactor: 8, alphaS: 0.5, alphaP: 0.5, maxRounds: null },
    maxTrainExamples: null,
    workers: 0
  }
}

/** Turns one ValidationError into the {field, message} a config report lists. */
export function problemOf(e: unknown): { field: string; message: string } {
  if (e instanceof ValidationError) return { field: e.field, message: e.message }
  return { field: 'config', message: e instanceof Error ? e.message : String(e) }
}

export { isPlainObject }

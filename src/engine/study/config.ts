/**
 * A GLUE study's configuration: a union of grids (tasks × methods × keep ratios × sample budgets × seeds),
 * the caps that make it fit the machine, and the training settings every cell shares. Parsed from JSON
 * with errors that name the file and the field.
 *
 * Owns: the config shape, its validation and defaults, and expanding grids into cells. Two grid points
 * that cannot differ are one cell: bitfit and full use neither the keep ratio nor the sample budget,
 * random does not use the sample budget.
 * Must not: run anything or touch the disk beyond reading the config file.
 */
import { readFileSync } from 'node:fs'
import { dirname, isAbsolute, resolve } from 'node:path'
import { TASK_NAMES, type TaskName } from '../data'
import { SELECTION_METHODS, type SelectionMethod } from '../selection'

export interface StudyGrid {
  tasks: TaskName[]
  methods: SelectionMethod[]
  keepRatios: number[]
  sampleBudgets: number[]
  seeds: number[]
}

export interface StudyCaps {
  /** Seeded training subset per task (null = all). */
  maxTrain: number | null
  epochs: number
  maxLength: number
}

export interface StudyTraining {
  lr: number
  /** lr for method "full" (dense fine-tuning wants a smaller step than a sparse mask). */
  fullLr: number
  batchSize: number
  warmupRatio: number
  weightDecay: number
  maxGradNorm: number
}

export interface StudyConfig {
  name: string
  /** Shown under the report's title: what the study is for and how to read it. */
  description?: string
  /** "demo" (the embedded demo model) or a Hugging Face model folder. */
  model: string
  /** Folder with the GLUE task folders (SST-2/, CoLA/, …). */
  glueDir: string
  grids: StudyGrid[]
  caps: StudyCaps
  /** Per-task overrides of caps and training (e.g. more epochs for small tasks). */
  perTask: Partial<Record<TaskName, Partial<StudyCaps & StudyTraining>>>
  training: StudyTraining
  ird: { poolFactor: number; alphaS: number; alphaP: number; maxRounds: number | null }
  /** Worker threads per cell (null = one per core). */
  workers: number | null
  /** Where the study keeps its runs and state (relative to the config file). */
  outDir: string
  /** Settings for `study --slurm` (flags override them); absent = none. */
  slurm?: StudySlurmConfig
}

/** The study config's "slurm" section: how `study --slurm` submits the grid (every key optional). */
export interface StudySlurmConfig {
  partition?: string
  account?: string
  qos?: string
  /** At most this many array tasks at once (`--array=…%N`). */
  throttle?: number
  /** Extra `#SBATCH` options, e.g. "--gres=gpu:1" or "--constraint=avx2". */
  sbatch?: string[]
  /** Shell lines run on the node before the cell, e.g. "module load nodejs/20". */
  preamble?: string[]
  /** The study's outDir (runs, state) as the nodes see it (absolute). */
  nodeOutDir?: string
  /** The model folder as the nodes see it (absolute). */
  nodeModel?: string
  /** The GLUE folder as the nodes see it (absolute). */
  nodeGlueDir?: string
  /** This config file as the nodes see it (absolute). */
  nodeConfig?: string
  /** How the nodes start the CLI, e.g. "node /shared/ird-studio/bin/ird-studio.js" (default: this checkout's). */
  nodeCommand?: string
  /** Per-task resources (default: from the engine's estimates, with a margin). */
  cpus?: number
  memMb?: number
  timeMinutes?: number
  /** Requeue preempted tasks, and requeue a task that nears its time limit after it checkpointed. */
  requeue?: boolean
}

export interface StudyCell {
  /** Stable id: task/method/k<keep>/n<samples>/s<seed>, "-" for an axis the method does not use. */
  key: string
  task: TaskName
  method: SelectionMethod
  keepRatio: number | null
  nSamples: number | null
  seed: number
}

export class StudyConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'StudyConfigError'
  }
}

const DEFAULTS = {
  caps: { maxTrain: null, epochs: 3, maxLength: 128 } as StudyCaps,
  training: { lr: 1e-3, fullLr: 1e-4, batchSize: 32, warmupRatio: 0.06, weightDecay: 0, maxGradNorm: 1 } as StudyTraining,
  ird: { poolFactor: 8, alphaS: 0.5, alphaP: 0.5, maxRounds: null }
}

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

function fail(file: string, field: string, expected: string, got: unknown): never {
  throw new StudyConfigError(`${file}: "${field}" must be ${expected}, got ${JSON.stringify(got)}`)
}

function num(file: string, field: string, v: unknown, opts: { int?: boolean; min?: number; max?: number; gt?: number }): number {
  const what = `${opts.int ? 'an integer' : 'a number'}${opts.gt !== undefined ? ` > ${opts.gt}` : ''}${opts.min !== undefined ? ` ≥ ${opts.min}` : ''}${opts.max !== undefined ? ` ≤ ${opts.max}` : ''}`
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(file, field, what, v)
  if (opts.int && !Number.isInteger(v)) fail(file, field, what, v)
  if ((opts.min !== undefined && v < opts.min) || (opts.max !== undefined && v > opts.max) || (opts.gt !== undefined && v <= opts.gt)) fail(file, field, what, v)
  return v
}

function list<T>(file: string, field: string, v: unknown, item: (x: unknown, f: string) => T): T[] {
  if (!Array.isArray(v) || v.length === 0) fail(file, field, 'a non-empty list', v)
  return v.map((x, i) => item(x, `${field}[${i}]`))
}

function parseGrid(file: string, field: string, v: unknown): StudyGrid {
  if (!isObj(v)) fail(file, field, 'an object with tasks, methods, keepRatios, sampleBudgets, seeds', v)
  const known = new Set(['tasks', 'methods', 'keepRatios', 'sampleBudgets', 'seeds'])
  for (const k of Object.keys(v)) if (!known.has(k)) fail(file, `${field}.${k}`, `absent (unknown key; known: ${[...known].join(', ')})`, v[k])
  return {
    tasks: list(file, `${field}.tasks`, v.tasks, (x, f) => ((TASK_NAMES as string[]).includes(x as string) ? (x as TaskName) : fail(file, f, `one of ${TASK_NAMES.join(', ')}`, x))),
    methods: list(file, `${field}.methods`, v.methods, (x, f) =>
      (SELECTION_METHODS as readonly string[]).includes(x as string) ? (x as SelectionMethod) : fail(file, f, `one of ${SELECTION_METHODS.join(', ')}`, x)
    ),
    keepRatios: list(file, `${field}.keepRatios`, v.keepRatios, (x, f) => num(file, f, x, { gt: 0, max: 1 })),
    sampleBudgets: list(file, `${field}.sampleBudgets`, v.sampleBudgets, (x, f) => num(file, f, x, { int: true, min: 1 })),
    seeds: list(file, `${field}.seeds`, v.seeds, (x, f) => num(file, f, x, { int: true, min: 0 }))
  }
}

function pick<T extends object>(file: string, field: string, v: unknown, defaults: T, spec: Record<keyof T, { int?: boolean; min?: number; max?: number; gt?: number; nullable?: boolean }>, partial = false): T {
  if (v === undefined) return partial ? ({} as T) : { ...defaults }
  if (!isObj(v)) fail(file, field, 'an object', v)
  const out: Obj = partial ? {} : { ...defaults }
  for (const [k, val] of Object.entries(v)) {
    const s = spec[k as keyof T]
    if (!s) fail(file, `${field}.${k}`, `absent (unknown key; known: ${Object.keys(spec).join(', ')})`, val)
    out[k] = val === null && s.nullable ? null : num(file, `${field}.${k}`, val, s)
  }
  return out as T
}

const CAP_SPEC = { maxTrain: { int: true, min: 1, nullable: true }, epochs: { int: true, min: 1 }, maxLength: { int: true, min: 8, max: 512 } }
const TRAIN_SPEC = { lr: { gt: 0 }, fullLr: { gt: 0 }, batchSize: { int: true, min: 1 }, warmupRatio: { min: 0, max: 1 }, weightDecay: { min: 0 }, maxGradNorm: { min: 0 } }

export function parseStudyConfig(raw: unknown, file: string): StudyConfig {
  if (!isObj(raw)) fail(file, '(top level)', 'an object', raw)
  const known = new Set(['name', 'model', 'glueDir', 'grids', 'caps', 'perTask', 'training', 'ird', 'workers', 'outDir', 'description', 'slurm'])
  for (const k of Object.keys(raw)) if (!known.has(k)) fail(file, k, `absent (unknown key; known: ${[...known].join(', ')})`, raw[k])
  const str = (k: string, def?: string): string => {
    const v = raw[k] ?? def
    if (typeof v !== 'string' || !v) fail(file, k, 'a non-empty string', v)
    return v
  }
  const base = dirname(resolve(file))
  const rel = (p: string) => (p === 'demo' || isAbsolute(p) ? p : resolve(base, p))
  const perTask: StudyConfig['perTask'] = {}
  if (raw.perTask !== undefined) {
    if (!isObj(raw.perTask)) fail(file, 'perTask', 'an object keyed by task', raw.perTask)
    for (const [t, v] of Object.entries(raw.perTask)) {
      if (!(TASK_NAMES as string[]).includes(t)) fail(file, `perTask.${t}`, `keyed by one of ${TASK_NAMES.join(', ')}`, t)
      perTask[t as TaskName] = pick(file, `perTask.${t}`, v, {} as StudyCaps & StudyTraining, { ...CAP_SPEC, ...TRAIN_SPEC }, true)
    }
  }
  const ird = raw.ird === undefined ? { ...DEFAULTS.ird } : pick(file, 'ird', raw.ird, DEFAULTS.ird, { poolFactor: { min: 1 }, alphaS: { gt: 0, max: 1 }, alphaP: { gt: 0, max: 1 }, maxRounds: { int: true, min: 1, nullable: true } })
  if (raw.description !== undefined && typeof raw.description !== 'string') fail(file, 'description', 'a string', raw.description)
  return {
    name: str('name'),
    ...(raw.description ? { description: raw.description as string } : {}),
    model: rel(str('model', 'demo')),
    glueDir: rel(str('glueDir')),
    grids: list(file, 'grids', raw.grids, (g, f) => parseGrid(file, f, g)),
    caps: pick(file, 'caps', raw.caps, DEFAULTS.caps, CAP_SPEC),
    perTask,
    training: pick(file, 'training', raw.training, DEFAULTS.training, TRAIN_SPEC),
    ird,
    workers: raw.workers === undefined || raw.workers === null ? null : num(file, 'workers', raw.workers, { int: true, min: 0, max: 256 }),
    outDir: rel(str('outDir', 'study')),
    ...(raw.slurm !== undefined ? { slurm: parseSlurm(file, raw.slurm) } : {})
  }
}

const SLURM_KEYS = ['partition', 'account', 'qos', 'throttle', 'sbatch', 'preamble', 'nodeOutDir', 'nodeModel', 'nodeGlueDir', 'nodeConfig', 'nodeCommand', 'cpus', 'memMb', 'timeMinutes', 'requeue'] as const

/** A value that goes into a batch script line: one line, no NUL. */
function oneLine(file: string, field: string, v: unknown): string {
  if (typeof v !== 'string' || !v.trim() || /[\n\r\0]/.test(v)) fail(file, field, 'a non-empty one-line string', v)
  return v
}

/** Partition, account and QoS names as Slurm allows them (letters, digits, . _ - ,). */
export function checkSlurmName(what: string, v: string): string | null {
  return /^[A-Za-z0-9._,-]+$/.test(v) ? null : `${what} "${v}" is not a Slurm name (letters, digits, '.', '_', '-', ',')`
}

/** One extra sbatch option: "--name[=value]" (the "#SBATCH " prefix is optional). */
export function checkSbatchLine(v: string): string | null {
  const t = v.replace(/^#SBATCH\s+/, '')
  return /^--?[A-Za-z][A-Za-z0-9-]*(=\S.*|\s+\S.*)?$/.test(t) ? null : `"${v}" is not an sbatch option (expected e.g. "--gres=gpu:1")`
}

function parseSlurm(file: string, v: unknown): StudySlurmConfig {
  if (!isObj(v)) fail(file, 'slurm', 'an object', v)
  const out: StudySlurmConfig = {}
  for (const [k, val] of Object.entries(v)) {
    const f = `slurm.${k}`
    switch (k as (typeof SLURM_KEYS)[number]) {
      case 'partition':
      case 'account':
      case 'qos': {
        const name = oneLine(file, f, val)
        const bad = checkSlurmName(k, name)
        if (bad) fail(file, f, "a Slurm name (letters, digits, '.', '_', '-', ',')", val)
        out[k as 'partition'] = name
        break
      }
      case 'nodeOutDir':
      case 'nodeModel':
      case 'nodeGlueDir':
      case 'nodeConfig': {
        const p = oneLine(file, f, val)
        if (!isAbsolute(p)) fail(file, f, 'an absolute path (as the nodes see it)', val)
        out[k as 'nodeOutDir'] = p
        break
      }
      case 'nodeCommand':
        out.nodeCommand = oneLine(file, f, val)
        break
      case 'sbatch':
        out.sbatch = (Array.isArray(val) ? val : fail(file, f, 'a list of sbatch options', val)).map((x, i) => {
          const line = oneLine(file, `${f}[${i}]`, x)
          if (checkSbatchLine(line)) fail(file, `${f}[${i}]`, 'an sbatch option such as "--gres=gpu:1"', x)
          return line
        })
        break
      case 'preamble':
        out.preamble = (Array.isArray(val) ? val : fail(file, f, 'a list of shell lines', val)).map((x, i) => oneLine(file, `${f}[${i}]`, x))
        break
      case 'throttle':
        out.throttle = num(file, f, val, { int: true, min: 1 })
        break
      case 'cpus':
        out.cpus = num(file, f, val, { int: true, min: 1, max: 4096 })
        break
      case 'memMb':
        out.memMb = num(file, f, val, { int: true, min: 64 })
        break
      case 'timeMinutes':
        out.timeMinutes = num(file, f, val, { int: true, min: 1 })
        break
      case 'requeue':
        if (typeof val !== 'boolean') fail(file, f, 'true or false', val)
        out.requeue = val
        break
      default:
        fail(file, f, `absent (unknown key; known: ${SLURM_KEYS.join(', ')})`, val)
    }
  }
  return out
}

export function loadStudyConfig(file: string): StudyConfig {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    throw new StudyConfigError(`cannot read study config ${file}: ${(e as Error).message}`)
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (e) {
    throw new StudyConfigError(`${file} is not valid JSON: ${(e as Error).message}`)
  }
  return parseStudyConfig(raw, file)
}

export function cellKey(c: Omit<StudyCell, 'key'>): string {
  return `${c.task}/${c.method}/k${c.keepRatio ?? '-'}/n${c.nSamples ?? '-'}/s${c.seed}`
}

/** All cells of all grids, in grid order, each once. */
export function expandCells(cfg: Pick<StudyConfig, 'grids'>): StudyCell[] {
  const out: StudyCell[] = []
  const seen = new Set<string>()
  for (const g of cfg.grids) {
    for (const task of g.tasks)
      for (const keep of g.keepRatios)
        for (const n of g.sampleBudgets)
          for (const seed of g.seeds)
            for (const method of g.methods) {
              const usesKeep = method === 'ird' || method === 'fish' || method === 'random'
              const usesSamples = method === 'ird' || method === 'fish'
              const c = { task, method, keepRatio: usesKeep ? keep : null, nSamples: usesSamples ? n : null, seed }
              const key = cellKey(c)
              if (seen.has(key)) continue
              seen.add(key)
              out.push({ key, ...c })
            }
  }
  return out
}

/** The caps and training settings that apply to a task (config, then its perTask overrides). */
export function settingsFor(cfg: StudyConfig, task: TaskName): StudyCaps & StudyTraining {
  return { ...cfg.caps, ...cfg.training, ...(cfg.perTask[task] ?? {}) }
}

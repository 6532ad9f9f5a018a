/**
 * Running a study: every cell once, resumably. State lives in <outDir>/state.json (written atomically after
 * every cell): for each cell key, the run that computed it, its status and a hash of the settings it ran
 * with. On a re-run a cell is skipped when its recorded run is completed, still in the run store, and ran
 * with the same settings; anything else (failed, cancelled, interrupted, settings changed, run deleted) is
 * run again as a new run. Cells run one after another; each uses every core through the engine's worker
 * threads (Fisher passes and data-parallel training), which on a 2-core machine is faster than two cells
 * side by side, each with one core, and keeps results independent of scheduling.
 *
 * Owns: the cell → job config mapping, skip/resume decisions, the state file.
 * Must not: aggregate or report (report.ts), or know how a job runs (the runner is injected; the CLI passes
 * runJob).
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { availableParallelism } from 'node:os'
import { glueFilePath } from '../data'
import { writeJsonAtomic } from '../io/atomic'
import type { RunJobConfig } from '../jobs/run-job'
import type { RunStore } from '../runs/store'
import { DEFAULT_KEEP_RATIO, DEFAULT_N_SAMPLES } from '../selection'
import { expandCells, settingsFor, type StudyCell, type StudyConfig } from './config'

export interface CellOutcome {
  key: string
  runId: string
  status: 'completed' | 'failed' | 'cancelled'
  reason?: string
  settingsHash: string
  main?: number
  elapsedMs?: number
  finishedAt: string
}

export interface StudyState {
  version: 1
  name: string
  cells: Record<string, CellOutcome>
}

export type CellRunner = (cell: StudyCell, job: RunJobConfig) => Promise<{ runId: string; status: 'completed' | 'failed' | 'cancelled'; reason?: string }>

export interface StudyProgress {
  index: number
  total: number
  cell: StudyCell
  action: 'skip' | 'start' | 'done'
  outcome?: CellOutcome
}

export interface RunStudyOptions {
  store: RunStore
  /** The model folder ("demo" already resolved). */
  modelDir: string
  backend: string
  runner: CellRunner
  onProgress?(p: StudyProgress): void
  shouldCancel?(): boolean
  /** Only cells whose key contains this text. */
  filter?: string
}

export interface StudySummary {
  total: number
  skipped: number
  ran: number
  completed: number
  failed: string[]
  cancelled: boolean
  state: StudyState
}

export function statePath(cfg: Pick<StudyConfig, 'outDir'>): string {
  return join(cfg.outDir, 'state.json')
}

/**
 * Cells that run in parallel (Slurm array tasks, on several nodes) never share a file: each writes its own
 * outcome to <outDir>/cells/<key>.json (atomically); readState merges them over state.json, newest wins.
 */
export function cellsDir(cfg: Pick<StudyConfig, 'outDir'>): string {
  return join(cfg.outDir, 'cells')
}

/** A cell key as a file name: "sst2/fish/k0.01/n16/s1" → "sst2~fish~k0.01~n16~s1.json". */
export function cellFileName(key: string): string {
  return `${key.replace(/[^A-Za-z0-9._-]/g, '~')}.json`
}

export function writeCellOutcome(cfg: Pick<StudyConfig, 'outDir'>, outcome: CellOutcome): void {
  mkdirSync(cellsDir(cfg), { recursive: true })
  writeJsonAtomic(join(cellsDir(cfg), cellFileName(outcome.key)), outcome)
}

export function readState(cfg: Pick<StudyConfig, 'outDir' | 'name'>): StudyState {
  const p = statePath(cfg)
  let state: StudyState = { version: 1, name: cfg.name, cells: {} }
  if (existsSync(p)) {
    let raw: StudyState
    try {
      raw = JSON.parse(readFileSync(p, 'utf8')) as StudyState
    } catch (e) {
      throw new Error(`${p} is not readable JSON (${(e as Error).message}); move it away to start the study afresh`)
    }
    if (raw.version !== 1 || typeof raw.cells !== 'object') throw new Error(`${p}: not a study state file (version ${String(raw.version)})`)
    state = raw
  }
  const dir = cellsDir(cfg)
  if (existsSync(dir)) {
    for (const name of readdirSync(dir)) {
      if (!name.endsWith('.json') || name.startsWith('.')) continue // temp files of a writer in progress
      let o: CellOutcome
      try {
        o = JSON.parse(readFileSync(join(dir, name), 'utf8')) as CellOutcome
      } catch {
        continue // cannot happen with atomic writes; a foreign file is not ours to judge
      }
      if (typeof o?.key !== 'string' || typeof o.finishedAt !== 'string') continue
      const prev = state.cells[o.key]
      if (!prev || prev.finishedAt <= o.finishedAt) state.cells[o.key] = o
    }
  }
  return state
}

/** The job a cell runs. Paths are absolute; the name ties the run to its cell. */
export function cellJobConfig(cfg: StudyConfig, cell: StudyCell, modelDir: string, backend: string): RunJobConfig {
  const s = settingsFor(cfg, cell.task)
  return {
    name: `study:${cfg.name}:${cell.key}`,
    modelDir,
    task: cell.task,
    trainFile: glueFilePath(cfg.glueDir, cell.task, 'train'),
    devFile: glueFilePath(cfg.glueDir, cell.task, 'dev'),
    method: cell.method,
    keepRatio: cell.keepRatio ?? DEFAULT_KEEP_RATIO,
    nSamples: cell.nSamples ?? DEFAULT_N_SAMPLES,
    nSamplesExplicit: cell.nSamples !== null,
    seed: cell.seed,
    maxLength: s.maxLength,
    batchSize: s.batchSize,
    epochs: s.epochs,
    lr: cell.method === 'full' ? s.fullLr : s.lr,
    warmupRatio: s.warmupRatio,
    weightDecay: s.weightDecay,
    maxGradNorm: s.maxGradNorm,
    fisher: { variant: 'label', power: 'square', batchSize: 16 },
    ird: { ...cfg.ird },
    maxTrainExamples: s.maxTrain,
    workers: cfg.workers ?? (backend === 'wasm' || backend === 'cpu' ? availableParallelism() : 0),
    backend
  }
}

/** What makes two runs of a cell comparable: everything in the job but paths, name, workers and backend. */
export function settingsHash(job: RunJobConfig): string {
  const { name: _n, modelDir: _m, trainFile: _t, devFile: _d, workers: _w, backend: _b, ...rest } = job
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex').slice(0, 16)
}

export async function runStudy(cfg: StudyConfig, opts: RunStudyOptions): Promise<StudySummary> {
  mkdirSync(cfg.outDir, { recursive: true })
  const state = readState(cfg)
  const cells = expandCells(cfg).filter((c) => !opts.filter || c.key.includes(opts.filter))
  const summary: StudySummary = { total: cells.length, skipped: 0, ran: 0, completed: 0, failed: [], cancelled: false, state }
  const known = new Map(opts.store.list().map((r) => [r.id, r]))
  for (let i = 0; i < cells.length; i++) {
    const cell = cells[i]
    const job = cellJobConfig(cfg, cell, opts.modelDir, opts.backend)
    const hash = settingsHash(job)
    const prev = state.cells[cell.key]
    if (prev && prev.status === 'completed' && prev.settingsHash === hash && known.get(prev.runId)?.status === 'completed') {
      summary.skipped++
      summary.completed++
      opts.onProgress?.({ index: i, total: cells.length, cell, action: 'skip', outcome: prev })
      continue
    }
    if (opts.shouldCancel?.()) {
      summary.cancelled = true
      break
    }
    opts.onProgress?.({ index: i, total: cells.length, cell, action: 'start' })
    const res = await opts.runner(cell, job)
    summary.ran++
    // one summary file, not a scan of every run in the store
    const run = existsSync(join(opts.store.dir(res.runId), 'summary.json')) ? opts.store.open(res.runId).summary : undefined
    const outcome: CellOutcome = {
      key: cell.key,
      runId: res.runId,
      status: res.status,
      ...(res.reason ? { reason: res.reason } : {}),
      settingsHash: hash,
      ...(run?.main !== undefined ? { main: run.main } : {}),
      ...(run?.elapsedMs !== undefined ? { elapsedMs: run.elapsedMs } : {}),
      finishedAt: new Date().toISOString()
    }
    state.cells[cell.key] = outcome
    writeJsonAtomic(statePath(cfg), state)
    writeCellOutcome(cfg, outcome)
    opts.onProgress?.({ index: i, total: cells.length, cell, action: 'done', outcome })
    if (res.status === 'completed') summary.completed++
    else if (res.status === 'failed') summary.failed.push(`${cell.key}: ${res.reason ?? 'failed'}`)
    else {
      summary.cancelled = true
      break
    }
  }
  return summary
}

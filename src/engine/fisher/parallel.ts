/**
 * Fisher over many samples on every core: several workers each compute the Fisher of a share of the
 * batches, and the parent adds the shares up — with a result that does not depend on the worker count.
 *
 * Why worker_threads, not child processes: one wasm TensorFlow.js instance uses one core, and every
 * worker thread has its own V8 isolate, hence its own tfjs + wasm instance. Threads can share memory:
 * the weights go into one SharedArrayBuffer that every worker reads (sent once, never copied per worker
 * or per batch), and unit results come back as transferred buffers (no copy). A thread cannot outlive
 * its process, so no worker is ever orphaned, even when the engine process is killed; terminate() is
 * immediate. Threads work the same under plain Node (tests, CLI, tsx) and inside Electron's
 * utilityProcess (the engine process), where a child process would have to fork the Electron binary as
 * Node. The price: a native crash in a worker would end the whole process — wasm and cpu run no native
 * code of their own, and the tfjs-node backends gain nothing from workers (they use every core already).
 *
 * Determinism: batches are grouped into fixed units (`unitBatches` consecutive batches, default 1); each
 * unit's float32 contribution is computed by a fresh FisherAccumulator (units.ts → computeUnit), by
 * whichever worker is free (a queue: a slow worker does not hold up the rest), and the parent adds the
 * contributions in unit order in float32 (OrderedReducer). So workers = 0 (in-process), 1, 2, … give
 * bit-identical F, scores and sample counts. Versus one FisherAccumulator fed every batch, F differs
 * only by float32 rounding (that one rounds after every sample, this after every unit).
 *
 * Persistent pool (createFisherPool): starting a worker costs 1–2 s (tfjs + wasm + building the model),
 * so the passes of one selection (IRD: two per round) share one pool: the workers start once with the
 * weights, and each run (pass) sends only its batches and, with a worker's first unit of the run, the
 * run's settings (variant, power, scores, parameter subset, score range). A pool serves one set of
 * weights; runs are sequential; a cancelled run or a failed worker closes the pool (a closed pool stays
 * closed). computeFisherParallel is a pool made for one pass: create + run + close.
 *
 * Memory in the parent: F (one float32 per parameter that gets a value) + the weights once in a
 * SharedArrayBuffer while the pass (or the pool) lives (4 bytes per parameter) + unit results: at most
 * `maxInFlightUnits − 1` wait for an older unit, plus the one being added (default maxInFlightUnits =
 * workers + 1: peak workers + 1 results, usually 1). One unit result is a float32 per non-embedding
 * parameter that gets a value plus the embedding rows the unit touched (sparse) — e.g. ~14 MB for the
 * 11 M-parameter 'mini' model at batch 16 × 128 tokens, ~345 MB for BERT-base.
 * Each worker holds its own copy of the model on its backend plus one unit's accumulators.
 *
 * Cancellation: shouldCancel() is asked between units (and every 100 ms while units run); on true, the
 * workers are terminated and the promise rejects with FisherCancelledError. Any failure terminates every
 * worker before the promise settles: a failed or cancelled run never leaves a worker running, and
 * computeFisherParallel never does; a pool's workers live from createFisherPool to close().
 * Must not: pick samples or parameters (selection does), or touch files.
 */
import { availableParallelism } from 'node:os'
import type { Worker } from 'node:worker_threads'
import { resolveWorkerEntry, startWorker } from '../util/worker-thread'
import { currentBackend, initBackend } from '../backend'
import { BertForSequenceClassification } from '../model/bert'
import { bertParameterSpec, numel, type BertConfig, type StateDict } from '../model/config'
import { CodedError } from '../../shared/errors'
import type { FisherPower, FisherVariant } from './accumulator'
import { computeUnit, makeUnits, OrderedReducer, packMasks, packState, type FisherUnitSettings, type FisherWorkBatch, type PackedTensors, type UnitRange } from './units'
import type { ParentToWorker, WorkerRunSettings, WorkerToParent } from './worker'

export type { FisherWorkBatch } from './units'

export interface ParallelFisherSettings {
  variant?: FisherVariant
  power?: FisherPower
  /** Compute per-sample scores s_i (default false). */
  scores?: boolean
  /** Score range: name → 0/1 mask over the tensor (HF layout); absent names count whole. */
  scoreRange?: Map<string, Uint8Array>
  /** Parameters that get Fisher values (default: every non-head parameter). */
  params?: string[]
}

export interface ParallelFisherOptions {
  config: BertConfig
  state: StateDict
  batches: FisherWorkBatch[]
  /** Worker threads (default os.availableParallelism()); 0 = in-process, on the caller's backend. Never more than there are units. */
  workers?: number
  fisher: ParallelFisherSettings
  /**
   * Backend of every worker (default 'auto' = wasm, else cpu: the one-core backends that gain from
   * workers; the native tfjs-node backends use every core already — run those with workers: 0).
   * In-process mode uses the running backend.
   */
  backend?: 'auto' | 'wasm' | 'cpu'
  /** Batches per work unit (default 1). Fixed by the caller: the result depends on it, never on `workers`. */
  unitBatches?: number
  /** Units that may be started past the oldest unfinished one (default workers + 1): bounds buffered results. */
  maxInFlightUnits?: number
  onProgress?(doneSamples: number, totalSamples: number): void
  shouldCancel?(): boolean
  /** The worker's entry (tests, or a packaged layout); default: see defaultFisherWorkerEntry. */
  workerEntry?: string | URL
}

export interface ParallelFisherResult {
  /** F per parameter, in config order; parameters never reached have no entry. */
  fisher: Map<string, Float32Array>
  /** Per-sample scores in batch order (empty unless fisher.scores). */
  scores: Float64Array
  /** Samples with w_i > 0 (as FisherAccumulator.samples). */
  samples: number
  /** Workers that ran (0 = in-process). */
  workers: number
  /** The backend every worker ran on. */
  backend: string
  /** The most unit results that waited at once in the parent for an older unit (≤ maxInFlightUnits − 1). */
  peakBufferedUnits: number
}

/** The pass was cancelled through shouldCancel(). */
export class FisherCancelledError extends Error {
  readonly code = 'CANCELLED'
  constructor(
    readonly doneSamples: number,
    readonly totalSamples: number
  ) {
    super(`Fisher pass cancelled after ${doneSamples} of ${totalSamples} samples`)
    this.name = 'FisherCancelledError'
  }
}

/** A worker failed: it reported an error, crashed or exited. `batch` is the index in the caller's list. */
export class FisherWorkerError extends Error {
  readonly code = 'INTERNAL'
  constructor(
    message: string,
    readonly worker: number,
    readonly batch: number | null
  ) {
    super(message)
    this.name = 'FisherWorkerError'
  }
}

const live = new Set<Worker>()

/** Fisher worker threads alive right now in this process (0 whenever no pass runs and no pool is open). */
export function activeFisherWorkers(): number {
  return live.size
}

/**
 * Where the worker entry is: from source (this file is .ts, under tsx or vitest) src/engine/fisher/worker.ts;
 * when built, out/main/fisher-worker.js, next to the entry chunk or one level up from out/main/chunks/.
 */
export function defaultFisherWorkerEntry(moduleUrl: string = import.meta.url): string {
  return resolveWorkerEntry(moduleUrl, 'worker.ts', 'fisher-worker.js', 'Fisher')
}

function invalid(field: string, message: string): CodedError {
  return new CodedError('INVALID_ARGUMENT', message, { field })
}

function validate(opts: ParallelFisherOptions): void {
  validateRun(opts.config, opts)
  const w = opts.workers
  if (w !== undefined && (!Number.isInteger(w) || w < 0)) throw invalid('workers', `workers must be a non-negative integer, got ${w}`)
}

function validateRun(config: BertConfig, opts: FisherPoolRunOptions): void {
  const { batches } = opts
  const spec = bertParameterSpec(config)
  const sizes = new Map(spec.map((s) => [s.name, numel(s.shape)]))
  batches.forEach(({ batch, labels, sampleWeights }, i) => {
    const n = batch.batchSize * batch.seqLen
    if (!Number.isInteger(batch.batchSize) || batch.batchSize < 1 || !Number.isInteger(batch.seqLen) || batch.seqLen < 1) {
      throw invalid(`batches[${i}]`, `batch ${i}: batchSize and seqLen must be positive integers`)
    }
    if (batch.inputIds.length !== n || batch.tokenTypeIds.length !== n || batch.attentionMask.length !== n) {
      throw invalid(`batches[${i}]`, `batch ${i}: inputIds, tokenTypeIds and attentionMask must hold batchSize × seqLen = ${n} values`)
    }
    if (labels.length !== batch.batchSize) throw invalid(`batches[${i}].labels`, `batch ${i}: ${labels.length} labels for ${batch.batchSize} samples`)
    if (sampleWeights && sampleWeights.length !== batch.batchSize) {
      throw invalid(`batches[${i}].sampleWeights`, `batch ${i}: ${sampleWeights.length} sample weights for ${batch.batchSize} samples`)
    }
  })
  for (const name of opts.fisher.params ?? []) if (!sizes.has(name)) throw invalid('fisher.params', `unknown parameter "${name}"`)
  for (const [name, m] of opts.fisher.scoreRange ?? []) {
    const n = sizes.get(name)
    if (n === undefined) throw invalid('fisher.scoreRange', `score range names an unknown parameter "${name}"`)
    if (m.length !== n) throw invalid('fisher.scoreRange', `score range for "${name}" has ${m.length} entries, expected ${n}`)
  }
  const u = opts.unitBatches
  if (u !== undefined && (!Number.isInteger(u) || u < 1)) throw invalid('unitBatches', `unitBatches must be a positive integer, got ${u}`)
  const f = opts.maxInFlightUnits
  if (f !== undefined && (!Number.isInteger(f) || f < 1)) throw invalid('maxInFlightUnits', `maxInFlightUnits must be a positive integer, got ${f}`)
}

function unitSettings(s: ParallelFisherSettings): FisherUnitSettings {
  return { variant: s.variant ?? 'label', power: s.power ?? 'square', scores: s.scores ?? false, params: s.params, scoreRange: s.scoreRange }
}

function batchesText(u: UnitRange): string {
  return u.batchCount === 1 ? `batch ${u.firstBatch}` : `batches ${u.firstBatch}–${u.firstBatch + u.batchCount - 1}`
}

/**
 * Compute the Fisher (and optional per-sample scores) of `batches`, on `workers` worker threads:
 * a pool of min(workers, units) workers made for this one pass (createFisherPool + run + close).
 */
export async function computeFisherParallel(opts: ParallelFisherOptions): Promise<ParallelFisherResult> {
  validate(opts)
  const units = makeUnits(opts.batches, opts.unitBatches ?? 1)
  const requested = opts.workers ?? availableParallelism()
  if (requested === 0 || units.length === 0) return runInProcess(opts, units, unitSettings(opts.fisher))
  if (opts.shouldCancel?.()) throw new FisherCancelledError(0, units.reduce((n, u) => n + u.samples, 0))
  const pool = await createFisherPool({ config: opts.config, state: opts.state, workers: Math.min(requested, units.length), backend: opts.backend, workerEntry: opts.workerEntry })
  try {
    return await pool.run(opts)
  } finally {
    await pool.close()
  }
}

async function runInProcess(opts: ParallelFisherOptions, units: UnitRange[], settings: FisherUnitSettings): Promise<ParallelFisherResult> {
  const total = units.reduce((n, u) => n + u.samples, 0)
  const reducer = new OrderedReducer(opts.config, units, settings.scores)
  let backend = currentBackend()
  const wanted = opts.backend ?? 'auto'
  if (!backend) backend = await initBackend({ force: wanted })
  else if (wanted !== 'auto' && backend.name !== wanted) {
    throw invalid('backend', `in-process Fisher (workers: 0) runs on the engine's backend "${backend.name}", not "${wanted}"`)
  }
  if (units.length === 0) return { fisher: new Map(), scores: reducer.scores, samples: 0, workers: 0, backend: backend.name, peakBufferedUnits: 0 }
  const model = BertForSequenceClassification.fromState(opts.config, opts.state)
  let done = 0
  try {
    for (const u of units) {
      if (opts.shouldCancel?.()) throw new FisherCancelledError(done, total)
      const batches = opts.batches.slice(u.firstBatch, u.firstBatch + u.batchCount)
      reducer.add(await computeUnit(model, u.unit, u.firstBatch, batches, settings))
      done += u.samples
      opts.onProgress?.(done, total)
      await new Promise<void>((resolve) => setImmediate(resolve)) // let cancellation requests arrive
    }
  } finally {
    model.dispose()
  }
  return { fisher: reducer.result(opts.config), scores: reducer.scores, samples: reducer.samples, workers: 0, backend: backend.name, peakBufferedUnits: reducer.peakBuffered }
}

// ---------------------------------------------------------------------------------------------------------
// A persistent pool: workers started once (with the weights), reused by the passes of one selection

export interface FisherPoolOptions {
  config: BertConfig
  /** The weights every run of the pool uses (copied once into a SharedArrayBuffer; the pool keeps no reference to `state`). */
  state: StateDict
  /** Worker threads, ≥ 1 (default os.availableParallelism()). In-process passes need no pool. */
  workers?: number
  /** As ParallelFisherOptions.backend (default 'auto' = wasm, else cpu). */
  backend?: 'auto' | 'wasm' | 'cpu'
  /** As ParallelFisherOptions.workerEntry. */
  workerEntry?: string | URL
}

/** One pass on a pool: ParallelFisherOptions less what the pool fixed (config, weights, workers, backend, entry). */
export type FisherPoolRunOptions = Pick<ParallelFisherOptions, 'batches' | 'fisher' | 'unitBatches' | 'maxInFlightUnits' | 'onProgress' | 'shouldCancel'>

export interface FisherPool {
  readonly config: BertConfig
  /** Worker threads of the pool (some may sit idle in a run with fewer units). */
  readonly workers: number
  /** True once close() was called, a run was cancelled or a worker failed. */
  readonly closed: boolean
  /**
   * One Fisher pass, with computeFisherParallel's semantics and result (bit-identical to it and to the
   * in-process mode for any worker count). Runs are sequential: a second run while one is in progress
   * rejects (FisherPoolBusyError). A cancelled run (FisherCancelledError) or a worker error
   * (FisherWorkerError) closes the pool; later runs reject with FisherPoolClosedError.
   */
  run(opts: FisherPoolRunOptions): Promise<ParallelFisherResult>
  /** Terminate every worker and wait until each has exited; idempotent. A run in progress rejects with FisherPoolClosedError. */
  close(): Promise<void>
}

/** A run on a pool that is closed (by close(), a cancelled run or a worker failure: see `reason`). */
export class FisherPoolClosedError extends Error {
  readonly code = 'INTERNAL'
  constructor(readonly reason: Error | null) {
    super(reason ? `the Fisher worker pool is closed (after: ${reason.message})` : 'the Fisher worker pool is closed')
    this.name = 'FisherPoolClosedError'
  }
}

/** A run started on a pool while another run is in progress. */
export class FisherPoolBusyError extends Error {
  readonly code = 'INTERNAL'
  constructor() {
    super('the Fisher worker pool is already running a pass: runs on one pool are sequential')
    this.name = 'FisherPoolBusyError'
  }
}

let workerStarts = 0

/** Fisher worker threads started in this process so far (every pool's, every pass's): for tests and benchmarks. */
export function fisherWorkerStarts(): number {
  return workerStarts
}

/**
 * Start `workers` Fisher workers on the given weights. Resolves once they are started, without waiting
 * for them to be ready (loading tfjs, wasm and the model takes a second or two): the first run begins
 * on each worker as soon as that one is ready. A worker that fails to start fails the run in progress
 * (or, when idle, closes the pool: the next run rejects naming the failure).
 */
export async function createFisherPool(opts: FisherPoolOptions): Promise<FisherPool> {
  const workers = opts.workers ?? availableParallelism()
  if (!Number.isInteger(workers) || workers < 1) throw invalid('workers', `a Fisher worker pool needs a positive integer number of workers, got ${workers}`)
  const weights = packState(opts.config, opts.state)
  const entry = opts.workerEntry ?? defaultFisherWorkerEntry()
  const pool = new WorkerPool(opts.config, workers, opts.backend ?? 'auto')
  pool.start(entry, weights)
  return pool
}

interface Slot {
  id: number
  worker: Worker
  ready: boolean
  /** The unit it computes, or null when idle. */
  unit: UnitRange | null
  /** The run whose settings it has. */
  settingsRun: number
  exited: Promise<void>
}

/** One pass in progress on a pool. */
interface Run {
  id: number
  opts: FisherPoolRunOptions
  units: UnitRange[]
  settings: WorkerRunSettings
  reducer: OrderedReducer
  total: number
  maxInFlight: number
  nextUnit: number
  done: number
  poll: ReturnType<typeof setInterval>
  resolve(r: ParallelFisherResult): void
  reject(e: Error): void
}

class WorkerPool implements FisherPool {
  private readonly slots: Slot[] = []
  private backend: string | null = null
  private current: Run | null = null
  private runs = 0
  private closing: Promise<void> | null = null
  private closeReason: Error | null = null

  constructor(
    readonly config: BertConfig,
    readonly workers: number,
    private readonly requestedBackend: 'auto' | 'wasm' | 'cpu'
  ) {}

  get closed(): boolean {
    return this.closing !== null
  }

  start(entry: string | URL, weights: PackedTensors<'f32'>): void {
    try {
      for (let id = 1; id <= this.workers; id++) {
        const slot = this.spawn(id, entry)
        const init: ParentToWorker = { type: 'init', config: this.config, weights, backend: this.requestedBackend }
        slot.worker.postMessage(init)
      }
    } catch (e) {
      void this.shutdown(e instanceof Error ? e : new Error(String(e)))
      throw e
    }
  }

  run(opts: FisherPoolRunOptions): Promise<ParallelFisherResult> {
    if (this.closing) return Promise.reject(new FisherPoolClosedError(this.closeReason))
    if (this.current) return Promise.reject(new FisherPoolBusyError())
    let units: UnitRange[]
    let settings: FisherUnitSettings
    try {
      validateRun(this.config, opts)
      units = makeUnits(opts.batches, opts.unitBatches ?? 1)
      settings = unitSettings(opts.fisher)
    } catch (e) {
      return Promise.reject(e)
    }
    const reducer = new OrderedReducer(this.config, units, settings.scores)
    const total = units.reduce((n, u) => n + u.samples, 0)
    const empty = (): ParallelFisherResult => ({ fisher: new Map(), scores: reducer.scores, samples: 0, workers: this.workers, backend: this.backend ?? this.requestedBackend, peakBufferedUnits: 0 })
    let cancelled: boolean
    try {
      cancelled = opts.shouldCancel?.() ?? false
    } catch (e) {
      return Promise.reject(e)
    }
    if (cancelled) {
      const e = new FisherCancelledError(0, total)
      return this.shutdown(e).then(() => Promise.reject(e))
    }
    if (units.length === 0) return Promise.resolve(empty())
    return new Promise<ParallelFisherResult>((resolve, reject) => {
      const wire: WorkerRunSettings = {
        variant: settings.variant,
        power: settings.power,
        scores: settings.scores,
        params: settings.params,
        scoreRange: settings.scoreRange ? packMasks(settings.scoreRange) : undefined
      }
      this.current = {
        id: ++this.runs,
        opts,
        units,
        settings: wire,
        reducer,
        total,
        maxInFlight: opts.maxInFlightUnits ?? this.workers + 1,
        nextUnit: 0,
        done: 0,
        poll: setInterval(() => this.checkCancel(), 100),
        resolve,
        reject
      }
      this.guard(() => this.dispatch())
    })
  }

  close(): Promise<void> {
    const run = this.closing ? null : this.current
    const closed = this.shutdown(null)
    if (run) void closed.then(() => run.reject(new FisherPoolClosedError(null)))
    return closed
  }

  private name(slot: Slot): string {
    return `Fisher worker ${slot.id} of ${this.workers}`
  }

  private where(slot: Slot): string {
    return slot.unit ? `while computing ${batchesText(slot.unit)}` : slot.ready ? 'while idle' : 'while starting'
  }

  private spawn(id: number, entry: string | URL): Slot {
    const worker = startWorker(entry)
    workerStarts++
    live.add(worker)
    let markExited!: () => void
    const exited = new Promise<void>((resolve) => (markExited = resolve))
    const slot: Slot = { id, worker, ready: false, unit: null, settingsRun: -1, exited }
    this.slots.push(slot)
    worker.on('message', (m: WorkerToParent) => this.guard(() => this.onMessage(slot, m)))
    worker.on('error', (e) => {
      this.fail(new FisherWorkerError(`${this.name(slot)} crashed ${this.where(slot)}: ${e.message}`, id, slot.unit?.firstBatch ?? null))
    })
    worker.on('exit', (code) => {
      live.delete(worker)
      markExited()
      this.fail(new FisherWorkerError(`${this.name(slot)} exited unexpectedly (code ${code}) ${this.where(slot)}`, id, slot.unit?.firstBatch ?? null))
    })
    return slot
  }

  private guard(f: () => void): void {
    try {
      f()
    } catch (e) {
      this.fail(e instanceof Error ? e : new Error(String(e)))
    }
  }

  private onMessage(slot: Slot, m: WorkerToParent): void {
    if (this.closing) return
    if (m.type === 'ready') {
      if (this.backend === null) this.backend = m.backend
      else if (this.backend !== m.backend) {
        throw new FisherWorkerError(`${this.name(slot)} runs on backend "${m.backend}", another on "${this.backend}": results would depend on the worker count`, slot.id, null)
      }
      slot.ready = true
      this.dispatch()
      return
    }
    const run = this.current
    if (m.type === 'error') {
      if (m.phase === 'init') throw new FisherWorkerError(`${this.name(slot)} could not start: ${m.message}`, slot.id, null)
      const u = m.unit !== undefined ? run?.units[m.unit] : undefined
      const unitText = u && u.batchCount > 1 ? ` (unit ${u.unit}: ${batchesText(u)})` : ''
      throw new FisherWorkerError(`${this.name(slot)} failed on batch ${m.batch}${unitText}: ${m.message}`, slot.id, m.batch ?? null)
    }
    // a result
    const u = slot.unit
    if (!run || m.run !== run.id || !u || m.result.unit !== u.unit) {
      throw new Error(`${this.name(slot)} returned unit ${m.result.unit} of run ${m.run}, expected ${u ? `unit ${u.unit} of run ${run?.id}` : 'none'}`)
    }
    slot.unit = null
    run.reducer.add(m.result)
    run.done += u.samples
    run.opts.onProgress?.(run.done, run.total)
    if (this.current !== run) return // closed from onProgress
    if (run.reducer.done) {
      this.current = null
      clearInterval(run.poll)
      run.resolve({
        fisher: run.reducer.result(this.config),
        scores: run.reducer.scores,
        samples: run.reducer.samples,
        workers: this.workers,
        backend: this.backend ?? 'unknown',
        peakBufferedUnits: run.reducer.peakBuffered
      })
      return
    }
    if (this.checkCancel()) return
    this.dispatch()
  }

  /** True when the run in progress was cancelled (and the pool is being closed), or there is none. */
  private checkCancel(): boolean {
    const run = this.current
    if (!run || this.closing) return true
    let cancel = false
    try {
      cancel = run.opts.shouldCancel?.() ?? false
    } catch (e) {
      this.fail(e instanceof Error ? e : new Error(String(e)))
      return true
    }
    if (cancel) this.fail(new FisherCancelledError(run.done, run.total))
    return cancel
  }

  private dispatch(): void {
    const run = this.current
    if (!run) return
    for (const slot of this.slots) {
      if (this.closing || this.current !== run) return
      if (!slot.ready || slot.unit) continue
      if (run.nextUnit >= run.units.length || run.nextUnit >= run.reducer.next + run.maxInFlight) return
      if (this.checkCancel()) return
      const u = run.units[run.nextUnit++]
      slot.unit = u
      const msg: ParentToWorker = {
        type: 'unit',
        run: run.id,
        settings: slot.settingsRun === run.id ? undefined : run.settings,
        unit: u.unit,
        firstBatch: u.firstBatch,
        batches: run.opts.batches.slice(u.firstBatch, u.firstBatch + u.batchCount)
      }
      slot.settingsRun = run.id
      slot.worker.postMessage(msg)
    }
  }

  /** A failure: close the pool; the run in progress (if any) rejects with `e` once every worker has exited. */
  private fail(e: Error): void {
    if (this.closing) return
    const run = this.current
    this.current = null
    if (run) clearInterval(run.poll)
    void this.shutdown(e).then(() => run?.reject(e))
  }

  /** Terminate every worker (once) and wait until each has exited. */
  private shutdown(reason: Error | null): Promise<void> {
    if (!this.closing) {
      this.closeReason = reason
      const run = this.current
      this.current = null
      if (run) clearInterval(run.poll)
      this.closing = Promise.all(
        this.slots.map(async (s) => {
          await s.worker.terminate().catch(() => undefined)
          await s.exited
        })
      ).then(() => undefined)
    }
    return this.closing
  }
}

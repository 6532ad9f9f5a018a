/**
 * Runs as the engine process executes them: runs:start (src/engine/jobs/run-job.ts runJob with the app's
 * data loader), runs:stop (cooperative cancel), runs:estimate, runs:maskOverlap, and the run events.
 *
 * Owns: the one live run of this engine (tfjs is one thread: two runs would only slow each other down),
 * turning job events into contract events — progress throttled to ~10/s per run, a phase change flushes
 * the pending progress first; milestones (run:phase), evaluations (run:metric), Fisher statistics
 * (run:fisher) and the end (run:finished) are never dropped — and engine:memory while a run is live.
 * Must not: print, exit, or block the engine's message loop (a run continues after runs:start answers).
 */
import { freemem, totalmem } from 'node:os'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { getTask, type TaskName } from '../data'
import { estimateMemory } from '../jobs/memory'
import { resumeJob, runJob, type JobEvent, type JobHooks, type JobResult, type RunJobConfig } from '../jobs/run-job'
import { loadMask, maskIntersectionCount, maskCount, type ParamMask } from '../mask'
import { bertParameterSpec, makeConfig, parseBertConfig, type BertConfig, type ParamSpec } from '../model/config'
import { computeBudget } from '../selection/budget'
import { Run, RunStore, RunStoreError } from '../runs/store'
import { CodedError } from '../../shared/errors'
import type {
  CallParams,
  ContractEvent,
  EngineMemory,
  IrdRoundInfo,
  MaskOverlapMatrix,
  RunConfig,
  RunEstimate,
  RunProgress
} from '../../shared/contract'
import { appDataLoader, loadForApp } from './data-calls'
import { fisherChartData, irdRound } from './run-views'

/** Minimum time between two run:progress events of one run. */
export const PROGRESS_INTERVAL_MS = 100
const MEMORY_INTERVAL_MS = 2_000

type Emit = (event: ContractEvent) => void

/** A RunStore that says when a job creates (or, resuming, reopens) its run: the id the call answers with. */
class ObservedStore extends RunStore {
  constructor(
    root: string,
    private readonly onCreate: (run: Run) => void
  ) {
    super(root)
  }
  override create(opts: Parameters<RunStore['create']>[0]): Run {
    const run = super.create(opts)
    this.onCreate(run)
    return run
  }
  override reopen(idOrPrefix: string): Run {
    const run = super.reopen(idOrPrefix)
    this.onCreate(run)
    return run
  }
}

/** Throttles one run's progress: at most one event per interval; flush() sends the pending one now. */
export class ProgressThrottle {
  private last = -Infinity
  private pending: RunProgress | null = null
  private timer: ReturnType<typeof setTimeout> | null = null
  constructor(
    private readonly send: (p: RunProgress) => void,
    private readonly intervalMs = PROGRESS_INTERVAL_MS,
    private readonly now: () => number = Date.now
  ) {}
  push(p: RunProgress): void {
    if (this.pending && this.pending.phase !== p.phase) this.flush()
    this.pending = p
    const wait = this.last + this.intervalMs - this.now()
    if (wait <= 0) this.flush()
    else this.timer ??= setTimeout(() => this.flush(), wait)
  }
  flush(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    if (!this.pending) return
    const p = this.pending
    this.pending = null
    this.last = this.now()
    this.send(p)
  }
}

interface LiveRun {
  runId: string
  run: Run
  method: string
  cancel: boolean
  started: number
  throttle: ProgressThrottle
  lastPhase: string | null
  /** When the current progress phase began: its ETA when the job gives none. */
  phaseStarted: number
  rounds: IrdRoundInfo[]
  finished: Promise<void>
}

const finite = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined)

export class EngineRuns {
  private live: LiveRun | null = null
  private memoryTimer: ReturnType<typeof setInterval> | null = null

  constructor(
    private readonly emit: Emit,
    private readonly runsDir: () => string,
    private readonly backendName: () => string
  ) {}

  get activeRunId(): string | null {
    return this.live?.runId ?? null
  }

  memory(): EngineMemory {
    const m = process.memoryUsage()
    let tfBytes = 0
    let tfTensors = 0
    try {
      const t = tf.memory()
      tfBytes = t.numBytes
      tfTensors = t.numTensors
    } catch {
      /* no backend yet */
    }
    return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, tfBytes, tfTensors, systemTotal: totalmem(), systemFree: freemem(), time: Date.now() }
  }

  /** Starts a run; resolves with its id once the run folder exists, rejects (INVALID_INPUT) before that. */
  start(config: RunConfig): Promise<{ runId: string }> {
    // The reading options travel in the config too, so the run's config.json can start the same run again.
    const cfg: RunJobConfig = { ...config, backend: this.backendName() }
    return this.launch(config.trainOptions, config.devOptions, (store, hooks) => runJob(cfg, store, hooks))
  }

  /**
   * Continues a stopped, failed or interrupted run from its last good checkpoint (src/engine/jobs/run-job.ts
   * resumeJob; a damaged checkpoint is refused unless `restart` starts training over).
   */
  resume(runId: string, opts: { restart?: boolean } = {}): Promise<{ runId: string }> {
    let saved: { trainOptions?: RunConfig['trainOptions']; devOptions?: RunConfig['devOptions'] } = {}
    try {
      saved = JSON.parse(readFileSync(join(new RunStore(this.runsDir()).dir(runId), 'config.json'), 'utf8')) as typeof saved
    } catch {
      /* resumeJob says what is wrong with the run */
    }
    const backend = this.backendName()
    return this.launch(saved.trainOptions, saved.devOptions, (store, hooks) => resumeJob(store, runId, hooks, { backend, restart: opts.restart }))
  }

  private launch(
    trainOptions: RunConfig['trainOptions'],
    devOptions: RunConfig['devOptions'],
    job: (store: RunStore, hooks: JobHooks) => Promise<JobResult>
  ): Promise<{ runId: string }> {
    if (this.live) throw new CodedError('CONFLICT', `run ${this.live.runId} is still running: stop it or wait until it ends before starting another`, { runId: this.live.runId })
    return new Promise((resolve, reject) => {
      let created = false
      let markFinished!: () => void
      const finished = new Promise<void>((r) => (markFinished = r))
      const store = new ObservedStore(this.runsDir(), (run) => {
        created = true
        const live: LiveRun = {
          runId: run.id,
          run,
          method: run.summary.method,
          cancel: false,
          started: Date.now(),
          throttle: new ProgressThrottle((p) => this.emit({ event: 'run:progress', payload: p })),
          lastPhase: null,
          phaseStarted: Date.now(),
          rounds: [],
          finished
        }
        this.live = live
        this.emit({ event: 'run:started', payload: { ...run.summary } })
        this.startMemory()
        resolve({ runId: run.id })
      })
      // Events before the run exists (loading) have no run id; they are not sent.
      const pendingLive = (): LiveRun | null => (created ? this.live : null)
      job(store, {
        loadData: appDataLoader((split) => (split === 'dev' ? devOptions : trainOptions)),
        onEvent: (e) => {
          const live = pendingLive()
          if (live) this.onJobEvent(live, e)
        },
        shouldCancel: () => this.live?.cancel === true
      })
        .then((result) => {
          const live = pendingLive()
          if (!live) return
          live.throttle.flush()
          const s = result.run.summary
          this.emit({
            event: 'run:finished',
            payload: { runId: live.runId, status: result.status, ...(result.reason || s.reason ? { reason: result.reason ?? s.reason } : {}), ...(s.metrics ? { metrics: s.metrics } : {}), ...(finite(s.main) !== undefined ? { main: s.main } : {}), ...(s.warnings?.length ? { warnings: s.warnings } : {}) }
          })
        })
        .catch((e: unknown) => {
          if (!created) {
            const message = (e as Error)?.message ?? String(e)
            if (e instanceof CodedError) reject(e)
            else if (e instanceof RunStoreError && /^no run /.test(message)) reject(new CodedError('NOT_FOUND', message))
            else reject(new CodedError('INVALID_INPUT', message))
            return
          }
          const live = this.live
          if (!live) return
          live.throttle.flush()
          const reason = `the run failed: ${(e as Error)?.message ?? String(e)}`
          try {
            live.run.finish('failed', {}, reason)
          } catch {
            /* the folder is gone: the event still says why */
          }
          this.emit({ event: 'run:finished', payload: { runId: live.runId, status: 'failed', reason } })
        })
        .finally(() => {
          this.live = null
          this.stopMemory()
          markFinished()
        })
    })
  }

  stop(runId: string): { stopping: boolean } {
    if (!this.live || this.live.runId !== runId) return { stopping: false }
    this.live.cancel = true
    this.emit({ event: 'run:phase', payload: { runId, phase: 'stopping', message: 'stopping at the next batch boundary', time: Date.now() } })
    return { stopping: true }
  }

  /** Engine shutdown: cancel the live run and wait for it to record itself as cancelled. */
  async shutdown(): Promise<void> {
    const live = this.live
    if (!live) return
    live.cancel = true
    await live.finished
  }

  private onJobEvent(live: LiveRun, e: JobEvent): void {
    const now = Date.now()
    const { phase, done, total, message, ...fields } = e
    if (typeof done === 'number' && typeof total === 'number') {
      if (phase !== live.lastPhase) {
        live.throttle.flush()
        live.lastPhase = phase
        live.phaseStarted = now
        this.emit({ event: 'run:phase', payload: { runId: live.runId, phase, time: now } })
      }
      if (finite(fields.etaMs) === undefined && done > 0 && total >= done) fields.etaMs = ((now - live.phaseStarted) / done) * (total - done)
      live.throttle.push({
        runId: live.runId,
        phase,
        done,
        total,
        elapsedMs: now - live.started,
        ...(finite(fields.etaMs) !== undefined ? { etaMs: finite(fields.etaMs) } : {}),
        ...(finite(fields.loss) !== undefined ? { loss: finite(fields.loss) } : {}),
        ...(finite(fields.lr) !== undefined ? { lr: finite(fields.lr) } : {}),
        ...(finite(fields.epoch) !== undefined ? { epoch: finite(fields.epoch) } : {}),
        ...(finite(fields.round) !== undefined ? { round: finite(fields.round) } : {})
      })
      return
    }
    live.throttle.flush()
    live.lastPhase = phase
    this.emit({ event: 'run:phase', payload: { runId: live.runId, phase, ...(message ? { message: String(message) } : {}), time: now, fields: jsonSafe(fields) } })
    if (phase === 'ird-round') {
      const r = irdRound(fields.round)
      if (r) live.rounds.push(r)
      const data = fisherChartData(live.runId, live.method, undefined, [...live.rounds])
      if (data) this.emit({ event: 'run:fisher', payload: data })
    } else if (phase === 'selected') {
      let stats: unknown
      try {
        stats = JSON.parse(readFileSync(join(live.run.dir, 'fisher-stats.json'), 'utf8'))
      } catch {
        stats = undefined // random / bitfit / full / a reused mask: no Fisher statistics
      }
      const data = fisherChartData(live.runId, live.method, stats, [...live.rounds])
      if (data) this.emit({ event: 'run:fisher', payload: data })
    } else if (phase === 'eval' && typeof fields.metrics === 'object' && fields.metrics !== null) {
      const metrics = Object.fromEntries(Object.entries(fields.metrics as Record<string, unknown>).filter(([, v]) => finite(v) !== undefined)) as Record<string, number>
      this.emit({
        event: 'run:metric',
        payload: {
          runId: live.runId,
          epoch: finite(fields.epoch) ?? 0,
          ...(finite(fields.epochs) !== undefined ? { epochs: finite(fields.epochs) } : {}),
          ...(finite(fields.step) !== undefined ? { step: finite(fields.step) } : {}),
          metrics,
          ...(finite(fields.main) !== undefined ? { main: finite(fields.main) } : {}),
          ...(finite(fields.evalLoss) !== undefined ? { evalLoss: finite(fields.evalLoss) } : {})
        }
      })
    }
  }

  private startMemory(): void {
    this.stopMemory()
    this.emit({ event: 'engine:memory', payload: this.memory() })
    this.memoryTimer = setInterval(() => this.emit({ event: 'engine:memory', payload: this.memory() }), MEMORY_INTERVAL_MS)
    this.memoryTimer.unref?.()
  }

  private stopMemory(): void {
    if (this.memoryTimer) clearInterval(this.memoryTimer)
    this.memoryTimer = null
  }

  // ------------------------------------------------------------------------------------------------
  // runs:maskOverlap

  maskOverlap(runIds: string[]): MaskOverlapMatrix {
    const store = new RunStore(this.runsDir())
    const problems: MaskOverlapMatrix['problems'] = []
    const masks: Array<{ mask: ParamMask; spec: ParamSpec[]; shape: string } | null> = runIds.map((id) => {
      try {
        const run = store.open(id)
        const sidecar = JSON.parse(readFileSync(join(run.dir, 'mask', 'mask.json'), 'utf8')) as { model?: Record<string, number> }
        const m = sidecar.model
        if (!m) throw new Error('mask/mask.json has no model shape')
        // Shapes do not depend on the head count; 1 divides every hidden size.
        const config: BertConfig = makeConfig({
          hidden_size: m.hidden_size,
          num_hidden_layers: m.num_hidden_layers,
          vocab_size: m.vocab_size,
          num_labels: m.num_labels,
          intermediate_size: m.intermediate_size,
          max_position_embeddings: m.max_position_embeddings,
          type_vocab_size: m.type_vocab_size,
          num_attention_heads: 1
        })
        const loaded = loadMask(join(run.dir, 'mask'), config)
        return { mask: loaded.mask, spec: bertParameterSpec(config), shape: JSON.stringify(m) }
      } catch (e) {
        const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'the run has no saved mask (mask/ is missing: it failed or was cancelled before selection)' : (e as Error).message
        problems.push({ runId: id, message: why })
        return null
      }
    })
    const counts = masks.map((m) => (m ? maskCount(m.mask, m.spec) : null))
    const intersection = masks.map((a, i) =>
      masks.map((b, j) => {
        if (!a || !b) return null
        if (i === j) return counts[i]
        if (a.shape !== b.shape) return null
        return maskIntersectionCount(a.mask, b.mask, a.spec)
      })
    )
    const jaccard = intersection.map((row, i) =>
      row.map((n, j) => {
        if (n === null) return null
        const union = counts[i]! + counts[j]! - n
        return union ? n / union : 1
      })
    )
    for (let i = 0; i < masks.length; i++) {
      for (let j = i + 1; j < masks.length; j++) {
        if (masks[i] && masks[j] && masks[i]!.shape !== masks[j]!.shape && !problems.some((p) => p.runId === runIds[j])) {
          problems.push({ runId: runIds[j], message: `its model has another shape than run ${runIds[i]}'s: masks of different models are not compared` })
        }
      }
    }
    return { runIds, counts, intersection, jaccard, problems }
  }

  // ------------------------------------------------------------------------------------------------
  // runs:estimate

  private readonly throughputs = new Map<string, number>()
  private readonly rowCounts = new Map<string, number>()

  private async rows(file: string, options: RunConfig['trainOptions'], task: TaskName): Promise<number> {
    const { statSync } = await import('node:fs')
    let key: string
    try {
      const st = statSync(file)
      key = `${file}|${st.size}|${st.mtimeMs}|${JSON.stringify(options ?? {})}`
    } catch {
      throw new CodedError('INVALID_INPUT', `${file}: there is no such file`)
    }
    const cached = this.rowCounts.get(key)
    if (cached !== undefined) return cached
    const report = await loadForApp(file, { ...options, task })
    const n = report.dataset.examples.length
    this.rowCounts.set(key, n)
    return n
  }

  async estimate(p: CallParams<'runs:estimate'>): Promise<RunEstimate> {
    const cfg = p.config
    const notes: string[] = []
    let config: BertConfig
    try {
      config = parseBertConfig(JSON.parse(readFileSync(join(cfg.modelDir, 'config.json'), 'utf8')), { file: join(cfg.modelDir, 'config.json'), numLabels: getTask(cfg.task).numLabels })
    } catch (e) {
      throw new CodedError('INVALID_INPUT', `cannot read the model's config.json in ${cfg.modelDir}: ${(e as Error).message}`)
    }
    const spec = bertParameterSpec(config)
    let totalParams = 0
    let headSize = 0
    let biases = 0
    for (const s of spec) {
      const n = s.shape.reduce((a, b) => a * b, 1)
      totalParams += n
      if (s.head) headSize += n
      else if (s.kind === 'bias' || s.kind === 'layernorm_bias') biases += n
    }
    const thetaSize = totalParams - headSize
    let k: number | null = null
    let keepRatio: number | null = null
    let trainable: number
    if (cfg.method === 'fish' || cfg.method === 'ird' || cfg.method === 'random') {
      keepRatio = p.k !== undefined ? (p.k + headSize) / totalParams : cfg.keepRatio
      try {
        k = computeBudget(spec, keepRatio).k
      } catch (e) {
        throw new CodedError('INVALID_INPUT', (e as Error).message)
      }
      if (p.k !== undefined && k !== p.k) notes.push(`k ${p.k} corresponds to keep ratio ${keepRatio.toPrecision(4)}, which gives k = ${k} after rounding`)
      trainable = k + headSize
    } else if (cfg.method === 'bitfit') trainable = biases + headSize
    else trainable = totalParams

    let trainRows = await this.rows(cfg.trainFile, cfg.trainOptions, cfg.task)
    if (cfg.maxTrainExamples !== null && trainRows > cfg.maxTrainExamples) trainRows = cfg.maxTrainExamples
    const devRows = cfg.devFile ? await this.rows(cfg.devFile, cfg.devOptions, cfg.task) : null

    // Fisher passes: per-sample gradients (×labels for the 'expect' variant).
    const perSample = cfg.fisher.variant === 'expect' ? config.num_labels : 1
    let nSamples: number | null = null
    let fisherGradients = 0
    if (!cfg.maskDir && (cfg.method === 'fish' || cfg.method === 'ird')) {
      nSamples = Math.min(cfg.nSamples, trainRows)
      if (cfg.method === 'fish') fisherGradients = nSamples * perSample
      else {
        const pool = Math.min(trainRows, Math.ceil(cfg.ird.poolFactor * nSamples))
        let S = pool
        let P = thetaSize
        let rounds = 0
        let grads = 0
        while ((S > nSamples || P > (k ?? 0)) && (cfg.ird.maxRounds === null || rounds < cfg.ird.maxRounds) && rounds < 1_000) {
          const nextS = Math.max(nSamples, Math.ceil(S * cfg.ird.alphaS))
          const nextP = Math.max(k ?? 0, Math.ceil(P * cfg.ird.alphaP))
          grads += S + (nextS === S ? 0 : nextS)
          S = nextS
          P = nextP
          rounds++
        }
        fisherGradients = grads * perSample
        notes.push(`IRD: pool of ${pool} samples, about ${rounds} round(s); the gradient count is an upper bound (rounds that keep the sample set reuse their pass)`)
      }
    }
    const stepsPerEpoch = Math.ceil(trainRows / cfg.batchSize)
    const trainSteps = stepsPerEpoch * cfg.epochs

    const seqLen = Math.min(cfg.maxLength, config.max_position_embeddings)
    const backend = this.backendName()
    const key = `${backend}|${config.num_hidden_layers}|${config.hidden_size}|${config.intermediate_size}|${seqLen}`
    let perSec = this.throughputs.get(key)
    let source: 'measured' | 'assumed' = perSec !== undefined ? 'measured' : 'assumed'
    if (perSec === undefined && p.measure) {
      if (this.live) notes.push('not measured: a run is live on this engine (it would skew both); assumed from the model size instead')
      else {
        perSec = await measureThroughput(config, seqLen)
        this.throughputs.set(key, perSec)
        source = 'measured'
      }
    }
    if (perSec === undefined) {
      // ~6 FLOPs per parameter and token for a forward + backward pass; one wasm thread does ~16 GFLOP/s.
      const gflops = backend === 'tensorflow-gpu' ? 2_000 : backend === 'webgpu' ? 500 : backend === 'tensorflow' ? 40 : backend === 'wasm' ? 16 : 1
      perSec = (gflops * 1e9) / (6 * (totalParams - config.vocab_size * config.hidden_size) * seqLen)
      notes.push(`time assumed from the model size (${gflops} GFLOP/s on ${backend}); ask for a measurement for a better figure`)
    }
    notes.push(`times are for ${seqLen}-token sequences; shorter real sentences (dynamic padding) run faster`)
    const threads = Math.max(1, cfg.workers)
    const parallel = Math.min(threads, 2) // the engine's measurements show ~1.3-1.6× from two worker threads
    const speedup = parallel > 1 ? 1.4 : 1
    const fisherSec = fisherGradients / (perSec * speedup)
    const trainSec = (trainSteps * cfg.batchSize) / (perSec * speedup)
    const evalSec = devRows ? (devRows * cfg.epochs) / (perSec * 3 * speedup) : 0

    // Memory: the run job's own estimate (calibrated against tfjs peaks), against this machine now.
    const mem = estimateMemory(
      { config, method: cfg.method, keepRatio: keepRatio ?? cfg.keepRatio, batchSize: cfg.batchSize, maxLength: seqLen, fisherBatchSize: cfg.fisher.batchSize, workers: cfg.workers, backend },
      { totalBytes: totalmem(), freeBytes: freemem() }
    )
    const memoryBytes = {
      weights: mem.parts.parameters,
      fisher: mem.parts.fisher + mem.parts.workers,
      optimizer: mem.parts.optimizer,
      activations: mem.parts.activations + mem.parts.gradients,
      total: mem.peakBytes
    }
    if (mem.warning) notes.push(`${mem.warning}${mem.advice.length ? `; to need less: ${mem.advice.join(', ')}` : ''}`)
    const memory = { verdict: mem.verdict, warning: mem.warning, advice: mem.advice, selectionBytes: mem.selectionBytes, trainingBytes: mem.trainingBytes, perInstanceBytes: mem.perInstanceBytes, freeBytes: mem.system?.freeBytes ?? null }
    return {
      totalParams,
      headSize,
      thetaSize,
      k,
      keepRatio,
      trainable,
      trainRows,
      devRows,
      nSamples,
      fisherGradients,
      trainSteps,
      throughput: { fisherPerSec: perSec * speedup, trainPerSec: perSec * speedup, source, backend, seqLen },
      seconds: { fisher: fisherSec, train: trainSec, eval: evalSec, total: fisherSec + trainSec + evalSec },
      memoryBytes,
      memory,
      notes
    }
  }
}

function jsonSafe(fields: Record<string, unknown>): Record<string, unknown> | undefined {
  if (!Object.keys(fields).length) return undefined
  try {
    return JSON.parse(JSON.stringify(fields, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v))) as Record<string, unknown>
  } catch {
    return undefined
  }
}

/** Per-sample gradients per second of this model shape on the running backend (random weights, one batch). */
async function measureThroughput(config: BertConfig, seqLen: number): Promise<number> {
  const { initState } = await import('../model/init')
  const { BertForSequenceClassification } = await import('../model/bert')
  const { FisherAccumulator } = await import('../fisher/accumulator')
  const { randomBatch } = await import('../bench/model-bench')
  const model = BertForSequenceClassification.fromState(config, initState(config, 1))
  const acc = new FisherAccumulator(model)
  try {
    const batchSize = 4
    const batch = randomBatch(batchSize, seqLen, config.vocab_size, 2)
    const labels = Array.from({ length: batchSize }, (_, i) => i % Math.max(1, config.num_labels))
    await acc.addBatch(batch, labels) // warm-up: kernels compile, buffers allocate
    const t0 = performance.now()
    let n = 0
    do {
      await acc.addBatch(batch, labels)
      n += batchSize
      await new Promise((r) => setImmediate(r))
    } while (performance.now() - t0 < 500)
    return (n * 1000) / (performance.now() - t0)
  } finally {
    acc.dispose()
    model.dispose()
  }
}

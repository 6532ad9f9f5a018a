/**
 * Masked fine-tuning: mini-batch training of the entries a mask selects (FISH Mask / IRD / baselines),
 * everything else frozen bit for bit, with dev evaluation after each epoch.
 *
 * Per step: forward (dropout on, a per-step seed) → mean loss → backward for the tensors that have a
 * trainable entry only (wantGrad; back-propagation stops below the lowest one) → masked gradient entries
 * to the host → clip to global norm (over the masked entries: FISH's grad ⊙ mask then clip_grad_norm_)
 * → sparse AdamW (state for masked entries only) with the linear schedule → exact write-back of the
 * masked entries. Defaults are FISH's reference settings (ALGORITHMS.md): AdamW, weight decay 0, eps
 * 1e-8, linear decay without warm-up, clip 1.0, lr 5e-5, 7 epochs, batch 16, max length 128.
 *
 * Reproducible: the shuffle order of every epoch and every step's dropout seed come from `seed`.
 * Cancellation is checked before every batch (training and evaluation): a cancelled run leaves the model
 * with the weights of its last completed step. Every tensor made for a step is disposed within it.
 * Resumable: with a checkpoint policy the trainer hands its whole state (checkpoint.ts) to a save
 * callback every N steps, after each epoch and on cancel; train({ resume }) on the base model continues
 * from such a state and reaches bit for bit the weights, losses and metrics of the uninterrupted run
 * (same backend, same worker count).
 * Must not: read or write files, or choose the mask.
 */
import * as tf from '@tensorflow/tfjs'
import { disposeCache, type BertForSequenceClassification } from '../model/bert'
import { GLUE_TASK_INFO, parseGlueTask, taskMetrics, type GlueTask, type MetricName } from '../metrics'
import { Rng } from '../util/rng'
import { NonFiniteError } from '../util/non-finite'
import { SparseAdamW, clipGradNorm } from './adamw'
import { collate, encodeData, epochBatches, type EncodedSet, type TrainData } from './batches'
import { TRAIN_CHECKPOINT_VERSION, fingerprintMismatch, fnv1a, type CheckpointPolicy, type TrainCheckpoint, type TrainFingerprint } from './checkpoint'
import { GradWorkerPool } from './grad-pool'
import { MaskedParams, type TrainMask } from './masked-params'
import { linearScheduleLr, resolveWarmupSteps } from './schedule'

export interface TrainOptions {
  model: BertForSequenceClassification
  /** Trainable entries per parameter name ('all' or sorted flat indices); other parameters stay frozen. */
  mask: TrainMask
  train: TrainData
  dev?: TrainData
  /** GLUE task whose metric scores the dev set (taskMetrics). Without it, epochs are compared by dev loss. */
  task?: GlueTask | 'mnli-m'
  /** Default 7. */
  epochs?: number
  /** Default 16. */
  batchSize?: number
  /** Default: 2 × batchSize. */
  evalBatchSize?: number
  /** Peak learning rate; default 5e-5. */
  lr?: number
  /** Warm-up steps (wins when > 0) or a fraction of all steps (ceil, as HF). Default none. */
  warmupSteps?: number
  warmupRatio?: number
  /** AdamW decoupled weight decay; default 0. */
  weightDecay?: number
  /** Parameters without weight decay; default biases and LayerNorm weights (HF's no_decay). */
  noDecay?: (name: string) => boolean
  beta1?: number
  beta2?: number
  eps?: number
  /** Clip the masked gradient to this global L2 norm; default 1.0; 0 or Infinity = no clipping. */
  maxGradNorm?: number
  /** Seeds the shuffles and dropout; default 42. */
  seed?: number
  /** Truncation length for tokenised examples (pre-encoded ones must not be longer); default 128. */
  maxLength?: number
  /** 'longest' (default): pad each batch to its longest row; 'max_length': every batch to maxLength. */
  padding?: 'longest' | 'max_length'
  /** Group rows of similar length into batches (less padding); default false. */
  bucketByLength?: boolean
  /** Write the best epoch's weights back at the end of a completed run (needs dev); default false: the last step's weights. */
  restoreBest?: boolean
  /** Tensors with at least this fraction trainable use the dense host path (see masked-params.ts); default 0.05. */
  denseThreshold?: number
  /**
   * Sparse-path tensors get only their masked gradient entries from the backward pass (host sums,
   * no dense dW matmul); default true. Off: full gradients, then gathered (same values up to rounding).
   */
  sparseGradients?: boolean
  /**
   * Data-parallel worker threads (grad-pool.ts): each computes the gradients of its share of a batch on
   * its own core; only masked entries are exchanged. 0 or 1 (default) = this thread. wasm/cpu only.
   * With dropout on, results depend on the worker count (each share draws its own dropout masks).
   */
  workers?: number
  /** Backend for the workers; default the running one (must be wasm or cpu). */
  workerBackend?: 'wasm' | 'cpu'
  onEvent?: (event: TrainEvent) => void
  /** Checked before every batch; true stops the run ('cancelled'). */
  shouldCancel?: () => boolean
  /** Minimum time between two 'step' events; default 100 ms (at most ~10 per second). */
  eventIntervalMs?: number
  /** Hand the resumable state to a save callback (every N steps, after epochs, on cancel). */
  checkpoint?: CheckpointPolicy
  /**
   * Continue from a checkpoint of a run with the same settings (else an error names the difference).
   * `model` must hold the base weights the interrupted run started from: the checkpoint's values replace
   * the masked entries.
   */
  resume?: TrainCheckpoint
}

/** JSON-serialisable progress event. 'phase' marks every phase change; 'step' is throttled. */
export interface TrainEvent {
  type: 'phase' | 'step' | 'eval' | 'checkpoint' | 'done'
  phase: 'train' | 'eval' | 'done'
  /** 1-based epoch. */
  epoch: number
  epochs: number
  /** Optimizer steps completed. */
  step: number
  totalSteps: number
  elapsedMs: number
  /** Estimated time to the end of the run (training and evaluations). */
  etaMs: number
  /** 'step': mean training loss of the steps since the previous 'step' event. */
  loss?: number
  /** 'step': learning rate of the last step. */
  lr?: number
  /** 'step': global norm of the masked gradient before clipping, last step. */
  gradNorm?: number
  samplesPerSec?: number
  /** 'eval': the dev result without predictions. */
  metrics?: Partial<Record<MetricName, number>>
  main?: number | null
  evalLoss?: number
  /** 'done'. */
  status?: TrainStatus
  /** The first 'phase' event after a resume: the step training continues from. ('checkpoint' events carry the saved step as `step`.) */
  resumedFrom?: number
}

export type TrainStatus = 'completed' | 'cancelled'

export interface EvalResult {
  epoch: number
  step: number
  /** Mean dev loss (cross-entropy, or squared error for regression). */
  loss: number
  /** The task's metrics (empty without a task or without dev labels). */
  metrics: Partial<Record<MetricName, number>>
  /** The task's main score; null without a task or labels. */
  main: number | null
  /** Per dev example, in dev order: class index, or the regression output. */
  predictions: number[]
}

export interface EpochSummary {
  epoch: number
  step: number
  /** Mean training loss over the epoch's steps. */
  trainLoss: number
  eval: EvalResult | null
}

export interface TrainResult {
  status: TrainStatus
  steps: number
  totalSteps: number
  warmupSteps: number
  epochsCompleted: number
  epochs: EpochSummary[]
  /** Dev result after the last completed epoch. */
  final: EvalResult | null
  /** Dev result of the best epoch (highest main score, else lowest dev loss). */
  best: EvalResult | null
  /** Whether the model holds the best epoch's weights (restoreBest) rather than the last step's. */
  restoredBest: boolean
  devIds: string[]
  /** Trainable entries (= entries with optimizer state). */
  trainableEntries: number
  optimizerStateBytes: number
  elapsedMs: number
  stepsPerSec: number
  /** The optimizer step training continued from (resume), else 0. */
  resumedFromStep: number
  /** Checkpoints saved by this call. */
  checkpointsSaved: number
}

const DEFAULT_NO_DECAY = (name: string) => name.endsWith('.bias') || name.endsWith('LayerNorm.weight')

function posInt(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${what} must be a positive integer, got ${v}`)
  return v
}

const nextTick = () => new Promise<void>((r) => setImmediate(r))

export async function train(opts: TrainOptions): Promise<TrainResult> {
  const t0 = performance.now()
  const { model } = opts
  const cfg = model.config
  const epochs = posInt(opts.epochs ?? 7, 'epochs')
  const batchSize = posInt(opts.batchSize ?? 16, 'batchSize')
  const evalBatchSize = posInt(opts.evalBatchSize ?? 2 * batchSize, 'evalBatchSize')
  const maxLength = posInt(opts.maxLength ?? 128, 'maxLength')
  if (maxLength > cfg.max_position_embeddings) {
    throw new RangeError(`maxLength ${maxLength} exceeds the model's max_position_embeddings ${cfg.max_position_embeddings}`)
  }
  const lr = opts.lr ?? 5e-5
  if (!(lr >= 0 && Number.isFinite(lr))) throw new RangeError(`lr must be a non-negative number, got ${lr}`)
  const maxGradNorm = opts.maxGradNorm ?? 1.0
  const seed = opts.seed ?? 42
  const intervalMs = opts.eventIntervalMs ?? 100
  const padTo = (opts.padding ?? 'longest') === 'longest' ? 'longest' : maxLength
  const regression = cfg.num_labels === 1
  const task = opts.task === undefined ? undefined : parseGlueTask(opts.task)
  if (task) {
    const info = GLUE_TASK_INFO[task]
    if (info.numClasses !== cfg.num_labels) {
      throw new Error(`task ${task} needs a head with ${info.numClasses} output${info.numClasses === 1 ? '' : 's'}; the model has ${cfg.num_labels}`)
    }
  }

  const trainSet = encodeData(opts.train, { maxLength, padId: cfg.pad_token_id, what: 'training' })
  if (trainSet.rows.length === 0) throw new Error('the training set is empty')
  trainSet.labels.forEach((y, i) => {
    const ok = y !== undefined && Number.isFinite(y) && (regression || (Number.isInteger(y) && y >= 0 && y < cfg.num_labels))
    if (!ok) throw new Error(`training example ${trainSet.ids[i]} has label ${y}; expected ${regression ? 'a number' : `a class index in [0, ${cfg.num_labels})`}`)
  })
  const devSet = opts.dev ? encodeData(opts.dev, { maxLength, padId: cfg.pad_token_id, what: 'dev' }) : null
  devSet?.labels.forEach((y, i) => {
    if (y === undefined) return
    const ok = Number.isFinite(y) && (regression || (Number.isInteger(y) && y >= 0 && y < cfg.num_labels))
    if (!ok) throw new Error(`dev example ${devSet.ids[i]} has label ${y}; expected ${regression ? 'a number' : `a class index in [0, ${cfg.num_labels})`}`)
  })
  const trainLengths = Int32Array.from(trainSet.rows, (r) => r.ids.length)

  const stepsPerEpoch = Math.ceil(trainSet.rows.length / batchSize)
  const totalSteps = epochs * stepsPerEpoch
  const warmupSteps = resolveWarmupSteps(totalSteps, opts)
  const noDecay = opts.noDecay ?? DEFAULT_NO_DECAY

  const params = await MaskedParams.create(model, opts.mask, { denseThreshold: opts.denseThreshold })
  if (params.slots.length === 0) {
    params.dispose()
    throw new Error('the mask selects no trainable entry: nothing to train')
  }
  const opt = new SparseAdamW(
    params.slots.map((s) => ({ name: s.name, values: s.values, decay: !noDecay(s.name) })),
    { beta1: opts.beta1, beta2: opts.beta2, eps: opts.eps, weightDecay: opts.weightDecay }
  )
  let shuffleRng = new Rng(seed)
  let dropoutRng = new Rng((seed ^ 0x5bd1e995) >>> 0)
  const workers = Math.max(0, Math.floor(opts.workers ?? 0))
  const fingerprint: TrainFingerprint = {
    trainRows: trainSet.rows.length,
    trainHash: encodedHash(trainSet),
    devRows: devSet?.rows.length ?? 0,
    batchSize,
    epochs,
    totalSteps,
    warmupSteps,
    lr,
    seed,
    maxLength,
    padding: padTo === 'longest' ? 'longest' : 'max_length',
    bucketByLength: opts.bucketByLength === true,
    maxGradNorm,
    weightDecay: opt.weightDecay,
    beta1: opt.beta1,
    beta2: opt.beta2,
    eps: opt.eps,
    workers: workers > 1 ? workers : 0,
    slots: params.slots.map((s) => [s.name, s.values.length])
  }
  // ---- resume: the masked values, AdamW state, RNGs and position of the checkpoint
  const ck = opts.resume
  if (ck) {
    try {
      if (ck.version !== TRAIN_CHECKPOINT_VERSION) throw new Error(`checkpoint version ${String(ck.version)} is not supported (this engine reads version ${TRAIN_CHECKPOINT_VERSION})`)
      const diff = fingerprintMismatch(ck.fingerprint, fingerprint)
      if (diff) throw new Error(`cannot resume: ${diff}`)
      params.slots.forEach((s, i) => {
        const c = ck.slots[i]
        const same = c.name === s.name && (c.indices === null ? s.indices === null || s.indices.length === s.size : s.indices !== null && c.indices.length === s.indices.length && c.indices.every((x, j) => x === s.indices![j]))
        if (!same) throw new Error(`cannot resume: the checkpoint's trainable entries of "${c.name}" differ from this run's mask`)
      })
      if (!(ck.epoch >= 1 && ck.epoch <= epochs + 1 && ck.batch >= 0 && ck.step >= 0 && ck.step <= totalSteps)) {
        throw new Error(`cannot resume: checkpoint position epoch ${ck.epoch}, batch ${ck.batch}, step ${ck.step} is outside this run (${epochs} epochs, ${totalSteps} steps)`)
      }
      opt.importState(ck.adam)
      params.restore(ck.values)
      params.writeBack()
      shuffleRng = Rng.fromState(ck.shuffleRng)
      dropoutRng = Rng.fromState(ck.dropoutRng)
    } catch (e) {
      params.dispose()
      throw e
    }
  }
  const wantGrad = (n: string) => params.has(n)
  const sparseGradients = opts.sparseGradients ?? true
  let pool: GradWorkerPool | null = null
  if ((opts.workers ?? 0) > 1) {
    const running = tf.getBackend()
    const backend = opts.workerBackend ?? (running === 'wasm' || running === 'cpu' ? running : null)
    if (!backend) {
      params.dispose()
      throw new Error(`data-parallel training workers run on wasm or cpu; the engine runs on "${running}", which already uses every core: use workers: 0`)
    }
    try {
      pool = await GradWorkerPool.create({ config: model.config, state: await model.readState(), mask: opts.mask, denseThreshold: opts.denseThreshold, workers: opts.workers!, backend })
    } catch (e) {
      params.dispose()
      throw e
    }
  }

  let step = ck?.step ?? 0
  let samplesDone = ck?.timing.samplesDone ?? 0
  const summaries: EpochSummary[] = ck ? ck.summaries.map((x) => ({ ...x })) : []
  let epochsCompleted = summaries.length
  let status: TrainStatus = 'completed'
  let best: EvalResult | null = ck?.best ?? null
  let bestSnap: Float32Array[] | null = ck?.bestValues ? ck.bestValues.map((v) => Float32Array.from(v)) : null
  let trainMs = ck?.timing.trainMs ?? 0
  let evalMs = ck?.timing.evalMs ?? 0
  let evalRuns = ck?.timing.evalRuns ?? 0
  let checkpointsSaved = 0
  const resumedFromStep = step
  let lastEmit = -Infinity
  let pendingLoss = 0
  let pendingSteps = 0
  const devBatches = devSet ? Math.ceil(devSet.rows.length / evalBatchSize) : 0

  const elapsed = () => performance.now() - t0
  const eta = () => {
    const perStep = step > 0 ? trainMs / step : 0
    const evalsLeft = devSet ? epochs - evalRuns : 0
    const perEval = evalRuns > 0 ? evalMs / evalRuns : (perStep * devBatches * evalBatchSize) / (3 * batchSize)
    return Math.max(0, Math.round(perStep * (totalSteps - step) + perEval * evalsLeft))
  }
  const emit = (e: Omit<TrainEvent, 'epochs' | 'totalSteps' | 'elapsedMs' | 'etaMs' | 'step'>) => {
    opts.onEvent?.({ ...e, epochs, step, totalSteps, elapsedMs: Math.round(elapsed()), etaMs: eta() })
  }
  const cancelled = () => opts.shouldCancel?.() === true

  const policy = opts.checkpoint
  const everySteps = policy?.everySteps && policy.everySteps > 0 ? Math.floor(policy.everySteps) : 0
  const atEpochEnd = policy !== undefined && policy.atEpochEnd !== false
  const everyMs = policy?.everyMs && policy.everyMs > 0 ? policy.everyMs : 0
  let lastSave = performance.now()
  let epochLoss = ck?.epochLoss ?? 0
  let epochSteps = ck?.epochSteps ?? 0
  /** The state as a checkpoint at position (epoch, batch); batches = the epoch's order when batch > 0. */
  let epochStartShuffle = shuffleRng.state()
  const save = async (epoch: number, batch: number, batches: Int32Array[] | null) => {
    if (!policy) return
    const adam = opt.exportState()
    let order: Int32Array | null = null
    let sizes: number[] | null = null
    if (batch > 0 && batches) {
      sizes = batches.map((b) => b.length)
      order = new Int32Array(sizes.reduce((a, b) => a + b, 0))
      let o = 0
      for (const b of batches) {
        order.set(b, o)
        o += b.length
      }
    }
    await policy.save({
      version: TRAIN_CHECKPOINT_VERSION,
      fingerprint,
      step,
      epoch,
      batch,
      // batch 0: the epoch's shuffle is still to be drawn
      shuffleRng: batch > 0 || batches === null ? shuffleRng.state() : epochStartShuffle,
      dropoutRng: dropoutRng.state(),
      order,
      batchSizes: sizes,
      epochLoss: batch > 0 ? epochLoss : 0,
      epochSteps: batch > 0 ? epochSteps : 0,
      summaries,
      best,
      slots: params.slots.map((x) => ({ name: x.name, shape: x.shape, indices: x.indices })),
      values: params.slots.map((x) => x.values),
      adam: { step: adam.step, m: adam.m, v: adam.v },
      bestValues: bestSnap,
      timing: { trainMs, evalMs, evalRuns, samplesDone }
    })
    checkpointsSaved++
    lastSave = performance.now()
    emit({ type: 'checkpoint', phase: 'train', epoch: Math.min(epoch, epochs) })
  }

  try {
    outer: for (let epoch = ck?.epoch ?? 1; epoch <= epochs; epoch++) {
      emit({ type: 'phase', phase: 'train', epoch, ...(ck && epoch === ck.epoch ? { resumedFrom: ck.step } : {}) })
      let batches: Int32Array[]
      let firstBatch = 0
      if (ck && epoch === ck.epoch && ck.batch > 0) {
        batches = unflatten(ck.order, ck.batchSizes, trainSet.rows.length)
        if (ck.batch > batches.length) throw new Error(`cannot resume: the checkpoint is at batch ${ck.batch} of an epoch with ${batches.length} batches`)
        firstBatch = ck.batch
      } else {
        epochStartShuffle = shuffleRng.state()
        batches = epochBatches(trainLengths, batchSize, shuffleRng, opts.bucketByLength === true)
        epochLoss = 0
        epochSteps = 0
      }
      for (let bi = firstBatch; bi < batches.length; bi++) {
        if (cancelled()) {
          status = 'cancelled'
          if (policy && policy.onCancel !== false && (!ck || step > ck.step || bi > firstBatch)) await save(epoch, bi, batches)
          break outer
        }
        const ts = performance.now()
        const rows = batches[bi]
        const labels = Array.from(rows, (r) => trainSet.labels[r]!)
        const dropoutSeed = dropoutRng.int(1 << 30)
        const { loss, gradNorm, lrUsed } = pool ? await trainStepParallel(pool, rows, dropoutSeed) : await trainStep(collate(trainSet, rows, padTo), labels, dropoutSeed)
        // a diverged step stops the run here, before any checkpoint could keep its weights (issue 18)
        if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
          throw new NonFiniteError(
            `training diverged at step ${step + 1} of ${totalSteps} (epoch ${epoch}): the ${Number.isFinite(loss) ? `gradient norm is ${gradNorm}` : `loss is ${loss}`} at learning rate ${lrUsed}; start again with a lower --lr (now ${lr})${maxGradNorm > 0 ? '' : ' or with --max-grad-norm 1'}`
          )
        }
        step++
        samplesDone += rows.length
        epochLoss += loss
        epochSteps++
        pendingLoss += loss
        pendingSteps++
        trainMs += performance.now() - ts
        // a checkpoint on the epoch's last batch would be replaced by the epoch-end one at once
        const due = (everySteps > 0 && step % everySteps === 0) || (everyMs > 0 && performance.now() - lastSave >= everyMs)
        if (due && !(atEpochEnd && bi === batches.length - 1)) await save(epoch, bi + 1, batches)
        const now = performance.now()
        if (now - lastEmit >= intervalMs || bi === batches.length - 1) {
          lastEmit = now
          emit({
            type: 'step',
            phase: 'train',
            epoch,
            loss: pendingLoss / pendingSteps,
            lr: lrUsed,
            gradNorm,
            samplesPerSec: samplesDone / Math.max(1e-9, trainMs / 1000)
          })
          pendingLoss = 0
          pendingSteps = 0
        }
        await nextTick()
      }
      let ev: EvalResult | null = null
      if (devSet) {
        emit({ type: 'phase', phase: 'eval', epoch })
        const te = performance.now()
        const r = await evaluate(devSet, epoch)
        evalMs += performance.now() - te
        evalRuns++
        if (r === null) {
          status = 'cancelled'
          if (policy && policy.onCancel !== false) await save(epoch, batches.length, batches)
          summaries.push({ epoch, step, trainLoss: epochLoss / Math.max(1, epochSteps), eval: null })
          break
        }
        ev = r
        emit({ type: 'eval', phase: 'eval', epoch, metrics: ev.metrics, main: ev.main, evalLoss: ev.loss })
        if (best === null || better(ev, best)) {
          best = ev
          if (opts.restoreBest) bestSnap = params.snapshot()
        }
      }
      summaries.push({ epoch, step, trainLoss: epochLoss / Math.max(1, epochSteps), eval: ev })
      epochsCompleted++
      if (atEpochEnd) await save(epoch + 1, 0, null)
    }
    let restoredBest = false
    if (opts.restoreBest && bestSnap && status === 'completed') {
      params.restore(bestSnap)
      params.writeBack()
      restoredBest = true
    }
    const final = [...summaries].reverse().find((s) => s.eval)?.eval ?? null
    emit({ type: 'done', phase: 'done', epoch: Math.max(1, summaries.length), status })
    const totalMs = elapsed()
    return {
      status,
      steps: step,
      totalSteps,
      warmupSteps,
      epochsCompleted,
      epochs: summaries,
      final,
      best,
      restoredBest,
      devIds: devSet?.ids ?? [],
      trainableEntries: params.size,
      optimizerStateBytes: opt.stateBytes,
      elapsedMs: Math.round(totalMs),
      stepsPerSec: (step - resumedFromStep) / Math.max(1e-9, trainMs / 1000),
      resumedFromStep,
      checkpointsSaved
    }
  } finally {
    params.dispose()
    await pool?.close()
  }

  /** One step over worker threads: shares are contiguous slices of the batch. */
  async function trainStepParallel(p: GradWorkerPool, rows: ArrayLike<number>, dropoutSeed: number) {
    const all = Array.from(rows)
    const per = Math.ceil(all.length / p.size)
    const shares = []
    for (let w = 0; w * per < all.length; w++) {
      const part = all.slice(w * per, (w + 1) * per)
      shares.push({ batch: collate(trainSet, part, padTo), labels: part.map((r) => trainSet.labels[r]!) })
    }
    const { grads, lossSum } = await p.step(shares, all.length, dropoutSeed, sparseGradients)
    const gradNorm = clipGradNorm(grads, maxGradNorm)
    const lrUsed = linearScheduleLr(lr, step, totalSteps, warmupSteps)
    opt.step(grads, lrUsed)
    params.writeBack()
    await p.update(params.slots.map((s) => s.values))
    return { loss: lossSum / all.length, gradNorm, lrUsed }
  }

  async function trainStep(batch: ReturnType<typeof collate>, labels: number[], dropoutSeed: number) {
    const { logits, cache } = model.forward(batch, { training: true, dropoutSeed })
    let lossTensor: tf.Tensor
    let grads: Map<string, tf.Tensor>
    try {
      const { loss, dLogits } = model.lossAndGrad(logits, labels)
      lossTensor = loss
      try {
        grads = model.backward(cache, dLogits, { wantGrad, gradEntries: sparseGradients ? (n) => params.sparseIndices(n) : undefined })
      } catch (e) {
        loss.dispose()
        throw e
      } finally {
        dLogits.dispose()
      }
    } finally {
      logits.dispose()
      disposeCache(cache)
    }
    let g: Float32Array[]
    let lossValue: number
    try {
      lossValue = (await lossTensor.data())[0]
      g = await params.gather(grads)
    } finally {
      lossTensor.dispose()
      for (const t of grads.values()) t.dispose()
    }
    const gradNorm = clipGradNorm(g, maxGradNorm)
    const lrUsed = linearScheduleLr(lr, step, totalSteps, warmupSteps)
    opt.step(g, lrUsed)
    params.writeBack()
    return { loss: lossValue, gradNorm, lrUsed }
  }

  /** Dev evaluation; null when cancelled between batches. */
  async function evaluate(set: EncodedSet, epoch: number): Promise<EvalResult | null> {
    const N = set.rows.length
    const C = cfg.num_labels
    const predictions: number[] = new Array(N)
    let lossSum = 0
    let labelled = 0
    const order = epochBatches(Int32Array.from(set.rows, (r) => r.ids.length), evalBatchSize, null, false)
    for (const rows of order) {
      if (cancelled()) return null
      const batch = collate(set, rows, padTo)
      const lt = model.logits(batch, { training: false })
      const z = (await lt.data()) as Float32Array
      lt.dispose()
      for (let b = 0; b < rows.length; b++) {
        const r = rows[b]
        const y = set.labels[r]
        if (regression) {
          predictions[r] = z[b]
          if (y !== undefined) {
            lossSum += (z[b] - y) ** 2
            labelled++
          }
          continue
        }
        let arg = 0
        let mx = -Infinity
        for (let c = 0; c < C; c++) if (z[b * C + c] > mx) { mx = z[b * C + c]; arg = c }
        predictions[r] = arg
        if (y !== undefined) {
          let s = 0
          for (let c = 0; c < C; c++) s += Math.exp(z[b * C + c] - mx)
          lossSum += mx + Math.log(s) - z[b * C + y]
          labelled++
        }
      }
      await nextTick()
    }
    const allLabelled = labelled === N && N > 0
    let metrics: EvalResult['metrics'] = {}
    let main: number | null = null
    if (task && allLabelled) {
      const r = taskMetrics(task, predictions, set.labels as number[])
      metrics = r.metrics
      main = r.main
    }
    return { epoch, step, loss: labelled > 0 ? lossSum / labelled : NaN, metrics, main, predictions }
  }
}

/** A checkpoint's flattened epoch order back into batches, checked against the training set. */
function unflatten(order: Int32Array | null, sizes: number[] | null, rows: number): Int32Array[] {
  if (!order || !sizes) throw new Error('cannot resume: the checkpoint is inside an epoch but holds no data order')
  const total = sizes.reduce((a, b) => a + b, 0)
  if (total !== order.length || order.length !== rows) throw new Error(`cannot resume: the checkpoint's data order covers ${order.length} rows, the training set has ${rows}`)
  const out: Int32Array[] = []
  let o = 0
  for (const n of sizes) {
    out.push(order.slice(o, o + n))
    o += n
  }
  return out
}

/** FNV-1a of the encoded training set (token ids, types, labels, in order). */
function encodedHash(set: EncodedSet): string {
  let h = 0x811c9dc5
  set.rows.forEach((r, i) => {
    h = fnv1a([r.ids.length], h)
    h = fnv1a(r.ids, h)
    h = fnv1a(r.types, h)
    const y = set.labels[i]
    h = fnv1a(new Uint32Array(new Float64Array([y ?? NaN]).buffer), h)
  })
  return h.toString(16).padStart(8, '0')
}

/** Is a better than b? Higher main score (NaN counts as worst), else lower dev loss. */
function better(a: EvalResult, b: EvalResult): boolean {
  if (a.main !== null && b.main !== null) {
    if (Number.isNaN(b.main)) return !Number.isNaN(a.main)
    return a.main > b.main
  }
  return a.loss < b.loss
}

/**
 * The Fisher pass driver: runs FisherAccumulator over a chosen subset of samples in length-bucketed
 * batches with dynamic padding (the chosen samples sorted by length, each batch padded to its own
 * longest), reports progress, checks for cancellation between batches and counts per-sample gradient
 * evaluations.
 *
 * Owns: batching, padding, progress/cancel, the evaluation count.
 * Must not: choose samples or parameters (fish.ts / ird.ts), or keep per-sample Fisher vectors.
 */
import type { BertBatch, BertForSequenceClassification } from '../model/bert'
import type { Example } from '../data/types'
import type { BertTokenizer } from '../tokenizer'
import { hasSyncReads } from '../backend'
import { FisherAccumulator, type FisherPower, type FisherVariant } from '../fisher/accumulator'
import { computeFisherParallel, FisherCancelledError, type FisherPool } from '../fisher/parallel'
import { firstNonFinite, NonFiniteError, nonFiniteName } from '../util/non-finite'

/** One tokenised training sample. */
export interface EncodedSample {
  /** The example's stable id (recorded with the mask). */
  id: string
  inputIds: ArrayLike<number>
  /** Default all 0. */
  tokenTypeIds?: ArrayLike<number>
  /** Class index, or the float target of a regression head. */
  label: number
}

export interface FisherSettings {
  variant: FisherVariant
  power: FisherPower
}

export const DEFAULT_FISHER: FisherSettings = { variant: 'label', power: 'square' }
export const DEFAULT_BATCH_SIZE = 16

export interface SelectionProgress {
  /** What runs, e.g. "fisher", "ird round 2: sample scores". */
  phase: string
  /** IRD round (1-based), absent for FISH. */
  round?: number
  /** Samples done / to do in this pass. */
  done: number
  total: number
}

export class SelectionCancelled extends Error {
  constructor() {
    super('mask selection was cancelled')
    this.name = 'SelectionCancelled'
  }
}

/** Tokenise examples for the Fisher passes (truncation to maxLength, default 128). Examples need labels. */
export function encodeExamples(tokenizer: BertTokenizer, examples: readonly Example[], opts: { maxLength?: number } = {}): EncodedSample[] {
  const maxLength = opts.maxLength ?? 128
  return examples.map((e, i) => {
    if (e.label === undefined || !Number.isFinite(e.label)) {
      throw new Error(`example ${i} (id "${e.id}", line ${e.line}) has no label; Fisher selection needs labelled training data`)
    }
    const enc = tokenizer.encode(e.textA, e.textB ?? null, { maxLength, truncation: true })
    return { id: e.id, inputIds: enc.inputIds, tokenTypeIds: enc.tokenTypeIds, label: e.label }
  })
}

/**
 * Split `positions` (indices into samples) into batches of at most batchSize after sorting them by
 * length (stable: equal lengths keep their order), so each batch pads little.
 */
export function lengthBuckets(samples: readonly { inputIds: ArrayLike<number> }[], positions: readonly number[], batchSize: number): number[][] {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, found ${batchSize}`)
  const sorted = [...positions].sort((a, b) => samples[a].inputIds.length - samples[b].inputIds.length || a - b)
  const out: number[][] = []
  for (let i = 0; i < sorted.length; i += batchSize) out.push(sorted.slice(i, i + batchSize))
  return out
}

/** Right-pad the given samples to the longest of them (pad id, token type 0, attention 0). */
export function makeBatch(samples: readonly EncodedSample[], positions: readonly number[], padId: number): BertBatch {
  let T = 0
  for (const p of positions) T = Math.max(T, samples[p].inputIds.length)
  const B = positions.length
  const inputIds = new Int32Array(B * T).fill(padId)
  const tokenTypeIds = new Int32Array(B * T)
  const attentionMask = new Int32Array(B * T)
  positions.forEach((p, b) => {
    const s = samples[p]
    const n = s.inputIds.length
    if (n === 0) throw new Error(`sample "${s.id}" has no tokens`)
    inputIds.set(Array.from(s.inputIds), b * T)
    if (s.tokenTypeIds) {
      if (s.tokenTypeIds.length !== n) throw new Error(`sample "${s.id}" has ${n} input ids but ${s.tokenTypeIds.length} token type ids`)
      tokenTypeIds.set(Array.from(s.tokenTypeIds), b * T)
    }
    attentionMask.fill(1, b * T, b * T + n)
  })
  return { inputIds, tokenTypeIds, attentionMask, batchSize: B, seqLen: T }
}

export interface FisherPassOptions {
  /**
   * Fisher worker threads (fisher/parallel.ts): 0 (default) computes in this thread on the running
   * backend; N > 0 splits the batches over N workers (one core each), for wasm/cpu. The result then
   * differs from in-process only by float32 summation order, and never depends on N.
   */
  workers?: number
  /**
   * A Fisher worker pool made from this model's weights (createFisherPool), shared by the passes of one
   * selection so workers start once; preferred over `workers` when given. The caller closes it.
   */
  pool?: FisherPool
  batchSize?: number
  fisher?: FisherSettings
  /** Tensors that get F (and enter the scores): default every non-head parameter. */
  params?: (name: string) => boolean
  /** Per-sample score range (see FisherAccumulator); absent tensor = whole tensor. */
  scoreRange?: Map<string, Uint8Array>
  /** Compute per-sample scores s_i. */
  scores?: boolean
  phase?: string
  round?: number
  onProgress?: (p: SelectionProgress) => void
  shouldCancel?: () => boolean
}

export interface FisherPassResult {
  /** F[j] = Σ_i f_i[j] over the pass's samples, per non-head tensor requested. */
  F: Map<string, Float32Array>
  /** s_i, aligned with the `positions` argument (empty unless opts.scores). */
  scores: Float64Array
  /** Per-sample gradients computed: samples × (1 for 'label', num_labels for 'expect'). */
  gradientEvaluations: number
}

const yieldToEventLoop = () => new Promise<void>((r) => setImmediate(r))

function sampleList(samples: readonly EncodedSample[], batch: readonly number[]): string {
  const ids = batch.slice(0, 5).map((p) => JSON.stringify(samples[p].id))
  return `${ids.join(', ')}${batch.length > 5 ? `, … (${batch.length} samples)` : ''}`
}

/**
 * Stop a Fisher pass whose values turned NaN or ±Inf (issue 18): a mask chosen from them would be
 * arbitrary. F only grows, so a non-finite entry stays: checking after each batch names the first batch
 * that produced one. One pass over the accumulators, small next to the batch's backward pass.
 */
function checkFinite(F: Map<string, Float32Array>, scores: ArrayLike<number> | null, where: string): void {
  if (scores) {
    const b = firstNonFinite(scores)
    if (b >= 0) throw new NonFiniteError(`Fisher scores became non-finite (${nonFiniteName(scores[b])}) ${where}: the model's gradients overflow on these samples; check the model's weights (a diverged or damaged checkpoint?)`)
  }
  for (const [name, f] of F) {
    const i = firstNonFinite(f)
    if (i >= 0) throw new NonFiniteError(`the Fisher information of "${name}" became non-finite (${nonFiniteName(f[i])} at flat index ${i}) ${where}: the model's gradients overflow on these samples; check the model's weights (a diverged or damaged checkpoint?)`)
  }
}

/** One Fisher pass over samples[positions]. */
export async function fisherPass(
  model: BertForSequenceClassification,
  samples: readonly EncodedSample[],
  positions: readonly number[],
  opts: FisherPassOptions = {}
): Promise<FisherPassResult> {
  const fisher = opts.fisher ?? DEFAULT_FISHER
  const batches = lengthBuckets(samples, positions, opts.batchSize ?? DEFAULT_BATCH_SIZE)
  const where = new Map<number, number>()
  positions.forEach((p, i) => where.set(p, i))
  if (where.size !== positions.length) throw new Error('fisherPass: positions must be distinct')
  const scores = new Float64Array(opts.scores ? positions.length : 0)
  const C = model.config.num_labels
  const perSample = fisher.variant === 'expect' ? C : 1
  const phase = opts.phase ?? 'fisher'
  if (opts.pool || (opts.workers && opts.workers > 0)) return parallelPass(model, samples, positions, batches, where, opts, phase, perSample)
  const acc = new FisherAccumulator(model)
  let done = 0
  try {
    opts.onProgress?.({ phase, round: opts.round, done, total: positions.length })
    for (const [bi, batch] of batches.entries()) {
      if (opts.shouldCancel?.()) throw new SelectionCancelled()
      const labels = batch.map((p) => {
        const y = samples[p].label
        if (typeof y !== 'number' || !Number.isFinite(y)) throw new Error(`sample "${samples[p].id}" has no usable label (${String(y)})`)
        return y
      })
      const s = await acc.addBatch(makeBatch(samples, batch, model.config.pad_token_id), labels, {
        variant: fisher.variant,
        power: fisher.power,
        params: opts.params,
        scoreRange: opts.scoreRange,
        scores: opts.scores
      })
      // host backends: F is in memory, checked per batch (naming it); webgpu keeps F on the device and
      // reads it once per pass, so there the scores are checked per batch and F after the pass
      const at = `in batch ${bi + 1} of ${batches.length} of the ${phase} pass (samples ${sampleList(samples, batch)})`
      checkFinite(hasSyncReads() ? await acc.result() : new Map(), opts.scores ? s : null, at)
      if (opts.scores) batch.forEach((p, b) => (scores[where.get(p)!] = s[b]))
      done += batch.length
      opts.onProgress?.({ phase, round: opts.round, done, total: positions.length })
      await yieldToEventLoop()
    }
    const F = await acc.result()
    if (!hasSyncReads()) checkFinite(F, null, `in the ${phase} pass (${positions.length} samples; this backend sums on the device, so the batch is not known)`)
    return { F, scores, gradientEvaluations: positions.length * perSample }
  } finally {
    acc.dispose()
  }
}

/** fisherPass over worker threads (the given pool, else a pool for this pass): same batches, same result layout. */
async function parallelPass(
  model: BertForSequenceClassification,
  samples: readonly EncodedSample[],
  positions: readonly number[],
  batches: number[][],
  where: Map<number, number>,
  opts: FisherPassOptions,
  phase: string,
  perSample: number
): Promise<FisherPassResult> {
  const fisher = opts.fisher ?? DEFAULT_FISHER
  const work = batches.map((batch) => ({
    batch: makeBatch(samples, batch, model.config.pad_token_id),
    labels: batch.map((p) => {
      const y = samples[p].label
      if (typeof y !== 'number' || !Number.isFinite(y)) throw new Error(`sample "${samples[p].id}" has no usable label (${String(y)})`)
      return y
    })
  }))
  const params = opts.params ? model.spec.filter((s) => !s.head && opts.params!(s.name)).map((s) => s.name) : undefined
  opts.onProgress?.({ phase, round: opts.round, done: 0, total: positions.length })
  try {
    const run = {
      batches: work,
      fisher: { variant: fisher.variant, power: fisher.power, scores: opts.scores, scoreRange: opts.scoreRange, params },
      onProgress: (done: number, total: number) => opts.onProgress?.({ phase, round: opts.round, done, total }),
      shouldCancel: opts.shouldCancel
    }
    if (opts.pool && opts.pool.config !== model.config && JSON.stringify(opts.pool.config) !== JSON.stringify(model.config)) throw new Error('fisherPass: the Fisher worker pool was made for another model')
    const r = opts.pool ? await opts.pool.run(run) : await computeFisherParallel({ ...run, config: model.config, state: await model.readState(), workers: opts.workers })
    const scores = new Float64Array(opts.scores ? positions.length : 0)
    let k = 0
    for (const [bi, batch] of batches.entries()) {
      const where1 = `in batch ${bi + 1} of ${batches.length} of the ${phase} pass (samples ${sampleList(samples, batch)})`
      if (opts.scores) checkFinite(new Map(), r.scores.slice(k, k + batch.length), where1)
      for (const p of batch) if (opts.scores) scores[where.get(p)!] = r.scores[k++]
    }
    // the workers sum F over all batches: a non-finite entry is named by tensor, the pass as a whole
    checkFinite(r.fisher, null, `in the ${phase} pass over ${positions.length} samples`)
    return { F: r.fisher, scores, gradientEvaluations: positions.length * perSample }
  } catch (e) {
    if (e instanceof FisherCancelledError) throw new SelectionCancelled()
    throw e
  }
}

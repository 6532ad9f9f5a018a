/**
 * Mask selection: one entry point for every method (ALGORITHMS.md): `fish`, `ird`, `random`, `bitfit`,
 * `full`. Every choice is a setting with a stated default, every run is seeded, and the result records
 * the resolved settings, the selected sample ids, statistics and the per-sample gradient evaluations
 * spent, ready for saveMask (toSidecarInput).
 *
 * The model must be the one fine-tuning starts from (head freshly initialised, as ALGORITHMS.md says);
 * Fisher passes run it in evaluation mode (dropout off).
 * Owns: resolving options, sampling, assembling the result. Must not: train or write files.
 */
import type { BertForSequenceClassification } from '../model/bert'
import type { Example } from '../data/types'
import type { BertTokenizer } from '../tokenizer'
import { compactMask, headParams, maskCount, maskCountsPerTensor, maskUnion, type ParamMask } from '../mask/mask'
import type { MaskSidecarInput } from '../mask/io'
import { computeBudget, type Budget } from './budget'
import { checkFraction, checkInteger, thetaNames } from './common'
import { DEFAULT_BATCH_SIZE, DEFAULT_FISHER, encodeExamples, SelectionCancelled, type EncodedSample, type FisherPassOptions, type FisherSettings, type SelectionProgress } from './fisher-pass'
import { drawSamples, fishOnSamples } from './fish'
import { DEFAULT_IRD, runIrd, type IrdRound, type IrdRoundListener, type IrdSettings } from './ird'
import { bitfitTheta, randomTheta } from './baselines'
import { fisherStats, quantiles, type FisherStats, type Quantiles } from './stats'
import { Rng } from '../util/rng'
import { createFisherPool, type FisherPool } from '../fisher/parallel'

export * from './budget'
export * from './topk'
export * from './fisher-pass'
export * from './stats'
export { drawSamples } from './fish'
export { DEFAULT_IRD, runIrd, type IrdRound, type IrdRoundListener, type IrdSettings, type IrdResult } from './ird'
export { bitfitTheta, randomTheta } from './baselines'

export type SelectionMethod = 'ird' | 'fish' | 'random' | 'bitfit' | 'full'
export const SELECTION_METHODS: readonly SelectionMethod[] = ['ird', 'fish', 'random', 'bitfit', 'full']

export const DEFAULT_KEEP_RATIO = 0.005
export const DEFAULT_N_SAMPLES = 1024
export const DEFAULT_SEED = 0

export interface SelectMaskOptions {
  method: SelectionMethod
  model: BertForSequenceClassification
  /** Tokenised training samples (fish, ird) … */
  samples?: readonly EncodedSample[]
  /** … or examples plus a tokenizer (encoded with truncation to maxLength, default 128). */
  examples?: readonly Example[]
  tokenizer?: BertTokenizer
  maxLength?: number
  /** Default 0.005 (0.5 %). bitfit and full ignore it. */
  keepRatio?: number
  /** Sample budget n; default 1024, capped at the dataset size (with a note). */
  nSamples?: number
  /** Default 0. */
  seed?: number
  fisher?: Partial<FisherSettings>
  ird?: Partial<IrdSettings>
  /** Fisher-pass batch size; default 16. */
  batchSize?: number
  /** Fisher worker threads (see FisherPassOptions.workers); default 0 = in this thread. With workers, one pool serves every pass of the selection. */
  workers?: number
  /** Recorded only. */
  datasetSha256?: string
  onProgress?: (p: SelectionProgress) => void
  /** Checked between batches; true aborts with SelectionCancelled. */
  shouldCancel?: () => boolean
  /** IRD: called after every round with the round's record, S_t (dataset positions) and P_t (θ only). */
  onIrdRound?: IrdRoundListener
}

export interface SampleScores {
  /** What the scores are, e.g. "s_i over all of θ". */
  scope: string
  ids: string[]
  scores: number[]
  distribution: Quantiles
}

export interface SelectionStats {
  /** Entries selected per parameter tensor (head included). */
  selectedPerTensor: Record<string, number>
  /** fish, ird: Fisher statistics (see scope). */
  fisher?: FisherStats
  /** fish: s_i of the drawn samples; ird: of the pool samples in round 1 (both over all of θ). */
  sampleScores?: SampleScores
  ird?: {
    poolSize: number
    rounds: IrdRound[]
    stopReason: string
    /** Final P against plain FISH on D₀ (θ parts). */
    finalFishOverlap: IrdRound['fishOverlap']
    recompute: string
  }
}

export interface SelectionResult {
  method: SelectionMethod
  /** Canonical form (see compactMask): θ selection ∪ H. */
  mask: ParamMask
  /** θ entries selected (the budget k for fish/ird/random; the bias count for bitfit; |θ| for full). */
  k: number
  headSize: number
  totalParams: number
  thetaSize: number
  /** |mask| (head included) and |mask| / totalParams. */
  maskCount: number
  effectiveRatio: number
  keepRatio: number | null
  nSamples: number | null
  seed: number
  selectedSampleIds: string[]
  /** Per-sample gradients computed (×num_labels for the 'expect' variant). */
  gradientEvaluations: number
  settings: Record<string, unknown>
  stats: SelectionStats
  notes: string[]
  datasetSha256: string | null
}

function resolveSamples(opts: SelectMaskOptions): readonly EncodedSample[] {
  if (opts.samples) return opts.samples
  if (opts.examples && opts.tokenizer) return encodeExamples(opts.tokenizer, opts.examples, { maxLength: opts.maxLength })
  throw new Error(`method "${opts.method}" needs training samples: pass samples (tokenised) or examples with a tokenizer`)
}

/** Select a mask. Asynchronous: yields to the event loop between Fisher batches. */
export async function selectMask(opts: SelectMaskOptions): Promise<SelectionResult> {
  const { method, model } = opts
  if (!SELECTION_METHODS.includes(method)) throw new Error(`unknown selection method ${JSON.stringify(method)} (choose one of ${SELECTION_METHODS.join(', ')})`)
  const spec = model.spec
  const seed = opts.seed ?? DEFAULT_SEED
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`seed must be an integer in [0, 2^32), found ${seed}`)
  const notes: string[] = []
  const head = headParams(spec)
  const finish = (theta: ParamMask, budget: Omit<Budget, 'keepRatio'> & { keepRatio: number | null }, extra: Partial<SelectionResult>): SelectionResult => {
    const mask = maskUnion(theta, head, spec)
    const count = maskCount(mask, spec)
    return {
      method,
      mask,
      k: budget.k,
      headSize: budget.headSize,
      totalParams: budget.totalParams,
      thetaSize: budget.thetaSize,
      maskCount: count,
      effectiveRatio: count / budget.totalParams,
      keepRatio: budget.keepRatio,
      nSamples: null,
      seed,
      selectedSampleIds: [],
      gradientEvaluations: 0,
      settings: {},
      notes,
      datasetSha256: opts.datasetSha256 ?? null,
      ...extra,
      stats: { ...extra.stats, selectedPerTensor: maskCountsPerTensor(mask, spec) }
    }
  }

  if (method === 'full' || method === 'bitfit') {
    const b = computeBudget(spec, 1)
    const theta = method === 'full' ? compactMask(new Map(thetaNames(spec).map((n) => [n, 'all' as const])), spec) : bitfitTheta(spec)
    const k = maskCount(theta, spec)
    if (opts.keepRatio !== undefined) notes.push(`${method} ignores keep_ratio (${opts.keepRatio}): its budget is ${method === 'full' ? 'every parameter' : 'every bias term'}`)
    if (method === 'bitfit') {
      notes.push(`bitfit: every ".bias" tensor of θ (dense and LayerNorm biases, pooler included; LayerNorm weights excluded) ∪ head: ${k} + ${b.headSize} = ${k + b.headSize} of ${b.totalParams} parameters (${((100 * (k + b.headSize)) / b.totalParams).toFixed(4)} %)`)
    }
    return finish(theta, { ...b, keepRatio: null, k }, { settings: { method } })
  }

  const budget = computeBudget(spec, opts.keepRatio ?? DEFAULT_KEEP_RATIO)
  if (method === 'random') {
    return finish(randomTheta(spec, budget.k, seed), budget, { settings: { method, keepRatio: budget.keepRatio } })
  }

  // fish, ird
  const samples = resolveSamples(opts)
  if (samples.length === 0) throw new Error(`method "${method}" needs at least one training sample`)
  const fisher: FisherSettings = { ...DEFAULT_FISHER, ...opts.fisher }
  if (fisher.variant !== 'label' && fisher.variant !== 'expect') throw new Error(`fisher.variant must be 'label' or 'expect', found ${JSON.stringify(fisher.variant)}`)
  if (fisher.power !== 'square' && fisher.power !== 'absolute') throw new Error(`fisher.power must be 'square' or 'absolute', found ${JSON.stringify(fisher.power)}`)
  const batchSize = checkInteger('batchSize', opts.batchSize ?? DEFAULT_BATCH_SIZE, 1)
  const nAsked = checkInteger('nSamples', opts.nSamples ?? DEFAULT_N_SAMPLES, 1)
  const n = Math.min(nAsked, samples.length)
  if (n < nAsked) notes.push(`nSamples ${nAsked} is more than the ${samples.length} training samples: using all ${n}`)
  const workers = opts.workers ?? 0
  if (!Number.isInteger(workers) || workers < 0) throw new RangeError(`workers must be a non-negative integer, found ${workers}`)
  const pass: FisherPassOptions = { batchSize, fisher, workers, onProgress: opts.onProgress, shouldCancel: opts.shouldCancel }
  /**
   * With workers, every Fisher pass of the selection runs on one pool (workers start once, with the
   * weights), no larger than the largest pass has batches; closed when the selection ends, however it ends.
   */
  const withPool = async <T>(largestPass: number, f: () => Promise<T>): Promise<T> => {
    if (workers === 0) return f()
    if (opts.shouldCancel?.()) throw new SelectionCancelled()
    const pool: FisherPool = await createFisherPool({ config: model.config, state: await model.readState(), workers: Math.min(workers, Math.ceil(largestPass / batchSize)) })
    pass.pool = pool
    try {
      return await f()
    } finally {
      delete pass.pool
      await pool.close()
    }
  }
  // how examples were tokenised, when selectMask did it
  const tokenization = opts.samples ? {} : { maxLength: opts.maxLength ?? 128, truncation: 'longest_first' }
  const ids = (positions: readonly number[]) => positions.map((p) => samples[p].id)

  if (method === 'fish') {
    const positions = drawSamples(samples.length, n, seed)
    const r = await withPool(positions.length, () => fishOnSamples(model, samples, positions, budget.k, pass))
    const mask = maskUnion(r.theta, head, spec)
    return finish(r.theta, budget, {
      nSamples: n,
      selectedSampleIds: ids(positions),
      gradientEvaluations: r.gradientEvaluations,
      settings: { method, keepRatio: budget.keepRatio, nSamples: n, fisher, batchSize, ...tokenization, tieBreak: 'larger F first, then lower (tensor spec order, flat index)' },
      stats: {
        selectedPerTensor: {},
        fisher: fisherStats(r.F, spec, `F over the ${n} FISH samples`, mask),
        sampleScores: { scope: 's_i over all of θ', ids: ids(positions), scores: Array.from(r.scores), distribution: quantiles(r.scores) }
      }
    })
  }

  // ird
  const ird: IrdSettings = { ...DEFAULT_IRD, ...opts.ird }
  if (typeof ird.poolFactor !== 'number' || !(ird.poolFactor >= 1) || !Number.isFinite(ird.poolFactor)) throw new RangeError(`ird.poolFactor must be a number ≥ 1, found ${String(ird.poolFactor)}`)
  checkFraction('ird.alphaS', ird.alphaS)
  checkFraction('ird.alphaP', ird.alphaP)
  if (ird.maxRounds !== null && ird.maxRounds !== undefined) checkInteger('ird.maxRounds', ird.maxRounds, 1)
  ird.maxRounds ??= null
  const poolSize = Math.min(samples.length, Math.ceil(ird.poolFactor * n))
  if (poolSize < Math.ceil(ird.poolFactor * n)) notes.push(`IRD pool D₀ = all ${samples.length} training samples (poolFactor ${ird.poolFactor} × n ${n} = ${Math.ceil(ird.poolFactor * n)} is more)`)
  const pool = new Rng(seed).sample(samples.length, poolSize)
  const r = await withPool(pool.length, () => runIrd(model, samples, pool, n, budget.k, ird, pass, opts.onIrdRound))
  const mask = maskUnion(r.theta, head, spec)
  const last = r.rounds[r.rounds.length - 1]
  if (r.stopReason !== 'budgets reached') notes.push(`IRD stopped by ${r.stopReason} at round ${last.round}: the last round cut straight to n = ${n} and k = ${budget.k}`)
  return finish(r.theta, budget, {
    nSamples: n,
    selectedSampleIds: ids(r.positions),
    gradientEvaluations: r.gradientEvaluations,
    settings: {
      method,
      keepRatio: budget.keepRatio,
      nSamples: n,
      fisher,
      batchSize,
      ...tokenization,
      ird: { ...ird, poolSize },
      tieBreak: 'parameters: larger F first, then lower (tensor spec order, flat index); samples: larger s_i first, then lower dataset position'
    },
    stats: {
      selectedPerTensor: {},
      fisher: fisherStats(r.poolF, spec, `F over the IRD pool D₀ (${poolSize} samples); selected = final IRD mask`, mask),
      sampleScores: { scope: 's_i over all of θ, pool samples (IRD round 1)', ids: ids(r.pool), scores: Array.from(r.poolScores), distribution: quantiles(r.poolScores) },
      ird: {
        poolSize,
        rounds: r.rounds,
        stopReason: r.stopReason,
        finalFishOverlap: last.fishOverlap,
        recompute: 'f_i recomputed every round (no per-sample Fisher cache); step c reuses step a when S_t = S_{t-1}'
      }
    }
  })
}

/** What saveMask records for a selection result. */
export function toSidecarInput(r: SelectionResult, extra: { datasetName?: string; datasetRows?: number } = {}): MaskSidecarInput {
  return {
    method: r.method,
    seed: r.seed,
    datasetSha256: r.datasetSha256,
    datasetName: extra.datasetName ?? null,
    datasetRows: extra.datasetRows ?? null,
    keepRatio: r.keepRatio,
    k: r.k,
    nSamples: r.nSamples,
    settings: r.settings,
    selectedSampleIds: r.selectedSampleIds,
    gradientEvaluations: r.gradientEvaluations,
    stats: r.stats,
    notes: r.notes
  }
}

/**
 * IRD: Iterative (sample-parameter) Range Decreasing (Dong, Xue, Zheng, He, arXiv:2403.08484), exactly as
 * ALGORITHMS.md reads it:
 *
 *   S₀ = D₀ ;  P₀ = θ
 *   round t = 1, 2, ...
 *     a. s_i = Σ_{j ∈ P_{t-1}} f_i[j]                 for i ∈ S_{t-1}
 *     b. S_t = top max(n, ceil(α_s · |S_{t-1}|)) samples by s_i
 *     c. F_t[j] = Σ_{i ∈ S_t} f_i[j]                  for j ∈ P_{t-1}
 *     d. P_t = top max(k, ceil(α_p · |P_{t-1}|)) parameters by F_t
 *     stop when |S_t| = n and |P_t| = k; at round T (if set) cut straight to n and k
 *
 * f_i is recomputed every round (no per-sample Fisher cache): step a is one Fisher pass over S_{t-1}
 * restricted to the tensors of P_{t-1}, step c one over S_t. When S_t = S_{t-1} (the sample budget is
 * reached, or the pool was no larger than n), step c's F is exactly the F that step a's pass already
 * accumulated over the same samples and the same range, so it is reused and costs no gradients; the
 * evaluation count says so round by round.
 * Ties: samples by larger s_i, then lower dataset position; parameters as globalTopK.
 * The plain FISH mask on the same pool (F over all of D₀, global top-k) comes free from round 1's
 * score pass and is the reference for the per-round overlap.
 * Round limit T also guards against stalling: should a round shrink neither range (only possible when
 * α is so close to 1 that ceil(α·m) = m), the next round cuts straight to n and k and says so.
 *
 * Owns: the rounds and their records. Must not: train, touch files, or cache f_i.
 */
import type { BertForSequenceClassification } from '../model/bert'
import { maskCount, maskIntersectionCount, type ParamMask } from '../mask/mask'
import { accumulatorRange, thetaNames, thetaRange } from './common'
import { fisherPass, type EncodedSample, type FisherPassOptions } from './fisher-pass'
import { globalTopK, topPositions } from './topk'
import { quantiles, type Quantiles } from './stats'

export interface IrdSettings {
  /** D₀ = min(|train|, ceil(poolFactor · n)); default 8. */
  poolFactor: number
  /** α_s, default 0.5. */
  alphaS: number
  /** α_p, default 0.5. */
  alphaP: number
  /** Round limit T (null: none). */
  maxRounds: number | null
}

export const DEFAULT_IRD: IrdSettings = { poolFactor: 8, alphaS: 0.5, alphaP: 0.5, maxRounds: null }

export interface IrdRound {
  round: number
  /** |S_{t-1}|, |S_t|, |P_{t-1}|, |P_t| (P over θ, head excluded). */
  samplesBefore: number
  samplesAfter: number
  paramsBefore: number
  paramsAfter: number
  /** This round cut straight to n and k (round limit or stall). */
  cut: boolean
  /** Σ_{i∈S_t} s_i / Σ_{i∈S_{t-1}} s_i. */
  sampleMassKept: number
  /** Σ_{j∈P_t} F_t[j] / Σ_{j∈P_{t-1}} F_t[j]. */
  paramMassKept: number
  /** Distribution of s_i over S_{t-1}. */
  scores: Quantiles
  /** P_t against the plain FISH mask on D₀ (both over θ). */
  fishOverlap: { intersection: number; fractionOfFish: number; fractionOfRange: number; jaccard: number }
  /** Per-sample gradients this round: step a over S_{t-1}, plus step c over S_t unless reused. */
  gradientEvaluations: number
  /** Step c reused step a's F (S_t = S_{t-1}). */
  reusedScorePass: boolean
}

export interface IrdResult {
  /** P_final (θ only). */
  theta: ParamMask
  /** S_final as dataset positions, ascending. */
  positions: number[]
  /** D₀ as dataset positions, ascending. */
  pool: number[]
  rounds: IrdRound[]
  stopReason: 'budgets reached' | 'round limit' | 'stalled'
  /** Plain FISH on D₀, θ part. */
  fishOnPool: ParamMask
  /** F over D₀ (all of θ), for statistics. */
  poolF: Map<string, Float32Array>
  /** s_i over all of θ for each pool sample (round 1, step a), aligned with `pool`. */
  poolScores: Float64Array
  /** s_i of the last round's step a, aligned with `lastScored`. */
  lastScores: Float64Array
  lastScored: number[]
  gradientEvaluations: number
}

/** Called after every round with S_t (dataset positions, ascending) and P_t (θ only); must not modify them. */
export type IrdRoundListener = (round: IrdRound, S: readonly number[], P: ParamMask) => void

function sumAt(scores: Float64Array, at: number[]): number {
  let s = 0
  for (const i of at) s += scores[i]
  return s
}

/**
 * Run IRD over the pool (dataset positions, any order). n ≤ |pool| and 1 ≤ k ≤ |θ| are the caller's to
 * check.
 */
export async function runIrd(
  model: BertForSequenceClassification,
  samples: readonly EncodedSample[],
  poolPositions: number[],
  n: number,
  k: number,
  settings: IrdSettings,
  pass: FisherPassOptions,
  onRound?: IrdRoundListener
): Promise<IrdResult> {
  const spec = model.spec
  const order = thetaNames(spec)
  const pool = [...poolPositions].sort((a, b) => a - b)
  if (n > pool.length) throw new RangeError(`IRD: sample budget n = ${n} exceeds the pool (${pool.length} samples)`)
  let S = pool
  let P: ParamMask = thetaRange(spec)
  let sizeP = maskCount(P, spec)
  const rounds: IrdRound[] = []
  let fishOnPool: ParamMask = new Map()
  let poolF = new Map<string, Float32Array>()
  let poolScores: Float64Array = new Float64Array(0)
  let lastScores: Float64Array = new Float64Array(0)
  let lastScored: number[] = []
  let evals = 0
  let forceCut = false
  let stopReason: IrdResult['stopReason'] = 'budgets reached'
  for (let t = 1; ; t++) {
    const atLimit = settings.maxRounds !== null && t >= settings.maxRounds
    const cut = atLimit || forceCut
    const range = accumulatorRange(P, spec)
    // a. s_i over S_{t-1}, restricted to P_{t-1}; the same pass accumulates F over S_{t-1} on P_{t-1}'s tensors
    const a = await fisherPass(model, samples, S, { ...pass, params: range.params, scoreRange: range.scoreRange, scores: true, phase: `ird round ${t}: sample scores`, round: t })
    let roundEvals = a.gradientEvaluations
    if (t === 1) {
      poolF = a.F
      poolScores = a.scores
      fishOnPool = globalTopK(a.F, order, k).mask
    }
    lastScores = a.scores
    lastScored = S
    // b. S_t
    const naturalS = Math.min(S.length, Math.max(n, Math.ceil(settings.alphaS * S.length)))
    const naturalP = Math.min(sizeP, Math.max(k, Math.ceil(settings.alphaP * sizeP)))
    const didCut = cut && (naturalS !== n || naturalP !== k)
    const keep = topPositions(a.scores, cut ? n : naturalS)
    const Snew = keep.map((i) => S[i])
    let sMassBefore = 0
    for (const v of a.scores) sMassBefore += v
    const sMassAfter = sumAt(a.scores, keep)
    // c. F_t over S_t, restricted to P_{t-1}
    let Ft: Map<string, Float32Array>
    const reused = Snew.length === S.length
    if (reused) Ft = a.F
    else {
      const c = await fisherPass(model, samples, Snew, { ...pass, params: range.params, scores: false, phase: `ird round ${t}: parameter Fisher`, round: t })
      Ft = c.F
      roundEvals += c.gradientEvaluations
    }
    // d. P_t
    const top = globalTopK(Ft, order, cut ? k : naturalP, P)
    const inter = maskIntersectionCount(top.mask, fishOnPool, spec)
    rounds.push({
      round: t,
      samplesBefore: S.length,
      samplesAfter: Snew.length,
      paramsBefore: sizeP,
      paramsAfter: top.count,
      cut: didCut,
      sampleMassKept: sMassBefore > 0 ? sMassAfter / sMassBefore : 1,
      paramMassKept: top.rangeMass > 0 ? top.keptMass / top.rangeMass : 1,
      scores: quantiles(a.scores),
      fishOverlap: { intersection: inter, fractionOfFish: k ? inter / k : 0, fractionOfRange: top.count ? inter / top.count : 0, jaccard: inter / (top.count + k - inter) },
      gradientEvaluations: roundEvals,
      reusedScorePass: reused
    })
    evals += roundEvals
    onRound?.(rounds[rounds.length - 1], Snew, top.mask)
    const stalled = Snew.length === S.length && top.count === sizeP
    S = Snew
    P = top.mask
    sizeP = top.count
    if (S.length === n && sizeP === k) {
      if (didCut) stopReason = atLimit ? 'round limit' : 'stalled'
      break
    }
    if (stalled) forceCut = true
  }
  return { theta: P, positions: S, pool, rounds, stopReason, fishOnPool, poolF, poolScores, lastScores, lastScored, gradientEvaluations: evals }
}

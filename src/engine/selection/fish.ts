/**
 * FISH Mask selection (Sung, Nair, Raffel 2021; ALGORITHMS.md): n samples drawn uniformly (seeded),
 * F = Σ_i f_i over them, mask = global top-k of F over all of θ ∪ H.
 * Owns: the sample draw and the FISH top-k. Must not: train, or touch files.
 */
import type { BertForSequenceClassification } from '../model/bert'
import { Rng } from '../util/rng'
import type { ParamMask } from '../mask/mask'
import { fisherPass, type EncodedSample, type FisherPassOptions } from './fisher-pass'
import { globalTopK, type TopKResult } from './topk'
import { thetaNames } from './common'

/** n distinct positions of [0, N), uniformly, seeded; sorted ascending. */
export function drawSamples(N: number, n: number, seed: number): number[] {
  return new Rng(seed).sample(N, n).sort((a, b) => a - b)
}

export interface FishCoreResult {
  /** θ part of the mask (head not included). */
  theta: ParamMask
  top: TopKResult
  positions: number[]
  F: Map<string, Float32Array>
  /** s_i over all of θ, aligned with positions. */
  scores: Float64Array
  gradientEvaluations: number
}

/** F over samples[positions], then its global top-k over θ. */
export async function fishOnSamples(
  model: BertForSequenceClassification,
  samples: readonly EncodedSample[],
  positions: number[],
  k: number,
  pass: FisherPassOptions
): Promise<FishCoreResult> {
  const r = await fisherPass(model, samples, positions, { ...pass, scores: true })
  const top = globalTopK(r.F, thetaNames(model.spec), k)
  return { theta: top.mask, top, positions, F: r.F, scores: r.scores, gradientEvaluations: r.gradientEvaluations }
}

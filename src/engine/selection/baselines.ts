/**
 * Baselines (ALGORITHMS.md): `random` (k entries of θ uniformly, seeded, ∪ H), `bitfit` (every bias ∪ H,
 * its own budget), `full` (everything).
 *
 * BitFit choice: "every bias term" as in Ben Zaken et al. 2022, i.e. every tensor whose name ends in
 * `.bias`: the query/key/value/attention-output/intermediate/output dense biases, the pooler bias AND the
 * LayerNorm biases (β) of the embeddings and every layer; LayerNorm weights (γ) are not biases and stay
 * frozen. (ParamSpec kinds 'bias' and 'layernorm_bias'.)
 * Must not: look at data.
 */
import { numel, type ParamSpec } from '../model/config'
import type { ParamMask } from '../mask/mask'
import { Rng } from '../util/rng'

/**
 * k distinct flat positions of θ (tensors in spec order, concatenated), uniformly, by selection sampling
 * (Knuth's Algorithm S): one pass, O(1) extra memory, output already sorted per tensor.
 */
export function randomTheta(spec: readonly ParamSpec[], k: number, seed: number): ParamMask {
  const theta = spec.filter((s) => !s.head)
  const N = theta.reduce((a, s) => a + numel(s.shape), 0)
  if (!Number.isInteger(k) || k < 0 || k > N) throw new RangeError(`random mask: k must be an integer in [0, ${N}], found ${k}`)
  const rng = new Rng(seed)
  const mask: ParamMask = new Map()
  let left = k
  let seen = 0
  // once left reaches 0 the loops stop early: the remaining positions are simply not taken
  for (const s of theta) {
    const size = numel(s.shape)
    const picked: number[] = []
    for (let i = 0; i < size && left > 0; i++) {
      // take position `seen` with probability left / (N − seen)
      if (rng.next() * (N - seen) < left) {
        picked.push(i)
        left--
      }
      seen++
    }
    if (picked.length) mask.set(s.name, Int32Array.from(picked))
  }
  return mask
}

/** Every `.bias` tensor of θ (dense and LayerNorm biases, pooler included), fully trainable. */
export function bitfitTheta(spec: readonly ParamSpec[]): ParamMask {
  const mask: ParamMask = new Map()
  for (const s of spec) if (!s.head && (s.kind === 'bias' || s.kind === 'layernorm_bias')) mask.set(s.name, 'all')
  return mask
}

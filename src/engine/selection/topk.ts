/**
 * Exact global top-k over many large Float32 tensors, memory-sane.
 *
 * Order (deterministic tie-break): larger value first; among equal values, lower (tensor order, flat
 * index) first — tensor order is the order of `order` (spec order), flat index the HF-layout index.
 * The selected set equals "per-tensor top-k, then merge the candidates and keep the k best", but is
 * computed without candidate lists: a two-pass radix select over the float32 bit patterns (mapped to
 * order-preserving uint32 keys) finds the k-th largest value exactly, then one more pass collects
 * everything above it plus the first ties in tie-break order. Extra memory: two 65,536-bin histograms
 * and the k output indices; time: three linear passes over the candidates.
 * Must not: allocate tensors, or silently rank NaN (NaN is refused: it means a diverged model).
 */
import type { ParamMask } from '../mask/mask'

export interface TopKResult {
  /** Selected entries per tensor: sorted flat indices (tensors with none are absent). */
  mask: ParamMask
  count: number
  /** The k-th largest value (the smallest selected), NaN when nothing was selected. */
  threshold: number
  /** Σ of the selected values. */
  keptMass: number
  /** Σ over every candidate. */
  rangeMass: number
  /** Number of candidates. */
  rangeSize: number
}

const SIGN = 0x80000000

/** float32 bits → uint32 whose unsigned order is the float order. */
function sortKey(u: number): number {
  return u & SIGN ? ~u >>> 0 : (u | SIGN) >>> 0
}

function bitsOf(f: Float32Array): Uint32Array {
  return new Uint32Array(f.buffer, f.byteOffset, f.length)
}

function candidates(range: ParamMask | undefined, name: string): Int32Array | 'all' | undefined {
  return range ? range.get(name) : 'all'
}

/**
 * Top k entries of `values` over the candidates in `range` (default: every entry of every tensor in
 * `order`). Tensors outside `order` are ignored.
 */
export function globalTopK(values: Map<string, Float32Array>, order: readonly string[], k: number, range?: ParamMask): TopKResult {
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`globalTopK: k must be a non-negative integer, found ${k}`)
  const each = (fn: (key: number, value: number, idx: number, t: number) => void) => {
    for (let t = 0; t < order.length; t++) {
      const name = order[t]
      const c = candidates(range, name)
      if (!c) continue
      const f = values.get(name)
      if (!f) throw new Error(`globalTopK: no values for "${name}"`)
      const u = bitsOf(f)
      if (c === 'all') for (let i = 0; i < f.length; i++) fn(u[i], f[i], i, t)
      else for (let j = 0; j < c.length; j++) fn(u[c[j]], f[c[j]], c[j], t)
    }
  }

  // pass 1: histogram of the high 16 bits of the keys; NaN check; range mass
  const hi = new Float64Array(65536)
  let rangeSize = 0
  let rangeMass = 0
  each((u, v, i, t) => {
    if ((u & 0x7fffffff) > 0x7f800000) throw new Error(`globalTopK: "${order[t]}" holds NaN at flat index ${i} (the model or its Fisher values diverged)`)
    hi[sortKey(u) >>> 16]++
    rangeSize++
    rangeMass += v
  })
  const mask: ParamMask = new Map()
  if (k === 0 || rangeSize === 0) return { mask, count: 0, threshold: NaN, keptMass: 0, rangeMass, rangeSize }
  const take = Math.min(k, rangeSize)

  let above = 0
  let b1 = 65535
  while (above + hi[b1] < take) above += hi[b1--]
  // pass 2: low 16 bits within bucket b1
  const lo = new Float64Array(65536)
  each((u) => {
    const key = sortKey(u)
    if (key >>> 16 === b1) lo[key & 0xffff]++
  })
  let b2 = 65535
  while (above + lo[b2] < take) above += lo[b2--]
  const K = ((b1 << 16) | b2) >>> 0
  let ties = take - above // entries equal to the threshold still to take, in tie-break order

  // pass 3: collect, tensor by tensor, indices ascending (so each list comes out sorted)
  const lists = new Map<string, number[]>()
  let keptMass = 0
  let threshold = NaN
  each((u, v, i, t) => {
    const key = sortKey(u)
    if (key > K || (key === K && ties > 0)) {
      if (key === K) {
        ties--
        threshold = v
      }
      let l = lists.get(order[t])
      if (!l) lists.set(order[t], (l = []))
      l.push(i)
      keptMass += v
    }
  })
  for (const name of order) {
    const l = lists.get(name)
    if (l) mask.set(name, Int32Array.from(l))
  }
  return { mask, count: take, threshold, keptMass, rangeMass, rangeSize }
}

/**
 * Positions of the m largest scores: larger score first, ties to the lower position. Returned sorted
 * by position (ascending).
 */
export function topPositions(scores: ArrayLike<number>, m: number): number[] {
  const idx = Array.from({ length: scores.length }, (_, i) => i)
  for (let i = 0; i < scores.length; i++) if (Number.isNaN(scores[i])) throw new Error(`sample score ${i} is NaN (the model or its Fisher values diverged)`)
  idx.sort((a, b) => scores[b] - scores[a] || a - b)
  return idx.slice(0, Math.min(m, idx.length)).sort((a, b) => a - b)
}

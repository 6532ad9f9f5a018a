/**
 * Sparse AdamW on host memory: optimizer state (m, v) only for the trainable (masked) entries, and the
 * global-norm gradient clipping FISH applies to the masked gradient.
 *
 * Semantics are torch.optim.AdamW of PyTorch 1.13 (single-tensor path, the CPU default), reproduced op by
 * op in float32 (every intermediate rounded with Math.fround as the float32 kernels round it):
 *   step += 1
 *   p  ← p · (1 − lr·wd)                          (decoupled weight decay; skipped when lr·wd = 0)
 *   m  ← m·β1 + (1 − β1)·g
 *   v  ← v·β2 + ((1 − β2)·g)·g
 *   p  ← p + (−lr / (1 − β1^step)) · (m / (√v / √(1 − β2^step) + eps))
 * and torch.nn.utils.clip_grad_norm_ (norm of the per-tensor norms, coefficient max / (norm + 1e-6),
 * clamped to 1, always multiplied in) over the masked entries: that is FISH's `grad ⊙ mask` followed by
 * clip_grad_norm_, since the unmasked entries of the masked gradient are 0.
 * With dense state, an unmasked entry sees g = 0, m = v = 0 and an update of exactly 0, so state for the
 * masked entries alone gives the same trained weights. Weight decay is applied to masked entries only
 * (dense AdamW would also shrink frozen weights; FISH trains with weight decay 0).
 * Must not: touch tensors or know about models (see masked-params.ts for the device side).
 */

export interface AdamWOptions {
  beta1?: number
  beta2?: number
  eps?: number
  /** Decoupled weight decay (PyTorch AdamW's weight_decay); default 0 as in FISH. */
  weightDecay?: number
}

export interface AdamWGroup {
  name: string
  /** Current values of the trainable entries; updated in place by step(). */
  values: Float32Array
  /** False for tensors excluded from weight decay (by default biases and LayerNorm weights, as HF). */
  decay: boolean
}

const f = Math.fround

export class SparseAdamW {
  readonly beta1: number
  readonly beta2: number
  readonly eps: number
  readonly weightDecay: number
  /** Number of steps taken (PyTorch's state['step']). */
  stepCount = 0
  private readonly groups: AdamWGroup[]
  private readonly m: Float32Array[]
  private readonly v: Float32Array[]

  constructor(groups: AdamWGroup[], opts: AdamWOptions = {}) {
    this.beta1 = opts.beta1 ?? 0.9
    this.beta2 = opts.beta2 ?? 0.999
    this.eps = opts.eps ?? 1e-8
    this.weightDecay = opts.weightDecay ?? 0
    for (const [k, v] of [['beta1', this.beta1], ['beta2', this.beta2]] as const) {
      if (!(v >= 0 && v < 1)) throw new RangeError(`AdamW: ${k} must be in [0, 1), got ${v}`)
    }
    if (!(this.eps >= 0)) throw new RangeError(`AdamW: eps must be >= 0, got ${this.eps}`)
    if (!(this.weightDecay >= 0)) throw new RangeError(`AdamW: weightDecay must be >= 0, got ${this.weightDecay}`)
    this.groups = groups
    this.m = groups.map((g) => new Float32Array(g.values.length))
    this.v = groups.map((g) => new Float32Array(g.values.length))
  }

  /** Number of entries with optimizer state (= trainable entries). */
  get size(): number {
    let n = 0
    for (const g of this.groups) n += g.values.length
    return n
  }

  /** Bytes held by the optimizer state (m and v). */
  get stateBytes(): number {
    return 8 * this.size
  }

  /** The optimizer state for a checkpoint: live views of m and v (copy them if training goes on before they are written). */
  exportState(): { step: number; m: Float32Array[]; v: Float32Array[] } {
    return { step: this.stepCount, m: this.m, v: this.v }
  }

  /** Put checkpointed state back (same groups, same lengths); the values themselves belong to the groups. */
  importState(st: { step: number; m: Float32Array[]; v: Float32Array[] }): void {
    if (!Number.isInteger(st.step) || st.step < 0) throw new Error(`AdamW state: step must be a non-negative integer, got ${st.step}`)
    if (st.m.length !== this.groups.length || st.v.length !== this.groups.length) {
      throw new Error(`AdamW state holds ${st.m.length} moment tensors for ${this.groups.length} groups`)
    }
    this.groups.forEach((g, i) => {
      if (st.m[i].length !== g.values.length || st.v[i].length !== g.values.length) {
        throw new Error(`AdamW state for "${g.name}" has ${st.m[i].length}/${st.v[i].length} entries, expected ${g.values.length}`)
      }
    })
    this.groups.forEach((_, i) => {
      this.m[i].set(st.m[i])
      this.v[i].set(st.v[i])
    })
    this.stepCount = st.step
  }

  /**
   * One AdamW step with learning rate `lr`. grads[i] holds the (already masked and clipped) gradient of
   * groups[i]'s entries, same length.
   */
  step(grads: Float32Array[], lr: number): void {
    if (grads.length !== this.groups.length) throw new Error(`AdamW.step: ${grads.length} gradients for ${this.groups.length} groups`)
    this.stepCount++
    const t = this.stepCount
    const b1 = f(this.beta1)
    const b2 = f(this.beta2)
    const omb1 = f(1 - this.beta1)
    const omb2 = f(1 - this.beta2)
    const eps = f(this.eps)
    const bc1 = 1 - Math.pow(this.beta1, t)
    const bc2 = 1 - Math.pow(this.beta2, t)
    const negStep = f(-(lr / bc1))
    const bc2Sqrt = f(Math.sqrt(bc2))
    const decayFactor = f(1 - lr * this.weightDecay)
    for (let gi = 0; gi < this.groups.length; gi++) {
      const p = this.groups[gi].values
      const g = grads[gi]
      if (g.length !== p.length) throw new Error(`AdamW.step: gradient of "${this.groups[gi].name}" has ${g.length} entries, expected ${p.length}`)
      const m = this.m[gi]
      const v = this.v[gi]
      const decay = this.groups[gi].decay && lr * this.weightDecay !== 0
      for (let i = 0; i < p.length; i++) {
        const gi_ = g[i]
        let pi = p[i]
        if (decay) pi = f(pi * decayFactor)
        const mi = f(f(m[i] * b1) + f(omb1 * gi_))
        const vi = f(f(v[i] * b2) + f(f(omb2 * gi_) * gi_))
        m[i] = mi
        v[i] = vi
        const denom = f(f(f(Math.sqrt(vi)) / bc2Sqrt) + eps)
        p[i] = f(pi + f(negStep * f(mi / denom)))
      }
    }
  }
}

/**
 * torch.nn.utils.clip_grad_norm_ (L2) over the given gradient pieces, in place. Returns the total norm
 * before clipping (float32, as PyTorch returns it). maxNorm ≤ 0 or Infinity: no clipping, norm only.
 */
export function clipGradNorm(grads: Float32Array[], maxNorm: number): number {
  // per-tensor norms (float32 results), then the norm of those norms
  let sq = 0
  for (const g of grads) {
    let s = 0
    for (let i = 0; i < g.length; i++) s += g[i] * g[i]
    const n = f(Math.sqrt(s))
    sq += n * n
  }
  const total = f(Math.sqrt(sq))
  if (!(maxNorm > 0) || maxNorm === Infinity) return total
  // clip_coef = max_norm / (total_norm + 1e-6): Tensor.__rdiv__ is reciprocal() * max_norm
  const coef = f(f(1 / f(total + f(1e-6))) * f(maxNorm))
  const c = coef < 1 ? coef : 1
  if (c !== 1) for (const g of grads) for (let i = 0; i < g.length; i++) g[i] = f(g[i] * c)
  return total
}

/**
 * Sparse AdamW, gradient clipping and the linear schedule against PyTorch 1.13 itself
 * (test/reference/adamw_reference.py → test/fixtures/train/adamw_reference.json): torch.optim.AdamW on
 * masked gradients after clip_grad_norm_, with HF's linear warm-up/decay LambdaLR. Host-only (no tensors).
 * Tolerances: learning rates to 1e-12 relative; gradient norms to 2e-6 relative (PyTorch sums float32
 * in another order); weights to 4 float32 ulps (PyTorch's CPU kernels may fuse a multiply-add that this
 * float32 re-statement rounds twice), frozen entries bit-identical.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { SparseAdamW, clipGradNorm } from '../../../src/engine/train/adamw'
import { linearScheduleFactor, linearScheduleLr, resolveWarmupSteps } from '../../../src/engine/train/schedule'
import { FIXTURES_DIR } from '../../helpers/shared-data'

interface RefTensor { name: string; shape: number[]; decay: boolean; mask: number[] | 'all'; init: number[] }
interface RefCase {
  name: string
  lr: number
  betas: [number, number]
  eps: number
  weightDecay: number
  maxGradNorm: number | null
  warmupSteps: number
  totalSteps: number
  tensors: RefTensor[]
  steps: Array<{ grads: number[][]; lr: number; gradNorm: number; params: number[][] }>
}
const ref = JSON.parse(readFileSync(join(FIXTURES_DIR, 'train', 'adamw_reference.json'), 'utf8')) as {
  cases: RefCase[]
  schedule: Array<{ totalSteps: number; warmupSteps: number; factors: number[] }>
}

/** Distance in float32 units in the last place (ordered-integer difference). */
function ulps(a: number, b: number): number {
  const buf = new Float32Array([a, b])
  const u = new Int32Array(buf.buffer)
  const key = (x: number) => (x < 0 ? -(x & 0x7fffffff) : x)
  return Math.abs(key(u[0]) - key(u[1]))
}

describe('sparse AdamW = torch.optim.AdamW on masked, clipped gradients', () => {
  for (const c of ref.cases) {
    it(c.name, () => {
      const idx = c.tensors.map((t) => (t.mask === 'all' ? Array.from({ length: t.init.length }, (_, i) => i) : t.mask))
      const groups = c.tensors.map((t, k) => ({ name: t.name, decay: t.decay, values: Float32Array.from(idx[k], (i) => t.init[i]) }))
      const opt = new SparseAdamW(groups, { beta1: c.betas[0], beta2: c.betas[1], eps: c.eps, weightDecay: c.weightDecay })
      expect(opt.size).toBe(idx.reduce((s, a) => s + a.length, 0))
      let worst = 0
      c.steps.forEach((s, step) => {
        const g = c.tensors.map((_, k) => Float32Array.from(idx[k], (i) => s.grads[k][i]))
        const norm = clipGradNorm(g, c.maxGradNorm ?? Infinity)
        expect(Math.abs(norm - s.gradNorm) / s.gradNorm, `step ${step} grad norm`).toBeLessThan(2e-6)
        const lr = linearScheduleLr(c.lr, step, c.totalSteps, c.warmupSteps)
        expect(Math.abs(lr - s.lr), `step ${step} lr`).toBeLessThanOrEqual(1e-12 * c.lr)
        opt.step(g, lr)
        c.tensors.forEach((t, k) => {
          const full = Float32Array.from(t.init)
          idx[k].forEach((i, j) => (full[i] = groups[k].values[j]))
          const masked = new Set(idx[k])
          for (let i = 0; i < full.length; i++) {
            const want = s.params[k][i]
            if (!masked.has(i)) {
              expect(Object.is(full[i], Math.fround(want)), `${t.name}[${i}] frozen`).toBe(true)
              continue
            }
            const d = ulps(full[i], want)
            worst = Math.max(worst, d)
            expect(d, `${c.name} step ${step} ${t.name}[${i}]: ${full[i]} vs torch ${want}`).toBeLessThanOrEqual(4)
          }
        })
      })
      expect(opt.stepCount).toBe(c.steps.length)
      console.log(`${c.name}: worst difference from PyTorch ${worst} ulp over ${c.steps.length} steps`)
    })
  }
})

describe('clipGradNorm', () => {
  it('scales to the max norm when above it, leaves gradients alone below it, and returns the norm before', () => {
    const a = new Float32Array([3, 0])
    const b = new Float32Array([4])
    const n = clipGradNorm([a, b], 1)
    expect(n).toBe(5)
    const after = Math.hypot(a[0], a[1], b[0])
    expect(after).toBeCloseTo(1, 5)
    expect(after).toBeLessThanOrEqual(1)
    const c = new Float32Array([0.3, -0.4])
    const copy = c.slice()
    expect(clipGradNorm([c], 1)).toBeCloseTo(0.5, 6)
    expect(Array.from(c)).toEqual(Array.from(copy))
    const d = new Float32Array([30, 40])
    expect(clipGradNorm([d], Infinity)).toBe(50)
    expect(Array.from(d)).toEqual([30, 40])
    expect(clipGradNorm([d], 0)).toBe(50)
    expect(clipGradNorm([new Float32Array(0)], 1)).toBe(0)
  })
})

describe('linear schedule (HF get_linear_schedule_with_warmup)', () => {
  for (const s of ref.schedule) {
    it(`total ${s.totalSteps}, warm-up ${s.warmupSteps}: same factors as the HF lambda`, () => {
      s.factors.forEach((f, t) => expect(linearScheduleFactor(t, s.totalSteps, s.warmupSteps)).toBeCloseTo(f, 15))
    })
  }
  it('warms up from 0, peaks after warm-up, reaches 0 after the last step', () => {
    const N = 10
    const W = 3
    const lr = (t: number) => linearScheduleLr(2e-5, t, N, W)
    expect(lr(0)).toBe(0)
    expect(lr(1)).toBeCloseTo(2e-5 / 3, 18)
    expect(lr(W)).toBe(2e-5)
    for (let t = W + 1; t <= N; t++) expect(lr(t)).toBeLessThan(lr(t - 1))
    expect(lr(N - 1)).toBeCloseTo(2e-5 / (N - W), 18)
    expect(lr(N)).toBe(0)
    expect(lr(N + 5)).toBe(0)
    // no warm-up: the first step has the full lr
    expect(linearScheduleLr(5e-5, 0, N, 0)).toBe(5e-5)
  })
  it('warm-up steps from a ratio (ceil) or a count', () => {
    expect(resolveWarmupSteps(100, {})).toBe(0)
    expect(resolveWarmupSteps(100, { warmupRatio: 0.06 })).toBe(6)
    expect(resolveWarmupSteps(101, { warmupRatio: 0.1 })).toBe(11)
    expect(resolveWarmupSteps(100, { warmupSteps: 7, warmupRatio: 0.5 })).toBe(7)
    expect(() => resolveWarmupSteps(100, { warmupRatio: 2 })).toThrow(/warmupRatio/)
    expect(() => resolveWarmupSteps(100, { warmupSteps: -1 })).toThrow(/warmupSteps/)
  })
})

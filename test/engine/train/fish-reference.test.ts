/**
 * End to end against PyTorch: FISH's masked training loop (grad ⊙ mask, clip_grad_norm_, AdamW, HF linear
 * schedule with warm-up) on a tiny BERT, run by test/reference/adamw_reference.py in float64 with
 * test/reference/bert_reference.py's re-statement of HF BertForSequenceClassification (dropout 0), against
 * the TypeScript trainer in float32 on the wasm backend. Per step: loss, gradient norm, lr and every masked
 * entry; frozen entries bit-identical. Tolerance on the weights: the float32 gradient differs from the
 * float64 one by rounding, and Adam's normalised step turns that into a tiny difference of the update.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../src/engine/backend'
import { BertForSequenceClassification } from '../../../src/engine/model/bert'
import { bertParameterSpec, parseBertConfig, type StateDict } from '../../../src/engine/model/config'
import type { EncodedExample } from '../../../src/engine/train/batches'
import type { TrainMask } from '../../../src/engine/train/masked-params'
import { train, type TrainEvent } from '../../../src/engine/train/trainer'
import { FIXTURES_DIR } from '../../helpers/shared-data'
import { bitsEqual } from './tiny'

interface FishRef {
  config: Record<string, unknown>
  init: Record<string, number[]>
  mask: Record<string, number[] | 'all'>
  examples: EncodedExample[]
  epochs: number
  lr: number
  warmupSteps: number
  maxGradNorm: number
  steps: Array<{ loss: number; gradNorm: number; lr: number; masked: Record<string, number[]> }>
}

beforeAll(async () => {
  await initBackend({ force: 'wasm' })
})

describe('masked training = PyTorch FISH training loop', () => {
  it('tiny BERT, 4 steps: losses, gradient norms, lrs and every masked entry match; frozen entries untouched', async () => {
    const ref = JSON.parse(readFileSync(join(FIXTURES_DIR, 'train', 'fish_train_reference.json'), 'utf8')) as FishRef
    const cfg = parseBertConfig(ref.config)
    const state: StateDict = new Map(bertParameterSpec(cfg).map((s) => [s.name, { shape: s.shape, data: Float32Array.from(ref.init[s.name]) }]))
    const mask: TrainMask = new Map(Object.entries(ref.mask).map(([n, m]) => [n, m === 'all' ? 'all' : Int32Array.from(m)]))
    const model = BertForSequenceClassification.fromState(cfg, state)
    const seen: Array<{ e: TrainEvent; masked: Map<string, Float32Array> }> = []
    const r = await train({
      model,
      mask,
      train: ref.examples,
      epochs: ref.epochs,
      batchSize: ref.examples.length,
      lr: ref.lr,
      warmupSteps: ref.warmupSteps,
      maxGradNorm: ref.maxGradNorm,
      maxLength: cfg.max_position_embeddings,
      eventIntervalMs: 0,
      onEvent: (e) => {
        if (e.type !== 'step') return
        const masked = new Map<string, Float32Array>()
        for (const [n, m] of mask) {
          const all = model.param(n).dataSync() as Float32Array
          masked.set(n, m === 'all' ? all.slice() : Float32Array.from(m, (i) => all[i]))
        }
        seen.push({ e, masked })
      }
    })
    expect(r.steps).toBe(ref.steps.length)
    expect(seen.length).toBe(ref.steps.length)
    let worst = 0
    ref.steps.forEach((s, k) => {
      const { e, masked } = seen[k]
      expect(Math.abs(e.loss! - s.loss), `step ${k} loss`).toBeLessThan(1e-5 * Math.abs(s.loss))
      expect(Math.abs(e.gradNorm! - s.gradNorm), `step ${k} grad norm`).toBeLessThan(1e-4 * s.gradNorm)
      expect(e.lr).toBeCloseTo(s.lr, 15)
      for (const [n, want] of Object.entries(s.masked)) {
        const got = masked.get(n)!
        want.forEach((w, j) => {
          // relative to the lr (each step moves an entry by ≲ lr); measured ~1e-5
          const d = Math.abs(got[j] - w) / ref.lr
          worst = Math.max(worst, d)
          expect(d, `step ${k} ${n}[${j}]: ${got[j]} vs ${w}`).toBeLessThan(2e-4)
        })
      }
    })
    console.log(`FISH loop vs PyTorch float64: worst masked-entry difference ${worst.toExponential(2)} × lr after ${ref.steps.length} steps`)
    for (const [n, t] of state) {
      if (mask.has(n)) continue
      expect(bitsEqual(model.param(n).dataSync() as Float32Array, t.data), `${n} frozen`).toBe(true)
    }
    model.dispose()
  })
})

/**
 * The batched per-sample Fisher equals a batch-1 loop, for every parameter tensor (embeddings, LayerNorm,
 * biases, pooler), with padding: the loop runs each sample unpadded at its own length, the batch pads to
 * the longest. Tolerance: max |F − F_loop| ≤ 1e-4 · max |F_loop| per tensor (float32 sums in another order).
 */
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../src/engine/backend'
import { BertForSequenceClassification, disposeCache } from '../../../src/engine/model/bert'
import { FisherAccumulator, type FisherPower, type FisherVariant } from '../../../src/engine/fisher/accumulator'
import { loadParityFixture, sliceBatch } from '../../helpers/parity-fixtures'

function loopFisher(model: BertForSequenceClassification, fx: ReturnType<typeof loadParityFixture>, variant: FisherVariant, power: FisherPower) {
  const F = new Map<string, Float64Array>()
  const scores: number[] = []
  for (let b = 0; b < fx.batch.batchSize; b++) {
    const one = sliceBatch(fx.batch, b, fx.seqLens[b])
    const { logits, cache } = model.forward(one)
    const C = model.config.num_labels
    const passes: Array<{ d: tf.Tensor; weight: number }> = []
    if (variant === 'label') {
      const { loss, dLogits } = model.lossAndGrad(logits, [fx.labels[b]], { reduction: 'sum' })
      loss.dispose()
      passes.push({ d: dLogits, weight: 1 })
    } else {
      const p = tf.softmax(logits).dataSync()
      for (let c = 0; c < C; c++) passes.push({ d: tf.tensor2d(Array.from(p, (v, k) => v - (k === c ? 1 : 0)), [1, C]), weight: p[c] })
    }
    let s = 0
    for (const { d, weight } of passes) {
      const grads = model.backward(cache, d, { wantGrad: (n) => !n.startsWith('classifier.') })
      for (const [name, g] of grads) {
        const v = g.dataSync()
        let acc = F.get(name)
        if (!acc) F.set(name, (acc = new Float64Array(v.length)))
        for (let i = 0; i < v.length; i++) {
          const f = weight * (power === 'square' ? v[i] * v[i] : Math.abs(v[i]))
          acc[i] += f
          s += f
        }
        g.dispose()
      }
      d.dispose()
    }
    scores.push(s)
    logits.dispose()
    disposeCache(cache)
  }
  return { F, scores }
}

describe('per-sample Fisher: batched = batch-1 loop', () => {
  beforeAll(async () => {
    await initBackend({ force: 'wasm' })
  })
  const cases: Array<[string, FisherVariant, FisherPower]> = [
    ['cls3-gelu-pairs', 'label', 'square'],
    ['cls3-gelu-pairs', 'expect', 'square'],
    ['cls3-gelu-pairs', 'label', 'absolute'],
    ['reg-gelunew-single', 'label', 'square'],
    ['cls2-gelu-long', 'label', 'square']
  ]
  for (const [name, variant, power] of cases) {
    it(`${name} (${variant}, ${power})`, async () => {
      const fx = loadParityFixture(name)
      const model = BertForSequenceClassification.fromState(fx.config, fx.state)
      model.logits(fx.batch).dispose() // fills the model's transposed-weight cache
      const before = tf.memory().numTensors
      const acc = new FisherAccumulator(model)
      const scores = await acc.addBatch(fx.batch, fx.labels, { variant, power, scores: true })
      const F = await acc.result()
      acc.dispose()
      expect(tf.memory().numTensors, 'no tensors leaked').toBe(before)
      const ref = loopFisher(model, fx, variant, power)
      const expected = model.spec.filter((s) => !s.head).map((s) => s.name)
      expect([...F.keys()].sort()).toEqual(expected.sort())
      for (const pname of expected) {
        const a = F.get(pname)!
        const r = ref.F.get(pname)!
        let num = 0
        let den = 0
        for (let i = 0; i < r.length; i++) {
          num = Math.max(num, Math.abs(a[i] - r[i]))
          den = Math.max(den, Math.abs(r[i]))
        }
        // key biases have a mathematically zero gradient; both sides hold float noise only
        if (pname.endsWith('attention.self.key.bias')) continue
        expect(num, `${pname}: max diff ${num} vs max ${den}`).toBeLessThanOrEqual(1e-4 * den)
      }
      for (let b = 0; b < scores.length; b++) expect(scores[b]).toBeCloseTo(ref.scores[b], 4 - Math.round(Math.log10(Math.max(1, ref.scores[b]))))
      model.dispose()
    })
  }
})

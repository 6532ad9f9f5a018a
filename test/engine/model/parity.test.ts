/**
 * Parity with the PyTorch reference (test/reference/bert_reference.py, float64 autograd, eval mode):
 * logits within 1e-4 absolute; the gradient of the loss w.r.t. every parameter within 1e-3 relative,
 * where the relative error of a tensor is max|g − g_ref| / max|g_ref| (element-wise ratios are
 * meaningless for the many exact zeros, e.g. embedding rows of tokens not in the batch).
 */
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../src/engine/backend'
import { BertForSequenceClassification, disposeCache } from '../../../src/engine/model/bert'
import { loadParityFixture, PARITY_CASES } from '../../helpers/parity-fixtures'

const BACKENDS = ['wasm', 'cpu'] as const

for (const backend of BACKENDS) {
  describe(`parity with PyTorch (${backend})`, () => {
    beforeAll(async () => {
      await initBackend({ force: backend })
    })
    for (const name of PARITY_CASES) {
      it(`${name}: logits and all parameter gradients`, () => {
        const fx = loadParityFixture(name)
        const t = fx.tensors
        const meta = { labels: fx.labels, loss: fx.loss }
        const before = tf.memory().numTensors
        const model = BertForSequenceClassification.fromState(fx.config, fx.state)
        const batch = fx.batch
        const { logits, cache } = model.forward(batch)
        const ref = t.get('logits')!.data
        const got = logits.dataSync()
        let maxAbs = 0
        for (let i = 0; i < ref.length; i++) maxAbs = Math.max(maxAbs, Math.abs(got[i] - ref[i]))
        expect(maxAbs).toBeLessThanOrEqual(1e-4)

        const { loss, dLogits } = model.lossAndGrad(logits, meta.labels)
        expect(Math.abs(loss.dataSync()[0] - meta.loss)).toBeLessThan(1e-4 * Math.max(1, Math.abs(meta.loss)))
        const grads = model.backward(cache, dLogits)
        expect([...grads.keys()].sort()).toEqual(model.paramNames().sort())
        // The key bias gets a mathematically zero gradient (softmax ignores a shift shared by all keys): its
        // reference is ~1e-17 and ours float32 cancellation noise, so it is checked for being ~0 instead.
        let globalMax = 0
        for (const [k, v] of t) if (k.startsWith('grad.')) for (const x of v.data) globalMax = Math.max(globalMax, Math.abs(x))
        const worst: Array<[string, number]> = []
        for (const [pname, g] of grads) {
          const r = t.get(`grad.${pname}`)!.data
          const gv = g.dataSync()
          let num = 0
          let den = 0
          for (let i = 0; i < r.length; i++) {
            num = Math.max(num, Math.abs(gv[i] - r[i]))
            den = Math.max(den, Math.abs(r[i]))
          }
          if (pname.endsWith('attention.self.key.bias')) {
            expect(den).toBeLessThan(1e-12 * globalMax)
            expect(num, `${pname} should be ~0`).toBeLessThan(1e-6 * globalMax)
            continue
          }
          worst.push([pname, num / den])
        }
        worst.sort((a, b) => b[1] - a[1])
        if (process.env.PARITY_VERBOSE) console.log(name, backend, 'max |logit diff|', maxAbs, worst.slice(0, 4))
        expect(worst[0][1], `worst gradient: ${worst[0][0]}`).toBeLessThanOrEqual(1e-3)
        tf.dispose([logits, loss, dLogits, ...grads.values()])
        disposeCache(cache)
        model.dispose()
        expect(tf.memory().numTensors, 'tensors leaked').toBe(before)
      })
    }
  })
}

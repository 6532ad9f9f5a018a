/** Masked-entry gradients (gradEntries) equal the dense gradient at those entries, for every weight kind. */
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../src/engine/backend'
import { BertForSequenceClassification, disposeCache } from '../../../src/engine/model/bert'
import { numel } from '../../../src/engine/model/config'
import { Rng } from '../../../src/engine/util/rng'
import { loadParityFixture } from '../../helpers/parity-fixtures'

describe('backward with gradEntries', () => {
  beforeAll(async () => {
    await initBackend({ force: 'wasm' })
  })
  it('linear weights and embedding tables: selected entries = dense gradient at those entries', () => {
    const fx = loadParityFixture('cls2-gelu-long')
    const model = BertForSequenceClassification.fromState(fx.config, fx.state)
    const rng = new Rng(5)
    const entries = new Map<string, Int32Array>()
    for (const s of model.spec) {
      if (s.kind !== 'linear_weight' && s.kind !== 'embedding') continue
      const n = numel(s.shape)
      const k = Math.max(1, Math.floor(n * 0.02))
      const idx = Int32Array.from(rng.sample(n, k)).sort()
      if (s.name.includes('word_embeddings')) idx[0] = fx.batch.inputIds[3] * s.shape[1] // a row the batch uses
      entries.set(s.name, idx.sort())
    }
    const run = (sparse: boolean) => {
      const { logits, cache } = model.forward(fx.batch)
      const { loss, dLogits } = model.lossAndGrad(logits, fx.labels)
      const g = model.backward(cache, dLogits, { gradEntries: sparse ? (n) => entries.get(n) : undefined })
      const out = new Map([...g].map(([k, v]) => [k, v.dataSync() as Float32Array]))
      tf.dispose([logits, loss, dLogits, ...g.values()])
      disposeCache(cache)
      return out
    }
    const dense = run(false)
    const sparse = run(true)
    for (const [name, idx] of entries) {
      const got = sparse.get(name)!
      expect(got.length, name).toBe(idx.length)
      const full = dense.get(name)!
      let scale = 0
      for (const v of full) scale = Math.max(scale, Math.abs(v))
      for (let j = 0; j < idx.length; j++) expect(Math.abs(got[j] - full[idx[j]]), `${name}[${idx[j]}]`).toBeLessThanOrEqual(1e-5 * scale + 1e-12)
    }
    model.dispose()
  })
})

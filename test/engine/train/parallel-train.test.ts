/**
 * Data-parallel masked fine-tuning over worker threads: with dropout off it trains the model that
 * single-thread training trains (to float32 summation order), leaves unmasked weights bit-identical,
 * and closes its workers.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../src/engine/backend'
import { BertForSequenceClassification } from '../../../src/engine/model/bert'
import { makeConfig } from '../../../src/engine/model/config'
import { initState } from '../../../src/engine/model/init'
import { train, type EncodedExample, type TrainMask } from '../../../src/engine/train'
import { Rng } from '../../../src/engine/util/rng'

beforeAll(async () => {
  await initBackend({ force: 'wasm' })
})

describe('data-parallel training', () => {
  it('2 workers = 1 thread (dropout off), unmasked weights untouched', async () => {
    const cfg = makeConfig({ vocab_size: 60, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 32, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 })
    const state = initState({ ...cfg, initializer_range: 0.2 }, 3)
    const rng = new Rng(4)
    const mask: TrainMask = new Map()
    for (const [name, t] of state) {
      if (name.startsWith('classifier.')) mask.set(name, 'all')
      else if (rng.next() < 0.6) mask.set(name, Int32Array.from(rng.sample(t.data.length, Math.max(1, Math.floor(t.data.length * 0.03)))).sort())
    }
    const data: EncodedExample[] = Array.from({ length: 40 }, (_, i) => {
      const len = 4 + rng.int(20)
      return { inputIds: Int32Array.from({ length: len }, (_, t) => (t === 0 ? 2 : 5 + rng.int(50))), label: i % 2, id: String(i) }
    })
    const results = []
    for (const workers of [0, 2]) {
      const model = BertForSequenceClassification.fromState(cfg, state)
      const r = await train({ model, mask, train: data, epochs: 2, batchSize: 8, lr: 1e-2, seed: 5, maxLength: 32, workers })
      results.push({ state: model.toState(), loss: r.epochs.map((e) => e.trainLoss) })
      model.dispose()
    }
    const [a, b] = results
    for (const [name, t] of a.state) {
      // the key bias has a mathematically zero gradient: Adam normalises its float noise to steps of ~lr,
      // so it wanders differently in any two summation orders (PyTorch does the same); compared as untouched only
      const noise = name.endsWith('attention.self.key.bias')
      const u = b.state.get(name)!.data
      const base = state.get(name)!.data
      const m = mask.get(name)
      const trainable = new Set(m === 'all' ? Array.from(t.data.keys()) : m ? Array.from(m) : [])
      for (let i = 0; i < t.data.length; i++) {
        if (!trainable.has(i)) {
          expect(Object.is(u[i], base[i]), `${name}[${i}] moved`).toBe(true)
        } else if (!noise) expect(Math.abs(u[i] - t.data[i]), `${name}[${i}]`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(t.data[i])))
      }
    }
    a.loss.forEach((l, i) => expect(b.loss[i]).toBeCloseTo(l, 5))
  })
})

/** A tiny BERT and synthetic labelled samples for the selection tests (fast on 2 CPU cores). */
import * as tf from '@tensorflow/tfjs'
import { BertForSequenceClassification, disposeCache } from '../../../src/engine/model/bert'
import { makeConfig, type BertConfig } from '../../../src/engine/model/config'
import { initState } from '../../../src/engine/model/init'
import { Rng } from '../../../src/engine/util/rng'
import type { EncodedSample } from '../../../src/engine/selection'

export function tinyConfig(numLabels = 2): BertConfig {
  return makeConfig({
    vocab_size: 120,
    hidden_size: 16,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    intermediate_size: 32,
    max_position_embeddings: 32,
    type_vocab_size: 2,
    hidden_dropout_prob: 0,
    attention_probs_dropout_prob: 0,
    initializer_range: 0.3,
    num_labels: numLabels
  })
}

/** Random init with std 0.3 (also on biases and LayerNorm, so that every Fisher value differs). */
export function tinyModel(cfg = tinyConfig(), seed = 1): BertForSequenceClassification {
  const state = initState(cfg, seed)
  const rng = new Rng(seed + 1000)
  for (const [name, t] of state) {
    if (name.endsWith('.bias')) for (let i = 0; i < t.data.length; i++) t.data[i] = 0.3 * rng.normal()
    if (name.endsWith('LayerNorm.weight')) for (let i = 0; i < t.data.length; i++) t.data[i] = 1 + 0.3 * rng.normal()
  }
  return BertForSequenceClassification.fromState(cfg, state)
}

export function tinySamples(count: number, cfg: BertConfig, seed = 7): EncodedSample[] {
  const rng = new Rng(seed)
  const out: EncodedSample[] = []
  for (let i = 0; i < count; i++) {
    const len = 3 + rng.int(12)
    const ids = [2]
    const types = [0]
    const split = 1 + rng.int(len - 1)
    for (let t = 1; t < len; t++) {
      ids.push(5 + rng.int(cfg.vocab_size - 5))
      types.push(t >= split ? 1 : 0)
    }
    out.push({ id: `s${i}`, inputIds: ids, tokenTypeIds: types, label: cfg.num_labels === 1 ? rng.next() * 5 : rng.int(cfg.num_labels) })
  }
  return out
}

/** F = Σ_i (∂ℓ_i/∂θ)² by a batch-1 loop (each sample unpadded), float64. */
export function loopFisher(model: BertForSequenceClassification, samples: readonly EncodedSample[]): Map<string, Float64Array> {
  const F = new Map<string, Float64Array>()
  for (const s of samples) {
    const n = s.inputIds.length
    const batch = {
      inputIds: Int32Array.from(s.inputIds),
      tokenTypeIds: Int32Array.from(s.tokenTypeIds ?? new Array(n).fill(0)),
      attentionMask: new Int32Array(n).fill(1),
      batchSize: 1,
      seqLen: n
    }
    const { logits, cache } = model.forward(batch)
    const { loss, dLogits } = model.lossAndGrad(logits, [s.label], { reduction: 'sum' })
    const grads = model.backward(cache, dLogits, { wantGrad: (name) => !name.startsWith('classifier.') })
    for (const [name, g] of grads) {
      const v = g.dataSync()
      let acc = F.get(name)
      if (!acc) F.set(name, (acc = new Float64Array(v.length)))
      for (let i = 0; i < v.length; i++) acc[i] += v[i] * v[i]
    }
    tf.dispose([logits, loss, dLogits, ...grads.values()])
    disposeCache(cache)
  }
  return F
}

/** Brute force: sort every θ entry by (value desc, tensor order asc, index asc), take k. Keys "name#index". */
export function bruteTopK(F: Map<string, ArrayLike<number>>, order: readonly string[], k: number): { set: Set<string>; threshold: number; all: Array<{ key: string; v: number }> } {
  const all: Array<{ t: number; i: number; v: number; key: string }> = []
  order.forEach((name, t) => {
    const f = F.get(name)!
    for (let i = 0; i < f.length; i++) all.push({ t, i, v: f[i], key: `${name}#${i}` })
  })
  all.sort((a, b) => b.v - a.v || a.t - b.t || a.i - b.i)
  return { set: new Set(all.slice(0, k).map((e) => e.key)), threshold: all[k - 1].v, all }
}

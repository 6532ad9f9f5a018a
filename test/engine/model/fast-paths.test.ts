/**
 * The performance paths of the manual backward and the dropout masks compute what the plain paths do:
 * - sparseLinearGrad (sample rows outermost) = the per-entry float64 sums in the plain order, bit for bit,
 *   with zero rows (padding) skipped;
 * - a backward truncated below the lowest trainable layer gives bit-identical gradients for the trainable
 *   parameters, and none for the rest;
 * - Rng.fillKeepMask is nextU32 thresholded (same stream), and a dropout forward is seeded.
 */
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../src/engine/backend'
import { BertForSequenceClassification, disposeCache, type BertBatch } from '../../../src/engine/model/bert'
import { makeConfig } from '../../../src/engine/model/config'
import { initState } from '../../../src/engine/model/init'
import { sparseLinearGrad } from '../../../src/engine/model/sparse-grad'
import { Rng } from '../../../src/engine/util/rng'

const cfg = makeConfig({ vocab_size: 50, hidden_size: 32, num_hidden_layers: 3, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 16, num_labels: 2, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 })

function batch(B: number, T: number, seed: number): BertBatch {
  const rng = new Rng(seed)
  const inputIds = new Int32Array(B * T)
  const attentionMask = new Int32Array(B * T)
  for (let b = 0; b < B; b++) {
    const len = 3 + rng.int(T - 2)
    for (let t = 0; t < len; t++) {
      inputIds[b * T + t] = t === 0 ? 1 : 3 + rng.int(47)
      attentionMask[b * T + t] = 1
    }
  }
  return { inputIds, tokenTypeIds: new Int32Array(B * T), attentionMask, batchSize: B, seqLen: T }
}

describe('fast paths', () => {
  beforeAll(async () => {
    await initBackend({ force: 'wasm' })
  })

  it('sparseLinearGrad equals the per-entry float64 sum over rows, bit for bit, skipping zero rows', () => {
    const N = 37
    const inDim = 24
    const outDim = 20
    const rng = new Rng(3)
    const xv = Float32Array.from({ length: N * inDim }, () => rng.normal())
    const dv = Float32Array.from({ length: N * outDim }, () => rng.normal())
    for (let o = 0; o < outDim; o++) dv[5 * outDim + o] = 0 // a padding row
    dv[7 * outDim + 3] = 0
    const idx = Int32Array.from(rng.sample(inDim * outDim, 60)).sort()
    const x = tf.tensor2d(xv, [N, inDim])
    const dy = tf.tensor2d(dv, [N, outDim])
    const got = sparseLinearGrad(x, dy, idx)
    const again = sparseLinearGrad(x, dy, idx) // the cached row/column split
    for (let j = 0; j < idx.length; j++) {
      const o = Math.floor(idx[j] / inDim)
      const i = idx[j] % inDim
      let s = 0
      for (let n = 0; n < N; n++) if (dv[n * outDim + o] !== 0) s += dv[n * outDim + o] * xv[n * inDim + i]
      expect(got[j]).toBe(Math.fround(s))
      expect(again[j]).toBe(got[j])
    }
    tf.dispose([x, dy])
  })

  it('a backward truncated below the lowest trainable layer gives the same gradients for the trainable parameters', () => {
    const model = BertForSequenceClassification.fromState(cfg, initState(cfg, 4))
    const b = batch(4, 10, 8)
    const labels = [0, 1, 1, 0]
    const trainable = new Set(model.paramNames().filter((n) => n.startsWith('bert.encoder.layer.1.') || n.startsWith('bert.encoder.layer.2.attention') || n.startsWith('classifier') || n.startsWith('bert.pooler')))
    const run = (want?: (n: string) => boolean) => {
      const { logits, cache } = model.forward(b)
      const { loss, dLogits } = model.lossAndGrad(logits, labels)
      const g = model.backward(cache, dLogits, { wantGrad: want })
      const out = new Map([...g].map(([k, v]) => [k, Float32Array.from(v.dataSync() as Float32Array)]))
      tf.dispose([logits, loss, dLogits, ...g.values()])
      disposeCache(cache)
      return out
    }
    const full = run()
    const part = run((n) => trainable.has(n))
    expect([...part.keys()].sort()).toEqual([...trainable].sort())
    for (const [name, g] of part) expect(g, name).toEqual(full.get(name))
    model.dispose()
  })

  it('fillKeepMask is the nextU32 stream thresholded at rate · 2³²', () => {
    const out = new Float32Array(10_001)
    new Rng(42).fillKeepMask(out, 0.1, Math.fround(1 / 0.9))
    const ref = new Rng(42)
    let zeros = 0
    for (let i = 0; i < out.length; i++) {
      const keep = ref.nextU32() >= Math.floor(0.1 * 4294967296)
      expect(out[i]).toBe(keep ? Math.fround(1 / 0.9) : 0)
      if (!keep) zeros++
    }
    expect(zeros / out.length).toBeGreaterThan(0.09)
    expect(zeros / out.length).toBeLessThan(0.11)
    // the generator continues where the mask left off
    const r = new Rng(42)
    r.fillKeepMask(new Float32Array(5), 0.5, 2)
    const s = new Rng(42)
    for (let i = 0; i < 5; i++) s.nextU32()
    expect(r.nextU32()).toBe(s.nextU32())
  })

  it('dropout in a training forward is seeded: the same seed gives the same logits, another seed others', () => {
    const dcfg = { ...cfg, hidden_dropout_prob: 0.2, attention_probs_dropout_prob: 0.2 }
    const model = BertForSequenceClassification.fromState(dcfg, initState(dcfg, 4))
    const b = batch(4, 10, 9)
    const z = (opts: { training: boolean; dropoutSeed?: number }) => {
      const t = model.logits(b, opts)
      const v = Array.from(t.dataSync())
      t.dispose()
      return v
    }
    const a = z({ training: true, dropoutSeed: 7 })
    expect(z({ training: true, dropoutSeed: 7 })).toEqual(a)
    expect(z({ training: true, dropoutSeed: 8 })).not.toEqual(a)
    expect(z({ training: false })).not.toEqual(a)
    model.dispose()
  })
})

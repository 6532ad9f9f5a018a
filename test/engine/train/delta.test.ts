/**
 * Sparse deltas: base + computeDelta(base, trained, mask) reproduces the trained model bit for bit,
 * stores exactly the masked entries, refuses a mask that does not cover what changed, and copies raw
 * bits (−0, NaN payloads).
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../src/engine/backend'
import { BertForSequenceClassification } from '../../../src/engine/model/bert'
import { applyDelta, computeDelta, deltaSize } from '../../../src/engine/train/delta'
import { maskSize, type TrainMask } from '../../../src/engine/train/masked-params'
import { train, type TrainOptions } from '../../../src/engine/train/trainer'
import { bitsEqual, cloneState, randomMask, separable, tinyConfig, tinyState } from './tiny'

beforeAll(async () => {
  await initBackend({ force: 'wasm' })
})

describe('sparse delta', () => {
  it('round trip after masked training is bit-identical', async () => {
    const cfg = tinyConfig()
    const base = tinyState(cfg, 4)
    const baseCopy = cloneState(base)
    const model = BertForSequenceClassification.fromState(cfg, base)
    const mask = randomMask(cfg, base, 21)
    mask.set('bert.embeddings.LayerNorm.bias', 'all')
    await train({ model, mask, train: separable(24, 3), epochs: 2, batchSize: 8, lr: 1e-2, maxLength: 16 } as TrainOptions)
    const delta = await computeDelta(base, model, mask)
    expect(deltaSize(delta)).toBe(maskSize(model, mask))
    expect(delta.get('bert.embeddings.LayerNorm.bias')!.indices).toBe('all')
    expect([...delta.keys()].sort()).toEqual([...mask.keys()].sort())
    const rebuilt = applyDelta(base, delta)
    const trained = model.toState()
    for (const [name, t] of trained) expect(bitsEqual(rebuilt.get(name)!.data, t.data), name).toBe(true)
    // the base is untouched
    for (const [name, t] of baseCopy) expect(bitsEqual(base.get(name)!.data, t.data), name).toBe(true)
    // a mask that misses trained entries is refused
    const partial: TrainMask = new Map([...mask].filter(([n]) => !n.startsWith('classifier.')))
    await expect(computeDelta(base, model, partial)).rejects.toThrow(/classifier\.(weight|bias)" differs from the base at flat index \d+/)
    model.dispose()
  })

  it('copies raw bits: −0 and NaN payloads survive', async () => {
    const cfg = tinyConfig()
    const base = tinyState(cfg, 5)
    const trained = cloneState(base)
    const w = trained.get('classifier.bias')!.data
    const u = new Uint32Array(w.buffer, w.byteOffset, w.length)
    u[0] = 0x80000000 // −0
    u[1] = 0x7fc01234 // NaN with a payload
    const model = BertForSequenceClassification.fromState(cfg, trained)
    const mask: TrainMask = new Map([['classifier.bias', Int32Array.from([0, 1])]])
    const delta = await computeDelta(base, model, mask)
    const out = applyDelta(base, delta).get('classifier.bias')!.data
    const ou = new Uint32Array(out.buffer, out.byteOffset, out.length)
    expect(ou[0]).toBe(0x80000000)
    // tfjs may canonicalise the NaN on upload; what the model holds is what comes back
    const held = new Uint32Array((model.param('classifier.bias').dataSync() as Float32Array).buffer)
    expect(ou[1]).toBe(held[1])
    expect(() => applyDelta(base, new Map([['nope', { shape: [1], indices: 'all' as const, values: new Float32Array(1) }]]))).toThrow(/lack/)
    model.dispose()
  })
})

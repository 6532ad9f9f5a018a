/**
 * FISH selection on a tiny model equals a brute-force reference (F by a batch-1 loop, every θ value sorted
 * globally, top-k); the Fisher pass driver's batching, progress and cancellation; determinism; baselines.
 */
import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../src/engine/backend'
import type { BertForSequenceClassification } from '../../../src/engine/model/bert'
import { countParameters } from '../../../src/engine/model/config'
import { maskCount, maskEquals, maskOverlap } from '../../../src/engine/mask'
import { fisherPass, lengthBuckets, makeBatch, selectMask, SelectionCancelled, type EncodedSample, type SelectionProgress } from '../../../src/engine/selection'
import { bruteTopK, loopFisher, tinyConfig, tinyModel, tinySamples } from './tiny'

const cfg = tinyConfig()
let model: BertForSequenceClassification
let samples: EncodedSample[]
const KEEP = 0.05
const HEAD = 2 * 16 + 2

beforeAll(async () => {
  await initBackend({ force: 'wasm' })
  model = tinyModel(cfg)
  samples = tinySamples(40, cfg)
})
afterAll(() => model.dispose())

describe('fish', () => {
  it('equals the brute-force reference: batch-1 loop F, global sort, top-k', async () => {
    const r = await selectMask({ method: 'fish', model, samples, keepRatio: KEEP, nSamples: 12, seed: 5, batchSize: 5 })
    const total = countParameters(cfg)
    const k = Math.floor(total * KEEP) - HEAD
    expect(r.k).toBe(k)
    expect(r.headSize).toBe(HEAD)
    expect(r.maskCount).toBe(k + HEAD)
    expect(r.selectedSampleIds).toHaveLength(12)
    expect(new Set(r.selectedSampleIds).size).toBe(12)
    expect(r.gradientEvaluations).toBe(12)
    expect(r.mask.get('classifier.weight')).toBe('all')
    expect(r.mask.get('classifier.bias')).toBe('all')

    const chosen = r.selectedSampleIds.map((id) => samples.find((s) => s.id === id)!)
    const F = loopFisher(model, chosen)
    const order = model.spec.filter((s) => !s.head).map((s) => s.name)
    const ref = bruteTopK(F, order, k)
    const got = new Set<string>()
    for (const [name, e] of r.mask) {
      if (name.startsWith('classifier.')) continue
      expect(e).not.toBe('all')
      for (const i of e as Int32Array) got.add(`${name}#${i}`)
    }
    expect(got.size).toBe(k)
    // Same set. The batched F differs from the loop's in the last float bits, so an entry may only swap
    // places with another within 1e-4 (relative) of the threshold.
    const differ = [...got].filter((x) => !ref.set.has(x)).concat([...ref.set].filter((x) => !got.has(x)))
    const value = new Map(ref.all.map((e) => [e.key, e.v]))
    for (const key of differ) expect(Math.abs(value.get(key)! - ref.threshold)).toBeLessThanOrEqual(1e-4 * ref.threshold)
    expect(differ.length).toBeLessThanOrEqual(2)

    // statistics are consistent: Σ_i s_i = Σ_j F_j, and the mask holds the reported share of it
    const st = r.stats
    let totalF = 0
    for (const f of F.values()) for (const v of f) totalF += v
    expect(st.fisher!.totalMass).toBeCloseTo(totalF, 3)
    const sumScores = st.sampleScores!.scores.reduce((a, b) => a + b, 0)
    expect(sumScores / totalF).toBeCloseTo(1, 4)
    expect(st.fisher!.selectedMassFraction).toBeGreaterThan(0)
    expect(st.fisher!.selectedMassFraction).toBeLessThanOrEqual(1)
    const hist = st.fisher!.histogram
    expect(hist.counts.reduce((a, b) => a + b, 0) + hist.zeros + hist.below + hist.above).toBe(total - HEAD)
    expect(st.fisher!.perLayer.map((g) => g.group)).toEqual(['embeddings', 'layer.0', 'layer.1', 'pooler'])
    expect(st.selectedPerTensor['classifier.weight']).toBe(32)
    expect(JSON.parse(JSON.stringify(st))).toEqual(st) // plain JSON
  })

  it('is deterministic: same seed, same mask; another seed, other samples and mask', async () => {
    const a = await selectMask({ method: 'fish', model, samples, keepRatio: KEEP, nSamples: 8, seed: 1 })
    const b = await selectMask({ method: 'fish', model, samples, keepRatio: KEEP, nSamples: 8, seed: 1, batchSize: 3 })
    const c = await selectMask({ method: 'fish', model, samples, keepRatio: KEEP, nSamples: 8, seed: 2 })
    expect(b.selectedSampleIds).toEqual(a.selectedSampleIds)
    expect(maskOverlap(a.mask, b.mask, model.spec).fractionOfA).toBeGreaterThan(0.995) // batch size only reorders float sums
    expect(c.selectedSampleIds).not.toEqual(a.selectedSampleIds)
    expect(maskEquals(a.mask, c.mask, model.spec)).toBe(false)
    const a2 = await selectMask({ method: 'fish', model, samples, keepRatio: KEEP, nSamples: 8, seed: 1 })
    expect(maskEquals(a.mask, a2.mask, model.spec)).toBe(true)
  })

  it('caps n at the dataset size with a note', async () => {
    const r = await selectMask({ method: 'fish', model, samples: samples.slice(0, 6), keepRatio: KEEP, nSamples: 1024, seed: 0 })
    expect(r.nSamples).toBe(6)
    expect(r.selectedSampleIds).toHaveLength(6)
    expect(r.notes.join(' ')).toMatch(/nSamples 1024 is more than the 6 training samples/)
  })
})

describe('Fisher pass driver', () => {
  it('buckets by length and pads each batch to its own longest', () => {
    const positions = Array.from({ length: 40 }, (_, i) => i)
    const batches = lengthBuckets(samples, positions, 16)
    expect(batches.map((b) => b.length)).toEqual([16, 16, 8])
    const lens = batches.flat().map((p) => samples[p].inputIds.length)
    expect(lens).toEqual([...lens].sort((a, b) => a - b))
    const b = makeBatch(samples, batches[0], 0)
    expect(b.seqLen).toBe(Math.max(...batches[0].map((p) => samples[p].inputIds.length)))
    expect(b.attentionMask.reduce((a, x) => a + x, 0)).toBe(batches[0].reduce((a, p) => a + samples[p].inputIds.length, 0))
  })

  it('reports progress, counts evaluations, leaks no tensors and stops when cancelled', async () => {
    const before = tf.memory().numTensors
    const seen: SelectionProgress[] = []
    const r = await fisherPass(model, samples, [0, 3, 5, 7, 9, 11, 13], { batchSize: 3, onProgress: (p) => seen.push(p), scores: true, fisher: { variant: 'expect', power: 'square' } })
    expect(tf.memory().numTensors).toBe(before)
    expect(seen.map((p) => p.done)).toEqual([0, 3, 6, 7])
    expect(seen.every((p) => p.total === 7)).toBe(true)
    expect(r.gradientEvaluations).toBe(7 * 2) // 'expect': one backward per class
    expect(r.scores).toHaveLength(7)
    let calls = 0
    await expect(fisherPass(model, samples, [0, 1, 2, 3, 4, 5], { batchSize: 2, shouldCancel: () => ++calls > 2 })).rejects.toBeInstanceOf(SelectionCancelled)
    expect(tf.memory().numTensors).toBe(before)
  })
})

describe('baselines', () => {
  const total = countParameters(cfg)
  it('random: k uniform entries of θ ∪ H, seeded', async () => {
    const a = await selectMask({ method: 'random', model, keepRatio: KEEP, seed: 3 })
    const b = await selectMask({ method: 'random', model, keepRatio: KEEP, seed: 3 })
    const c = await selectMask({ method: 'random', model, keepRatio: KEEP, seed: 4 })
    expect(a.maskCount).toBe(Math.floor(total * KEEP))
    expect(a.k).toBe(Math.floor(total * KEEP) - HEAD)
    expect(maskEquals(a.mask, b.mask, model.spec)).toBe(true)
    expect(maskEquals(a.mask, c.mask, model.spec)).toBe(false)
    expect(a.mask.get('classifier.weight')).toBe('all')
    expect(a.gradientEvaluations).toBe(0)
    // roughly uniform: the share of the word embeddings (120·16 of θ) is near its size share
    const word = (a.mask.get('bert.embeddings.word_embeddings.weight') as Int32Array).length
    expect(word / a.k).toBeGreaterThan(0.5 * (1920 / (total - HEAD)))
    expect(word / a.k).toBeLessThan(1.5 * (1920 / (total - HEAD)))
  })

  it('random at keep_ratio 1 takes every parameter', async () => {
    const r = await selectMask({ method: 'random', model, keepRatio: 1, seed: 3 })
    expect(r.maskCount).toBe(total)
    expect([...r.mask.values()].every((e) => e === 'all')).toBe(true)
  })

  it('bitfit: every .bias (LayerNorm biases included, LayerNorm weights not) ∪ H, its own budget', async () => {
    const r = await selectMask({ method: 'bitfit', model, keepRatio: 0.001 })
    const biases = model.spec.filter((s) => !s.head && s.name.endsWith('.bias'))
    const nb = biases.reduce((a, s) => a + s.shape[0], 0)
    expect(r.k).toBe(nb)
    expect(r.maskCount).toBe(nb + HEAD)
    expect(r.mask.get('bert.encoder.layer.0.output.LayerNorm.bias')).toBe('all')
    expect(r.mask.get('bert.pooler.dense.bias')).toBe('all')
    expect(r.mask.has('bert.encoder.layer.0.output.LayerNorm.weight')).toBe(false)
    expect(r.notes.join(' ')).toMatch(/bitfit ignores keep_ratio/)
    expect(maskCount(r.mask, model.spec)).toBe(nb + HEAD)
  })

  it('full: everything', async () => {
    const r = await selectMask({ method: 'full', model })
    expect(r.maskCount).toBe(total)
    expect(r.effectiveRatio).toBe(1)
    expect(r.mask.size).toBe(model.spec.length)
  })

  it('refuses a budget with k ≤ 0 before any work', async () => {
    await expect(selectMask({ method: 'fish', model, samples, keepRatio: 0.001 })).rejects.toThrow(/keep_ratio 0.001 is too small.*smallest keep_ratio that works is/)
    await expect(selectMask({ method: 'fish', model, keepRatio: KEEP })).rejects.toThrow(/needs training samples/)
  })
})

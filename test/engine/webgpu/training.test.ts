/**
 * Selection and training on webgpu (lavapipe in CI) against the references: a FISH mask from webgpu's
 * batched Fisher against the brute-force batch-1 loop + global top-k (computed on wasm, as
 * test/engine/selection/fish.test.ts does), IRD selection, masked training with the sparse AdamW against
 * the same run on wasm, a resume mid-run on webgpu bit for bit, and no tensor left behind.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { afterAll, describe, expect, it } from 'vitest'
import { loadCheckpoint, saveCheckpoint } from '../../../src/engine/jobs/checkpoint'
import { BertForSequenceClassification } from '../../../src/engine/model/bert'
import { makeBatch, selectMask } from '../../../src/engine/selection'
import { train, type TrainCheckpoint, type TrainOptions, type TrainResult } from '../../../src/engine/train'
import { bruteTopK, loopFisher, tinyConfig as selConfig, tinyModel, tinySamples } from '../selection/tiny'
import { bitsEqual, randomMask, separable, tinyConfig, tinyState } from '../train/tiny'
import { HAVE_WEBGPU, use } from './webgpu'

const tmp = mkdtempSync(join(tmpdir(), 'ird-webgpu-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function keys(mask: Map<string, Int32Array | 'all'>): Set<string> {
  const out = new Set<string>()
  for (const [name, e] of mask) if (!name.startsWith('classifier.') && e !== 'all') for (const i of e) out.add(`${name}#${i}`)
  return out
}

const cfg = tinyConfig({ hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1 })
const state = tinyState(cfg, 7)
const mask = randomMask(cfg, state, 3, 0.05)
const data = separable(21, 11)
const dev = separable(9, 12)
const base: Omit<TrainOptions, 'model'> = { mask, train: data, dev, task: 'sst2', epochs: 2, batchSize: 8, lr: 5e-3, warmupRatio: 0.2, weightDecay: 0.01, seed: 9, maxLength: 16, bucketByLength: true }

async function run(extra: Partial<TrainOptions>): Promise<{ result: TrainResult; weights: Map<string, Float32Array> }> {
  const model = BertForSequenceClassification.fromState(cfg, state)
  try {
    const result = await train({ ...base, model, ...extra })
    const weights = new Map([...(await model.readState())].map(([k, v]) => [k, v.data]))
    return { result, weights }
  } finally {
    model.dispose()
  }
}

function stripTiming(r: TrainResult) {
  const { elapsedMs: _e, stepsPerSec: _s, resumedFromStep: _r, checkpointsSaved: _c, ...rest } = r
  return rest
}

describe.skipIf(!HAVE_WEBGPU)('selection and training on webgpu', () => {
  it('FISH: the mask from batched Fisher on webgpu equals the batch-1 loop reference (Jaccard ≥ 0.99)', async () => {
    const sc = selConfig()
    const samples = tinySamples(30, sc)
    await use('webgpu')
    const model = tinyModel(sc)
    model.logits(makeBatch(samples, [0, 1], sc.pad_token_id)).dispose() // fills the model's transposed-weight cache
    const before = tf.memory().numTensors
    const r = await selectMask({ method: 'fish', model, samples, keepRatio: 0.05, nSamples: 12, seed: 5, batchSize: 5 })
    expect(tf.memory().numTensors).toBe(before)
    const got = keys(r.mask)
    const order = model.spec.filter((s) => !s.head).map((s) => s.name)
    model.dispose()
    await use('wasm')
    const refModel = tinyModel(sc)
    const chosen = r.selectedSampleIds.map((id) => samples.find((s) => s.id === id)!)
    const ref = bruteTopK(loopFisher(refModel, chosen), order, r.k)
    refModel.dispose()
    let inter = 0
    for (const k of got) if (ref.set.has(k)) inter++
    const jaccard = inter / (got.size + ref.set.size - inter)
    console.log(`FISH on webgpu vs the batch-1 loop reference: Jaccard ${jaccard.toFixed(4)} (k = ${r.k})`)
    expect(got.size).toBe(r.k)
    expect(jaccard).toBeGreaterThanOrEqual(0.99)
  })

  it('IRD selects on webgpu and gives the same mask as on wasm (Jaccard ≥ 0.99)', async () => {
    const sc = selConfig()
    const samples = tinySamples(30, sc)
    const masks: Array<Set<string>> = []
    for (const b of ['wasm', 'webgpu'] as const) {
      await use(b)
      const model = tinyModel(sc)
      const r = await selectMask({ method: 'ird', model, samples, keepRatio: 0.05, nSamples: 8, seed: 5, batchSize: 5, ird: { poolFactor: 2, maxRounds: 2 } })
      masks.push(keys(r.mask))
      model.dispose()
    }
    let inter = 0
    for (const k of masks[0]) if (masks[1].has(k)) inter++
    const jaccard = inter / (masks[0].size + masks[1].size - inter)
    console.log(`IRD webgpu vs wasm: Jaccard ${jaccard.toFixed(4)}`)
    expect(jaccard).toBeGreaterThanOrEqual(0.99)
  })

  it('masked training with sparse AdamW: the same losses and weights as on wasm, frozen entries untouched', async () => {
    await use('wasm')
    const ref = await run({ epochs: 1 })
    await use('webgpu')
    const before = tf.memory()
    const got = await run({ epochs: 1 })
    const after = tf.memory()
    expect(after.numTensors).toBe(before.numTensors)
    expect(after.numBytes).toBe(before.numBytes)
    expect(got.result.steps).toBe(ref.result.steps)
    got.result.epochs.forEach((e, i) => expect(Math.abs(e.trainLoss - ref.result.epochs[i].trainLoss)).toBeLessThan(1e-4 * Math.abs(ref.result.epochs[i].trainLoss)))
    let worst = 0
    for (const [name, w] of ref.weights) {
      const g = got.weights.get(name)!
      if (!mask.has(name)) {
        expect(bitsEqual(g, state.get(name)!.data), `${name} frozen`).toBe(true)
        continue
      }
      for (let i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs(g[i] - w[i]) / base.lr!)
    }
    console.log(`training webgpu vs wasm after ${got.result.steps} steps: worst masked-entry difference ${worst.toExponential(2)} × lr`)
    expect(worst).toBeLessThan(1e-3)
  })

  it('a run cancelled mid-way and resumed from its checkpoint ends bit-identical to the uninterrupted run', async () => {
    await use('webgpu')
    const reference = await run({})
    expect(reference.result.status).toBe('completed')
    const dir = join(tmp, 'cancel')
    mkdirSync(dir)
    let steps = 0
    const stopAt = 3
    const cancelled = await run({
      checkpoint: { save: (ck: TrainCheckpoint) => void saveCheckpoint(dir, ck) },
      onEvent: (e) => {
        if (e.type === 'step') steps = e.step
      },
      eventIntervalMs: 0,
      shouldCancel: () => steps >= stopAt
    })
    expect(cancelled.result.status).toBe('cancelled')
    const loaded = loadCheckpoint(dir)!
    expect(loaded.info.step).toBe(stopAt)
    const resumed = await run({ resume: loaded.checkpoint })
    expect(resumed.result.resumedFromStep).toBe(stopAt)
    for (const [name, w] of reference.weights) expect(bitsEqual(w, resumed.weights.get(name)!), name).toBe(true)
    expect(stripTiming(resumed.result)).toEqual(stripTiming(reference.result))
  })
})

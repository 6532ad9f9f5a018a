/**
 * Resumable training: a run interrupted at any step (cooperative cancel) and resumed from its checkpoint
 * on disk ends with bit-identical weights, AdamW state, losses and dev metrics to the uninterrupted run —
 * dropout on, length bucketing on, several epochs, checkpoints every few steps and at epoch ends.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../src/engine/backend'
import { loadCheckpoint, saveCheckpoint } from '../../../src/engine/jobs/checkpoint'
import { BertForSequenceClassification } from '../../../src/engine/model/bert'
import { train, type TrainCheckpoint, type TrainOptions, type TrainResult } from '../../../src/engine/train'
import { Rng } from '../../../src/engine/util/rng'
import { bitsEqual, randomMask, separable, tinyConfig, tinyState } from './tiny'

const tmp = mkdtempSync(join(tmpdir(), 'ird-resume-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
beforeAll(async () => {
  await initBackend({ force: (process.env.IRD_TEST_BACKEND as 'wasm' | 'cpu' | undefined) ?? 'wasm' })
})

const cfg = tinyConfig({ hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1 })
const state = tinyState(cfg, 7)
const mask = randomMask(cfg, state, 3, 0.05)
const data = separable(37, 11)
const dev = separable(19, 12)
const base: Omit<TrainOptions, 'model'> = { mask, train: data, dev, task: 'sst2', epochs: 3, batchSize: 8, lr: 5e-3, warmupRatio: 0.2, weightDecay: 0.01, seed: 9, maxLength: 16, bucketByLength: true, restoreBest: true }

function stripTiming(r: TrainResult) {
  const { elapsedMs: _e, stepsPerSec: _s, resumedFromStep: _r, checkpointsSaved: _c, ...rest } = r
  return rest
}

async function run(extra: Partial<TrainOptions>): Promise<{ result: TrainResult; weights: Map<string, Float32Array> }> {
  const model = BertForSequenceClassification.fromState(cfg, state)
  try {
    const result = await train({ ...base, model, ...extra })
    const weights = new Map([...model.toState()].map(([k, v]) => [k, v.data]))
    return { result, weights }
  } finally {
    model.dispose()
  }
}

function expectSameRun(a: { result: TrainResult; weights: Map<string, Float32Array> }, b: { result: TrainResult; weights: Map<string, Float32Array> }, what: string) {
  for (const [name, w] of a.weights) expect(bitsEqual(w, b.weights.get(name)!), `${what}: ${name}`).toBe(true)
  // losses and metrics as numbers: toEqual compares with Object.is, so any bit of difference fails
  expect(stripTiming(b.result), what).toEqual(stripTiming(a.result))
}

describe('resumable training', () => {
  let reference: { result: TrainResult; weights: Map<string, Float32Array> }
  const saved: Array<{ step: number; dir: string }> = []

  it('the uninterrupted run with checkpoints equals the run without them', async () => {
    const plain = await run({})
    let n = 0
    reference = await run({
      checkpoint: {
        everySteps: 2,
        save: (ck: TrainCheckpoint) => {
          const dir = join(tmp, `ck-${n++}`)
          mkdirSync(dir)
          saveCheckpoint(dir, ck)
          saved.push({ step: ck.step, dir })
        }
      }
    })
    expect(reference.result.status).toBe('completed')
    expect(reference.result.steps).toBe(15)
    expectSameRun(plain, reference, 'checkpointing changes nothing')
    // 5 steps per epoch: every 2 steps, except on an epoch's last batch, which the epoch-end checkpoint covers
    expect(saved.map((s) => s.step)).toEqual([2, 4, 5, 6, 8, 10, 12, 14, 15])
  })

  it('resuming from every checkpoint on disk reaches the same weights and metrics bit for bit', async () => {
    expect(saved.length, 'the first test saved checkpoints').toBe(9)
    for (const { step, dir } of saved) {
      const loaded = loadCheckpoint(dir)
      expect(loaded, dir).not.toBeNull()
      expect(loaded!.info.step).toBe(step)
      const resumed = await run({ resume: loaded!.checkpoint })
      expect(resumed.result.resumedFromStep).toBe(step)
      expectSameRun(reference, resumed, `resumed from step ${step}`)
      // restoreBest: the best epoch (not the last) is what the model ends with here, so its saved values matter
      expect(resumed.result.restoredBest).toBe(true)
    }
  })

  it('a cooperative cancel at a random step saves a checkpoint; resuming it is bit-identical', async () => {
    const rng = new Rng(Number(process.env.IRD_TEST_SEED ?? Date.now() % 1e6))
    for (const stopAt of [1 + rng.int(14), 1 + rng.int(14)]) {
      const dir = join(tmp, `cancel-${stopAt}-${rng.int(1e6)}`)
      mkdirSync(dir)
      let steps = 0
      const cancelled = await run({
        checkpoint: { save: (ck) => void saveCheckpoint(dir, ck) },
        onEvent: (e) => {
          if (e.type === 'step') steps = e.step
        },
        eventIntervalMs: 0,
        shouldCancel: () => steps >= stopAt
      })
      expect(cancelled.result.status).toBe('cancelled')
      expect(cancelled.result.steps, `cancel at ${stopAt}`).toBe(stopAt)
      const loaded = loadCheckpoint(dir)!
      expect(loaded.info.step).toBe(stopAt)
      const resumed = await run({ resume: loaded.checkpoint })
      expectSameRun(reference, resumed, `cancelled at step ${stopAt}, resumed`)
    }
  })

  it('refuses a checkpoint made with other settings, naming the difference', async () => {
    const ck = loadCheckpoint(saved[0].dir)!.checkpoint
    await expect(run({ resume: ck, batchSize: 4 })).rejects.toThrow(/batchSize = 8, this run has 4/)
    await expect(run({ resume: ck, train: separable(37, 99) })).rejects.toThrow(/trainHash/)
  })
})

describe('checkpoint policy', () => {
  it('everyMs saves after any step that ends that long after the last save; atEpochEnd: false saves no epoch ends', async () => {
    const steps: number[] = []
    await run({ epochs: 1, checkpoint: { everyMs: 1e-6, atEpochEnd: false, save: (ck) => void steps.push(ck.step) } })
    expect(steps).toEqual([1, 2, 3, 4, 5])
    const none: number[] = []
    await run({ epochs: 1, checkpoint: { everyMs: 3_600_000, atEpochEnd: false, save: (ck) => void none.push(ck.step) } })
    expect(none).toEqual([])
  })
})

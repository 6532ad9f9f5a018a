/**
 * Resumable training over data-parallel worker threads: with the same worker count, a cancelled run
 * resumes bit for bit (shares are contiguous slices summed in worker order, each share's dropout seeded by
 * step and worker index, so the trajectory is deterministic); another worker count is refused because
 * with dropout on it is another trajectory.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../src/engine/backend'
import { loadCheckpoint, saveCheckpoint } from '../../../src/engine/jobs/checkpoint'
import { BertForSequenceClassification } from '../../../src/engine/model/bert'
import { train, type TrainOptions, type TrainResult } from '../../../src/engine/train'
import { Rng } from '../../../src/engine/util/rng'
import { bitsEqual, randomMask, separable, tinyConfig, tinyState } from './tiny'

const tmp = mkdtempSync(join(tmpdir(), 'ird-resume-workers-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
beforeAll(async () => {
  await initBackend({ force: 'wasm' })
})

const cfg = tinyConfig({ hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1 })
const state = tinyState(cfg, 7)
const mask = randomMask(cfg, state, 3, 0.05)
const base: Omit<TrainOptions, 'model'> = { mask, train: separable(37, 11), dev: separable(19, 12), task: 'sst2', epochs: 3, batchSize: 8, lr: 5e-3, warmupRatio: 0.2, weightDecay: 0.01, seed: 9, maxLength: 16, bucketByLength: true }

async function run(extra: Partial<TrainOptions>): Promise<{ result: TrainResult; weights: Map<string, Float32Array> }> {
  const model = BertForSequenceClassification.fromState(cfg, state)
  try {
    const result = await train({ ...base, model, ...extra })
    return { result, weights: new Map([...model.toState()].map(([k, v]) => [k, v.data])) }
  } finally {
    model.dispose()
  }
}

function expectSameRun(a: Awaited<ReturnType<typeof run>>, b: Awaited<ReturnType<typeof run>>, what: string) {
  for (const [name, w] of a.weights) expect(bitsEqual(w, b.weights.get(name)!), `${what}: ${name}`).toBe(true)
  const strip = ({ elapsedMs: _e, stepsPerSec: _s, resumedFromStep: _r, checkpointsSaved: _c, ...rest }: TrainResult) => rest
  expect(strip(b.result), what).toEqual(strip(a.result))
}

describe('resumable training over worker threads', () => {
  it('with 2 workers (dropout on) a cancelled run resumes to the uninterrupted 2-worker run bit for bit', async () => {
    const full = await run({ workers: 2, epochs: 2 })
    const dir = join(tmp, 'workers')
    mkdirSync(dir)
    let steps = 0
    const stopAt = 3 + new Rng(Date.now() % 1e6).int(5)
    const cancelled = await run({
      workers: 2,
      epochs: 2,
      eventIntervalMs: 0,
      checkpoint: { save: (ck) => void saveCheckpoint(dir, ck) },
      onEvent: (e) => {
        if (e.type === 'step') steps = e.step
      },
      shouldCancel: () => steps >= stopAt
    })
    expect(cancelled.result.steps).toBe(stopAt)
    const loaded = loadCheckpoint(dir)!
    expect(loaded.checkpoint.fingerprint.workers).toBe(2)
    // the worker count is part of the trajectory (each share draws its own dropout): another count is refused
    await expect(run({ epochs: 2, resume: loaded.checkpoint })).rejects.toThrow(/workers = 2, this run has 0/)
    const resumed = await run({ workers: 2, epochs: 2, resume: loaded.checkpoint })
    expectSameRun(full, resumed, `2 workers, cancelled at step ${stopAt}`)
  })
})

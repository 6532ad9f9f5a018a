/**
 * Mask selection with Fisher passes spread over worker threads gives the in-process result: the same
 * FISH mask and the same IRD sample selection (Fisher values differ only in float32 summation order);
 * the workers start once per selection (one pool for every pass) and are gone when it ends.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../src/engine/backend'
import { activeFisherWorkers, fisherWorkerStarts } from '../../../src/engine/fisher/parallel'
import { maskIntersectionCount } from '../../../src/engine/mask'
import { selectMask, SelectionCancelled } from '../../../src/engine/selection'
import { tinyConfig, tinyModel, tinySamples } from './tiny'

beforeAll(async () => {
  await initBackend({ force: 'wasm' })
})

describe('selection with Fisher workers', () => {
  it('FISH and IRD with 2 workers select what the in-process passes select', async () => {
    const cfg = tinyConfig()
    const model = tinyModel(cfg, 11)
    const samples = tinySamples(40, cfg)
    for (const method of ['fish', 'ird'] as const) {
      const base = { method, model, samples, keepRatio: 0.05, nSamples: 8, seed: 2, batchSize: 8, ird: { poolFactor: 4 } }
      const a = await selectMask({ ...base, workers: 0 })
      const starts = fisherWorkerStarts()
      const phases: string[] = []
      const b = await selectMask({ ...base, workers: 2, onProgress: (p) => void (p.done === 0 && phases.push(p.phase)) })
      // FISH: one pass of one batch (8 samples) needs one worker; IRD: a pool of 32 samples, 4 batches
      expect(fisherWorkerStarts() - starts, `${method}: workers started once for ${phases.length} passes`).toBe(method === 'fish' ? 1 : 2)
      if (method === 'ird') expect(phases.length).toBeGreaterThanOrEqual(3)
      expect(activeFisherWorkers()).toBe(0)
      // identical up to swaps of entries whose F ties within float32 rounding at the threshold
      expect(a.maskCount - maskIntersectionCount(a.mask, b.mask, model.spec)).toBeLessThanOrEqual(2)
      expect(b.selectedSampleIds).toEqual(a.selectedSampleIds)
      expect(b.gradientEvaluations).toBe(a.gradientEvaluations)
    }
    model.dispose()
  })
})

describe('selection with Fisher workers: cancellation', () => {
  it('a cancelled IRD selection closes its pool', async () => {
    const cfg = tinyConfig()
    const model = tinyModel(cfg, 11)
    const samples = tinySamples(40, cfg)
    let progress = 0
    const starts = fisherWorkerStarts()
    await expect(
      selectMask({ method: 'ird', model, samples, keepRatio: 0.05, nSamples: 8, seed: 2, batchSize: 8, ird: { poolFactor: 4 }, workers: 2, onProgress: () => progress++, shouldCancel: () => progress > 3 })
    ).rejects.toBeInstanceOf(SelectionCancelled)
    expect(fisherWorkerStarts() - starts).toBe(2)
    expect(activeFisherWorkers()).toBe(0)
    model.dispose()
  })
})

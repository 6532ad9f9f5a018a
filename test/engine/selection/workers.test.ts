/**
 * Mask selection with Fisher passes spread over worker threads gives the in-process result: the same
 * FISH mask and the same IRD sample selection (Fisher values differ only in float32 summation order).
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../src/engine/backend'
import { maskIntersectionCount } from '../../../src/engine/mask'
import { selectMask } from '../../../src/engine/selection'
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
      const b = await selectMask({ ...base, workers: 2 })
      // identical up to swaps of entries whose F ties within float32 rounding at the threshold
      expect(a.maskCount - maskIntersectionCount(a.mask, b.mask, model.spec)).toBeLessThanOrEqual(2)
      expect(b.selectedSampleIds).toEqual(a.selectedSampleIds)
      expect(b.gradientEvaluations).toBe(a.gradientEvaluations)
    }
    model.dispose()
  })
})

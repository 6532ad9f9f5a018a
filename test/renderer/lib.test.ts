import { describe, expect, it } from 'vitest'
import { estimateRun, headSize, kFromRatio, ratioFromK, selectionCost } from '../../src/renderer/src/lib/estimates'
import { adapterLabel, BACKEND_LABELS } from '../../src/renderer/src/backend-labels'
import { describeError } from '../../src/renderer/src/lib/errors'
import { BACKEND_CHOICES } from '../../src/shared/contract'
import { bytes, duration, metric, percent } from '../../src/renderer/src/lib/format'
import { parseHash, formatHash } from '../../src/renderer/src/stores/nav-store'
import { RemoteError } from '../../src/shared/errors'

const tiny = { parameters: 990_594, hidden: 32, layers: 1, intermediate: 64, numLabels: 2 }

describe('estimates', () => {
  it('k = floor(P · r) − |H|, and the ratio for a k is the smallest that reaches it', () => {
    expect(headSize(tiny)).toBe(66)
    expect(kFromRatio(tiny, 0.005)).toBe(4886)
    for (const k of [1, 100, 4886, 123_456]) {
      const r = ratioFromK(tiny, k)
      expect(kFromRatio(tiny, r)).toBeGreaterThanOrEqual(k)
      expect(kFromRatio(tiny, r * 0.999)).toBeLessThan(k + 200)
    }
  })

  it('counts per-sample gradients: FISH n; IRD the pool then shrinking score passes', () => {
    const ird = { poolFactor: 4, alphaS: 0.5, alphaP: 0.5, maxRounds: null }
    expect(selectionCost('fish', { trainRows: 200, nSamples: 32, thetaSize: 1e6, k: 5000, ird }).gradientEvaluations).toBe(32)
    const c = selectionCost('ird', { trainRows: 200, nSamples: 32, thetaSize: 990_528, k: 4886, ird })
    expect(c.pool).toBe(128)
    // S: 128 → 64 → 32 (scored 128+64, 64+32), then P keeps shrinking with S at n (32 per round).
    expect(c.gradientEvaluations).toBeGreaterThanOrEqual(128 + 64 + 64 + 32)
    expect(c.rounds).toBe(8)
    expect(selectionCost('bitfit', { trainRows: 1, nSamples: 1, thetaSize: 1, k: 1, ird }).gradientEvaluations).toBe(0)
  })

  it('says when the keep ratio selects nothing', () => {
    const e = estimateRun({ model: tiny, method: 'ird', keepRatio: 1e-5, nSamples: 32, trainRows: 200, devRows: 0, maxLength: 64, batchSize: 16, epochs: 1, ird: { poolFactor: 4, alphaS: 0.5, alphaP: 0.5, maxRounds: null }, backend: 'wasm' })
    expect(e.k).toBeLessThanOrEqual(0)
    expect(e.notes[0]).toMatch(/leaves nothing to select/)
    expect(e.memory.peak).toBeGreaterThan(e.memory.weights)
  })
})

describe('formatting', () => {
  it('never shows a missing value as 0', () => {
    expect(metric(undefined)).toBe('–')
    expect(percent(NaN)).toBe('–')
    expect(duration(undefined)).toBe('–')
    expect(bytes(null)).toBe('–')
  })
  it('reads naturally', () => {
    expect(percent(0.005)).toBe('0.5 %')
    expect(metric(0.91234)).toBe('91.23')
    expect(duration(185_000)).toBe('3 min 05 s')
    expect(bytes(3 * 2 ** 20)).toBe('3.0 MiB')
  })
})

describe('errors', () => {
  it('shows the other process’s message, code and details, with advice for known codes', () => {
    const v = describeError(new RemoteError({ name: 'CodedError', message: 'no run "x"', code: 'ENGINE_NOT_RUNNING', details: { field: 'params.runId', line: 3 } }))
    expect(v).toMatchObject({ name: 'CodedError', message: 'no run "x"', code: 'ENGINE_NOT_RUNNING' })
    expect(v.details).toEqual([['field', 'params.runId'], ['line', '3']])
    expect(v.advice).toMatch(/Restart the engine/)
    expect(describeError('plain text').message).toBe('plain text')
    expect(describeError(42).message).toMatch(/unexpected value thrown: 42/)
  })
})

describe('navigation', () => {
  it('keeps the screen and its subject in the URL hash', () => {
    expect(parseHash('#/monitor/20260101-sst2-ird-abc')).toEqual({ screen: 'monitor', id: '20260101-sst2-ird-abc' })
    expect(parseHash('#/nonsense')).toEqual({ screen: 'datasets' })
    expect(parseHash('')).toEqual({ screen: 'datasets' })
    expect(formatHash({ screen: 'runs' })).toBe('#/runs')
    expect(parseHash(formatHash({ screen: 'monitor', id: 'a b' }))).toEqual({ screen: 'monitor', id: 'a b' })
  })
})

describe('backend labels', () => {
  it('label every backend choice and say what a WebGPU adapter is and whether it is software', () => {
    for (const b of BACKEND_CHOICES) expect(BACKEND_LABELS[b], b).toBeTruthy()
    const a = { vendor: 'mesa', architecture: 'software', device: 'llvmpipe-x', description: 'llvmpipe: Mesa 25.0.7', software: true, maxBufferSize: 2 ** 32 - 1, maxStorageBufferBindingSize: 2 ** 27 }
    expect(adapterLabel(a)).toBe('mesa / software / llvmpipe: Mesa 25.0.7 — a software rasteriser, used only when forced (buffers up to 4096 MiB, bindings up to 128 MiB)')
    expect(adapterLabel({ ...a, vendor: 'nvidia', architecture: '', description: '', device: 'NVIDIA H100', software: false })).toBe('nvidia / NVIDIA H100 (buffers up to 4096 MiB, bindings up to 128 MiB)')
  })
})

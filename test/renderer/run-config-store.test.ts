import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { defaultRunConfig, type ModelEntry, type RunConfig } from '../../src/shared/contract'
import { setTransport } from '../../src/renderer/src/client'
import { useModelsStore } from '../../src/renderer/src/stores/models-store'
import { pickRunConfig, PRESETS, useRunConfigStore } from '../../src/renderer/src/stores/run-config-store'
import { installFake, type FakeTransport } from './fake-transport'

const model: ModelEntry = {
  id: 'm', name: 'tiny', path: '/models/tiny', kind: 'user',
  info: { path: '/models/tiny', name: 'tiny', architecture: null, layers: 1, hidden: 32, heads: 2, intermediate: 64, maxPositions: 128, vocabSize: 30522, tokenizerVocabSize: 30522, lowercase: true, parameters: 990_594, weightFiles: ['model.safetensors'], weightBytes: 4e6, dtypes: ['F32'], problems: [], usable: true }
}

describe('useRunConfigStore', () => {
  let t: FakeTransport
  beforeEach(() => {
    setActivePinia(createPinia())
    t = installFake()
    useModelsStore().list = [model]
  })
  afterEach(() => {
    setTransport(null)
    vi.useRealTimers()
  })

  it('shows the parameter budget both ways: keep ratio → k and k → the smallest ratio giving it', () => {
    const rc = useRunConfigStore()
    rc.config.modelDir = '/models/tiny'
    rc.config.keepRatio = 0.005
    // floor(990594 × 0.005) − (32·2 + 2) = 4952 − 66
    expect(rc.k).toBe(4886)
    rc.setK(10_000)
    expect(rc.k).toBeGreaterThanOrEqual(10_000)
    expect(rc.k).toBeLessThan(10_100)
  })

  it('names each field that stops a start, locally', () => {
    const rc = useRunConfigStore()
    expect(rc.problems.map((p) => p.field)).toEqual(['modelDir', 'trainFile'])
    rc.config.modelDir = '/models/tiny'
    rc.config.trainFile = '/data/train.tsv'
    rc.config.keepRatio = 1e-6
    rc.config.maxLength = 512
    expect(rc.problems.map((p) => p.field)).toEqual(['maxLength', 'keepRatio'])
    expect(rc.problems[1].message).toMatch(/smallest keep ratio/)
    expect(rc.canStart).toBe(false)
  })

  it('turns the engine’s refusal of the estimate into a field problem', async () => {
    t.handle('runs:estimate', () => {
      throw Object.assign(new Error('params.config.batchSize: expected ≤ 4096'), { code: 'INVALID_ARGUMENT', details: { field: 'params.config.batchSize' } })
    })
    const rc = useRunConfigStore()
    rc.config.modelDir = '/models/tiny'
    rc.config.trainFile = '/data/train.tsv'
    await rc.refreshEstimate()
    expect(rc.engineProblems).toEqual([{ field: 'batchSize', message: 'params.config.batchSize: expected ≤ 4096' }])
  })

  it('debounces estimates and ignores a stale answer', async () => {
    vi.useFakeTimers()
    let n = 0
    t.handle('runs:estimate', (p) => ({ k: p.config.nSamples, n: ++n }) as never)
    const rc = useRunConfigStore()
    rc.config.modelDir = '/models/tiny'
    rc.config.trainFile = '/data/train.tsv'
    rc.config.nSamples = 10
    await vi.advanceTimersByTimeAsync(50)
    rc.config.nSamples = 20
    await vi.advanceTimersByTimeAsync(400)
    expect(t.callsOf('runs:estimate')).toHaveLength(1)
    expect(rc.estimate?.k).toBe(20)
  })

  it('applies presets that change only what they say', () => {
    const rc = useRunConfigStore()
    rc.config.seed = 7
    rc.applyPreset('quick')
    expect(rc.config).toMatchObject({ nSamples: 32, epochs: 1, maxTrainExamples: 200, seed: 7 })
    expect(rc.presetId).toBe('quick')
    for (const p of PRESETS) expect(p.cost.length).toBeGreaterThan(20)
  })

  it('loads a config file through the engine’s check, and lists its problems by field', async () => {
    t.handle('runs:validateConfig', (p) => {
      const c = p.config as Record<string, unknown>
      return c.method === 'magic'
        ? { valid: false, config: null, problems: [{ field: 'config.method', message: 'expected one of ird, fish, random, bitfit, full' }] }
        : { valid: true, config: { ...defaultRunConfig(), ...(c as Partial<RunConfig>) }, problems: [] }
    })
    const rc = useRunConfigStore()
    expect(await rc.loadFileText('{ not json', 'a.json')).toBe(false)
    expect(rc.fileProblems[0]).toMatchObject({ field: 'a.json' })
    expect(rc.fileProblems[0].message).toMatch(/not JSON/)
    expect(await rc.loadFileText(JSON.stringify({ method: 'magic' }), 'b.json')).toBe(false)
    expect(rc.fileProblems).toEqual([{ field: 'config.method', message: 'expected one of ird, fish, random, bitfit, full' }])
    expect(await rc.loadFileText(JSON.stringify({ method: 'fish', epochs: 2 }), 'c.json')).toBe(true)
    expect(rc.config).toMatchObject({ method: 'fish', epochs: 2 })
    expect(JSON.parse(rc.toFileText())).toMatchObject({ method: 'fish', epochs: 2 })
  })

  it('copies a run’s config (“new run from this run”) without its name or bookkeeping fields', () => {
    const rc = useRunConfigStore()
    rc.fromRun('r1', { ...defaultRunConfig('rte'), name: 'old', method: 'fish', modelDir: '/m', trainFile: '/t', trainSha256: 'ab', rerun: 'ird-studio run …', backend: 'wasm' })
    expect(rc.config).toMatchObject({ task: 'rte', method: 'fish', modelDir: '/m', trainFile: '/t' })
    expect(rc.config).not.toHaveProperty('name')
    expect(rc.config).not.toHaveProperty('trainSha256')
    expect(rc.fromRunId).toBe('r1')
    expect(pickRunConfig({ method: 'nonsense' }).method).toBe('ird')
  })

  it('starts a run with a plain copy of the config and reports a refusal', async () => {
    t.handle('runs:start', () => ({ runId: 'r9' }))
    const rc = useRunConfigStore()
    rc.config.modelDir = '/models/tiny'
    rc.config.trainFile = '/data/train.tsv'
    expect(await rc.start()).toBe('r9')
    expect(t.callsOf('runs:start')[0]).toEqual({ config: JSON.parse(JSON.stringify(rc.config)) })
    t.handle('runs:start', () => {
      throw Object.assign(new Error('a run is already running'), { code: 'CONFLICT' })
    })
    expect(await rc.start()).toBeNull()
    expect(rc.startError).toMatchObject({ code: 'CONFLICT' })
  })
})

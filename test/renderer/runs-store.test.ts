import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { RunListEntry, RunSnapshot } from '../../src/shared/contract'
import { setTransport } from '../../src/renderer/src/client'
import { useRunsStore } from '../../src/renderer/src/stores/runs-store'
import { deferred, installFake, type FakeTransport } from './fake-transport'

const entry = (id: string, over: Partial<RunListEntry> = {}): RunListEntry => ({
  id, task: 'sst2', method: 'ird', status: 'running', model: '/m', seed: 0, startedAt: '2026-01-01T00:00:00Z', live: true, ...over
})
const snapshot = (id: string, over: Partial<RunSnapshot> = {}): RunSnapshot => ({
  summary: entry(id), config: { method: 'ird' }, events: [], curve: [], metrics: [], fisher: null, results: null, ...over
})
const progress = (runId: string, done: number, loss?: number) => ({ runId, phase: 'train', done, total: 100, elapsedMs: done * 10, loss, lr: 1e-4, epoch: 1 })

describe('useRunsStore', () => {
  let t: FakeTransport
  beforeEach(() => {
    setActivePinia(createPinia())
    t = installFake()
  })
  afterEach(() => setTransport(null))

  it('subscribes to run events before the first list call, and lists runs', async () => {
    t.handle('runs:list', () => {
      expect(t.listenerCount('run:finished')).toBe(1)
      return [entry('a')]
    })
    const runs = useRunsStore()
    await runs.refresh()
    expect(runs.list.map((r) => r.id)).toEqual(['a'])
    expect(runs.running.map((r) => r.id)).toEqual(['a'])
  })

  it('keeps events that arrive while a snapshot is in flight, and adds no point twice', async () => {
    const pending = deferred<RunSnapshot>()
    t.handle('runs:get', () => pending.promise)
    const runs = useRunsStore()
    const opening = runs.open('a')
    // Step 2 is in the snapshot and also arrives as an event; step 3 only as an event.
    t.emit('run:progress', progress('a', 2, 0.7))
    t.emit('run:progress', progress('a', 3, 0.6))
    t.emit('run:metric', { runId: 'a', epoch: 1, metrics: { accuracy: 0.8 }, main: 0.8 })
    pending.resolve(snapshot('a', { curve: [{ step: 1, loss: 0.9, elapsedMs: 10 }, { step: 2, loss: 0.7, elapsedMs: 20 }] }))
    const d = await opening
    expect(d?.curve.map((p) => p.step)).toEqual([1, 2, 3])
    expect(d?.metrics).toHaveLength(1)
    expect(d?.progress?.done).toBe(3)
  })

  it('replaces a run’s details object on each event, so views recompute', async () => {
    t.handle('runs:get', () => snapshot('a'))
    const runs = useRunsStore()
    await runs.open('a')
    const before = runs.details.a
    t.emit('run:progress', progress('a', 1, 0.5))
    expect(runs.details.a).not.toBe(before)
    expect(runs.details.a.curve).toHaveLength(1)
    expect(before.curve).toHaveLength(0)
  })

  it('follows a run to its end: status, metrics, not live, stopping cleared', async () => {
    t.handle('runs:get', () => snapshot('a')).handle('runs:list', () => [entry('a', { status: 'cancelled', live: false })]).handle('runs:stop', () => ({ stopping: true }))
    const runs = useRunsStore()
    await runs.open('a')
    await runs.stop('a')
    expect(runs.stopping.a).toBe(true)
    t.emit('run:finished', { runId: 'a', status: 'cancelled', reason: 'cancelled by the user' })
    expect(runs.details.a.summary.status).toBe('cancelled')
    expect(runs.details.a.summary.live).toBe(false)
    expect(runs.details.a.summary.reason).toBe('cancelled by the user')
    expect(runs.stopping.a).toBe(false)
  })

  it('keeps the engine\'s warnings about a finished run (constant predictions)', async () => {
    t.handle('runs:get', () => snapshot('a')).handle('runs:list', () => [entry('a', { status: 'completed', live: false })])
    const runs = useRunsStore()
    await runs.open('a')
    t.emit('run:finished', { runId: 'a', status: 'completed', main: 0.5, warnings: ['predicts class "1" for 100.0 % of the dev rows'] })
    expect(runs.details.a.summary.warnings).toEqual(['predicts class "1" for 100.0 % of the dev rows'])
  })

  it('adds a run started elsewhere to the list, and records Fisher statistics and phases', async () => {
    t.handle('runs:get', () => snapshot('b'))
    const runs = useRunsStore()
    runs.init()
    t.emit('run:started', { id: 'b', task: 'rte', method: 'fish', status: 'running', model: '/m', seed: 1, startedAt: '2026-01-02T00:00:00Z' })
    expect(runs.list.map((r) => r.id)).toEqual(['b'])
    await runs.open('b')
    t.emit('run:fisher', { runId: 'b', method: 'fish', irdRounds: [], scope: 'F over n samples' })
    t.emit('run:phase', { runId: 'b', phase: 'selected', time: Date.parse('2026-01-02T00:00:01Z'), fields: { k: 10 } })
    expect(runs.details.b.fisher?.scope).toBe('F over n samples')
    expect(runs.details.b.events.at(-1)).toMatchObject({ phase: 'selected', k: 10 })
  })

  it('keeps the error of a snapshot that failed, with its code', async () => {
    t.handle('runs:get', () => {
      throw Object.assign(new Error('no run "x"'), { code: 'NOT_FOUND' })
    })
    const runs = useRunsStore()
    expect(await runs.open('x')).toBeNull()
    expect(runs.detailErrors.x).toMatchObject({ message: 'no run "x"', code: 'NOT_FOUND' })
  })

  it('takes the memory history of a live run from its snapshot (a window reloaded mid-run keeps the chart)', async () => {
    const sample = (time: number) => ({ rss: time, heapUsed: 1, heapTotal: 1, external: 0, arrayBuffers: 0, tfBytes: 0, tfTensors: 0, systemTotal: 8, systemFree: 4, time })
    t.handle('runs:get', () => ({ ...snapshot('a'), memory: [sample(1), sample(2), sample(3)] }))
    const runs = useRunsStore()
    await runs.open('a')
    expect(runs.memory.map((m) => m.time)).toEqual([1, 2, 3])
    t.emit('engine:memory', sample(4))
    expect(runs.memory.map((m) => m.time)).toEqual([1, 2, 3, 4])
  })

  it('collects engine memory samples', () => {
    const runs = useRunsStore()
    runs.init()
    t.emit('engine:memory', { rss: 1, heapUsed: 1, heapTotal: 1, external: 0, arrayBuffers: 0, tfBytes: 0, tfTensors: 0, systemTotal: 8, systemFree: 4, time: 1 })
    expect(runs.memory).toHaveLength(1)
  })
})

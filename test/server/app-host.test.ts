/**
 * The app's process side end to end with the real engine process (src/engine/process.ts under tsx), as
 * both shells use it (AppHost + the call router): datasets (import, preview, validate with dropped rows,
 * statistics in model tokens, train/dev overlap), models, runs (estimate, start, live events with
 * throttled progress, Fisher statistics, snapshot, compare, mask overlap, delete). Crash recovery is in
 * engine-crash.test.ts.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FIXTURES_DIR } from '../helpers/shared-data'
import { createTestHost } from './helpers'

const t = createTestHost('ird-apphost-')
const { events, call, failure, nextEvent, quickConfig, model, runsDir, tmp, SST } = t
beforeAll(() => t.start())
afterAll(() => t.stop())

describe('datasets through the host and the engine', () => {
  it('imports by path, previews, and keeps the detected task as the reading options', async () => {
    const entry = await call('datasets:import', { source: { path: SST('dev.tsv') } })
    expect(entry).toMatchObject({ uploaded: false, detectedTask: { task: 'sst2', split: 'dev' }, options: { task: 'sst2', split: 'dev' } })
    expect(await call('datasets:import', { source: { path: SST('dev.tsv') } })).toEqual(entry) // once only
    const preview = await call('datasets:preview', { ref: { id: entry.id }, rows: 3 })
    expect(preview.rows).toHaveLength(3)
    expect(preview.columns).toEqual(['sentence', 'label'])
    expect(preview.detectedTask?.task).toBe('sst2')
  })

  it('validates with file/line/column problems, and drops bad rows when asked', async () => {
    const file = join(FIXTURES_DIR, 'data', 'unknown-label.tsv')
    const options = { task: 'sst2' as const, split: 'train' as const }
    const report = await call('datasets:validate', { ref: { path: file }, options })
    expect(report.usable).toBe(false)
    const bad = report.problems.find((p) => p.line === 3)
    expect(bad).toMatchObject({ file, line: 3, column: 'label', severity: 'error' })
    const dropped = await call('datasets:validate', { ref: { path: file }, options: { ...options, dropBadRows: true } })
    expect(dropped.usable).toBe(true)
    expect(dropped.droppedLines).toEqual(expect.arrayContaining([3, 4]))
    expect(dropped.rows).toBe(report.rows - dropped.droppedCount)
  })

  it('counts lengths in model tokens and train/dev overlap', async () => {
    const stats = await call('datasets:stats', {
      ref: { path: join(FIXTURES_DIR, 'data', 'overlap-train.tsv') },
      dev: { ref: { path: join(FIXTURES_DIR, 'data', 'overlap-dev.tsv') } },
      modelDir: model,
      maxLength: 8
    })
    expect(stats.lengthUnit).toBe('tokens')
    expect(stats.lengths.min).toBeGreaterThanOrEqual(3) // [CLS] word [SEP]
    expect(stats.truncatedRows).toBe(0)
    const sst = await call('datasets:stats', { ref: { path: SST('dev.tsv') }, modelDir: model, maxLength: 8 })
    expect(sst.truncatedRows).toBeGreaterThan(0)
    expect(sst.truncatedRows).toBeLessThan(sst.size)
    expect(sst.labels?.map((l) => l.name)).toEqual(['0', '1'])
    expect(stats.overlap).toEqual({ devRows: 2, overlapping: 1, fraction: 0.5 })
    expect(await failure('datasets:stats', { ref: { path: join(tmp, 'missing.tsv') } })).toMatchObject({ code: 'INVALID_INPUT' })
  })
})

describe('models', () => {
  it('inspects a folder without loading weights and remembers it', async () => {
    const info = await call('models:inspect', { path: model })
    expect(info).toMatchObject({ usable: true, layers: 1, hidden: 16, heads: 2, maxPositions: 128, problems: [], dtypes: ['F32'] })
    expect(info.tokenizerVocabSize).toBe(info.vocabSize)
    const added = await call('models:add', { path: model, name: 'tiny' })
    expect((await call('models:list')).filter((m) => m.kind === 'user')).toEqual([added])
    const notModel = await call('models:inspect', { path: tmp })
    expect(notModel.usable).toBe(false)
    expect(notModel.problems.join(' ')).toMatch(/config\.json/)
    expect(await failure('models:inspect', { path: join(tmp, 'nope') })).toMatchObject({ code: 'INVALID_INPUT' })
  })
})

describe('runs', () => {
  let firstRun = ''

  it('estimates budgets both ways, Fisher cost, time and memory', async () => {
    const est = await call('runs:estimate', { config: quickConfig({ method: 'fish' }) })
    expect(est.k).toBe(Math.floor(est.totalParams * 0.01) - est.headSize)
    expect(est.trainRows).toBe(96)
    expect(est.fisherGradients).toBe(32)
    expect(est.trainSteps).toBe(Math.ceil(96 / 16))
    expect(est.memoryBytes.total).toBeGreaterThan(est.memoryBytes.weights)
    expect(est.memory?.verdict).toBe('ok')
    expect(est.memoryBytes.total).toBe(Math.max(est.memory!.selectionBytes, est.memory!.trainingBytes))
    const byK = await call('runs:estimate', { config: quickConfig({ method: 'fish' }), k: est.k!, measure: true })
    expect(byK.k).toBe(est.k)
    expect(byK.throughput.source).toBe('measured')
    expect(byK.seconds.total).toBeGreaterThan(0)
  })

  it('starts an IRD run and streams phases, throttled progress, IRD rounds, Fisher statistics, metrics and the end', async () => {
    events.length = 0
    const finished = nextEvent('run:finished')
    const { runId } = await call('runs:start', { config: quickConfig({ method: 'ird', name: 'first' }) })
    firstRun = runId
    // while it runs, a window that opens now gets a live snapshot
    const live = await call('runs:get', { runId })
    expect(live.summary).toMatchObject({ id: runId, live: true, status: 'running' })
    // with the engine's memory samples since the run started (each an engine:memory event), for the chart
    expect(Array.isArray(live.memory)).toBe(true)
    for (const m of live.memory!) expect(m.rss).toBeGreaterThan(0)
    expect(await failure('runs:start', { config: quickConfig() })).toMatchObject({ code: 'CONFLICT' })
    expect(await failure('runs:delete', { runId })).toMatchObject({ code: 'CONFLICT' })
    const end = await finished
    expect(end).toMatchObject({ runId, status: 'completed' })
    expect(end.metrics).toHaveProperty('accuracy')

    const mine = events.filter((e) => 'payload' in e && ((e.payload as { runId?: string; id?: string }).runId ?? (e.payload as { id?: string }).id) === runId)
    const kinds = mine.map((e) => e.event)
    expect(kinds[0]).toBe('run:started')
    expect(kinds.at(-1)).toBe('run:finished')
    const phases = mine.filter((e) => e.event === 'run:phase').map((e) => (e.payload as { phase: string }).phase)
    expect(phases).toEqual(expect.arrayContaining(['select', 'ird-round', 'selected', 'train', 'eval', 'done']))
    const fisher = mine.filter((e) => e.event === 'run:fisher').map((e) => e.payload as { irdRounds: unknown[]; perLayer?: unknown[] })
    expect(fisher.length).toBeGreaterThanOrEqual(2)
    expect(fisher.at(-1)!.perLayer!.length).toBeGreaterThan(0)
    expect(fisher.at(-1)!.irdRounds.length).toBeGreaterThan(0)
    expect(mine.some((e) => e.event === 'run:metric')).toBe(true)
    expect(events.some((e) => e.event === 'engine:memory' && e.payload.rss > 0)).toBe(true)
    // progress: at most ~10 per second per run, and the last one of a phase is not lost
    const progress = mine.filter((e) => e.event === 'run:progress').map((e) => e.payload as { phase: string; done: number; total: number; elapsedMs: number })
    expect(progress.length).toBeGreaterThan(0)
    const train = progress.filter((p) => p.phase === 'train')
    expect(train.at(-1)).toMatchObject({ done: train.at(-1)!.total })
    // per phase: one event per 100 ms at most, plus the first and the flush of the last before the next phase
    for (const phase of new Set(progress.map((p) => p.phase))) {
      const of = progress.filter((p) => p.phase === phase)
      const spanMs = of.at(-1)!.elapsedMs - of[0].elapsedMs
      expect(of.length, phase).toBeLessThanOrEqual(Math.floor(spanMs / 100) + 3)
    }

    const snap = await call('runs:get', { runId })
    expect(snap.summary).toMatchObject({ status: 'completed', live: false, name: 'first' })
    expect(snap.memory).toBeUndefined() // a finished run's snapshot carries no live memory history
    expect(snap.fisher?.perLayer?.length).toBeGreaterThan(0)
    expect(snap.fisher?.sampleScores?.count).toBeGreaterThan(0)
    expect(snap.curve.length).toBeGreaterThan(0)
    expect(snap.metrics).toHaveLength(1)
    expect(snap.results).toHaveProperty('final')
    expect(snap.config).toHaveProperty('trainSha256')
    // "new run from this run": the run's own config.json passes the config check
    const again = await call('runs:validateConfig', { config: JSON.parse(readFileSync(join(runsDir, runId, 'config.json'), 'utf8')) })
    expect(again.problems).toEqual([])
    expect(again.config).toMatchObject({ method: 'ird', name: 'first', maxTrainExamples: 96, trainFile: SST('train.tsv') })
  })

  it('compares runs as tables and their masks pairwise', async () => {
    const finished = nextEvent('run:finished')
    const { runId } = await call('runs:start', { config: quickConfig({ method: 'fish', name: 'second' }) })
    expect(await finished).toMatchObject({ runId, status: 'completed' })
    const list = await call('runs:list')
    expect(list.map((r) => r.id).sort()).toEqual([firstRun, runId].sort())
    const tables = await call('runs:compare', { runIds: [firstRun, runId] })
    expect(tables.rows).toHaveLength(2)
    expect(tables.markdown).toContain('| first |')
    expect(tables.csv.split('\n')[0]).toContain('run,task,method')
    expect(tables.latex).toContain('\\begin{tabular}')
    const overlap = await call('runs:maskOverlap', { runIds: [firstRun, runId] })
    expect(overlap.problems).toEqual([])
    expect(overlap.intersection[0][0]).toBe(overlap.counts[0])
    expect(overlap.jaccard[0][1]).toBeGreaterThan(0)
    expect(overlap.jaccard[0][1]).toBeLessThanOrEqual(1)
    expect(overlap.jaccard[0][1]).toBe(overlap.jaccard[1][0])
    expect(await call('runs:delete', { runId })).toEqual({ deleted: true })
    expect((await call('runs:list')).map((r) => r.id)).toEqual([firstRun])
  })
})

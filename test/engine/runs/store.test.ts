import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { RunStore, type RunSummary } from '../../../src/engine/runs/store'
import { gluePivot, renderTable, runsTable } from '../../../src/engine/runs/compare'
import { constantWarning } from '../../../src/engine/metrics/constant'

const tmp = mkdtempSync(join(tmpdir(), 'ird-runs-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const base = { model: 'demo', seed: 1, keepRatio: 0.005, nSamples: 64 }

describe('run store', () => {
  it('creates, logs, finishes and lists runs; refuses "completed" without results', () => {
    const store = new RunStore(join(tmp, 'a'))
    const run = store.create({ task: 'sst2', method: 'fish', config: { task: 'sst2' }, summary: { ...base, task: 'sst2', method: 'fish' } })
    run.event('fisher', { done: 10, total: 64 })
    run.event('train', { step: 1, loss: 0.7 })
    expect(() => run.finish('completed')).toThrow(/without results.json/)
    run.writeJson('results.json', { final: { accuracy: 0.8 } })
    run.finish('completed', { metrics: { accuracy: 0.8 }, main: 0.8 })
    const listed = store.list()
    expect(listed).toHaveLength(1)
    expect(listed[0].status).toBe('completed')
    expect(listed[0].main).toBe(0.8)
    // a process killed mid-append leaves a cut line: readers skip it
    appendFileSync(join(run.dir, 'events.jsonl'), '{"phase":"tra')
    expect(store.open(run.id.slice(0, 20)).events().map((e) => e.phase)).toEqual(['fisher', 'train'])
  })

  it('reports a "running" run whose process is gone as failed (interrupted)', () => {
    const store = new RunStore(join(tmp, 'b'))
    const run = store.create({ task: 'rte', method: 'ird', config: {}, summary: { ...base, task: 'rte', method: 'ird' } })
    writeFileSync(join(run.dir, 'status.json'), JSON.stringify({ status: 'running', pid: 2 ** 22 + 12345, startedAt: 'x', updatedAt: 'x' }))
    const [s] = store.list()
    expect(s.status).toBe('failed')
    expect(s.reason).toMatch(/interrupted/)
  })

  it('refuses run ids and file names that escape the runs folder', () => {
    const store = new RunStore(join(tmp, 'c'))
    expect(() => store.dir('../evil')).toThrow(/invalid run id/)
    expect(() => store.dir('/etc')).toThrow(/invalid run id/)
    const run = store.create({ task: 'cola', method: 'random', config: {}, summary: { ...base, task: 'cola', method: 'random' } })
    expect(() => run.path('../x.json')).toThrow(/invalid file name/)
    expect(() => store.open('nope')).toThrow(/no run "nope"/)
  })

  it('lists hundreds of runs quickly', () => {
    const store = new RunStore(join(tmp, 'd'))
    for (let i = 0; i < 300; i++) store.create({ task: 'sst2', method: 'fish', config: {}, summary: { ...base, task: 'sst2', method: 'fish', seed: i } })
    const t0 = performance.now()
    expect(store.list()).toHaveLength(300)
    console.log(`listed 300 runs in ${(performance.now() - t0).toFixed(1)} ms`)
  })
})

describe('comparison tables', () => {
  const runs: RunSummary[] = [
    { id: 'r1', task: 'sst2', method: 'fish', status: 'completed', seed: 1, model: 'm', startedAt: '1', keepRatio: 0.005, nSamples: 64, metrics: { accuracy: 0.9 }, main: 0.9, elapsedMs: 61000 },
    { id: 'r2', task: 'sst2', method: 'fish', status: 'completed', seed: 2, model: 'm', startedAt: '2', keepRatio: 0.005, nSamples: 64, metrics: { accuracy: 0.8 }, main: 0.8 },
    { id: 'r3', task: 'cola', method: 'fish', status: 'completed', seed: 1, model: 'm', startedAt: '3', keepRatio: 0.005, nSamples: 64, metrics: { matthews_correlation: 0.5 }, main: 0.5 },
    { id: 'r4', task: 'cola', method: 'ird', status: 'failed', reason: 'out of memory', seed: 1, model: 'm', startedAt: '4', keepRatio: 0.005, nSamples: 64 }
  ]
  it('renders runs as Markdown, CSV and LaTeX', () => {
    const t = runsTable(runs)
    expect(t.rows).toHaveLength(4)
    const md = renderTable(t, 'markdown')
    expect(md.split('\n')[0]).toContain('| run | task | method |')
    expect(md).toContain('| 90.00 |')
    expect(md).toContain('1m01s')
    expect(md).toContain('failed (out of memory)')
    expect(md).not.toContain('constant predictions')
    const flagged = runsTable([{ ...runs[1], warnings: [constantWarning({ topClass: 1, topClassShare: 1, constant: true })!] }])
    expect(flagged.rows[0].at(-1)).toBe('completed (constant predictions: see the run)')
    const csv = renderTable(t, 'csv')
    expect(csv.split('\n')[1].startsWith('r1,sst2,fish,0.50%')).toBe(true)
    const tex = renderTable(t, 'latex')
    expect(tex).toContain('\\begin{tabular}')
    expect(tex).toContain('matthews\\_correlation')
  })
  it('pivots completed runs into a GLUE table: seeds averaged, GLUE score over present tasks', () => {
    const t = gluePivot(runs)
    expect(t.header).toEqual(['method', 'budget', 'samples', 'cola', 'sst2', 'GLUE score (2 tasks)'])
    expect(t.rows).toEqual([['fish', '0.50%', '64', '50.00', '85.00 (n=2)', '67.50']])
  })
})

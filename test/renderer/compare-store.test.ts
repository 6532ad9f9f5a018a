import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { RunListEntry } from '../../src/shared/contract'
import { setTransport } from '../../src/renderer/src/client'
import { configDiff, useCompareStore } from '../../src/renderer/src/stores/compare-store'
import { useRunsStore } from '../../src/renderer/src/stores/runs-store'
import { renderTable } from '../../src/renderer/src/lib/table-export'
import { installFake, type FakeTransport } from './fake-transport'

const run = (id: string, over: Partial<RunListEntry> = {}): RunListEntry => ({
  id, task: 'sst2', method: 'ird', status: 'completed', model: '/m', seed: 0, startedAt: `2026-01-0${id.length}T00:00:00Z`, live: false, ...over
})

describe('useCompareStore', () => {
  let t: FakeTransport
  beforeEach(() => {
    setActivePinia(createPinia())
    t = installFake()
    useRunsStore().list = [
      run('a', { name: 'ird', main: 0.9, keepRatio: 0.005, metrics: { accuracy: 0.9 } }),
      run('bb', { name: 'fish', method: 'fish', main: 0.85, keepRatio: 0.005, metrics: { accuracy: 0.85 } }),
      run('ccc', { name: 'rte run', task: 'rte', main: 0.6, status: 'failed', reason: 'out of memory' })
    ]
  })
  afterEach(() => setTransport(null))

  it('sorts by a column both ways and filters by status, task, method and text', () => {
    const c = useCompareStore()
    c.setSort('main')
    expect(c.sorted.map((r) => r.id)).toEqual(['a', 'bb', 'ccc'])
    c.setSort('main')
    expect(c.sorted.map((r) => r.id)).toEqual(['ccc', 'bb', 'a'])
    c.filterStatus = 'completed'
    expect(c.sorted.map((r) => r.id)).toEqual(['bb', 'a'])
    c.filterStatus = ''
    c.filterTask = 'rte'
    expect(c.sorted.map((r) => r.id)).toEqual(['ccc'])
    c.filterTask = ''
    c.filterText = 'FISH'
    expect(c.sorted.map((r) => r.id)).toEqual(['bb'])
  })

  it('keeps a pinned baseline on top, compares it, and gives Δ only within its task', () => {
    const c = useCompareStore()
    c.setSort('main')
    c.pin('bb')
    expect(c.sorted[0].id).toBe('bb')
    expect(c.selectedIds).toContain('bb')
    const runs = useRunsStore()
    expect(c.delta(runs.list[0])).toBe('+5.00')
    expect(c.delta(runs.list[2])).toBe('')
    c.pin('bb')
    expect(c.baselineId).toBeNull()
  })

  it('exports what the table shows, as CSV, Markdown and LaTeX', () => {
    const c = useCompareStore()
    c.pin('a')
    const table = c.table()
    expect(table.header).toContain('Δ main vs baseline')
    expect(table.rows[0][0]).toBe('ird (baseline)')
    const csv = renderTable(table, 'csv')
    expect(csv.split('\n')[0]).toMatch(/^run,id,task,method,budget/)
    expect(csv).toContain('failed (out of memory)')
    expect(renderTable(table, 'markdown').split('\n')[1]).toMatch(/^\|---\|/)
    expect(renderTable({ header: ['a_b'], rows: [['50%']] }, 'latex')).toContain('a\\_b')
    c.toggle('bb', true)
    expect(c.table(true).rows.map((r) => r[1])).toEqual(['a', 'bb'])
  })

  it('asks for the mask overlap of the compared runs (two or more)', async () => {
    t.handle('runs:maskOverlap', (p) => ({ runIds: p.runIds, counts: [1, 1], intersection: [[1, 0], [0, 1]], jaccard: [[1, 0], [0, 1]], problems: [] }))
    const c = useCompareStore()
    c.toggle('a')
    await c.loadOverlap()
    expect(t.callsOf('runs:maskOverlap')).toHaveLength(0)
    c.toggle('bb')
    await c.loadOverlap()
    expect(c.overlap?.runIds.sort()).toEqual(['a', 'bb'])
  })

  it('lists only the settings that differ, flattened', () => {
    const rows = configDiff([
      { method: 'ird', ird: { alphaS: 0.5, alphaP: 0.5 }, seed: 0, rerun: 'x' },
      { method: 'fish', ird: { alphaS: 0.5, alphaP: 0.25 }, seed: 0, rerun: 'y' }
    ])
    expect(rows).toEqual([
      { key: 'ird.alphaP', values: ['0.5', '0.25'] },
      { key: 'method', values: ['ird', 'fish'] }
    ])
  })
})

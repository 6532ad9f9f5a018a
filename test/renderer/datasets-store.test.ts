import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { DatasetEntry, DatasetPreview, DatasetReport } from '../../src/shared/contract'
import { setFilePaths, setTransport } from '../../src/renderer/src/client'
import { MAX_UPLOAD_BYTES, useDatasetsStore } from '../../src/renderer/src/stores/datasets-store'
import { deferred, installFake, type FakeTransport } from './fake-transport'

const entry = (id: string, over: Partial<DatasetEntry> = {}): DatasetEntry => ({
  id, name: `${id}.tsv`, path: `/data/${id}.tsv`, uploaded: false, size: 10, sha256: 'ab'.repeat(32), addedAt: '2026-01-01T00:00:00Z', detectedTask: null, options: {}, ...over
})
const preview = (over: Partial<DatasetPreview> = {}): DatasetPreview => ({
  file: '/data/a.tsv', size: 10, sampledBytes: 10,
  layout: { format: 'tsv', formatReason: 'tabs', header: true, headerReason: 'names', columns: ['sentence', 'label'], mappingGuessed: true, encoding: 'utf-8', bom: false },
  columns: ['sentence', 'label'], rows: [['good', '1']], rowLines: [2], rowCount: 1,
  guessedMapping: { textA: 'sentence', label: 'label' }, mappingReason: 'header names', labelGuess: { kind: 'none', reason: 'x' },
  detectedTask: { task: 'sst2', split: 'train', confidence: 1, reason: 'SST-2 header' }, problems: [], counts: {}, ...over
})
const report = (usable: boolean): DatasetReport => ({
  file: '/data/a.tsv', name: 'a', sha256: 'ab', layout: preview().layout, rows: 5, isRegression: false, hasLabels: true, problems: usable ? [] : [{ file: '/data/a.tsv', line: 3, column: 'label', code: 'unknown_label', severity: 'error', message: 'label "7" is not one of 0, 1' }],
  counts: usable ? {} : { unknown_label: 1 }, errors: usable ? 0 : 1, warnings: 0, truncated: false, usable, verdict: usable ? 'usable' : '1 error', summary: '', droppedLines: [], droppedCount: 0
})

describe('useDatasetsStore', () => {
  let t: FakeTransport
  beforeEach(() => {
    setActivePinia(createPinia())
    t = installFake()
    t.handle('datasets:list', () => [entry('a')])
  })
  afterEach(() => setTransport(null))

  it('imports a dropped file as content, selects it, previews it and takes the guessed mapping and task', async () => {
    t.handle('datasets:import', (p) => entry('up', { name: 'name' in p.source ? p.source.name : 'x', uploaded: true })).handle('datasets:preview', () => preview())
    const ds = useDatasetsStore()
    const file = new File(['sentence\tlabel\ngood\t1\n'], 'train.tsv')
    await ds.importFile(file)
    expect(t.callsOf('datasets:import')[0]).toEqual({ source: { name: 'train.tsv', content: 'sentence\tlabel\ngood\t1\n' } })
    expect(ds.selectedId).toBe('up')
    expect(ds.mapping).toEqual({ textA: 'sentence', label: 'label' })
    expect(ds.task).toBe('sst2')
  })

  it('refuses a file over the upload limit before reading it, saying what to do', async () => {
    const ds = useDatasetsStore()
    const big = { name: 'huge.tsv', size: MAX_UPLOAD_BYTES + 1, text: () => Promise.reject(new Error('must not read')) } as unknown as File
    await ds.importFile(big)
    expect(String((ds.importError as Error).message)).toMatch(/huge\.tsv .* type its path instead/)
    expect(t.callsOf('datasets:import')).toHaveLength(0)
  })

  it('inside Electron imports a dropped file by its path on disk: no upload, no size limit', async () => {
    t.handle('datasets:import', () => entry('big', { name: 'train.tsv' })).handle('datasets:preview', () => preview())
    setFilePaths((f) => `/data/${(f as File).name}`)
    try {
      const ds = useDatasetsStore()
      const big = { name: 'train.tsv', size: MAX_UPLOAD_BYTES * 4, text: () => Promise.reject(new Error('must not read')) } as unknown as File
      await ds.importFile(big)
      expect(ds.importError).toBeNull()
      expect(t.callsOf('datasets:import')[0]).toEqual({ source: { path: '/data/train.tsv' } })
      expect(ds.selectedId).toBe('big')
    } finally {
      setFilePaths(null)
    }
  })

  it('asks for a path when none is typed', async () => {
    const ds = useDatasetsStore()
    await ds.importPath('   ')
    expect((ds.importError as Error).message).toMatch(/type the path/)
  })

  it('never lets a stale preview overwrite a newer one', async () => {
    const first = deferred<DatasetPreview>()
    let n = 0
    t.handle('datasets:preview', () => (n++ === 0 ? first.promise : preview({ rowCount: 2 })))
    const ds = useDatasetsStore()
    await ds.refresh()
    ds.selectedId = 'a'
    const older = ds.runPreview()
    await ds.runPreview()
    first.resolve(preview({ rowCount: 1 }))
    await older
    expect(ds.preview?.rowCount).toBe(2)
  })

  it('checks with the current options (saved first), and computes statistics only for a usable file', async () => {
    t.handle('datasets:update', (p) => entry(p.id, { options: p.options ?? {} }))
      .handle('datasets:validate', () => report(false))
      .handle('datasets:stats', () => ({ size: 5, hasLabels: true, isRegression: false, unlabelled: 0, lengths: { count: 5, min: 1, max: 3, mean: 2, median: 2, p95: 3, histogram: { edges: [1, 2], counts: [5] } }, lengthUnit: 'whitespace tokens', duplicates: 0 }))
    const ds = useDatasetsStore()
    await ds.refresh()
    ds.selectedId = 'a'
    ds.task = 'sst2'
    await ds.check()
    expect(t.callsOf('datasets:update')[0]).toEqual({ id: 'a', options: { split: 'train', task: 'sst2' } })
    expect(ds.report?.usable).toBe(false)
    expect(ds.report?.problems[0]).toMatchObject({ line: 3, column: 'label' })
    expect(ds.stats).toBeNull()
    expect(t.callsOf('datasets:stats')).toHaveLength(0)

    t.handle('datasets:validate', () => report(true))
    ds.dropBadRows = true
    await ds.check()
    expect(t.callsOf('datasets:validate')[1]).toMatchObject({ options: { dropBadRows: true } })
    expect(ds.stats?.size).toBe(5)
  })

  it('measures train/dev overlap against the chosen training set', async () => {
    t.handle('datasets:update', (p) => entry(p.id)).handle('datasets:validate', () => report(true)).handle('datasets:stats', () => ({ size: 1 }) as never)
    const ds = useDatasetsStore()
    await ds.refresh()
    ds.selectedId = 'a'
    ds.split = 'dev'
    ds.pairWithId = 'train1'
    await ds.check()
    expect(t.callsOf('datasets:validate')[0]).toMatchObject({ against: { ref: { id: 'train1' } } })
    expect(t.callsOf('datasets:stats')[0]).toMatchObject({ dev: { ref: { id: 'train1' } } })
  })

  it('shows the engine’s error of a failed check, code and all', async () => {
    t.handle('datasets:update', () => {
      throw Object.assign(new Error('dataset "a": its file /data/a.tsv is gone; import it again'), { code: 'INVALID_INPUT' })
    })
    const ds = useDatasetsStore()
    await ds.refresh()
    ds.selectedId = 'a'
    expect(await ds.check()).toBeNull()
    expect(ds.checkError).toMatchObject({ code: 'INVALID_INPUT' })
    expect(ds.checking).toBe(false)
  })
})

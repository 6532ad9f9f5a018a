import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { RunStore } from '../../../src/engine/runs/store'
import { expandCells, loadStudyConfig, parseStudyConfig, settingsFor, StudyConfigError, type StudyConfig } from '../../../src/engine/study/config'
import { cellJobConfig, readState, runStudy, type CellRunner } from '../../../src/engine/study/run'
import { buildReport, collectResults, predictionShapeOfFile, reportCsv, reportMarkdown } from '../../../src/engine/study/report'
import { GLUE_DIR } from '../../helpers/shared-data'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'ird-study-'))
  dirs.push(d)
  return d
}

function config(dir: string, extra: Record<string, unknown> = {}): StudyConfig {
  return parseStudyConfig(
    {
      name: 't',
      model: 'model',
      glueDir: GLUE_DIR,
      outDir: 'out',
      grids: [
        { tasks: ['rte'], methods: ['ird', 'fish', 'random', 'bitfit', 'full'], keepRatios: [0.005, 0.02], sampleBudgets: [64, 256], seeds: [0, 1, 2] }
      ],
      caps: { maxTrain: 100, epochs: 1, maxLength: 32 },
      ...extra
    },
    join(dir, 'study.json')
  )
}

/** A runner that records a completed run with a score from the cell, or fails/cancels on request. */
function fakeRunner(store: RunStore, log: string[], plan: Record<string, 'failed' | 'cancelled'> = {}): CellRunner {
  return async (cell, job) => {
    log.push(cell.key)
    const run = store.create({ task: cell.task, method: cell.method, config: job as unknown as Record<string, unknown>, summary: { task: cell.task, method: cell.method, model: 'm', seed: cell.seed }, name: job.name })
    const status = plan[cell.key]
    if (status) {
      run.finish(status, {}, `planned ${status}`)
      return { runId: run.id, status, reason: `planned ${status}` }
    }
    run.writeJson('results.json', { ok: true })
    const main = 0.5 + (cell.method === 'ird' ? 0.02 : 0) + cell.seed * 0.01 + (cell.keepRatio ?? 0)
    run.finish('completed', { main, metrics: { accuracy: main }, elapsedMs: 1000 })
    return { runId: run.id, status: 'completed' }
  }
}

describe('study config', () => {
  it('expands grids into unique cells; methods that ignore an axis get one cell', () => {
    const cells = expandCells(config(tmp()))
    // ird, fish: 2 keep × 2 samples × 3 seeds = 12 each; random: 2 keep × 3 = 6; bitfit, full: 3 each
    expect(cells.length).toBe(12 + 12 + 6 + 3 + 3)
    expect(new Set(cells.map((c) => c.key)).size).toBe(cells.length)
    expect(cells.find((c) => c.method === 'bitfit')?.key).toBe('rte/bitfit/k-/n-/s0')
    expect(cells.find((c) => c.method === 'random')?.key).toBe('rte/random/k0.005/n-/s0')
  })
  it('overlapping grids do not repeat cells', () => {
    const c = config(tmp(), {
      grids: [
        { tasks: ['rte', 'sst2'], methods: ['ird', 'fish'], keepRatios: [0.005], sampleBudgets: [1024], seeds: [0, 1] },
        { tasks: ['rte'], methods: ['ird', 'fish'], keepRatios: [0.005, 0.02], sampleBudgets: [1024], seeds: [0, 1] }
      ]
    })
    expect(expandCells(c).length).toBe(8 + 4)
  })
  it('per-task overrides apply to their task only', () => {
    const c = config(tmp(), { perTask: { rte: { epochs: 5, lr: 0.01 } } })
    expect(settingsFor(c, 'rte')).toMatchObject({ epochs: 5, lr: 0.01, maxTrain: 100 })
    expect(settingsFor(c, 'sst2')).toMatchObject({ epochs: 1 })
    const job = cellJobConfig(c, expandCells(c).find((x) => x.method === 'full')!, '/m', 'wasm')
    expect(job).toMatchObject({ method: 'full', lr: c.training.fullLr, epochs: 5, maxTrainExamples: 100, nSamplesExplicit: false })
  })
  it('bad configs name the file and field', () => {
    const d = tmp()
    const bad = (patch: Record<string, unknown>) => () => config(d, patch)
    expect(bad({ grids: [] })).toThrow(/study\.json: "grids" must be a non-empty list/)
    expect(bad({ grids: [{ tasks: ['nope'], methods: ['ird'], keepRatios: [0.1], sampleBudgets: [8], seeds: [0] }] })).toThrow(/"grids\[0\]\.tasks\[0\]" must be one of/)
    expect(bad({ grids: [{ tasks: ['rte'], methods: ['ird'], keepRatios: [2], sampleBudgets: [8], seeds: [0] }] })).toThrow(/"grids\[0\]\.keepRatios\[0\]" must be a number > 0 ≤ 1, got 2/)
    expect(bad({ caps: { epochs: 0 } })).toThrow(/"caps\.epochs" must be an integer ≥ 1/)
    expect(bad({ typo: 1 })).toThrow(/"typo" must be absent \(unknown key/)
    const f = join(d, 'broken.json')
    writeFileSync(f, '{ "name": ')
    expect(() => loadStudyConfig(f)).toThrow(StudyConfigError)
    expect(() => loadStudyConfig(f)).toThrow(/broken\.json is not valid JSON/)
  })
})

describe('study resume', () => {
  it('skips finished cells, re-runs failed and cancelled ones, and stops on cancel', async () => {
    const d = tmp()
    const cfg = config(d, { grids: [{ tasks: ['rte'], methods: ['ird', 'fish', 'bitfit'], keepRatios: [0.005], sampleBudgets: [64], seeds: [0, 1] }] })
    const store = new RunStore(join(cfg.outDir, 'runs'))
    const cells = expandCells(cfg)
    expect(cells.length).toBe(6)
    const log1: string[] = []
    const plan = { [cells[1].key]: 'failed' as const, [cells[3].key]: 'cancelled' as const }
    const s1 = await runStudy(cfg, { store, modelDir: '/m', backend: 'cpu', runner: fakeRunner(store, log1, plan) })
    // stops at the cancelled cell (index 3): cells 0..3 ran
    expect(log1).toEqual(cells.slice(0, 4).map((c) => c.key))
    expect(s1).toMatchObject({ ran: 4, completed: 2, cancelled: true })
    expect(s1.failed).toEqual([`${cells[1].key}: planned failed`])
    const state = JSON.parse(readFileSync(join(cfg.outDir, 'state.json'), 'utf8'))
    expect(Object.keys(state.cells)).toHaveLength(4)

    const log2: string[] = []
    const s2 = await runStudy(cfg, { store, modelDir: '/m', backend: 'cpu', runner: fakeRunner(store, log2) })
    expect(log2).toEqual([cells[1], cells[3], cells[4], cells[5]].map((c) => c.key))
    expect(s2).toMatchObject({ total: 6, skipped: 2, ran: 4, completed: 6, cancelled: false, failed: [] })

    const log3: string[] = []
    const s3 = await runStudy(cfg, { store, modelDir: '/m', backend: 'cpu', runner: fakeRunner(store, log3) })
    expect(log3).toEqual([])
    expect(s3.skipped).toBe(6)
  })

  it('re-runs a cell whose settings changed or whose run was deleted', async () => {
    const d = tmp()
    const cfg = config(d, { grids: [{ tasks: ['rte'], methods: ['fish'], keepRatios: [0.005], sampleBudgets: [64], seeds: [0, 1] }] })
    const store = new RunStore(join(cfg.outDir, 'runs'))
    await runStudy(cfg, { store, modelDir: '/m', backend: 'cpu', runner: fakeRunner(store, []) })
    const changed = { ...cfg, caps: { ...cfg.caps, epochs: 2 } }
    const log: string[] = []
    await runStudy(changed, { store, modelDir: '/m', backend: 'cpu', runner: fakeRunner(store, log) })
    expect(log).toHaveLength(2)
    // workers and backend do not make a cell stale
    const log2: string[] = []
    await runStudy({ ...changed, workers: 7 }, { store, modelDir: '/other', backend: 'wasm', runner: fakeRunner(store, log2) })
    expect(log2).toHaveLength(0)
    const state = readState(cfg)
    rmSync(join(store.root, state.cells['rte/fish/k0.005/n64/s1'].runId), { recursive: true })
    const log3: string[] = []
    await runStudy(changed, { store, modelDir: '/m', backend: 'cpu', runner: fakeRunner(store, log3) })
    expect(log3).toEqual(['rte/fish/k0.005/n64/s1'])
  })

  it('an unreadable state file is an error that says what to do, not a silent restart', async () => {
    const d = tmp()
    const cfg = config(d)
    const store = new RunStore(join(cfg.outDir, 'runs'))
    await runStudy({ ...cfg, grids: [{ ...cfg.grids[0], methods: ['bitfit'], seeds: [0] }] }, { store, modelDir: '/m', backend: 'cpu', runner: fakeRunner(store, []) })
    writeFileSync(join(cfg.outDir, 'state.json'), '{"version": 1, "cel')
    await expect(runStudy(cfg, { store, modelDir: '/m', backend: 'cpu', runner: fakeRunner(store, []) })).rejects.toThrow(/state\.json is not readable JSON .* move it away/)
  })

  it('the report aggregates over seeds and pairs IRD with FISH by seed', async () => {
    const d = tmp()
    const cfg = config(d, { grids: [{ tasks: ['rte'], methods: ['ird', 'fish', 'full'], keepRatios: [0.005], sampleBudgets: [64], seeds: [0, 1, 2] }] })
    const store = new RunStore(join(cfg.outDir, 'runs'))
    await runStudy(cfg, { store, modelDir: '/m', backend: 'cpu', runner: fakeRunner(store, []) })
    const r = buildReport(cfg, collectResults(cfg, readState(cfg), store), { storeRoot: store.root, modelDir: '/m' })
    const ird = r.groups.find((g) => g.method === 'ird')!
    expect(ird.values.length).toBe(3)
    expect(ird.mean).toBeCloseTo(0.5 + 0.02 + 0.01 + 0.005, 12)
    expect(ird.std).toBeCloseTo(0.01, 12)
    // IRD is exactly 0.02 above FISH on every seed: zero variance of the difference → a clear win
    expect(r.irdVsFish[0]).toMatchObject({ verdict: 'win', seeds: [0, 1, 2] })
    expect(r.irdVsFish[0].test.meanDiff).toBeCloseTo(0.02, 12)
    expect(r.glue.find((g) => g.method === 'full')?.tasks).toEqual(['rte'])
    const md = reportMarkdown(r, { commit: 'abc', configFile: 'c.json', backend: 'cpu', machine: 'm', model: 'm', generatedAt: 'now', caps: ['rte: capped'] }, null)
    expect(md).toContain('IRD wins 1, ties 0 and loses 0 of 1 cells')
    expect(md).toContain('- rte: capped')
    const csv = reportCsv(r).trim().split('\n')
    expect(csv).toHaveLength(1 + 9)
    expect(csv[1]).toMatch(/^rte\/ird\/k0\.005\/n64\/s0,rte,ird,0\.005,64,0,completed,/)
  })

  it('measures how constant a run\'s dev predictions are', () => {
    const d = tmp()
    const file = join(d, 'p.jsonl')
    const rows = (preds: number[], labels: number[]) => preds.map((p, i) => JSON.stringify({ id: String(i), prediction: p, label: labels[i] })).join('\n') + '\n'
    // 99 of 100 rows one class: degenerate; 97 of 100: not
    writeFileSync(file, rows([...Array(99).fill(1), 0], Array(100).fill(0)))
    expect(predictionShapeOfFile(file, false)).toEqual({ topClassShare: 0.99, degenerate: true })
    writeFileSync(file, rows([...Array(97).fill(1), 0, 0, 0], Array(100).fill(0)))
    expect(predictionShapeOfFile(file, false)).toEqual({ topClassShare: 0.97, degenerate: false })
    // regression: labels 0..4 (std √2); predictions 2 ± 0.05 → spread 0.05/√2 ≈ 0.035 → degenerate
    writeFileSync(file, rows([1.95, 2.05, 1.95, 2.05, 2], [0, 1, 2, 3, 4]))
    const r = predictionShapeOfFile(file, true)
    expect(r.predictionSpread).toBeCloseTo(Math.sqrt(0.002) / Math.sqrt(2), 12)
    expect(r.degenerate).toBe(true)
    writeFileSync(file, rows([0, 1, 2, 3, 4], [4, 3, 2, 1, 0]))
    expect(predictionShapeOfFile(file, true)).toEqual({ predictionSpread: 1, degenerate: false })
    expect(predictionShapeOfFile(join(d, 'missing.jsonl'), false)).toEqual({})
  })

  it('marks ties between runs that both predict a constant, and says they carry no information', async () => {
    const d = tmp()
    const cfg = config(d, { grids: [{ tasks: ['rte'], methods: ['ird', 'fish'], keepRatios: [0.005], sampleBudgets: [64], seeds: [0, 1] }] })
    const store = new RunStore(join(cfg.outDir, 'runs'))
    const runner: CellRunner = async (cell, job) => {
      const run = store.create({ task: cell.task, method: cell.method, config: job as unknown as Record<string, unknown>, summary: { task: cell.task, method: cell.method, model: 'm', seed: cell.seed }, name: job.name })
      // both methods give class 1 to every dev row: equal scores, a tie with nothing in it
      run.writeText('predictions-dev.jsonl', [0, 1, 2, 3].map((i) => JSON.stringify({ id: String(i), prediction: 1, label: i % 2 })).join('\n') + '\n')
      const main = 0.5 + cell.seed * 0.01 + (cell.method === 'ird' ? (cell.seed ? 0.001 : -0.001) : 0)
      run.writeJson('results.json', { ok: true })
      run.finish('completed', { main, metrics: { accuracy: main }, elapsedMs: 1000 })
      return { runId: run.id, status: 'completed' }
    }
    await runStudy(cfg, { store, modelDir: '/m', backend: 'cpu', runner })
    const r = buildReport(cfg, collectResults(cfg, readState(cfg), store), { storeRoot: store.root, modelDir: '/m' })
    expect(r.irdVsFish[0]).toMatchObject({ verdict: 'tie', irdDegenerate: 2, fishDegenerate: 2, bothDegenerate: true })
    expect(r.groups.find((g) => g.method === 'fish')?.degenerateSeeds).toEqual([0, 1])
    const md = reportMarkdown(r, { commit: 'abc', configFile: 'c.json', backend: 'cpu', machine: 'm', model: 'm', generatedAt: 'now', caps: [] }, null)
    expect(md).toContain('| tie (both constant) | 2 / 2 of 2 |')
    expect(md).toContain('1 of the 1 ties are between runs that predict a constant on every paired seed')
    expect(md).toContain('Cells where at least one paired run learned more than a constant: 0 of 1 cells.')
    expect(reportCsv(r).split('\n')[1]).toMatch(/,1,,true,/)
  })
})

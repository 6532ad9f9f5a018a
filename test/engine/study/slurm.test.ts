/**
 * The Slurm side of a study without a cluster: the config's "slurm" section is validated strictly, cell
 * outcomes written by parallel tasks merge into the study state, the batch scripts carry the resources,
 * options, cells and signal handling, and the resource estimate is the engine's (overridable).
 * The real cluster runs are in test/slurm/slurm.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { makeConfig } from '../../../src/engine/model/config'
import { RunStore } from '../../../src/engine/runs/store'
import { collectResults } from '../../../src/engine/study/report'
import { expandCells, parseStudyConfig, type StudyConfig } from '../../../src/engine/study/config'
import { cellJobConfig, readState, settingsHash, writeCellOutcome } from '../../../src/engine/study/run'
import { compactRanges, estimateResources, nodePath, prepareSubmission, readSubmissions, shq, slurmTime } from '../../../src/engine/study/slurm'
import { GLUE_DIR } from '../../helpers/shared-data'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'ird-study-slurm-'))
  dirs.push(d)
  return d
}
function config(dir: string, extra: Record<string, unknown> = {}): StudyConfig {
  return parseStudyConfig(
    { name: 't', model: 'model', glueDir: GLUE_DIR, outDir: 'out', grids: [{ tasks: ['rte'], methods: ['fish', 'bitfit'], keepRatios: [0.005], sampleBudgets: [64], seeds: [0, 1] }], caps: { maxTrain: 100, epochs: 1, maxLength: 32 }, ...extra },
    join(dir, 'study.json')
  )
}

describe('the study config\'s "slurm" section', () => {
  it('accepts every documented key and refuses anything else, naming the field', () => {
    const d = tmp()
    const c = config(d, { slurm: { partition: 'gpu', account: 'lab-1', qos: 'normal', throttle: 4, sbatch: ['--gres=gpu:1', '#SBATCH --constraint=avx2'], preamble: ['module load nodejs/20'], nodeOutDir: '/shared/out', nodeModel: '/shared/m', nodeGlueDir: '/shared/glue', nodeConfig: '/shared/s.json', nodeCommand: 'node /shared/ird/bin/ird-studio.js', cpus: 2, memMb: 4096, timeMinutes: 90, requeue: true } })
    expect(c.slurm).toMatchObject({ partition: 'gpu', throttle: 4, requeue: true, sbatch: ['--gres=gpu:1', '#SBATCH --constraint=avx2'] })
    const bad = (slurm: unknown) => () => config(d, { slurm })
    expect(bad({ partitoin: 'gpu' })).toThrow(/"slurm\.partitoin" must be absent \(unknown key; known: partition, account/)
    expect(bad({ partition: 'gpu; rm -rf /' })).toThrow(/"slurm\.partition" must be a Slurm name/)
    expect(bad({ nodeOutDir: 'relative/out' })).toThrow(/"slurm\.nodeOutDir" must be an absolute path \(as the nodes see it\)/)
    expect(bad({ sbatch: ['gres=gpu:1'] })).toThrow(/"slurm\.sbatch\[0\]" must be an sbatch option/)
    expect(bad({ preamble: ['module load x\nrm -rf /'] })).toThrow(/"slurm\.preamble\[0\]" must be a non-empty one-line string/)
    expect(bad({ throttle: 0 })).toThrow(/"slurm\.throttle" must be an integer ≥ 1/)
    expect(bad({ requeue: 'yes' })).toThrow(/"slurm\.requeue" must be true or false/)
  })
})

describe('cell outcomes of parallel tasks', () => {
  it('merge into the study state, newest first, without a shared file', () => {
    const d = tmp()
    const c = config(d)
    const [a, b] = expandCells(c)
    writeCellOutcome(c, { key: a.key, runId: 'r1', status: 'failed', reason: 'x', settingsHash: 'h', finishedAt: '2026-01-01T00:00:00.000Z' })
    writeCellOutcome(c, { key: b.key, runId: 'r2', status: 'completed', settingsHash: 'h', finishedAt: '2026-01-01T00:00:01.000Z' })
    writeCellOutcome(c, { key: a.key, runId: 'r3', status: 'completed', settingsHash: 'h', finishedAt: '2026-01-01T00:00:02.000Z' })
    const s = readState(c)
    expect(s.cells[a.key]).toMatchObject({ runId: 'r3', status: 'completed' })
    expect(s.cells[b.key]).toMatchObject({ runId: 'r2' })
  })

  it('a cell whose task ended without a run is reported as failed with the reason, not as missing', () => {
    const d = tmp()
    const c = config(d)
    const [a, b] = expandCells(c)
    writeCellOutcome(c, { key: a.key, runId: '', status: 'failed', reason: 'Slurm task 7_0 ended without recording a result (Slurm: OUT_OF_MEMORY)', settingsHash: 'h', finishedAt: '2026-01-01T00:00:00.000Z' })
    const rows = collectResults(c, readState(c), new RunStore(join(c.outDir, 'runs')))
    expect(rows.find((r) => r.cell.key === a.key)).toMatchObject({ status: 'failed', reason: expect.stringContaining('OUT_OF_MEMORY') })
    expect(rows.find((r) => r.cell.key === b.key)?.status).toBe('missing')
  })
})

describe('batch scripts', () => {
  it('carry resources, options, one cell per array index, signal forwarding and node paths', () => {
    const d = tmp()
    const c = config(d, { slurm: { partition: 'gpu', account: 'lab', qos: 'long', throttle: 3, sbatch: ['--gres=gpu:1'], preamble: ['module load nodejs/20'], nodeOutDir: '/shared/out' } })
    const cells = expandCells(c).map((x, i) => ({ index: i, key: x.key, settingsHash: settingsHash(cellJobConfig(c, x, '/m', 'wasm')) }))
    const sub = prepareSubmission({
      cfg: c, configFile: join(d, 'study.json'), cells, resources: { cpus: 2, memMb: 1500, timeMinutes: 75, basis: 'test' },
      options: { ...c.slurm, backend: 'wasm', requeue: true }, nodeCommand: ['/usr/bin/node', '/ird/bin/ird-studio.js'], report: join(c.outDir, 'results.md'), dryRun: true
    })
    const sh = readFileSync(sub.arrayScript, 'utf8')
    for (const line of ['#SBATCH --cpus-per-task=2', '#SBATCH --mem=1500M', '#SBATCH --time=01:15:00', '#SBATCH --partition=gpu', '#SBATCH --account=lab', '#SBATCH --qos=long', '#SBATCH --gres=gpu:1', '#SBATCH --requeue', '#SBATCH --signal=B:USR1@120', '#SBATCH --open-mode=append', 'module load nodejs/20', `  0) CELL=${cells[0].key} ;;`, `  3) CELL=${cells[3].key} ;;`, "trap 'kill -TERM \"$CHILD\" 2>/dev/null' TERM HUP", 'scontrol requeue "${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"']) {
      expect(sh).toContain(line)
    }
    expect(sh).toContain(`#SBATCH --output=/shared/out/slurm/${sub.id}/logs/%A_%a.out`)
    expect(sh).toContain(`CMD=(/usr/bin/node /ird/bin/ird-studio.js study --config ${join(d, 'study.json')} --node-out-dir /shared/out --cell "$CELL" --backend wasm)`)
    const report = readFileSync(sub.reportScript, 'utf8')
    expect(report).toContain(`--report-only --report /shared/out/results.md --finalize /shared/out/slurm/${sub.id}/submission.json`)
    expect(sub.sbatch.array).toEqual(['sbatch', '--parsable', '--array=0-3%3', sub.arrayScript])
    expect(readSubmissions(c).map((s) => s.id)).toEqual([sub.id])
    expect(compactRanges([0, 1, 2, 5, 7, 8])).toBe('0-2,5,7-8')
    expect(slurmTime(1500)).toBe('1-01:00:00')
    expect(shq("it's")).toBe(`'it'\\''s'`)
    expect(nodePath(c, { nodeOutDir: '/n' }, join(c.outDir, 'runs'))).toBe('/n/runs')
  })

  it('resources: the engine\'s memory estimate with a margin, a time estimate, and overrides', () => {
    const d = tmp()
    const c = config(d)
    const model = makeConfig({ vocab_size: 30522, hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072, max_position_embeddings: 512, num_labels: 2 })
    const jobs = expandCells(c).map((x) => ({ job: { ...cellJobConfig(c, x, '/m', 'wasm'), maxLength: 128, maxTrainExamples: null }, trainRows: 67_000, devRows: 872 }))
    const r = estimateResources(jobs, model, {})
    expect(r.memMb).toBeGreaterThan(1500) // BERT-base: weights alone are 440 MB, twice
    expect(r.timeMinutes).toBeGreaterThan(60)
    expect(r.basis).toMatch(/memory \d+ MB = 1\.5 × the engine's peak estimate/)
    expect(estimateResources(jobs, model, { cpus: 8, memMb: 9000, timeMinutes: 30 })).toMatchObject({ cpus: 8, memMb: 9000, timeMinutes: 30 })
  })
})

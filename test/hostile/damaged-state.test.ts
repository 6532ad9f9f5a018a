/**
 * Damaged state is said out loud (issue 18, class 3). A real tiny run is cancelled after several
 * checkpoints (so `checkpoint/` and `checkpoint.prev/` both exist); copies of it are damaged the ways a
 * disk, a crash or a person damage files — truncated, random bytes, deleted, 4 bytes overwritten at the
 * same size, a broken checkpoint.json — and `resume` names the file and the fault, falls back to the
 * previous good checkpoint (reaching the uninterrupted result bit for bit), or refuses with a non-zero
 * exit; `--restart` starts over explicitly. Never "starts from step 0" after damage. `list`, `list
 * --json` and the app's runs view list a run whose summary.json or status.json is damaged as "damaged".
 */
import { spawnSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../src/engine/backend'
import { listRuns } from '../../src/engine/host/run-views'
import { CHECKPOINT_PREV, inspectCheckpoints, planResume } from '../../src/engine/jobs/checkpoint'
import { JobInputError, resumeJob, runJob } from '../../src/engine/jobs/run-job'
import { renderTable, runsTable } from '../../src/engine/runs/compare'
import { RunStore } from '../../src/engine/runs/store'
import { REPO_ROOT } from '../helpers/shared-data'
import { expectSameOutcome, hooks, makeFixture } from '../engine/jobs/fixture'

const tmp = mkdtempSync(join(tmpdir(), 'ird-damaged-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
const BIN = join(REPO_ROOT, 'bin/ird-studio.js')
const cfg = makeFixture(tmp, { backend: 'wasm', checkpointEvery: 2 })
let refDir = ''
let stoppedDir = ''
let stoppedId = ''
let currentStep = 0
let prevStep = 0

beforeAll(async () => {
  await initBackend({ force: 'wasm' })
  const ref = await runJob(cfg, new RunStore(join(tmp, 'ref')), hooks())
  expect(ref.status, ref.reason).toBe('completed')
  refDir = ref.run.dir
  // cancelled at step 7 of 16: checkpoints at 2, 4, 6 and the cancel's own at 7
  let step = 0
  const stopped = await runJob(cfg, new RunStore(join(tmp, 'stopped')), hooks({ onEvent: (e) => void (e.phase === 'train' && typeof e.done === 'number' && (step = e.done)), shouldCancel: () => step >= 7 }))
  expect(stopped.status).toBe('cancelled')
  stoppedDir = stopped.run.dir
  stoppedId = stopped.run.id
  const { usable, damaged } = inspectCheckpoints(stoppedDir)
  expect(damaged).toEqual([])
  expect(usable.map((u) => u.name)).toEqual(['checkpoint', CHECKPOINT_PREV])
  currentStep = usable[0].info.step
  prevStep = usable[1].info.step
  expect(currentStep).toBeGreaterThan(prevStep)
  // SHA256SUMS is in `sha256sum -c` format
  expect(readFileSync(join(stoppedDir, 'checkpoint', 'SHA256SUMS'), 'utf8')).toMatch(/^[0-9a-f]{64} {2}checkpoint\.json\n[0-9a-f]{64} {2}state\.safetensors\n$/)
}, 180_000)

let copies = 0
/** A copy of the stopped run in its own store. */
function copy(): { store: RunStore; dir: string } {
  const root = join(tmp, `copy-${copies++}`)
  mkdirSync(root)
  cpSync(stoppedDir, join(root, stoppedId), { recursive: true })
  return { store: new RunStore(root), dir: join(root, stoppedId) }
}

function overwrite(file: string, at: number, bytes: Buffer): void {
  const b = readFileSync(file)
  bytes.copy(b, at)
  writeFileSync(file, b)
}

const STATE = 'checkpoint/state.safetensors'
const MANIFEST = 'checkpoint/checkpoint.json'
const damages: Array<[string, (dir: string) => void, RegExp]> = [
  ['the state file truncated', (d) => truncateSync(join(d, STATE), Math.floor(statSync(join(d, STATE)).size / 2)), /checkpoint\/state\.safetensors: truncated \(\d+ of \d+ bytes\)/],
  ['random bytes in the state file', (d) => writeFileSync(join(d, STATE), randomBytes(statSync(join(d, STATE)).size)), /checkpoint\/state\.safetensors: checksum mismatch \(SHA-256 [0-9a-f]{16}…, recorded [0-9a-f]{16}…\)/],
  ['the state file deleted', (d) => rmSync(join(d, STATE)), /checkpoint\/state\.safetensors: missing/],
  ['4 bytes overwritten, same size', (d) => overwrite(join(d, STATE), Math.floor(statSync(join(d, STATE)).size * 0.7), Buffer.from([0xde, 0xad, 0xbe, 0xef])), /checkpoint\/state\.safetensors: checksum mismatch/],
  ['a broken checkpoint.json', (d) => truncateSync(join(d, MANIFEST), 40), /checkpoint\/checkpoint\.json: bad JSON \(40 bytes, checksum mismatch: .*truncated or overwritten\)/],
  ['checkpoint.json altered, still valid JSON', (d) => writeFileSync(join(d, MANIFEST), readFileSync(join(d, MANIFEST), 'utf8').replace(/"step":(\d+)/, '"step":1$1')), /checkpoint\/checkpoint\.json: checksum mismatch/],
  ['the checksums deleted', (d) => rmSync(join(d, 'checkpoint', 'SHA256SUMS')), /checkpoint\/SHA256SUMS: missing/]
]

describe('resume after damage: names the file and the fault, falls back to the previous good checkpoint', () => {
  for (const [what, damage, pattern] of damages) {
    it(what, () => {
      const { dir } = copy()
      damage(dir)
      const plan = planResume(dir, stoppedId)
      expect(plan.kind).toBe('checkpoint')
      expect(plan.folder).toBe(CHECKPOINT_PREV)
      expect(plan.use!.step).toBe(prevStep)
      expect(plan.message).toMatch(pattern)
      expect(plan.message).toMatch(new RegExp(`falling back to the previous good checkpoint \\(checkpoint\\.prev/\\), the checkpoint at step ${prevStep} of 16 .*; the damaged one is removed$`))
      expect(plan.message).not.toMatch(/step 0/)
      // with the fallback damaged too (or gone): refused, with the way to start over
      rmSync(join(dir, CHECKPOINT_PREV, 'state.safetensors'))
      const refused = planResume(dir, stoppedId)
      expect(refused.kind).toBe('refuse')
      expect(refused.message).toMatch(pattern)
      expect(refused.message).toMatch(/checkpoint\.prev\/state\.safetensors: missing/)
      expect(refused.message).toMatch(new RegExp(`no good checkpoint is left to fall back to\\. \`ird-studio resume ${stoppedId} --restart\` starts training over from step 0`))
    })
  }

  it('every checkpoint folder deleted, while the event log records one: refused, not step 0', () => {
    const { dir } = copy()
    rmSync(join(dir, 'checkpoint'), { recursive: true })
    rmSync(join(dir, CHECKPOINT_PREV), { recursive: true })
    const plan = planResume(dir, stoppedId)
    expect(plan.kind).toBe('refuse')
    expect(plan.message).toMatch(new RegExp(`its event log records a checkpoint at step ${currentStep}, but no checkpoint folder is left`))
  })

  it('the listing names the damage too (cheap check: sizes and manifests), for a cancelled and an interrupted run', () => {
    const { store, dir } = copy()
    truncateSync(join(dir, STATE), 100)
    expect(store.list()[0].reason).toMatch(/^cancelled by the user at step \d+ of 16.*; damaged checkpoint: checkpoint\/state\.safetensors: truncated \(100 of \d+ bytes\)$/)
    const status = JSON.parse(readFileSync(join(dir, 'status.json'), 'utf8')) as Record<string, unknown>
    writeFileSync(join(dir, 'status.json'), JSON.stringify({ ...status, status: 'running', pid: 2 ** 22 + 12345 }))
    expect(store.list()[0].reason).toMatch(new RegExp(`^interrupted: .*; damaged checkpoint: checkpoint/state\\.safetensors: truncated \\(100 of \\d+ bytes\\); \`ird-studio resume ${stoppedId}\` continues from its checkpoint at step ${prevStep} of 16$`))
  })

  it('resumeJob falls back and reaches the uninterrupted result bit for bit; a refusal leaves the run as it was', async () => {
    const { store, dir } = copy()
    overwrite(join(dir, STATE), 200, Buffer.from([1, 2, 3, 4]))
    const res = await resumeJob(store, stoppedId, hooks(), { backend: 'wasm' })
    expect(res.status, res.reason).toBe('completed')
    expect(res.resumedFromStep).toBe(prevStep)
    expectSameOutcome(refDir, dir, 'resumed from the fallback')
    const point = store.open(stoppedId).events().find((e) => e.phase === 'resume-point')!
    expect(point.damaged).toEqual([expect.stringMatching(/^checkpoint\/state\.safetensors: checksum mismatch/)])

    // the other way round: the current checkpoint good, the fallback damaged — continue, and say so
    const third = copy()
    truncateSync(join(third.dir, CHECKPOINT_PREV, 'state.safetensors'), 10)
    const plan = planResume(third.dir, stoppedId)
    expect(plan).toMatchObject({ kind: 'checkpoint', folder: 'checkpoint' })
    expect(plan.message).toMatch(new RegExp(`^continuing from the checkpoint at step ${currentStep} of 16 .*; the fallback checkpoint is damaged and is removed \\(checkpoint\\.prev/state\\.safetensors: truncated \\(10 of \\d+ bytes\\)\\)$`))

    const other = copy()
    rmSync(join(other.dir, 'checkpoint'), { recursive: true })
    truncateSync(join(other.dir, CHECKPOINT_PREV, 'checkpoint.json'), 10)
    const before = readFileSync(join(other.dir, 'status.json'), 'utf8')
    await expect(resumeJob(other.store, stoppedId, hooks(), { backend: 'wasm' })).rejects.toThrow(JobInputError)
    await expect(resumeJob(other.store, stoppedId, hooks(), { backend: 'wasm' })).rejects.toThrow(/checkpoint\.prev\/checkpoint\.json: bad JSON/)
    expect(readFileSync(join(other.dir, 'status.json'), 'utf8')).toBe(before)
  }, 120_000)
})

describe('ird-studio resume on damaged checkpoints', () => {
  it('refuses with exit 1 naming the file and the fault; --restart starts over explicitly and reaches the uninterrupted result', () => {
    const { store, dir } = copy()
    overwrite(join(dir, STATE), 300, Buffer.from([9, 9, 9, 9]))
    rmSync(join(dir, CHECKPOINT_PREV), { recursive: true })
    const r = spawnSync(process.execPath, [BIN, 'resume', stoppedId, '--runs', store.root, '--backend', 'wasm'], { cwd: tmp, encoding: 'utf8', timeout: 120_000 })
    expect(r.status, r.stderr).toBe(1)
    expect(r.stderr).toMatch(/damaged checkpoint: checkpoint\/state\.safetensors: checksum mismatch .*--restart` starts training over from step 0/)
    expect(r.stderr).not.toMatch(/training starts from step 0|internal error/)
    expect(store.list()[0].status).toBe('cancelled')
    const again = spawnSync(process.execPath, [BIN, 'resume', stoppedId, '--runs', store.root, '--backend', 'wasm', '--restart'], { cwd: tmp, encoding: 'utf8', timeout: 120_000 })
    expect(again.status, again.stderr).toBe(0)
    expect(again.stderr).toMatch(/starting training over from step 0, as asked with --restart \(its checkpoints are removed; damaged: checkpoint\/state\.safetensors: checksum mismatch/)
    expectSameOutcome(refDir, dir, 'restarted')
    expect(readdirSync(dir).filter((n) => n.startsWith('checkpoint'))).toEqual([])
  }, 240_000)
})

describe('list, list --json and the app runs view: a damaged run is listed as damaged, with the reason', () => {
  const cases: Array<[string, (dir: string) => void, RegExp]> = [
    ['summary.json truncated', (d) => truncateSync(join(d, 'summary.json'), 25), /^summary\.json is not valid JSON \(25 bytes; truncated or overwritten: /],
    ['summary.json empty', (d) => writeFileSync(join(d, 'summary.json'), ''), /^summary\.json is empty \(0 bytes\)/],
    ['summary.json deleted', (d) => rmSync(join(d, 'summary.json')), /^summary\.json is missing/],
    ['summary.json random bytes', (d) => writeFileSync(join(d, 'summary.json'), randomBytes(64)), /^summary\.json is not valid JSON/],
    ['status.json truncated', (d) => truncateSync(join(d, 'status.json'), 12), /^status\.json is not valid JSON \(12 bytes/],
    ['status.json with an unknown status', (d) => writeFileSync(join(d, 'status.json'), '{"status":"weird"}'), /^status\.json says "weird"/]
  ]
  for (const [what, damage, pattern] of cases) {
    it(what, () => {
      const { store, dir } = copy()
      damage(dir)
      const listed = store.list()
      expect(listed.map((r) => [r.id, r.status])).toEqual([[stoppedId, 'damaged']])
      expect(listed[0].reason).toMatch(pattern)
      expect(listed[0].reason).toMatch(/the run's other files are untouched$/)
      // the app's runs view agrees
      const view = listRuns(store, new Map())
      expect(view.map((r) => [r.id, r.status, r.reason])).toEqual(listed.map((r) => [r.id, r.status, r.reason]))
      // a folder that is not a run (no run files) is not listed; an atomic write's temp folder neither
      mkdirSync(join(store.root, 'stray-folder'))
      mkdirSync(join(store.root, `${stoppedId}.tmp-1-abc`))
      expect(store.list().map((r) => r.id)).toEqual([stoppedId])
    })
  }

  it('`ird-studio list --json` and the table show it', () => {
    const { store, dir } = copy()
    truncateSync(join(dir, 'summary.json'), 30)
    const good = join(store.root, 'good-run')
    cpSync(stoppedDir, good, { recursive: true })
    const json = spawnSync(process.execPath, [BIN, 'list', '--runs', store.root, '--json'], { cwd: tmp, encoding: 'utf8', timeout: 120_000 })
    expect(json.status, json.stderr).toBe(0)
    const rows = JSON.parse(json.stdout) as Array<{ id: string; status: string; reason?: string }>
    expect(rows.map((r) => r.id).sort()).toEqual(['good-run', stoppedId].sort())
    expect(rows.find((r) => r.id === stoppedId)).toMatchObject({ status: 'damaged', reason: expect.stringMatching(/^summary\.json is not valid JSON \(30 bytes/) })
    // the table `ird-studio list` prints (renderTable(runsTable(store.list()))), without a second process
    expect(renderTable(runsTable(store.list()), 'markdown')).toMatch(new RegExp(`${stoppedId} .*damaged \\(summary\\.json is not valid JSON`))
  }, 120_000)
})

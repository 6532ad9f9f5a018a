/**
 * The checkpoint folder's files (jobs/checkpoint.ts): SHA-256 of every file in SHA256SUMS, the last two
 * checkpoints kept and rotated, a checkpoint written before checksums were recorded still accepted, and
 * each fault found by inspectCheckpoints with its file named. A hand-made TrainCheckpoint (no training).
 */
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { checkpointInfo, inspectCheckpoints, loadCheckpoint, loadCheckpointFrom, planResume, removeCheckpoints, removeDamaged, saveCheckpoint, CheckpointDamagedError } from '../../../src/engine/jobs/checkpoint'
import { TRAIN_CHECKPOINT_VERSION, type TrainCheckpoint } from '../../../src/engine/train/checkpoint'

const tmp = mkdtempSync(join(tmpdir(), 'ird-ckfiles-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function ck(step: number): TrainCheckpoint {
  const n = 5
  const f = (k: number) => Float32Array.from({ length: n }, (_, i) => step + k + i / 10)
  return {
    version: TRAIN_CHECKPOINT_VERSION,
    fingerprint: { totalSteps: 10, epochs: 2 } as unknown as TrainCheckpoint['fingerprint'],
    step,
    epoch: 1,
    batch: step,
    shuffleRng: [1, 2, 3, 4],
    dropoutRng: [5, 6, 7, 8],
    order: Int32Array.from([3, 1, 2, 0]),
    batchSizes: [2, 2],
    epochLoss: 0.5,
    epochSteps: step,
    summaries: [],
    best: null,
    slots: [{ name: 'classifier.bias', shape: [n], indices: null }],
    values: [f(0)],
    adam: { step, m: [f(1)], v: [f(2)] },
    bestValues: null,
    timing: { trainMs: 1, evalMs: 0, evalRuns: 0, samplesDone: step * 2 }
  }
}
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

describe('checkpoint files', () => {
  it('records the SHA-256 of every file, keeps the last two, rotates, removes both when done', () => {
    const dir = join(tmp, 'rot')
    mkdirSync(dir)
    saveCheckpoint(dir, ck(2))
    expect(readdirSync(dir).sort()).toEqual(['checkpoint'])
    saveCheckpoint(dir, ck(4))
    saveCheckpoint(dir, ck(6))
    expect(readdirSync(dir).sort()).toEqual(['checkpoint', 'checkpoint.prev'])
    const sums = readFileSync(join(dir, 'checkpoint', 'SHA256SUMS'), 'utf8')
    expect(sums).toBe(`${sha(readFileSync(join(dir, 'checkpoint', 'checkpoint.json')))}  checkpoint.json\n${sha(readFileSync(join(dir, 'checkpoint', 'state.safetensors')))}  state.safetensors\n`)
    const { usable, damaged } = inspectCheckpoints(dir)
    expect(damaged).toEqual([])
    expect(usable.map((u) => [u.name, u.info.step])).toEqual([['checkpoint', 6], ['checkpoint.prev', 4]])
    expect(loadCheckpoint(dir)!.checkpoint.values[0]).toEqual(ck(6).values[0])
    expect(loadCheckpointFrom(dir, 'checkpoint.prev').checkpoint.step).toBe(4)
    removeCheckpoints(dir)
    expect(readdirSync(dir)).toEqual([])
  })

  it('a checkpoint written before checksums were recorded (no SHA256SUMS, no "integrity") is still accepted', () => {
    const dir = join(tmp, 'legacy')
    mkdirSync(dir)
    saveCheckpoint(dir, ck(3))
    const m = JSON.parse(readFileSync(join(dir, 'checkpoint', 'checkpoint.json'), 'utf8')) as Record<string, unknown>
    delete m.integrity
    writeFileSync(join(dir, 'checkpoint', 'checkpoint.json'), JSON.stringify(m))
    rmSync(join(dir, 'checkpoint', 'SHA256SUMS'))
    expect(checkpointInfo(dir)?.step).toBe(3)
    expect(planResume(dir, 'r').kind).toBe('checkpoint')
  })

  it('a damaged folder is named; loading it directly throws CheckpointDamagedError; a leftover temp folder is not damage', () => {
    const dir = join(tmp, 'dmg')
    mkdirSync(dir)
    saveCheckpoint(dir, ck(2))
    const state = join(dir, 'checkpoint', 'state.safetensors')
    const b = readFileSync(state)
    b[b.length - 1] ^= 0xff
    writeFileSync(state, b)
    // sizes match: only the verifying inspection sees it
    expect(inspectCheckpoints(dir, { verify: false }).damaged).toEqual([])
    expect(inspectCheckpoints(dir).damaged).toEqual([expect.objectContaining({ folder: 'checkpoint', file: 'checkpoint/state.safetensors', fault: 'checksum mismatch' })])
    expect(() => loadCheckpointFrom(dir, 'checkpoint')).toThrow(CheckpointDamagedError)
    expect(loadCheckpoint(dir)).toBeNull()
    // an interrupted save's folder (no manifest yet) is by design incomplete, not damage
    mkdirSync(join(dir, 'checkpoint.tmp-1-x'))
    writeFileSync(join(dir, 'checkpoint.tmp-1-x', 'state.safetensors'), 'partial')
    expect(inspectCheckpoints(dir).damaged.map((d) => d.folder)).toEqual(['checkpoint'])
    expect(planResume(dir, 'r').kind).toBe('refuse')
    expect(planResume(dir, 'r', { restart: true }).kind).toBe('restart')
  })

  it('no checkpoint ever recorded: a fresh start from step 0, said as such', () => {
    const dir = join(tmp, 'fresh')
    mkdirSync(dir)
    writeFileSync(join(dir, 'events.jsonl'), '{"phase":"selected"}\n')
    expect(planResume(dir, 'r')).toMatchObject({ kind: 'fresh', message: 'no checkpoint was saved before the run stopped: training starts from step 0' })
    // after a --restart, earlier checkpoint events no longer count
    writeFileSync(join(dir, 'events.jsonl'), '{"phase":"checkpoint","step":4}\n{"phase":"resume-point","step":0,"restart":true}\n')
    expect(planResume(dir, 'r').kind).toBe('fresh')
    writeFileSync(join(dir, 'events.jsonl'), '{"phase":"checkpoint","step":4}\n')
    expect(planResume(dir, 'r').kind).toBe('refuse')
  })

  it('after a fallback the damaged folder is removed, so the next save keeps two good checkpoints', () => {
    const dir = join(tmp, 'after-fallback')
    mkdirSync(dir)
    saveCheckpoint(dir, ck(2))
    saveCheckpoint(dir, ck(4))
    rmSync(join(dir, 'checkpoint', 'state.safetensors'))
    const plan = planResume(dir, 'r')
    expect(plan).toMatchObject({ kind: 'checkpoint', folder: 'checkpoint.prev' })
    removeDamaged(dir, plan)
    expect(readdirSync(dir)).toEqual(['checkpoint.prev'])
    saveCheckpoint(dir, ck(6))
    const { usable, damaged } = inspectCheckpoints(dir)
    expect(damaged).toEqual([])
    // the good fallback stays until a newer one replaces it
    expect(usable.map((u) => [u.name, u.info.step])).toEqual([['checkpoint', 6], ['checkpoint.prev', 2]])
    saveCheckpoint(dir, ck(8))
    expect(inspectCheckpoints(dir).usable.map((u) => [u.name, u.info.step])).toEqual([['checkpoint', 8], ['checkpoint.prev', 6]])
  })
})

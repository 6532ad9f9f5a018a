/**
 * Resume of a whole run (runJob → resumeJob), bit for bit: a run stopped by a cooperative cancel at a
 * random batch, and a child process running a real run that is SIGKILLed at a random step, both resume
 * to the same delta.safetensors bytes, predictions and results.json as the uninterrupted run; the saved
 * mask is reused (no second Fisher pass).
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../src/engine/backend'
import { checkpointInfo } from '../../../src/engine/jobs/checkpoint'
import { resumeJob, runJob, type JobEvent } from '../../../src/engine/jobs/run-job'
import { RunStore } from '../../../src/engine/runs/store'
import { constantWarning, predictionShape } from '../../../src/engine/metrics/constant'
import { Rng } from '../../../src/engine/util/rng'
import { REPO_ROOT } from '../../helpers/shared-data'
import { childArgs } from '../../fault/child-command'
import { expectIntact, expectSameOutcome, hooks, makeFixture } from './fixture'

const tmp = mkdtempSync(join(tmpdir(), 'ird-resume-job-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
const backend = (process.env.IRD_TEST_BACKEND as 'wasm' | 'cpu' | undefined) ?? 'wasm'
const cfg = makeFixture(tmp, { backend })
const seed = Number(process.env.IRD_TEST_SEED ?? Date.now() % 1e6)
const rng = new Rng(seed)
let refDir = ''

beforeAll(async () => {
  await initBackend({ force: backend })
  const ref = await runJob(cfg, new RunStore(join(tmp, 'ref')), hooks())
  expect(ref.status, ref.reason).toBe('completed')
  refDir = ref.run.dir
  // a completed run keeps no checkpoint (the delta holds its weights)
  expect(checkpointInfo(refDir)).toBeNull()
  // the constant-prediction warning agrees with the predictions the run wrote
  const rows = readFileSync(join(refDir, 'predictions-dev.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { prediction: number; label: number })
  const shape = predictionShape(rows.map((r) => r.prediction), rows.map((r) => r.label), false)!
  const results = JSON.parse(readFileSync(join(refDir, 'results.json'), 'utf8')) as { devPredictionShape: unknown }
  expect(results.devPredictionShape).toEqual(shape)
  expect(ref.run.summary.warnings).toEqual(shape.constant ? [constantWarning(shape, ['0', '1'])] : undefined)
})

describe(`resumeJob (seed ${seed}, ${backend})`, () => {
  it('a run cancelled at a random batch resumes to the same result bit for bit, without a second selection', async () => {
    // 2 epochs × 8 training batches + 2 × 1 dev batch: cancel before one of the first 17 batch checks
    const stopAt = 2 + rng.int(16)
    let checks = 0
    let training = false // selection asks shouldCancel too: count the trainer's checks only
    const store = new RunStore(join(tmp, 'cancel'))
    const first = await runJob(cfg, store, hooks({ onEvent: (e) => void (training ||= e.phase === 'selected'), shouldCancel: () => training && ++checks >= stopAt }))
    expect(first.status).toBe('cancelled')
    expect(store.list()[0].reason).toMatch(/cancelled by the user at step \d+ of 16; `ird-studio resume/)
    const ck = checkpointInfo(first.run.dir)
    expect(ck, 'a cancel saves a checkpoint').not.toBeNull()
    const events: JobEvent[] = []
    const second = await resumeJob(store, first.run.id, hooks({ onEvent: (e) => events.push(e) }), { backend })
    expect(second.status, second.reason).toBe('completed')
    expect(second.resumedFromStep).toBe(ck!.step)
    expect(second.maskReused).toBe(true)
    expect(events.some((e) => e.phase === 'fisher' || e.phase === 'select'), 'no Fisher pass on resume').toBe(false)
    expectSameOutcome(refDir, second.run.dir, `cancelled at batch check ${stopAt}`)
    const [listed] = store.list()
    expect(listed.status).toBe('completed')
    expect(store.status(first.run.id)?.resumes).toBe(1)
    expectIntact(second.run.dir)
    await expect(resumeJob(store, first.run.id, hooks(), { backend })).rejects.toThrow(/already completed/)
  })

  it('a child process SIGKILLed at a random step resumes to the same result bit for bit', async () => {
    const killAt = 1 + rng.int(15)
    const runs = join(tmp, 'kill')
    const child = spawn(process.execPath, [...(await childArgs()), JSON.stringify({ mode: 'run', runs, cfg: { ...cfg, checkpointEvery: 1 }, backend })], { cwd: REPO_ROOT, env: { ...process.env, IRD_FAULT: 'batch@*:sleep40' } })
    let buf = ''
    let err = ''
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString()
        const steps = [...buf.matchAll(/"step":(\d+)/g)].map((m) => Number(m[1]))
        if (steps.length && Math.max(...steps) >= killAt && !child.killed) child.kill('SIGKILL')
      })
      child.on('exit', (_code, sig) => resolve(sig))
    })
    expect(signal, `the child finished before step ${killAt}: ${buf.slice(-300)} ${err.slice(-500)}`).toBe('SIGKILL')
    const store = new RunStore(runs)
    const [run] = store.list()
    expect(run.status).toBe('failed')
    expect(run.reason).toMatch(/^interrupted: .*`ird-studio resume /)
    expect(existsSync(join(runs, run.id, 'results.json'))).toBe(false)
    expectIntact(join(runs, run.id))
    const ck = checkpointInfo(join(runs, run.id))
    // resume with the run's own recorded settings (checkpoint every step): the outcome must not depend on it
    const second = await resumeJob(store, run.id, hooks(), { backend })
    expect(second.status, second.reason).toBe('completed')
    expect(second.resumedFromStep).toBe(ck?.step ?? 0)
    expectSameOutcome(refDir, second.run.dir, `killed at step ≥ ${killAt} (checkpoint ${ck?.step})`)
    expect(JSON.parse(readFileSync(join(second.run.dir, 'results.json'), 'utf8')).resumedFromStep).toBe(ck?.step ?? 0)
  })
})

/**
 * `ird-studio resume <run-id>` as a user runs it: a run stopped with Ctrl-C at a random step (exit 130,
 * kept as cancelled with a checkpoint) resumes to the same delta, predictions and results as the same run
 * uninterrupted; resuming a completed run is refused.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { checkpointInfo } from '../../src/engine/jobs/checkpoint'
import { RunStore } from '../../src/engine/runs/store'
import { Rng } from '../../src/engine/util/rng'
import { REPO_ROOT } from '../helpers/shared-data'
import { expectIntact, expectSameOutcome, makeFixture } from '../engine/jobs/fixture'

const tmp = mkdtempSync(join(tmpdir(), 'ird-cli-resume-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
const BIN = join(REPO_ROOT, 'bin/ird-studio.js')
const f = makeFixture(tmp)
const args = [
  'run', '--model', f.modelDir, '--task', 'sst2', '--data', f.trainFile, '--dev', f.devFile!, '--method', 'fish', '--samples', '16', '--keep-ratio', '0.01',
  '--seed', '1', '--max-length', '32', '--batch-size', '8', '--epochs', '2', '--lr', '0.001', '--warmup-ratio', '0.1', '--weight-decay', '0.01',
  '--fisher-batch-size', '8', '--workers', '0', '--checkpoint-every', '2', '--backend', 'wasm', '--json'
]

function cli(argv: string[], env: Record<string, string> = {}, stopAtStep?: number, signal: NodeJS.Signals = 'SIGINT'): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...argv], { cwd: tmp, env: { ...process.env, ...env } })
    let out = ''
    let err = ''
    let sent = false
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      if (stopAtStep === undefined || sent) return
      const steps = [...out.matchAll(/"phase":"train","done":(\d+)/g)].map((m) => Number(m[1]))
      if (steps.length && Math.max(...steps) >= stopAtStep) {
        sent = true
        p.kill(signal)
      }
    })
    p.stderr.on('data', (d: Buffer) => (err += d.toString()))
    p.on('exit', (code) => resolve({ code, out, err }))
  })
}

// the uninterrupted run every test compares with (started once, beside the first interrupted run)
let refRun: ReturnType<typeof cli> | null = null
const ref = () => (refRun ??= cli([...args, '--out', 'ref']))

describe('ird-studio resume', () => {
  it('continues a run stopped with Ctrl-C to the uninterrupted result, bit for bit', async () => {
    const stopAt = 1 + new Rng(Date.now() % 1e6).int(12)
    // 30 ms per batch: the interrupted run is still training when Ctrl-C arrives
    const [refDone, stopped] = await Promise.all([ref(), cli([...args, '--out', 'runs'], { IRD_FAULT: 'batch@*:sleep30' }, stopAt)])
    expect(refDone.code, refDone.err).toBe(0)
    expect(stopped.code, `Ctrl-C at step ${stopAt}: ${stopped.err.slice(-500)}`).toBe(130)
    const store = new RunStore(join(tmp, 'runs'))
    const [run] = store.list()
    expect(run.status).toBe('cancelled')
    const ck = checkpointInfo(join(tmp, 'runs', run.id))
    expect(ck, 'Ctrl-C saves a checkpoint').not.toBeNull()
    expect(ck!.step).toBeGreaterThanOrEqual(stopAt)

    const r = spawnSync(process.execPath, [BIN, 'resume', run.id.slice(0, 24), '--runs', 'runs'], { cwd: tmp, encoding: 'utf8' })
    expect(r.status, r.stderr).toBe(0)
    expect(r.stderr).toContain(`resuming run ${run.id} from its checkpoint at step ${ck!.step} of 16`)
    expect(r.stderr).toContain("mask reused from this run's saved selection (not recomputed)")
    expect(r.stdout).toMatch(new RegExp(`^run ${run.id} completed \\(resumed from step ${ck!.step}, saved mask reused\\): SST-2 dev accuracy \\d+\\.\\d\\d;`))
    const refDir = join(tmp, 'ref', new RunStore(join(tmp, 'ref')).list()[0].id)
    expectSameOutcome(refDir, join(tmp, 'runs', run.id), `Ctrl-C at step ${stopAt}`)
    expectIntact(join(tmp, 'runs', run.id))
    expect(store.list()[0].status).toBe('completed')

    const again = spawnSync(process.execPath, [BIN, 'resume', '--run', run.id, '--runs', 'runs'], { cwd: tmp, encoding: 'utf8' })
    expect(again.status).toBe(1)
    expect(again.stderr).toContain(`run ${run.id} is already completed: nothing to resume`)
  })

  // SIGTERM (scancel, Slurm preemption, systemd, docker stop) and SIGHUP (terminal closed) stop like Ctrl-C:
  // a checkpoint, status "cancelled" with the signal named, no checkpoint.tmp-* folder, exit 128 + signal
  it.each([
    ['SIGTERM', 143],
    ['SIGHUP', 129]
  ] as const)('%s mid-training keeps a cancelled, resumable run that reaches the uninterrupted result', async (signal, code) => {
    const stopAt = 1 + new Rng((Date.now() + code) % 1e6).int(12)
    const out = `runs-${signal}`
    const [refDone, stopped] = await Promise.all([ref(), cli([...args, '--out', out], { IRD_FAULT: 'batch@*:sleep30' }, stopAt, signal)])
    expect(refDone.code, refDone.err).toBe(0)
    expect(stopped.code, `${signal} at step ${stopAt}: ${stopped.err.slice(-500)}`).toBe(code)
    expect(stopped.out + stopped.err).toContain(`${signal}: cancelling at the next batch boundary`)
    const store = new RunStore(join(tmp, out))
    const [run] = store.list()
    expect(run.status).toBe('cancelled')
    expect(run.reason).toContain(`cancelled by ${signal} at step`)
    const runDir = join(tmp, out, run.id)
    expect(readdirSync(runDir).filter((n) => n.includes('.tmp-')), 'no temporary folders or files are left').toEqual([])
    const ck = checkpointInfo(runDir)
    expect(ck, `${signal} saves a checkpoint`).not.toBeNull()
    expect(ck!.step).toBeGreaterThanOrEqual(stopAt)

    const r = spawnSync(process.execPath, [BIN, 'resume', run.id, '--runs', out], { cwd: tmp, encoding: 'utf8' })
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toContain(`run ${run.id} completed (resumed from step ${ck!.step}, saved mask reused)`)
    const refDir = join(tmp, 'ref', new RunStore(join(tmp, 'ref')).list()[0].id)
    expectSameOutcome(refDir, runDir, `${signal} at step ${stopAt}`)
    expectIntact(runDir)
  })
})

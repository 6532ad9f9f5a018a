/**
 * The run store's side of resume: an interrupted run's reason says how to continue it (and from which
 * checkpoint step); reopen marks a stopped run running again in this process, counts resumes, keeps the
 * start time, and refuses completed runs and runs whose process is still alive.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { RunStore } from '../../../src/engine/runs/store'

const tmp = mkdtempSync(join(tmpdir(), 'ird-store-resume-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
const base = { model: 'demo', seed: 1, task: 'sst2', method: 'fish' }
const DEAD = 2 ** 22 + 12345

describe('run store: resume', () => {
  it('names `ird-studio resume` and the checkpoint step in an interrupted run\'s reason', () => {
    const store = new RunStore(join(tmp, 'a'))
    const run = store.create({ task: 'sst2', method: 'fish', config: {}, summary: base })
    writeFileSync(join(run.dir, 'status.json'), JSON.stringify({ status: 'running', pid: DEAD, startedAt: 'x', updatedAt: 'x' }))
    expect(store.list()[0].reason).toBe(`interrupted: the process (pid ${DEAD}) ended without finishing the run (killed, crashed or out of memory); \`ird-studio resume ${run.id}\` starts it again`)
    mkdirSync(join(run.dir, 'mask'))
    writeFileSync(join(run.dir, 'mask', 'mask.json'), '{}')
    expect(store.list()[0].reason).toMatch(/starts it again from its saved mask$/)
    mkdirSync(join(run.dir, 'checkpoint'))
    writeFileSync(join(run.dir, 'checkpoint', 'checkpoint.json'), JSON.stringify({ step: 12, totalSteps: 40 }))
    // not a real checkpoint manifest: said as damage, never as a step to continue from
    expect(store.list()[0].reason).toMatch(/damaged checkpoint: checkpoint\/checkpoint\.json: not a checkpoint .*; no good checkpoint is left: `ird-studio resume \S+ --restart` starts training over$/)
    // open() reads the same status as list()
    expect(store.open(run.id).summary.status).toBe('failed')
  })

  it('reopen marks a stopped run running in this process and counts resumes; refuses completed and live runs', () => {
    const store = new RunStore(join(tmp, 'b'))
    const run = store.create({ task: 'sst2', method: 'fish', config: {}, summary: base })
    run.finish('cancelled', {}, 'cancelled by the user')
    const started = JSON.parse(readFileSync(join(run.dir, 'status.json'), 'utf8')).startedAt
    const again = store.reopen(run.id)
    const st = store.status(run.id)!
    expect(st).toMatchObject({ status: 'running', pid: process.pid, startedAt: started, resumes: 1 })
    expect(store.list()[0]).toMatchObject({ status: 'running' })
    expect(store.list()[0].reason).toBeUndefined()
    again.finish('cancelled', {}, 'again')
    store.reopen(run.id)
    expect(store.status(run.id)?.resumes).toBe(2)
    // a live process (this one under another pid) holds the run: refused
    writeFileSync(join(run.dir, 'status.json'), JSON.stringify({ status: 'running', pid: process.ppid, startedAt: 'x', updatedAt: 'x' }))
    expect(() => store.reopen(run.id)).toThrow(/is still running \(pid \d+\); stop it before resuming/)
    writeFileSync(join(run.dir, 'results.json'), '{}')
    writeFileSync(join(run.dir, 'status.json'), JSON.stringify({ status: 'completed', pid: DEAD, startedAt: 'x', updatedAt: 'x' }))
    expect(() => store.reopen(run.id)).toThrow(/already completed: nothing to resume/)
  })
})

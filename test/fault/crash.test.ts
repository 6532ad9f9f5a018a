/**
 * An engine process that dies of a real V8 out-of-memory abort in the middle of training: the host records
 * it (recordEngineExit) as "out of memory" with advice and the resume command in that process's run only —
 * a run of another live process and a run of another dead process are untouched — and the run resumes.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../src/engine/backend'
import { describeCrash, recordEngineExit } from '../../src/engine/jobs/crash'
import { resumeJob } from '../../src/engine/jobs/run-job'
import { RunStore } from '../../src/engine/runs/store'
import { REPO_ROOT } from '../helpers/shared-data'
import { expectIntact, hooks, makeFixture } from '../engine/jobs/fixture'
import { childArgs } from './child-command'

const tmp = mkdtempSync(join(tmpdir(), 'ird-crash-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
const cfg = makeFixture(tmp)
const base = { model: 'demo', seed: 1, task: 'sst2', method: 'fish' }

describe('engine process crash', () => {
  it('a real out-of-memory abort is recorded in that process\'s run only, with advice; the run resumes', async () => {
    const runs = join(tmp, 'runs')
    const store = new RunStore(runs)
    const mine = store.create({ task: 'sst2', method: 'fish', config: {}, summary: base }) // this (live) process's run
    const other = store.create({ task: 'sst2', method: 'ird', config: {}, summary: base })
    writeFileSync(join(other.dir, 'status.json'), JSON.stringify({ status: 'running', pid: 2 ** 22 + 777, startedAt: 'x', updatedAt: 'x' }))

    const p = spawn(process.execPath, ['--max-old-space-size=200', ...(await childArgs()), JSON.stringify({ mode: 'run', runs, cfg })], { cwd: REPO_ROOT, env: { ...process.env, IRD_FAULT: 'batch@5:heap' } })
    let stderr = ''
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const exit = await new Promise<{ code: number | null; signal: string | null }>((resolve) => p.on('exit', (code, signal) => resolve({ code, signal })))
    expect(stderr, `exit ${JSON.stringify(exit)}`).toMatch(/JavaScript heap out of memory/)
    expect(describeCrash({ ...exit, stderr }).kind).toBe('oom')

    const marked = recordEngineExit(store, p.pid!, { ...exit, stderr: stderr.slice(-4000) })
    expect(marked).toHaveLength(1)
    const byId = new Map(store.list().map((s) => [s.id, s]))
    const crashed = byId.get(marked[0])!
    expect(crashed.status).toBe('failed')
    expect(crashed.reason).toMatch(/^out of memory: the engine process ran out of memory and was stopped \((signal SIGABRT|exit code 134)\)\. Start a new run with a smaller --batch-size, a shorter --max-length, or a smaller budget .*`ird-studio resume \S+` continues from its last checkpoint\)$/)
    expect(byId.get(mine.id)!.status, 'a live process\'s run').toBe('running')
    expect(byId.get(other.id)!.reason, 'another dead process\'s run').toMatch(/^interrupted: the process \(pid 4195081\)/)
    expectIntact(join(runs, marked[0]))

    await initBackend({ force: 'wasm' })
    const r = await resumeJob(store, marked[0], hooks(), { backend: 'wasm' })
    expect(r.status, r.reason).toBe('completed')
    expect(r.maskReused).toBe(true)
    expect(r.resumedFromStep).toBe(3)
  })

  it('names kills, native crashes and plain exits', () => {
    expect(describeCrash({ code: null, signal: 'SIGKILL' })).toMatchObject({ kind: 'killed', reason: expect.stringMatching(/killed \(SIGKILL\): on Linux usually the system's out-of-memory killer/) })
    expect(describeCrash({ code: null, signal: 'SIGSEGV', stderr: 'Segmentation fault in libtensorflow\n' })).toMatchObject({ kind: 'native', reason: expect.stringMatching(/crashed in native code \(signal SIGSEGV\): Segmentation fault in libtensorflow\. This is often memory/) })
    expect(describeCrash({ code: 3, signal: null, stderr: 'x\nError: boom\n' })).toEqual({ kind: 'exit', reason: 'the engine process exited unexpectedly (exit code 3): Error: boom' })
  })
})

/**
 * Fault injection: a child process running a real tiny run (test/engine/jobs/fixture.ts) dies on purpose
 * (IRD_FAULT, jobs/fault.ts) during Fisher, before and after the mask is written, before and between
 * training steps, in each phase of a checkpoint write (state written / folder complete / old folder moved
 * aside) and before each result file. Every time: the run store still lists and opens the run, no file
 * under a final name is half-written, results.json is absent (or complete, when the kill came after it),
 * the run reads as failed ("interrupted", naming `ird-studio resume`), and resuming it in this process
 * completes it with the same delta, predictions and results as an uninterrupted run, from the checkpoint
 * expected for that point and without redoing a selection that was saved. A simulated out-of-memory error
 * ends the run as failed with advice, and it resumes too.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../src/engine/backend'
import { checkpointInfo } from '../../src/engine/jobs/checkpoint'
import { resumeJob, runJob, type JobEvent } from '../../src/engine/jobs/run-job'
import { RunStore } from '../../src/engine/runs/store'
import { REPO_ROOT } from '../helpers/shared-data'
import { expectIntact, expectSameOutcome, hooks, makeFixture } from '../engine/jobs/fixture'
import { childArgs } from './child-command'

const tmp = mkdtempSync(join(tmpdir(), 'ird-fault-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
// wasm: the product's default here (the pure-JS cpu backend is slower even on this tiny model)
const BACKEND = 'wasm'
const cfg = makeFixture(tmp, { backend: BACKEND })
let refDir = ''

interface Case {
  fault: string
  /** The step training resumes from; 'selection' = the mask was not saved, so selection runs again. */
  resumeFrom: number
  selection: 'again' | 'reused'
  /** results.json complete on disk at the kill. */
  results?: boolean
}
// 2 epochs × 8 steps, checkpoints every 3 steps and at epoch ends: 3, 6, 8 (epoch end), 9, 12, 15, 16 (epoch end)
const CASES: Case[] = [
  { fault: 'fisher@2', resumeFrom: 0, selection: 'again' },
  { fault: 'mask-write', resumeFrom: 0, selection: 'again' },
  { fault: 'selected', resumeFrom: 0, selection: 'reused' },
  { fault: 'batch@2', resumeFrom: 0, selection: 'reused' },
  { fault: 'batch@7', resumeFrom: 6, selection: 'reused' },
  { fault: 'checkpoint-state@2', resumeFrom: 3, selection: 'reused' },
  { fault: 'checkpoint-manifest@2', resumeFrom: 6, selection: 'reused' },
  { fault: 'checkpoint-swap@3', resumeFrom: 8, selection: 'reused' },
  { fault: 'predictions', resumeFrom: 16, selection: 'reused' },
  { fault: 'delta', resumeFrom: 16, selection: 'reused' },
  { fault: 'results', resumeFrom: 16, selection: 'reused' },
  { fault: 'finish', resumeFrom: 16, selection: 'reused', results: true }
]

async function child(runs: string, fault: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }> {
  const args = await childArgs()
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [...args, JSON.stringify({ mode: 'run', runs, cfg, backend: BACKEND })], { cwd: REPO_ROOT, env: { ...process.env, IRD_FAULT: fault } })
    let out = ''
    let err = ''
    p.stdout.on('data', (d: Buffer) => (out += d.toString()))
    p.stderr.on('data', (d: Buffer) => (err += d.toString()))
    p.on('exit', (code, signal) => resolve({ code, signal, out, err }))
  })
}

/** Run the children three at a time (2 cores; each spends most of its start-up loading modules). */
async function pool<T, R>(items: T[], n: number, f: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++
        out[i] = await f(items[i])
      }
    })
  )
  return out
}

const killed = new Map<string, Awaited<ReturnType<typeof child>>>()

beforeAll(async () => {
  const children = pool([...CASES.map((c) => c.fault), 'batch@11:oom'], 3, async (fault) => killed.set(fault, await child(join(tmp, fault.replace(/[@:]/g, '_')), fault)))
  await initBackend({ force: BACKEND })
  const ref = await runJob(cfg, new RunStore(join(tmp, 'ref')), hooks())
  expect(ref.status, ref.reason).toBe('completed')
  refDir = ref.run.dir
  await children
})

function runsOf(fault: string): { store: RunStore; dir: string; id: string } {
  const root = join(tmp, fault.replace(/[@:]/g, '_'))
  const store = new RunStore(root)
  const list = store.list() // must not throw, whatever the kill left behind
  expect(list, `${fault}: one run`).toHaveLength(1)
  return { store, id: list[0].id, dir: join(root, list[0].id) }
}

describe('fault injection: the engine process killed at every stage', () => {
  it.each(CASES)('killed at $fault: store readable, nothing half-written, marked interrupted, resumes to the same result', async (c) => {
    const k = killed.get(c.fault)!
    expect(k.signal, `${c.fault}: the child was not killed (exit ${k.code}): ${k.err.slice(-800)}`).toBe('SIGKILL')
    const { store, dir, id } = runsOf(c.fault)
    const [s] = store.list()
    expect(s.status).toBe('failed')
    expect(s.reason).toMatch(/^interrupted: the process \(pid \d+\) ended without finishing the run .*`ird-studio resume /)
    expect(() => store.open(id)).not.toThrow()
    expectIntact(dir)
    expect(existsSync(join(dir, 'results.json')), 'results.json').toBe(c.results === true)
    expect(checkpointInfo(dir)?.step ?? 0, 'newest complete checkpoint').toBe(c.resumeFrom)

    const events: JobEvent[] = []
    const r = await resumeJob(store, id, hooks({ onEvent: (e) => events.push(e) }), { backend: BACKEND })
    expect(r.status, r.reason).toBe('completed')
    expect(r.resumedFromStep).toBe(c.resumeFrom)
    expect(r.maskReused).toBe(c.selection === 'reused')
    expect(events.some((e) => e.phase === 'fisher'), 'Fisher pass on resume').toBe(c.selection === 'again')
    expectSameOutcome(refDir, dir, c.fault)
    expectIntact(dir)
    expect(readdirSync(dir).filter((n) => n.startsWith('checkpoint')), 'checkpoints removed after completion').toEqual([])
    expect(store.list()[0].status).toBe('completed')
  })

  it('an out-of-memory error fails the run with the reason and advice; it resumes from its last checkpoint', async () => {
    const k = killed.get('batch@11:oom')!
    expect(k.code, k.err.slice(-800)).toBe(0)
    const { store, dir, id } = runsOf('batch@11:oom')
    const [s] = store.list()
    expect(s.status).toBe('failed')
    expect(s.reason).toMatch(/^out of memory \(Array buffer allocation failed.*\)\. Start a new run with --batch-size 4 \(now 8\), --max-length 32 \(now 32\), a smaller --keep-ratio \(now 0\.01\), --fisher-batch-size 4/)
    expectIntact(dir)
    expect(existsSync(join(dir, 'results.json'))).toBe(false)
    const r = await resumeJob(store, id, hooks(), { backend: BACKEND })
    expect(r.status, r.reason).toBe('completed')
    // batch check 11 = the 2nd batch of epoch 2 (8 training + 1 dev batch before it): last checkpoint at the epoch end, step 8
    expect(r.resumedFromStep).toBe(8)
    expectSameOutcome(refDir, dir, 'oom')
    expect(JSON.parse(readFileSync(join(dir, 'status.json'), 'utf8')).resumes).toBe(1)
  })
})

/**
 * A runs folder shared by many writers (Slurm array tasks on a shared file system): 8 processes each
 * create 12 runs at once in one folder while this process lists it over and over. Nothing is lost or
 * corrupt: 96 distinct runs, every file whole, no temporary file left, and no listing ever fails or shows
 * a half-made run as anything but absent or running.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { RunStore, type StatusFile } from '../../../src/engine/runs/store'
import { REPO_ROOT } from '../../helpers/shared-data'

const tmp = mkdtempSync(join(tmpdir(), 'ird-writers-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('a runs folder with 8 concurrent writers', () => {
  it('keeps every run whole and distinct; listing never fails meanwhile', async () => {
    const runs = join(tmp, 'runs')
    const WRITERS = 8
    const EACH = 12
    const child = join(REPO_ROOT, 'test/engine/runs/writer-child.ts')
    const done = Array.from({ length: WRITERS }, (_, w) =>
      new Promise<{ code: number | null; err: string }>((resolve) => {
        const p = spawn(process.execPath, ['--import', 'tsx', child, runs, String(w), String(EACH)], { cwd: REPO_ROOT })
        let err = ''
        p.stderr.on('data', (d: Buffer) => (err += d.toString()))
        p.on('exit', (code) => resolve({ code, err }))
      })
    )
    let finished = false
    const all = Promise.all(done).finally(() => (finished = true))
    const store = new RunStore(runs)
    let listings = 0
    let seenMax = 0
    while (!finished) {
      const l = store.list() // must not throw while runs are being created and finished
      for (const r of l) expect(['running', 'completed'], `${r.id}: ${r.reason}`).toContain(r.status)
      seenMax = Math.max(seenMax, l.length)
      listings++
      await new Promise((r) => setTimeout(r, 5))
    }
    for (const r of await all) expect(r.code, r.err).toBe(0)
    expect(listings).toBeGreaterThan(1)
    const list = store.list()
    expect(list).toHaveLength(WRITERS * EACH)
    expect(new Set(list.map((r) => r.id)).size).toBe(WRITERS * EACH)
    expect(new Set(list.map((r) => r.name)).size, 'every writer\'s every run, once').toBe(WRITERS * EACH)
    for (const r of list) {
      expect(r.status).toBe('completed')
      const dir = join(runs, r.id)
      const [w, i] = r.name!.slice(1).split('-').map(Number)
      const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { writer: string; i: number; payload: string }
      expect([Number(config.writer), config.i, config.payload.length]).toEqual([w, i, 20_000])
      const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as { values: number[] }
      expect(results.values[499]).toBe(499 * i)
      const events = readFileSync(join(dir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { writer: string; i: number })
      expect(events.map((e) => [Number(e.writer), e.i])).toEqual(Array.from({ length: 5 }, () => [w, i]))
      const status = JSON.parse(readFileSync(join(dir, 'status.json'), 'utf8')) as { host?: string }
      expect(status.host, 'the status names its host (a pid means nothing on another machine)').toBeTruthy()
      expect(readdirSync(dir).filter((n) => n.includes('.tmp-')), `${r.id}: temporary files left`).toEqual([])
    }
    expect(readdirSync(runs).filter((n) => n.includes('.tmp-'))).toEqual([])
  })
})

describe('a run written by another machine sharing the runs folder', () => {
  it('is not judged by a pid of this host; resuming it is refused unless this is its requeued Slurm task', () => {
    const store = new RunStore(join(tmp, 'shared'))
    const run = store.create({ task: 'sst2', method: 'fish', config: {}, summary: { task: 'sst2', method: 'fish', model: 'm', seed: 0 } })
    const st = JSON.parse(readFileSync(join(run.dir, 'status.json'), 'utf8')) as StatusFile
    // a pid that is surely not alive here, on another host, written by Slurm array task 77_3
    run.writeStatus({ ...st, pid: 2 ** 22 + 12345, host: 'node-17', slurmJob: '77_3' })
    expect(store.list()[0].status, 'no "interrupted" verdict from a pid of another machine').toBe('running')
    expect(() => store.reopen(run.id)).toThrow(`run ${run.id} is marked running on host node-17 (pid ${2 ** 22 + 12345}, Slurm job 77_3): this machine cannot tell whether it still runs`)
    const env = { ...process.env }
    try {
      Object.assign(process.env, { SLURM_ARRAY_JOB_ID: '77', SLURM_ARRAY_TASK_ID: '3', SLURM_JOB_ID: '80' })
      expect(store.reopen(run.id).id).toBe(run.id) // the same array task, requeued onto this machine
    } finally {
      for (const k of ['SLURM_ARRAY_JOB_ID', 'SLURM_ARRAY_TASK_ID', 'SLURM_JOB_ID']) if (env[k] === undefined) delete process.env[k]
    }
    // the same host: a dead pid is interrupted, as before
    run.writeStatus({ ...st, pid: 2 ** 22 + 12345 })
    expect(store.list()[0].status).toBe('failed')
  })
})

/**
 * Confinement sees through symbolic links (issue 18, class 2). Every place that confines a read or a
 * write — `export --within`, every exporter, bundle import, the run store's folders and files, the
 * server's static files, dataset uploads — resolves the real path of the deepest existing ancestor and
 * refuses a link that leaves its folder; nothing lands outside. Real links in temp folders.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exportBundle, exportDelta, exportHfModel, exportMask, ExportPathError, exportSamples, exportTable, importRunBundle, BundleError, writeGlueSubmission } from '../../src/engine/export'
import { confinePath, ConfinementError, realPathOfDeepest } from '../../src/engine/io/confine'
import { DatasetRegistry } from '../../src/engine/host/registry'
import type { EngineChild, EngineExit } from '../../src/engine/host/engine-host'
import { RunStore, RunStoreError } from '../../src/engine/runs/store'
import { startServer } from '../../src/server/server'
import type { HostToEngineMessage } from '../../src/shared/contract'
import { makeBaseModel, makeCompletedRun, type FakeRun } from '../engine/export/helpers'
import { REPO_ROOT } from '../helpers/shared-data'

const tmp = mkdtempSync(join(tmpdir(), 'ird-links-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

/** A folder outside every confining folder; tests check it stays as it was. */
const outside = join(tmp, 'outside')
const within = join(tmp, 'within')
let store: RunStore
let run: FakeRun
let model: string
beforeAll(() => {
  mkdirSync(outside)
  writeFileSync(join(outside, 'victim.txt'), 'keep me\n')
  mkdirSync(join(within, 'sub'), { recursive: true })
  symlinkSync(outside, join(within, 'link')) // DIR/link → outside
  symlinkSync(join(outside, 'victim.txt'), join(within, 'victim-link.txt')) // a file link leading out
  symlinkSync(join(outside, 'not-yet'), join(within, 'dangling')) // a dangling link leading out
  symlinkSync(join(within, 'sub'), join(within, 'inner')) // a link that stays inside
  model = join(tmp, 'model')
  makeBaseModel(model, 2)
  store = new RunStore(join(tmp, 'runs'))
  run = makeCompletedRun(store, model, 'sst2')
})
const outsideNow = () => readdirSync(outside).sort()

describe('the shared helper', () => {
  it('refuses a path through a link that leaves, a file link, a dangling link; allows links that stay inside and a root that is a link', () => {
    expect(() => confinePath(within, 'link/x.bin')).toThrow(ConfinementError)
    expect(() => confinePath(within, 'link/x.bin')).toThrow(/leads outside the folder .*within through the symbolic link .*within\/link \(→ .*outside\)/)
    expect(() => confinePath(within, 'victim-link.txt')).toThrow(/through the symbolic link .*victim-link\.txt/)
    expect(() => confinePath(within, 'dangling')).toThrow(/dangling \(→ .*outside\/not-yet\)/)
    expect(() => confinePath(within, 'dangling/deeper/x')).toThrow(ConfinementError)
    expect(() => confinePath(within, '../outside/x')).toThrow(/is not inside/)
    expect(confinePath(within, 'inner/new/x.bin')).toBe(join(within, 'inner/new/x.bin'))
    expect(confinePath(within, 'not/there/yet.bin')).toBe(join(within, 'not/there/yet.bin'))
    const rootLink = join(tmp, 'within-link')
    symlinkSync(within, rootLink)
    expect(confinePath(rootLink, 'sub/x')).toBe(join(rootLink, 'sub/x'))
    expect(() => confinePath(rootLink, 'link/x')).toThrow(ConfinementError)
    expect(realPathOfDeepest(join(within, 'dangling', 'a'))).toBe(join(realPathOfDeepest(outside), 'not-yet', 'a'))
  })

  it('a link loop is refused, not followed forever', () => {
    const loop = join(tmp, 'loop')
    mkdirSync(loop)
    symlinkSync(join(loop, 'b'), join(loop, 'a'))
    symlinkSync(join(loop, 'a'), join(loop, 'b'))
    expect(() => confinePath(loop, 'a/x')).toThrow(/symbolic links in a chain|ELOOP/)
  })
})

describe('export … --within DIR', () => {
  it('the issue instance, through the CLI: `export mask --out DIR/link/x.safetensors --within DIR` exits 1 and writes nothing outside', () => {
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/ird-studio.js'), 'export', 'mask', '--run', run.run.id, '--runs', store.root, '--out', join(within, 'link', 'x.safetensors'), '--within', within], { cwd: tmp, encoding: 'utf8', timeout: 120_000 })
    expect(r.status, r.stderr).toBe(1)
    expect(r.stderr).toMatch(/leads outside the export folder .*within through the symbolic link .*within\/link/)
    expect(outsideNow()).toEqual(['victim.txt'])
  }, 120_000)

  const exporters: Array<[string, (out: string) => unknown]> = [
    ['mask', (out) => exportMask(store, run.run.id, out, { within })],
    ['delta', (out) => exportDelta(store, run.run.id, out, { within })],
    ['samples', (out) => exportSamples(store, run.run.id, out, { within })],
    ['table', (out) => exportTable(store, out, { within, format: 'csv' })],
    ['bundle', (out) => exportBundle(store, run.run.id, out, { within })],
    ['hf model', (out) => exportHfModel(store, run.run.id, out, { within })],
    ['glue submission', (out) => writeGlueSubmission(out, [{ task: 'sst2', ids: ['0', '1'], logits: new Float32Array([0, 1, 1, 0]) }], { within })]
  ]
  for (const [what, f] of exporters) {
    it(`${what}: refused through a folder link, a file link and a dangling link; fine through a link that stays inside`, () => {
      for (const out of ['link/x.out', 'victim-link.txt', 'dangling', join(within, 'link', 'abs.out')]) {
        expect(() => f(out), out).toThrow(ExportPathError)
        expect(outsideNow()).toEqual(['victim.txt'])
        expect(readFileSync(join(outside, 'victim.txt'), 'utf8')).toBe('keep me\n')
      }
      const ok = `inner/${what.replace(/\W+/g, '-')}.out`
      f(ok)
      expect(existsSync(join(within, 'sub', `${what.replace(/\W+/g, '-')}.out`))).toBe(true)
    })
  }
})

describe('the run store', () => {
  it('a run folder that is a link leading out cannot be opened, written or imported over', () => {
    const foreign = join(outside, 'foreign-run')
    mkdirSync(foreign)
    writeFileSync(join(foreign, 'summary.json'), JSON.stringify({ id: 'evil', task: 'sst2', method: 'fish', status: 'completed', model, seed: 0, startedAt: '2026-01-01T00:00:00Z' }))
    symlinkSync(foreign, join(store.root, 'evil'))
    expect(() => store.dir('evil')).toThrow(RunStoreError)
    expect(() => store.open('evil')).toThrow(/leads outside the runs folder .* through the symbolic link .*runs\/evil/)
    // a bundle of a run with that id: the import refuses, the foreign folder is untouched
    const file = join(tmp, 'evil.zip')
    exportBundle(store, run.run.id, file)
    expect(() => importRunBundle(store, file, { as: 'evil' })).toThrow(BundleError)
    expect(readdirSync(foreign)).toEqual(['summary.json'])
  })

  it("a run's file that is a link leading out: events, status and JSON files are refused, the target unchanged", () => {
    const r = store.create({ task: 'sst2', method: 'fish', config: {}, summary: { task: 'sst2', method: 'fish', model, seed: 0 } })
    rmSync(r.path('events.jsonl'), { force: true })
    symlinkSync(join(outside, 'victim.txt'), join(r.dir, 'events.jsonl'))
    expect(() => r.event('train', { step: 1 })).toThrow(/leads outside run .*'s folder/)
    symlinkSync(outside, join(r.dir, 'mask'))
    expect(() => r.writeJson('mask/mask.json', {})).toThrow(RunStoreError)
    expect(() => r.readJson('mask/x.json')).toThrow(RunStoreError)
    expect(readFileSync(join(outside, 'victim.txt'), 'utf8')).toBe('keep me\n')
    expect(outsideNow()).toEqual(['foreign-run', 'victim.txt'])
  })

  it('the runs folder itself may be a link (a runs folder on another disk)', () => {
    const real = join(tmp, 'real-runs')
    mkdirSync(real)
    symlinkSync(real, join(tmp, 'runs-link'))
    const s = new RunStore(join(tmp, 'runs-link'))
    const r = s.create({ task: 'sst2', method: 'fish', config: {}, summary: { task: 'sst2', method: 'fish', model, seed: 0 } })
    r.event('train', { step: 1 })
    expect(s.open(r.id).id).toBe(r.id)
    expect(readdirSync(real)).toEqual([r.id])
  })
})

describe('dataset uploads', () => {
  it('an uploads folder that is a link leading out of the data folder: the upload is refused, nothing written there', async () => {
    const dataDir = join(tmp, 'data')
    mkdirSync(dataDir)
    symlinkSync(outside, join(dataDir, 'uploads'))
    const reg = new DatasetRegistry(dataDir)
    await expect(reg.import({ name: 'train.tsv', content: 'sentence\tlabel\nfine\t1\n' })).rejects.toThrow(/leads outside the app's data folder .* through the symbolic link .*data\/uploads/)
    expect(outsideNow()).not.toContain('train.tsv')
    expect(readdirSync(outside).some((n) => n.startsWith('ds-'))).toBe(false)
  })

  it('removing an uploaded dataset never deletes through a link', () => {
    const dataDir = join(tmp, 'data2')
    mkdirSync(join(dataDir, 'uploads'), { recursive: true })
    const victimDir = join(outside, 'ds-victim')
    mkdirSync(victimDir)
    writeFileSync(join(victimDir, 'precious.tsv'), 'x')
    symlinkSync(victimDir, join(dataDir, 'uploads', 'ds-1'))
    writeFileSync(join(dataDir, 'datasets.json'), JSON.stringify([{ id: 'ds-1', name: 'p', path: join(dataDir, 'uploads', 'ds-1', 'precious.tsv'), uploaded: true, size: 1, sha256: 'x', addedAt: '2026-01-01T00:00:00Z', detectedTask: null, options: {} }]))
    const reg = new DatasetRegistry(dataDir)
    expect(() => reg.remove('ds-1')).toThrow(/leads outside the app's data folder/)
    expect(readdirSync(victimDir)).toEqual(['precious.tsv'])
  })
})

describe("the server's static files", () => {
  function fakeEngine(): EngineChild {
    const messages: Array<(m: unknown) => void> = []
    const exits: Array<(e: EngineExit) => void> = []
    queueMicrotask(() => messages.forEach((l) => l({ event: 'engine:status', payload: { state: 'ready' } })))
    return {
      pid: 4243,
      send(m: HostToEngineMessage) {
        if ('type' in m) queueMicrotask(() => exits.splice(0).forEach((l) => l({ code: 0, signal: null })))
        // the server announces itself only after the engine answers engine:info (the start handshake)
        else if (m.method === 'engine:info') queueMicrotask(() => messages.forEach((l) => l({ id: m.id, result: { name: 'wasm', tfBackend: 'wasm', forced: false, skipped: [], details: {} } })))
        else queueMicrotask(() => messages.forEach((l) => l({ id: m.id, error: { name: 'CodedError', message: 'fake', code: 'UNKNOWN_METHOD' } })))
      },
      kill: () => queueMicrotask(() => exits.splice(0).forEach((l) => l({ code: null, signal: 'SIGKILL' }))),
      onMessage: (l) => void messages.push(l),
      onExit: (l) => void exits.push(l)
    }
  }

  it('a link inside the interface folder that leads out answers 403, and its target is not sent', async () => {
    const renderer = join(tmp, 'renderer')
    mkdirSync(join(renderer, 'assets'), { recursive: true })
    writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>t</title>')
    writeFileSync(join(renderer, 'assets', 'app.js'), 'console.log(1)')
    symlinkSync(join(outside, 'victim.txt'), join(renderer, 'assets', 'leak.js'))
    symlinkSync(outside, join(renderer, 'out'))
    symlinkSync(join(renderer, 'assets', 'app.js'), join(renderer, 'alias.js'))
    const server = await startServer({ port: 0, rendererDir: renderer, dataDir: join(tmp, 'sdata'), runsDir: join(tmp, 'sruns'), engine: { spawn: fakeEngine }, log: () => undefined })
    const get = (path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: server.port, path, headers: { host: `127.0.0.1:${server.port}` } }, (res) => {
          let body = ''
          res.on('data', (d: Buffer) => (body += d.toString()))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
        })
        req.on('error', reject)
        req.end()
      })
    try {
      for (const p of ['/assets/leak.js', '/out/victim.txt']) {
        const r = await get(p)
        expect(r.status, p).toBe(403)
        expect(r.body).not.toContain('keep me')
      }
      expect((await get('/alias.js')).status).toBe(200)
      expect((await get('/assets/app.js')).status).toBe(200)
    } finally {
      await server.close()
    }
  })
})

describe('the run listing and checkpoints', () => {
  it("a run whose summary.json is a link leading out is listed as damaged, its target unread; a checkpoint folder that is a link is damage", async () => {
    const { inspectCheckpoints } = await import('../../src/engine/jobs/checkpoint')
    const s = new RunStore(join(tmp, 'runs-list'))
    const r = s.create({ task: 'sst2', method: 'fish', config: {}, summary: { task: 'sst2', method: 'fish', model, seed: 0 } })
    rmSync(join(r.dir, 'summary.json'))
    writeFileSync(join(outside, 'summary-victim.json'), JSON.stringify({ id: 'x', task: 'secret-task', method: 'fish', startedAt: '2026-01-01T00:00:00Z', status: 'completed', model, seed: 0 }))
    symlinkSync(join(outside, 'summary-victim.json'), join(r.dir, 'summary.json'))
    const [row] = s.list()
    expect(row.status).toBe('damaged')
    expect(row.task).not.toBe('secret-task')
    expect(row.reason).toMatch(/leads outside run .*'s folder .* through the symbolic link .*summary\.json/)
    symlinkSync(outside, join(r.dir, 'checkpoint'))
    expect(inspectCheckpoints(r.dir).damaged.map((d) => d.message)).toEqual(['checkpoint: a symbolic link, not a folder of the run'])
  })
})

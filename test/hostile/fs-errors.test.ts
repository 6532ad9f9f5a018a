/**
 * Filesystem faults are user errors, found before the work (issue 18, class 4): every CLI command that
 * writes is pointed at a read-only file system, a full disk, a path under a regular file, a folder where a
 * file should go, a file where a folder should go, and a forbidden folder. Each must exit 1 with one line
 * that names the path and the cause (EROFS, ENOSPC, ENOTDIR, EISDIR, EEXIST, EACCES, EPERM …) and says
 * what to do — never "internal error" or a stack trace — before any work (the backend never starts), and
 * leave nothing behind.
 *
 * Read-only and full disks are real: small tmpfs mounts, when the tests run as root (chmod does not stop
 * root, a read-only mount does). Without root those cases are skipped with a message, and the same
 * conditions are injected through IRD_FS_FAULT instead. The matrix calls the CLI's main() in this process
 * (fast); a few cases run the real `ird-studio` process end to end.
 */
import { spawnSync } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { main } from '../../src/cli/main'
import { exportBundle } from '../../src/engine/export'
import { RunStore } from '../../src/engine/runs/store'
import { ensureDir, FsWriteError } from '../../src/engine/io/writable'
import { makeBaseModel, makeCompletedRun } from '../engine/export/helpers'
import { snapshot } from '../engine/io/helpers'
import { GLUE_DIR, REPO_ROOT, VOCAB_FILE } from '../helpers/shared-data'

const tmp = mkdtempSync(join(tmpdir(), 'ird-fs-'))
const mounts: string[] = []

function mountTmpfs(dir: string, options: string): boolean {
  mkdirSync(dir, { recursive: true })
  if (process.getuid?.() !== 0) return false
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { encoding: 'utf8' })
  if (r.status !== 0) return false
  mounts.push(dir)
  return true
}

/** Fill a mounted tmpfs until the kernel says ENOSPC. */
function fill(dir: string): void {
  const fd = openSync(join(dir, 'filler'), 'w')
  const chunk = Buffer.alloc(16 * 1024, 1)
  try {
    for (;;) writeSync(fd, chunk)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e
  } finally {
    closeSync(fd)
  }
}

const model = join(tmp, 'model')
const data = join(GLUE_DIR, 'SST-2/dev.tsv')
const srcRuns = join(tmp, 'runs')
let runId = ''
let bundle = ''
const RO = join(tmp, 'ro')
const FULL = join(tmp, 'full')
const RORUN = join(tmp, 'rorun')
let haveRo = false
let haveFull = false
let haveRoRun = false
let roRunId = ''
let sysDenied = false

beforeAll(() => {
  makeBaseModel(model, 2)
  const store = new RunStore(srcRuns)
  runId = makeCompletedRun(store, model, 'sst2').run.id
  bundle = join(tmp, 'run.zip')
  exportBundle(store, runId, bundle)
  haveRo = mountTmpfs(RO, 'ro,size=1m')
  haveFull = mountTmpfs(FULL, 'size=256k')
  if (haveFull) fill(FULL)
  haveRoRun = mountTmpfs(RORUN, 'size=8m')
  if (haveRoRun) {
    // a stopped run on a disk that then became read-only: resume must say so before it starts
    const s = new RunStore(join(RORUN, 'runs'))
    const r = s.create({ task: 'sst2', method: 'random', config: {}, summary: { task: 'sst2', method: 'random', model, seed: 0 } })
    r.finish('cancelled', {}, 'test')
    roRunId = r.id
    haveRoRun = spawnSync('mount', ['-o', 'remount,ro', RORUN]).status === 0
  }
  try {
    closeSync(openSync('/sys/ird-probe', 'wx'))
  } catch (e) {
    sysDenied = (e as NodeJS.ErrnoException).code === 'EACCES'
  }
  if (!haveRo || !haveFull) console.warn('fs-errors: not root or mount(8) refused: the read-only and full-disk cases on real mounts are skipped (IRD_FS_FAULT cases still run)')
})

afterAll(() => {
  for (const m of mounts.reverse()) spawnSync('umount', ['-l', m])
  rmSync(tmp, { recursive: true, force: true })
})

/** main() in this process, with stdout/stderr captured. */
async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true))
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true))
  // main() installs its Ctrl-C handler on every call: drop those again, as a process that exits would
  const sigint = new Set(process.listeners('SIGINT'))
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]))
  Object.assign(process.env, env)
  try {
    const code = await main(args)
    return { code, out, err }
  } finally {
    o.mockRestore()
    e.mockRestore()
    for (const l of process.listeners('SIGINT')) if (!sigint.has(l)) process.off('SIGINT', l)
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
}

/** One line on stderr naming `path` and matching `cause`; exit 1; no work started; `dir` unchanged. */
async function refusedBeforeWork(args: string[], path: string, cause: RegExp, dir?: string, env: Record<string, string> = {}): Promise<string> {
  const before = dir ? snapshot(dir) : []
  const r = await cli(args, env)
  expect(r.code, r.err).toBe(1)
  expect(r.err).not.toMatch(/internal error|Please report|\n\s+at /)
  expect(r.err.trim().split('\n'), r.err).toHaveLength(1)
  expect(r.err).toContain(path)
  expect(r.err).toMatch(cause)
  // the backend starts only after the checks: no "backend: …" line means no work was done
  expect(r.err).not.toContain('backend:')
  if (dir) expect(snapshot(dir), 'the destination changed').toEqual(before)
  return r.err
}

const READ_ONLY = /read-only \(EROFS\); choose a folder on a writable disk/
const FULL_DISK = /disk is full \(ENOSPC\); free some space or choose another disk/
const NOT_DIR = /is a file, not a folder \(ENOTDIR\)/

/** Every CLI command that writes, with its output at `dest` (a folder that should receive it). */
function writers(dest: string): Array<[string, () => string[], string]> {
  return [
    ['run', () => ['run', '--model', model, '--task', 'sst2', '--data', data, '--method', 'random', '--epochs', '1', '--out', join(dest, 'runs')], join(dest, 'runs')],
    ['mask', () => ['mask', '--model', model, '--task', 'sst2', '--data', data, '--method', 'random', '--out', join(dest, 'mask')], dest],
    ['init-model', () => ['init-model', '--out', join(dest, 'new-model'), '--vocab', VOCAB_FILE, '--layers', '1', '--hidden', '16'], dest],
    ['predict', () => ['predict', '--model', model, '--task', 'sst2', '--data', data, '--out', join(dest, 'p.jsonl')], dest],
    ['compare', () => ['compare', '--runs', srcRuns, '--out', join(dest, 't.md')], dest],
    ['bench', () => ['bench', '--models', 'tiny', '--seconds', '0.1', '--out', join(dest, 'bench.json')], dest],
    ['export mask', () => ['export', 'mask', '--runs', srcRuns, '--run', runId, '--out', join(dest, 'm.safetensors')], dest],
    ['export delta', () => ['export', 'delta', '--runs', srcRuns, '--run', runId, '--out', join(dest, 'd.safetensors')], dest],
    ['export samples', () => ['export', 'samples', '--runs', srcRuns, '--run', runId, '--out', join(dest, 's.json')], dest],
    ['export table', () => ['export', 'table', '--runs', srcRuns, '--out', join(dest, 't.csv')], dest],
    ['export bundle', () => ['export', 'bundle', '--runs', srcRuns, '--run', runId, '--out', join(dest, 'b.zip')], dest],
    ['export hf-model', () => ['export', 'hf-model', '--runs', srcRuns, '--run', runId, '--out', join(dest, 'hf')], dest],
    ['export glue-submission', () => ['export', 'glue-submission', '--runs', srcRuns, '--run', runId, '--test', data, '--out', join(dest, 'sub.zip')], dest],
    ['import-run', () => ['import-run', bundle, '--runs', join(dest, 'runs')], join(dest, 'runs')],
    ['demo', () => ['demo', '--runs', join(dest, 'runs')], join(dest, 'runs')],
    ['serve', () => ['serve', '--data', join(dest, 'data'), '--runs', join(dest, 'runs')], dest]
  ]
}

describe('a read-only file system (EROFS)', () => {
  for (const [name, args, path] of writers(RO)) {
    it(`${name}: refused before any work, naming the path`, async (ctx) => {
      if (!haveRo) return ctx.skip()
      await refusedBeforeWork(args(), path.startsWith(join(RO, 'runs')) ? join(RO, 'runs') : RO, READ_ONLY, RO)
    })
  }
  it('mask names EROFS, not the ENOENT of Node\'s recursive mkdir, also two folders deep', async (ctx) => {
    if (!haveRo) return ctx.skip()
    const err = await refusedBeforeWork(['mask', '--model', model, '--task', 'sst2', '--data', data, '--out', join(RO, 'a', 'b', 'mask')], join(RO, 'a'), READ_ONLY, RO)
    expect(err).not.toContain('ENOENT')
  })
  it('resume of a run whose folder is now read-only', async (ctx) => {
    if (!haveRoRun) return ctx.skip()
    await refusedBeforeWork(['resume', roRunId, '--runs', join(RORUN, 'runs')], join(RORUN, 'runs', roRunId), READ_ONLY, RORUN)
  })
  it('study: the study folder and the report', async (ctx) => {
    if (!haveRo) return ctx.skip()
    const cfg = join(tmp, 'study-ro.json')
    writeFileSync(cfg, JSON.stringify({ name: 'ro', model: 'demo', glueDir: GLUE_DIR, outDir: join(RO, 'study'), grids: [{ tasks: ['rte'], methods: ['random'], keepRatios: [0.005], sampleBudgets: [16], seeds: [0] }] }))
    await refusedBeforeWork(['study', '--config', cfg], join(RO, 'study'), READ_ONLY, RO)
    const cfg2 = join(tmp, 'study-report.json')
    writeFileSync(cfg2, JSON.stringify({ name: 'ro2', model: 'demo', glueDir: GLUE_DIR, outDir: join(tmp, 'study2'), grids: [{ tasks: ['rte'], methods: ['random'], keepRatios: [0.005], sampleBudgets: [16], seeds: [0] }] }))
    await refusedBeforeWork(['study', '--config', cfg2, '--report', join(RO, 'r.md')], RO, READ_ONLY, RO)
  })
})

describe('a full disk (ENOSPC)', () => {
  for (const [name, args, path] of writers(FULL)) {
    it(`${name}: refused before any work, naming the path`, async (ctx) => {
      if (!haveFull) return ctx.skip()
      await refusedBeforeWork(args(), path.startsWith(join(FULL, 'runs')) ? join(FULL, 'runs') : FULL, /ENOSPC/, FULL)
    })
  }
  it('the same, injected where no disk can be filled (IRD_FS_FAULT=ENOSPC; no root needed)', async () => {
    const dest = join(tmp, 'inject')
    mkdirSync(dest)
    for (const [, args] of writers(dest).filter(([n]) => ['run', 'mask', 'predict', 'export bundle', 'import-run'].includes(n))) {
      await refusedBeforeWork(args(), dest, FULL_DISK, dest, { IRD_FS_FAULT: `ENOSPC@${dest}` })
    }
  })
  it('a run that cannot be created on a full disk leaves no half-made folder', (ctx) => {
    if (!haveFull) return ctx.skip()
    // RunStore.create itself (the CLI's check stops the run before; this is the second line of defence)
    const root = join(FULL, 'runs')
    expect(existsSync(root)).toBe(false)
    const sub = join(tmp, 'full2')
    if (!mountTmpfs(sub, 'size=64k')) return ctx.skip()
    mkdirSync(join(sub, 'runs'))
    fill(sub)
    const store = new RunStore(join(sub, 'runs'))
    expect(() => store.create({ task: 'sst2', method: 'random', config: { big: 'x'.repeat(10_000) }, summary: { task: 'sst2', method: 'random', model, seed: 0 } })).toThrow(
      /cannot (start the run in|create the run folder) .*disk is full \(ENOSPC\)/
    )
    expect(readdirSync(join(sub, 'runs'))).toEqual([])
    expect(store.list()).toEqual([])
  })
})

describe('paths through a regular file (ENOTDIR), folders and files in the wrong place', () => {
  const file = join(model, 'config.json') // a regular file used as if it were a folder
  for (const [name, args] of writers(file)) {
    it(`${name}: a path under a regular file`, async () => {
      await refusedBeforeWork(args(), file, NOT_DIR, model)
    })
  }
  it('a folder where the output file should go (EISDIR)', async () => {
    const dir = join(tmp, 'a-folder')
    mkdirSync(dir, { recursive: true })
    await refusedBeforeWork(['predict', '--model', model, '--task', 'sst2', '--data', data, '--out', dir], dir, /is a folder, not a file \(EISDIR\); give a file name/, dir)
    await refusedBeforeWork(['compare', '--runs', srcRuns, '--out', dir], dir, /EISDIR/, dir)
    await refusedBeforeWork(['export', 'samples', '--runs', srcRuns, '--run', runId, '--out', dir], dir, /EISDIR/, dir)
    await refusedBeforeWork(['bench', '--models', 'tiny', '--out', dir], dir, /EISDIR/, dir)
  })
  it('a file where the output folder should go (EEXIST)', async () => {
    const f = join(tmp, 'a-file')
    writeFileSync(f, 'x')
    await refusedBeforeWork(['mask', '--model', model, '--task', 'sst2', '--data', data, '--out', f], f, /a file with that name exists \(EEXIST\)/)
    await refusedBeforeWork(['init-model', '--out', f, '--vocab', VOCAB_FILE], f, /EEXIST/)
    await refusedBeforeWork(['export', 'hf-model', '--runs', srcRuns, '--run', runId, '--out', f], f, /EEXIST/)
  })
  it('a missing folder with --within is named, not created (ENOENT)', async () => {
    const within = join(tmp, 'within')
    mkdirSync(within)
    await refusedBeforeWork(['export', 'mask', '--runs', srcRuns, '--run', runId, '--within', within, '--out', 'no/such/m.safetensors'], join(within, 'no/such'), /does not exist \(ENOENT\); create the folder first/, within)
  })
})

describe('permission (EACCES, EPERM)', () => {
  it('a folder the user may not write to (/sys refuses even root)', async (ctx) => {
    if (!sysDenied) return ctx.skip()
    await refusedBeforeWork(['predict', '--model', model, '--task', 'sst2', '--data', data, '--out', '/sys/ird-p.jsonl'], '/sys', /permission denied \(EACCES\); choose a folder you may write to/)
    await refusedBeforeWork(['export', 'delta', '--runs', srcRuns, '--run', runId, '--out', '/sys/ird-d.safetensors'], '/sys', /EACCES/)
  })
  it('EPERM and EDQUOT (injected)', async () => {
    const dest = join(tmp, 'perm')
    mkdirSync(dest)
    await refusedBeforeWork(['mask', '--model', model, '--task', 'sst2', '--data', data, '--out', join(dest, 'm')], dest, /not permitted there \(EPERM\)/, dest, { IRD_FS_FAULT: `EPERM@${dest}` })
    await refusedBeforeWork(['init-model', '--out', join(dest, 'm'), '--vocab', VOCAB_FILE], dest, /quota is exhausted \(EDQUOT\)/, dest, { IRD_FS_FAULT: `EDQUOT@${dest}` })
  })
})

describe('ensureDir reports the real cause', () => {
  it('EROFS on a read-only mount, where mkdirSync(recursive) says ENOENT', (ctx) => {
    if (!haveRo) return ctx.skip()
    let err: unknown
    try {
      ensureDir(join(RO, 'x', 'y'))
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(FsWriteError)
    expect((err as FsWriteError).code).toBe('EROFS')
    expect((err as Error).message).toContain(join(RO, 'x'))
  })
})

describe('the real ird-studio process', () => {
  const bin = (args: string[]) => spawnSync(process.execPath, [join(REPO_ROOT, 'bin/ird-studio.js'), ...args], { cwd: tmp, encoding: 'utf8', timeout: 120_000 })
  it('mask on a read-only folder and run on a full disk: exit 1, one line, nothing left behind', (ctx) => {
    if (!haveRo || !haveFull) return ctx.skip()
    const m = bin(['mask', '--model', model, '--task', 'sst2', '--data', data, '--out', join(RO, 'mask')])
    expect(m.status).toBe(1)
    expect(m.stderr.trim().split('\n')).toHaveLength(1)
    expect(m.stderr).toMatch(READ_ONLY)
    const r = bin(['run', '--model', model, '--task', 'sst2', '--data', data, '--method', 'random', '--out', join(FULL, 'runs')])
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(FULL_DISK)
    expect(r.stderr).not.toMatch(/internal error/)
    expect(readdirSync(FULL)).toEqual(['filler'])
  })
})

/**
 * What a new user hits first (issue 12), through the real command line on fresh folders: data files read
 * by their header whatever they are called, one runs folder shared with `serve` and the app, exported
 * checkpoints that name their classes, exports that create their folders.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runsDirOf } from '../../src/cli/command'
import { defaultRunsDir } from '../../src/engine/host/paths'
import { RunStore } from '../../src/engine/runs/store'
import { GLUE_DIR, REPO_ROOT } from '../helpers/shared-data'
import { writeTinyModel } from '../helpers/tiny-model'

const tmp = mkdtempSync(join(tmpdir(), 'ird-newuser-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
const BIN = join(REPO_ROOT, 'bin/ird-studio.js')
const model = join(tmp, 'model')
const appData = join(tmp, 'app-data')
const SST = (f: string) => join(GLUE_DIR, 'SST-2', f)

/** The CLI in `tmp` with a fresh app data folder and no IRD_RUNS_DIR, as on a new machine. */
function cli(args: string[], env: Record<string, string | undefined> = {}) {
  const e: Record<string, string | undefined> = { ...process.env, IRD_DATA_DIR: appData, IRD_RUNS_DIR: undefined, ...env }
  for (const k of Object.keys(e)) if (e[k] === undefined) delete e[k]
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: tmp, encoding: 'utf8', timeout: 120_000, env: e as NodeJS.ProcessEnv })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

function head(src: string, lines: number, dest: string): string {
  writeFileSync(dest, readFileSync(src, 'utf8').split('\n').slice(0, lines).join('\n') + '\n')
  return dest
}

beforeAll(() => {
  writeTinyModel(model, { vocabDir: join(tmp, 'vocab') })
  // SST-2 rows under names that say nothing of their split
  head(SST('dev.tsv'), 41, join(tmp, 'data.tsv'))
  head(SST('dev.tsv'), 41, join(tmp, 'val.tsv'))
  head(SST('train.tsv'), 81, join(tmp, 'sst2_sample.tsv'))
  head(SST('test.tsv'), 21, join(tmp, 'mine-unlabelled.tsv'))
  // a CSV as a user writes it, with a comma inside a quoted text and other column names
  writeFileSync(join(tmp, 'mine.csv'), 'review,sentiment\n"good, very good",1\nawful,0\n"not bad, really",1\n')
})

describe('data files are read by their header, not their name', () => {
  it('predict reads a labelled SST-2 file called data.tsv or val.tsv', () => {
    for (const f of ['data.tsv', 'val.tsv']) {
      const r = cli(['predict', '--model', model, '--task', 'sst2', '--data', f, '--backend', 'wasm'])
      expect(r.code, r.err).toBe(0)
      const rows = r.out.trim().split('\n').map((l) => JSON.parse(l))
      expect(rows).toHaveLength(40)
      // labelled: the label comes along
      expect(rows.every((x) => x.label === 0 || x.label === 1)).toBe(true)
    }
  })

  it('eval scores a file called data.tsv; a GLUE test file still predicts, and eval says it needs labels', () => {
    const e = cli(['eval', '--model', model, '--task', 'sst2', '--dev', 'data.tsv', '--backend', 'wasm'])
    expect(e.code, e.err).toBe(0)
    expect(e.out).toMatch(/SST-2 dev \(40 examples\): accuracy \d+\.\d\d/)
    const p = cli(['predict', '--model', model, '--task', 'sst2', '--data', 'mine-unlabelled.tsv', '--backend', 'wasm'])
    expect(p.code, p.err).toBe(0)
    const rows = p.out.trim().split('\n').map((l) => JSON.parse(l))
    expect(rows.map((x) => x.id)).toEqual(Array.from({ length: 20 }, (_, i) => String(i)))
    expect(rows.some((x) => 'label' in x)).toBe(false)
    const u = cli(['eval', '--model', model, '--task', 'sst2', '--dev', 'mine-unlabelled.tsv', '--backend', 'wasm'])
    expect(u.code).toBe(1)
    expect(u.err).toContain('mine-unlabelled.tsv has no label column')
    expect(u.err).toContain('eval needs labels')
    expect(u.err).toContain('--columns')
    expect(u.err).not.toContain('internal error')
  })

  it('mask and run take a labelled file whatever its name', () => {
    const m = cli(['mask', '--model', model, '--task', 'sst2', '--data', 'sst2_sample.tsv', '--method', 'fish', '--samples', '16', '--keep-ratio', '0.01', '--out', 'm1', '--backend', 'wasm'])
    expect(m.code, m.err).toBe(0)
    expect(existsSync(join(tmp, 'm1', 'mask.safetensors'))).toBe(true)
    const r = cli(['run', '--model', model, '--task', 'sst2', '--data', 'sst2_sample.tsv', '--dev', 'val.tsv', '--method', 'fish', '--samples', '16', '--keep-ratio', '0.01', '--epochs', '1', '--max-length', '32', '--runs', 'runs-data', '--backend', 'wasm'])
    expect(r.code, r.err).toBe(0)
    expect(r.out).toMatch(/completed: SST-2 dev accuracy/)
  })

  it('a header with other column names is mapped with --columns; without it the error names the file, the columns and the flag', () => {
    const bad = cli(['eval', '--model', model, '--task', 'sst2', '--dev', 'mine.csv', '--columns', 'textA=text', '--backend', 'wasm'])
    expect(bad.code).toBe(1)
    expect(bad.err).toContain('mine.csv is not usable as SST-2 dev data')
    expect(bad.err).toContain('Columns found (header, delimiter ","): "review", "sentiment"')
    expect(bad.err).toContain('Check --columns')
    const ok = cli(['eval', '--model', model, '--task', 'sst2', '--dev', 'mine.csv', '--columns', 'textA=review,label=sentiment', '--backend', 'wasm'])
    expect(ok.code, ok.err).toBe(0)
    expect(ok.out).toMatch(/SST-2 dev \(3 examples\)/)
    const usage = cli(['eval', '--model', model, '--task', 'sst2', '--dev', 'mine.csv', '--columns', 'label=sentiment'])
    expect(usage.code).toBe(2)
    expect(usage.err).toContain('textA (the text column) is required')
  })
})

describe('one runs folder for the CLI, serve and the app', () => {
  it('run with no flag writes where list, serve and the app look', () => {
    const r = cli(['run', '--model', model, '--task', 'sst2', '--data', 'sst2_sample.tsv', '--method', 'bitfit', '--epochs', '1', '--max-train', '16', '--max-length', '32', '--backend', 'wasm'])
    expect(r.code, r.err).toBe(0)
    const appRuns = defaultRunsDir(appData, {})
    expect(appRuns).toBe(join(appData, 'runs'))
    // the folder `serve` (and so the app) uses when nothing is set: defaultRunsDir(its data folder)
    const [run] = new RunStore(appRuns).list()
    expect(run?.status).toBe('completed')
    expect(existsSync(join(tmp, 'runs'))).toBe(false)
    const list = cli(['list', '--json'])
    expect(list.code, list.err).toBe(0)
    expect(list.out).toContain(run.id)
    // help says where runs live; another folder does not show the run
    expect(cli(['--help']).out).toContain(`Runs live in ${appRuns}`)
    expect(cli(['list', '--json'], { IRD_RUNS_DIR: join(tmp, 'elsewhere') }).out).not.toContain(run.id)
    const both = cli(['run', '--runs', 'a', '--out', 'b', '--task', 'sst2'])
    expect(both.code).toBe(2)
    expect(both.err).toContain('name two runs folders')
  })

  it('--runs, then run\'s older --out, then $IRD_RUNS_DIR, then the app folder', () => {
    const env = { IRD_DATA_DIR: '/data/app' }
    expect(runsDirOf({}, { env })).toBe('/data/app/runs')
    expect(runsDirOf({}, { env: { ...env, IRD_RUNS_DIR: '/shared/runs' } })).toBe('/shared/runs')
    expect(runsDirOf({ runs: '/r' }, { env: { ...env, IRD_RUNS_DIR: '/shared/runs' } })).toBe('/r')
    expect(runsDirOf({ out: '/o' }, { env, outIsRunsAlias: true })).toBe('/o')
    // --out of other commands is their output file, not a runs folder
    expect(runsDirOf({ out: '/o' }, { env })).toBe('/data/app/runs')
    expect(runsDirOf({ runs: '/same', out: '/same' }, { env, outIsRunsAlias: true })).toBe('/same')
    expect(() => runsDirOf({ runs: '/a', out: '/b' }, { env, outIsRunsAlias: true })).toThrow(/name two runs folders/)
  })
})

describe('export', () => {
  let runId = ''
  const runs = join(tmp, 'export-runs')
  beforeAll(() => {
    const r = cli(['run', '--model', model, '--task', 'sst2', '--data', 'sst2_sample.tsv', '--method', 'bitfit', '--epochs', '1', '--max-train', '16', '--max-length', '32', '--runs', runs, '--backend', 'wasm'])
    expect(r.code, r.err).toBe(0)
    runId = new RunStore(runs).list()[0].id
  })

  it('hf-model names SST-2\'s classes negative/positive', () => {
    const r = cli(['export', 'hf-model', '--run', runId, '--runs', runs, '--out', 'hf-sst2'])
    expect(r.code, r.err).toBe(0)
    const cfg = JSON.parse(readFileSync(join(tmp, 'hf-sst2', 'config.json'), 'utf8'))
    expect(cfg.id2label).toEqual({ 0: 'negative', 1: 'positive' })
    expect(cfg.label2id).toEqual({ negative: 0, positive: 1 })
  })

  it('creates missing parent folders, and still refuses a non-empty folder unless --force', () => {
    const r = cli(['export', 'mask', '--run', runId, '--runs', runs, '--out', 'new/deep/mask.safetensors'])
    expect(r.code, r.err).toBe(0)
    expect(existsSync(join(tmp, 'new/deep/mask.safetensors'))).toBe(true)
    const h = cli(['export', 'hf-model', '--run', runId, '--runs', runs, '--out', 'a/b/hf'])
    expect(h.code, h.err).toBe(0)
    expect(readdirSync(join(tmp, 'a/b/hf'))).toContain('config.json')
    const again = cli(['export', 'hf-model', '--run', runId, '--runs', runs, '--out', 'a/b/hf'])
    expect(again.code).toBe(1)
    expect(again.err).not.toContain('internal error')
    expect(cli(['export', 'hf-model', '--run', runId, '--runs', runs, '--out', 'a/b/hf', '--force']).code).toBe(0)
    // a failed export leaves no folder behind that it made
    const missing = cli(['export', 'mask', '--run', 'no-such-run', '--runs', runs, '--out', 'x/y/mask.safetensors'])
    expect(missing.code).toBe(1)
    expect(existsSync(join(tmp, 'x'))).toBe(false)
    // --within is checked before any folder is made
    const outside = cli(['export', 'mask', '--run', runId, '--runs', runs, '--within', join(tmp, 'box'), '--out', '../outside/m.safetensors'])
    expect(outside.code).toBe(1)
    expect(existsSync(join(tmp, 'outside'))).toBe(false)
  })
})

/** `ird-studio run` / `mask` as a user runs them: runs on disk, bad input, Ctrl-C, kill -9. */
import { spawn, spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { saveModelFolder } from '../../src/engine/io/model-folder'
import { loadMask } from '../../src/engine/mask'
import { makeConfig } from '../../src/engine/model/config'
import { initState } from '../../src/engine/model/init'
import { RunStore } from '../../src/engine/runs/store'
import { BertTokenizer } from '../../src/engine/tokenizer'
import { GLUE_DIR, REPO_ROOT, VOCAB_FILE } from '../helpers/shared-data'

const tmp = mkdtempSync(join(tmpdir(), 'ird-run-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
const BIN = join(REPO_ROOT, 'bin/ird-studio.js')
const cfg = makeConfig({ hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 128 })
const model = join(tmp, 'model')
const SST = (f: string) => join(GLUE_DIR, 'SST-2', f)
const quick = ['--model', model, '--task', 'sst2', '--data', SST('train.tsv'), '--dev', SST('dev.tsv'), '--max-train', '96', '--samples', '32', '--epochs', '1', '--keep-ratio', '0.01', '--backend', 'wasm']

/** quick, with one flag's value replaced (or the flag dropped when value is null). */
function withFlag(flag: string, value: string | null, args = quick): string[] {
  const out: string[] = []
  for (let i = 0; i < args.length; i++) {
    if (args[i] === flag) {
      if (value !== null) out.push(flag, value)
      i++
    } else out.push(args[i])
  }
  return out
}

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: tmp, encoding: 'utf8', timeout: 120_000 })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

beforeAll(() => {
  const vocab = join(tmp, 'vocab')
  mkdirSync(vocab)
  copyFileSync(VOCAB_FILE, join(vocab, 'vocab.txt'))
  BertTokenizer.fromFolder(vocab).saveToFolder(vocab)
  saveModelFolder(model, { config: cfg, state: initState(cfg, 3), vocab })
})

describe('ird-studio run', () => {
  it('runs IRD end to end and records a complete run that compare shows', () => {
    const r = cli('run', ...quick, '--method', 'ird', '--out', 'runs-a')
    expect(r.code, r.err).toBe(0)
    expect(r.out).toMatch(/completed: SST-2 dev accuracy \d+\.\d\d/)
    expect(r.err).toMatch(/IRD round 1: samples \d+ → \d+/)
    const [run] = new RunStore(join(tmp, 'runs-a')).list()
    expect(run.status).toBe('completed')
    const dir = join(tmp, 'runs-a', run.id)
    for (const f of ['config.json', 'status.json', 'summary.json', 'events.jsonl', 'results.json', 'fisher-stats.json', 'predictions-dev.jsonl', 'delta.safetensors', 'mask/mask.safetensors', 'mask/mask.json']) {
      expect(existsSync(join(dir, f)), f).toBe(true)
    }
    expect(readFileSync(join(dir, 'predictions-dev.jsonl'), 'utf8').trim().split('\n')).toHaveLength(872)
    const mask = loadMask(join(dir, 'mask'), cfg)
    expect(mask.sidecar.method).toBe('ird')
    // the saved run's weights (base + delta) reproduce its final dev score
    const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'))
    const e = cli('eval', '--runs', 'runs-a', '--run', run.id.slice(0, 22))
    expect(e.code, e.err).toBe(0)
    expect(e.out).toContain(`accuracy ${(100 * results.final.metrics.accuracy).toFixed(2)}`)
    expect(cli('eval', '--runs', 'runs-a', '--run', 'zzz').err).toContain('no run "zzz"')
    const c = cli('compare', '--runs', 'runs-a', '--format', 'csv')
    expect(c.code).toBe(0)
    expect(c.out.split('\n')[1]).toContain(',sst2,ird,')
  })

  it('bad input gives one message, exit 1, and no run folder', () => {
    const small = cli('run', ...withFlag('--keep-ratio', '0.00001'), '--method', 'fish', '--out', 'runs-b')
    expect(small.code).toBe(1)
    expect(small.err).toContain('is too small for this model')
    const many = cli('run', ...withFlag('--samples', '5000'), '--method', 'fish', '--out', 'runs-b')
    expect(many.code).toBe(1)
    expect(many.err).toContain('--samples 5000 is larger than the training data (96 examples')
    const labels = cli('run', ...withFlag('--task', 'stsb'), '--out', 'runs-b')
    expect(labels.code).toBe(1)
    expect(labels.err).toContain('looks like SST-2 data')
    expect(existsSync(join(tmp, 'runs-b'))).toBe(false)
  })

  it('mask writes mask.safetensors + mask.json and never overwrites', () => {
    const r = cli('mask', ...withFlag('--epochs', null, withFlag('--dev', null)), '--method', 'fish', '--out', 'm1')
    expect(r.code, r.err).toBe(0)
    expect(readdirSync(join(tmp, 'm1')).sort()).toEqual(['mask.json', 'mask.safetensors'])
    // the saved mask trains a run as is
    const reuse = cli('run', ...quick, '--mask', 'm1', '--out', 'runs-m')
    expect(reuse.code, reuse.err).toBe(0)
    expect(reuse.err).toContain('mask reused from')
    const [rm] = new RunStore(join(tmp, 'runs-m')).list()
    expect(rm.method).toBe('fish')
    expect(rm.trainable).toBe(loadMask(join(tmp, 'm1'), cfg).sidecar.budgets.maskCount)
    const again = cli('mask', '--model', model, '--task', 'sst2', '--data', SST('train.tsv'), '--method', 'bitfit', '--out', 'm1')
    expect(again.code).toBe(1)
    expect(again.err).toContain('exists and is not empty')
  })

  it('Ctrl-C cancels at a batch boundary (exit 130, run kept as cancelled); kill -9 leaves it readable as interrupted', async () => {
    for (const [signal, expected] of [['SIGINT', 'cancelled'], ['SIGKILL', 'failed']] as const) {
      const out = `runs-${signal}`
      const child = spawn(process.execPath, [BIN, 'run', ...withFlag('--epochs', '50'), '--method', 'full', '--json', '--out', out], { cwd: tmp })
      let buf = ''
      const code = await new Promise<number | null>((resolveExit) => {
        child.stdout.on('data', (d: Buffer) => {
          buf += d.toString()
          if (buf.includes('"phase":"train"') && !child.killed) child.kill(signal)
        })
        child.on('exit', (c) => resolveExit(c))
      })
      const [run] = new RunStore(join(tmp, out)).list()
      expect(run.status, `${signal}: ${run.reason}`).toBe(expected)
      if (signal === 'SIGINT') expect(code).toBe(130)
      else expect(run.reason).toMatch(/interrupted/)
      expect(existsSync(join(tmp, out, run.id, 'results.json'))).toBe(false)
    }
  })
})

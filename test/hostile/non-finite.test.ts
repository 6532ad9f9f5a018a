/**
 * Non-finite numbers (issue 18, class 6): a model whose weights hold NaN or ±Inf is refused when it loads,
 * naming the tensor (predict used to write "logits":[null,null] and exit 0, eval to fail with "internal
 * error: MetricInputError"); finite weights that overflow give a clear refusal in eval and predict; a
 * training whose loss diverges stops at that step and is recorded as failed with the reason; a Fisher pass
 * whose values overflow stops at the batch that did it, naming its samples. Tiny models, wasm, no workers
 * unless the worker path itself is under test.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { main } from '../../src/cli/main'
import { initBackend } from '../../src/engine/backend'
import { loadModelFolder, ModelFolderError } from '../../src/engine/io/model-folder'
import { readSafetensors, writeSafetensors, type TensorInput } from '../../src/engine/io/safetensors'
import { BertForSequenceClassification } from '../../src/engine/model/bert'
import { RunStore } from '../../src/engine/runs/store'
import { encodeExamples, fisherPass } from '../../src/engine/selection/fisher-pass'
import { BertTokenizer } from '../../src/engine/tokenizer'
import { firstNonFinite, NonFiniteError } from '../../src/engine/util/non-finite'
import { makeBaseModel } from '../engine/export/helpers'
import { GLUE_DIR } from '../helpers/shared-data'

const tmp = mkdtempSync(join(tmpdir(), 'ird-nonfinite-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
const data = join(GLUE_DIR, 'SST-2/dev.tsv')
const WASM = ['--backend', 'wasm', '--max-length', '64']

/** A tiny model folder with some tensors changed. */
function modelWith(name: string, change: (tensors: Map<string, TensorInput>) => void): string {
  const dir = join(tmp, name)
  makeBaseModel(dir, 2)
  const file = join(dir, 'model.safetensors')
  const { tensors } = readSafetensors(file)
  const m = new Map<string, TensorInput>(tensors)
  change(m)
  writeSafetensors(file, m, { format: 'pt' })
  return dir
}
function set(t: Map<string, TensorInput>, name: string, f: (i: number, n: number) => number): void {
  const w = t.get(name)!
  t.set(name, { dtype: 'F32', shape: w.shape, data: new Float32Array(w.data.length).map((_, i) => f(i, w.data.length)) })
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true))
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true))
  // main() installs its Ctrl-C handler on every call: drop those again, as a process that exits would
  const sigint = new Set(process.listeners('SIGINT'))
  try {
    return { code: await main(args), out, err }
  } finally {
    o.mockRestore()
    e.mockRestore()
    for (const l of process.listeners('SIGINT')) if (!sigint.has(l)) process.off('SIGINT', l)
  }
}
const lastLine = (s: string) => s.trim().split('\n').pop() ?? ''

let nanModel = ''
let infModel = ''
let overflowModel = ''
let hugeHead = ''
let goodModel = ''
const NAN_TENSOR = 'bert.encoder.layer.1.attention.self.query.weight'

beforeAll(async () => {
  await initBackend({ force: 'wasm' })
  goodModel = join(tmp, 'good')
  makeBaseModel(goodModel, 2)
  nanModel = modelWith('nan', (t) => {
    const w = t.get(NAN_TENSOR)!
    const d = Float32Array.from(w.data as Float32Array)
    d[37] = NaN
    d[40] = NaN
    t.set(NAN_TENSOR, { dtype: 'F32', shape: w.shape, data: d })
  })
  infModel = modelWith('inf', (t) => set(t, 'bert.embeddings.LayerNorm.bias', (i) => (i === 3 ? -Infinity : 0)))
  // finite weights whose logits overflow float32: a saturated pooler (tanh(1000) = 1) into a 3e38 classifier
  overflowModel = modelWith('overflow', (t) => {
    set(t, 'bert.pooler.dense.weight', () => 0)
    set(t, 'bert.pooler.dense.bias', () => 1000)
    set(t, 'classifier.weight', () => 3e38)
  })
  // finite logits (about ±1e30) whose per-sample gradients overflow when squared: the Fisher pass's case
  hugeHead = modelWith('huge-head', (t) => set(t, 'classifier.weight', (i, n) => (i < n / 2 ? 1e30 : -1e30)))
})

describe('weights that hold NaN or Inf are refused at load, naming the tensor', () => {
  it('loadModelFolder: NaN and -Inf, with the file, the tensor, the count and the first index', () => {
    expect(() => loadModelFolder(nanModel, { numLabels: 2 })).toThrow(ModelFolderError)
    expect(() => loadModelFolder(nanModel)).toThrow(new RegExp(`model\\.safetensors: tensor "${NAN_TENSOR.replace(/\./g, '\\.')}" holds 2 non-finite value\\(s\\) of 256 \\(the first, NaN, at flat index 37\\)`))
    expect(() => loadModelFolder(infModel)).toThrow(/tensor "bert\.embeddings\.LayerNorm\.bias" holds 1 non-finite value\(s\) of 16 \(the first, -Inf, at flat index 3\)/)
    const e = (() => {
      try {
        loadModelFolder(nanModel)
      } catch (err) {
        return err as ModelFolderError
      }
    })()!
    expect(e.tensor).toBe(NAN_TENSOR)
    expect(loadModelFolder(goodModel).state.size).toBeGreaterThan(0)
  })

  for (const cmd of ['predict', 'eval', 'run', 'mask'] as const) {
    it(`${cmd} refuses the model with one line naming the tensor; nothing written`, async () => {
      const out = join(tmp, `out-${cmd}`)
      const args = {
        predict: ['predict', '--model', nanModel, '--task', 'sst2', '--data', data, '--out', join(out, 'p.jsonl')],
        eval: ['eval', '--model', nanModel, '--task', 'sst2', '--dev', data],
        run: ['run', '--model', nanModel, '--task', 'sst2', '--data', data, '--method', 'random', '--workers', '0', '--out', join(out, 'runs')],
        mask: ['mask', '--model', nanModel, '--task', 'sst2', '--data', data, '--method', 'fish', '--workers', '0', '--out', join(out, 'mask')]
      }[cmd]
      const r = await cli([...args, ...WASM])
      expect(r.code, r.err).toBe(1)
      expect(r.err).not.toMatch(/internal error|MetricInputError|\n\s+at /)
      expect(lastLine(r.err)).toContain(`tensor "${NAN_TENSOR}" holds 2 non-finite value(s)`)
      expect(r.out).not.toContain('null')
      if (cmd === 'predict') expect(existsSync(join(out, 'p.jsonl'))).toBe(false)
      if (cmd === 'run') expect(new RunStore(join(out, 'runs')).list()).toEqual([])
      if (cmd === 'mask') expect(existsSync(join(out, 'mask', 'mask.safetensors'))).toBe(false)
    })
  }
})

describe('finite weights whose logits overflow', () => {
  it('eval and predict refuse, naming the row; never "internal error: MetricInputError"', async () => {
    const ev = await cli(['eval', '--model', overflowModel, '--task', 'sst2', '--dev', data, ...WASM])
    expect(ev.code, ev.err).toBe(1)
    expect(ev.err).not.toMatch(/internal error|MetricInputError/)
    expect(lastLine(ev.err)).toMatch(/gives non-finite logits \([+-]Inf|NaN\) for .*SST-2\/dev\.tsv:2 \(id "0"\)/)
    const out = join(tmp, 'overflow-p.jsonl')
    const pr = await cli(['predict', '--model', overflowModel, '--task', 'sst2', '--data', data, '--out', out, ...WASM])
    expect(pr.code, pr.err).toBe(1)
    expect(lastLine(pr.err)).toMatch(/non-finite logits/)
    expect(existsSync(out)).toBe(false)
  })
})

describe('a training that diverges stops at that step', () => {
  it('a huge learning rate: the run fails at the step, with the reason recorded and listed', async () => {
    const runs = join(tmp, 'diverge-runs')
    const r = await cli(['run', '--model', goodModel, '--task', 'sst2', '--data', data, '--method', 'random', '--max-train', '64', '--batch-size', '8', '--epochs', '2', '--lr', '1e30', '--max-grad-norm', '0', '--workers', '0', '--out', runs, ...WASM])
    expect(r.code, r.err).toBe(1)
    expect(r.err).not.toMatch(/internal error|\n\s+at /)
    const m = /failed: training diverged at step (\d+) of 16 \(epoch 1\): the (loss|gradient norm) is (NaN|-?Infinity) at learning rate [\d.e+]+; start again with a lower --lr \(now 1e\+30\)/.exec(lastLine(r.err))
    expect(m, r.err).not.toBeNull()
    const step = Number(m![1])
    expect(step).toBeGreaterThanOrEqual(1)
    expect(step).toBeLessThan(16)
    const [listed] = new RunStore(runs).list()
    expect(listed.status).toBe('failed')
    expect(listed.reason).toContain(`training diverged at step ${step} of 16`)
    // stopped there: no training event after the divergence, no results
    const run = new RunStore(runs).open(listed.id)
    expect(existsSync(run.path('results.json'))).toBe(false)
    const steps = run.events().filter((e) => e.type === 'step')
    expect(steps.length).toBeGreaterThan(0)
    expect(steps.every((e) => Number.isFinite(e.loss as number) && (e.step as number) < step)).toBe(true)
  })
})

describe('a Fisher pass whose values overflow stops at the batch', () => {
  it('in this thread: names the tensor, the batch and its samples', async () => {
    const l = loadModelFolder(hugeHead, { numLabels: 2 })
    const model = BertForSequenceClassification.fromState(l.config, l.state)
    try {
      const tok = BertTokenizer.fromFolder(hugeHead)
      const ex = ['a good movie', 'bad', 'fine', 'dull and long'].map((textA, i) => ({ id: `s${i}`, textA, label: i % 2, line: i + 2 }))
      const samples = encodeExamples(tok, ex as never, { maxLength: 64 })
      await expect(fisherPass(model, samples, [0, 1, 2, 3], { batchSize: 2, scores: true })).rejects.toThrow(
        /(Fisher scores became non-finite|the Fisher information of "[\w.]+" became non-finite) .*in batch 1 of 2 of the fisher pass \(samples "s\d", "s\d"\)/
      )
      // the worker path: scores named by batch, F by tensor
      await expect(fisherPass(model, samples, [0, 1, 2, 3], { batchSize: 2, scores: true, workers: 1 })).rejects.toThrow(NonFiniteError)
    } finally {
      model.dispose()
    }
  })

  it('mask exits 1 with the message; run is recorded as failed with it', async () => {
    const mk = await cli(['mask', '--model', hugeHead, '--task', 'sst2', '--data', data, '--method', 'fish', '--samples', '32', '--workers', '0', '--out', join(tmp, 'hh-mask'), ...WASM])
    expect(mk.code, mk.err).toBe(1)
    expect(mk.err).not.toMatch(/internal error|\n\s+at /)
    expect(lastLine(mk.err)).toMatch(/became non-finite .* in batch 1 of 2 of the fisher pass \(samples /)
    expect(existsSync(join(tmp, 'hh-mask'))).toBe(false)
    const runs = join(tmp, 'hh-runs')
    const r = await cli(['run', '--model', hugeHead, '--task', 'sst2', '--data', data, '--method', 'ird', '--samples', '32', '--workers', '0', '--out', runs, ...WASM])
    expect(r.code, r.err).toBe(1)
    const [listed] = new RunStore(runs).list()
    expect(listed).toMatchObject({ status: 'failed' })
    expect(listed.reason).toMatch(/became non-finite .* in batch \d+ of \d+ of the .* pass \(samples /)
    expect(readdirSync(runs)).toHaveLength(1)
  })
})

describe('firstNonFinite', () => {
  it('finds NaN, +Inf and -Inf, and nothing in finite data (including ±max float and -0)', () => {
    expect(firstNonFinite(new Float32Array([0, -0, 3.4e38, -3.4e38, 1e-45]))).toBe(-1)
    expect(firstNonFinite(new Float32Array([1, NaN]))).toBe(1)
    expect(firstNonFinite(new Float32Array([Infinity]))).toBe(0)
    expect(firstNonFinite([1, 2, -Infinity])).toBe(2)
  })
})

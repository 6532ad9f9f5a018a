/**
 * The masked trainer on tiny models: frozen entries stay bit-identical (sparse masks with embedding rows,
 * LayerNorm and bias entries; 'all'; a mask that stops back-propagation early), the sparse and dense
 * update paths agree bit for bit, a tiny model learns a separable task, cancellation leaves the last
 * completed step's weights, no tensor leaks across steps, events are JSON and throttled.
 */
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { initBackend } from '../../../src/engine/backend'
import { BertForSequenceClassification } from '../../../src/engine/model/bert'
import { BertTokenizer } from '../../../src/engine/tokenizer'
import { train, type TrainEvent, type TrainOptions } from '../../../src/engine/train/trainer'
import type { TrainMask } from '../../../src/engine/train/masked-params'
import { bitsEqual, randomMask, separable, tinyConfig, tinyState } from './tiny'

beforeAll(async () => {
  await initBackend({ force: 'wasm' })
})

const cfg = tinyConfig()
const base = tinyState(cfg, 7)
// −0 in every tensor (entries 1 and last): a write-back by `W + 0` would turn the frozen ones into +0
for (const t of base.values()) {
  t.data[1] = -0
  t.data[t.data.length - 1] = -0
}
const trainData = separable(48, 1)
const devData = separable(24, 2)

function fresh() {
  return BertForSequenceClassification.fromState(cfg, base)
}

/** Flat indices that changed between base and model, per tensor (bitwise comparison). */
function changed(model: BertForSequenceClassification): Map<string, number[]> {
  const out = new Map<string, number[]>()
  for (const [name, t] of model.toState()) {
    const a = new Uint32Array(t.data.buffer)
    const b = new Uint32Array(base.get(name)!.data.buffer)
    const idx: number[] = []
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) idx.push(i)
    if (idx.length) out.set(name, idx)
  }
  return out
}

function expectOnlyMaskedChanged(model: BertForSequenceClassification, mask: TrainMask) {
  for (const [name, idx] of changed(model)) {
    const m = mask.get(name)
    expect(m, `${name} changed but is frozen`).toBeDefined()
    if (m === 'all') continue
    const allowed = new Set(m)
    for (const i of idx) expect(allowed.has(i), `${name}[${i}] changed but is not in the mask`).toBe(true)
  }
}

const quick: Partial<TrainOptions> = { epochs: 1, batchSize: 12, lr: 1e-2, seed: 3, maxLength: 16 }

describe('only masked entries change', () => {
  for (const [path, denseThreshold] of [['sparse', 2], ['dense', 0]] as const) {
    it(`random sparse mask (embedding rows, LayerNorm, biases, head all), ${path} update path: frozen entries bit-identical, masked ones move`, async () => {
      const model = fresh()
      const mask = randomMask(cfg, base, 11)
      const spy = vi.spyOn(model, 'backward')
      const r = await train({ ...quick, model, mask, train: trainData, denseThreshold } as TrainOptions)
      expect(r.status).toBe('completed')
      expect(r.steps).toBe(4)
      expectOnlyMaskedChanged(model, mask)
      // tensors with no trainable entry get no weight gradient
      const want = spy.mock.calls[0][2]!.wantGrad!
      for (const s of model.spec) expect(want(s.name), s.name).toBe(mask.has(s.name))
      // the masked entries moved (every masked word-embedding row of a token in the data, the LayerNorm/bias picks, the head)
      const ch = changed(model)
      const H = cfg.hidden_size
      const wordChanged = new Set(ch.get('bert.embeddings.word_embeddings.weight'))
      for (const row of [5, 6, 11]) for (let h = 0; h < H; h++) expect(wordChanged.has(row * H + h), `word row ${row}`).toBe(true)
      for (let h = 0; h < H; h++) expect(wordChanged.has(3 * H + h), 'row of a token not in the data: zero gradient, Adam step 0').toBe(false)
      for (const name of ['bert.embeddings.LayerNorm.weight', 'bert.encoder.layer.0.attention.output.dense.bias', 'bert.encoder.layer.1.output.LayerNorm.bias']) {
        expect(ch.get(name)?.length, name).toBe((mask.get(name) as Int32Array).length)
      }
      expect(ch.get('classifier.weight')?.length).toBe(2 * H)
      expect(r.trainableEntries).toBeGreaterThan(0)
      expect(r.optimizerStateBytes).toBe(8 * r.trainableEntries)
      model.dispose()
    })
  }

  it("'all' for every tensor: everything may change, nothing breaks", async () => {
    const model = fresh()
    const mask: TrainMask = new Map(model.paramNames().map((n) => [n, 'all' as const]))
    const r = await train({ ...quick, model, mask, train: trainData } as TrainOptions)
    expect(r.trainableEntries).toBe([...base.values()].reduce((s, t) => s + t.data.length, 0))
    expect(changed(model).get('bert.encoder.layer.0.attention.self.query.weight')?.length).toBeGreaterThan(100)
    model.dispose()
  })

  it('a mask on the top layer and head only: lower layers untouched, back-propagation stops early', async () => {
    const model = fresh()
    const mask: TrainMask = new Map<string, Int32Array | 'all'>([
      ['bert.encoder.layer.1.output.dense.weight', Int32Array.from([0, 5, 17, 300, 511])],
      ['bert.encoder.layer.1.output.LayerNorm.weight', 'all'],
      ['classifier.weight', 'all'],
      ['classifier.bias', 'all']
    ])
    await train({ ...quick, model, mask, train: trainData } as TrainOptions)
    expectOnlyMaskedChanged(model, mask)
    expect(changed(model).get('bert.encoder.layer.1.output.dense.weight')).toEqual([0, 5, 17, 300, 511])
    model.dispose()
  })

  it('sparse (gather/scatter on device) and dense (host mirror) update paths give bit-identical models', async () => {
    const mask = randomMask(cfg, base, 5, 0.3)
    const states = []
    for (const denseThreshold of [0, 2]) {
      const model = fresh()
      // the same gradients on both paths (full gradients, gathered), so only the update mechanics differ
      await train({ ...quick, epochs: 2, model, mask, train: trainData, denseThreshold, sparseGradients: false } as TrainOptions)
      states.push(model.toState())
      model.dispose()
    }
    for (const [name, t] of states[0]) expect(bitsEqual(t.data, states[1].get(name)!.data), name).toBe(true)
  })

  it('masked-entry gradients (no dense dW) train the same model as full gradients, to float rounding', async () => {
    const mask = randomMask(cfg, base, 5, 0.3)
    const states = []
    for (const sparseGradients of [true, false]) {
      const model = fresh()
      await train({ ...quick, epochs: 2, model, mask, train: trainData, denseThreshold: 2, sparseGradients } as TrainOptions)
      states.push(model.toState())
      model.dispose()
    }
    for (const [name, t] of states[0]) {
      const other = states[1].get(name)!.data
      let num = 0
      let den = 0
      for (let i = 0; i < t.data.length; i++) {
        num = Math.max(num, Math.abs(t.data[i] - other[i]))
        den = Math.max(den, Math.abs(other[i]))
      }
      expect(num, name).toBeLessThanOrEqual(1e-5 * Math.max(den, 1e-3))
    }
  })

  it('rejects masks that do not fit the model', async () => {
    const model = fresh()
    const run = (mask: TrainMask) => train({ ...quick, model, mask, train: trainData } as TrainOptions)
    await expect(run(new Map([['nope.weight', 'all']]))).rejects.toThrow(/not a parameter/)
    await expect(run(new Map([['classifier.bias', Int32Array.from([1, 0])]]))).rejects.toThrow(/sorted and distinct/)
    await expect(run(new Map([['classifier.bias', Int32Array.from([0, 2])]]))).rejects.toThrow(/out of range/)
    await expect(run(new Map([['classifier.bias', new Int32Array(0)]]))).rejects.toThrow(/no trainable entry/)
    await expect(train({ ...quick, model, mask: new Map([['classifier.bias', 'all']]), train: trainData, dev: [{ inputIds: [1, 2], label: 0.5, id: 'd0' }] } as TrainOptions)).rejects.toThrow(/dev example d0 has label 0.5/)
    await expect(train({ ...quick, model, mask: new Map([['classifier.bias', 'all']]), train: [{ inputIds: [1, 2], label: 7 }] } as TrainOptions)).rejects.toThrow(/label 7/)
    expect(changed(model).size).toBe(0)
    model.dispose()
  })
})

describe('training', () => {
  it('a tiny model learns a separable task (dense mask): loss falls, dev accuracy high; reproducible from the seed', async () => {
    const model = fresh()
    const mask: TrainMask = new Map(model.paramNames().map((n) => [n, 'all' as const]))
    const events: TrainEvent[] = []
    const opts = { model, mask, train: separable(96, 1), dev: devData, task: 'sst2', epochs: 8, batchSize: 8, lr: 1e-2, seed: 1, maxLength: 16, onEvent: (e: TrainEvent) => events.push(e) } as TrainOptions
    const r = await train(opts)
    expect(r.status).toBe('completed')
    expect(r.steps).toBe(8 * 12)
    expect(r.epochs.length).toBe(8)
    const first = r.epochs[0].trainLoss
    const last = r.epochs[7].trainLoss
    console.log(`tiny task: train loss ${first.toFixed(3)} → ${last.toFixed(3)}, dev accuracy ${r.epochs.map((e) => e.eval!.metrics.accuracy).join(' ')}`)
    expect(last).toBeLessThan(first * 0.5)
    expect(r.final!.metrics.accuracy).toBeGreaterThanOrEqual(0.9)
    expect(r.best!.main).toBeGreaterThanOrEqual(r.final!.main!)
    expect(r.final!.predictions).toHaveLength(devData.length)
    expect(r.devIds).toEqual(devData.map((e) => e.id))
    // events: JSON-serialisable, phases in order
    for (const e of events) expect(JSON.parse(JSON.stringify(e))).toEqual(e)
    const phases = events.filter((e) => e.type === 'phase' || e.type === 'done').map((e) => `${e.phase}${e.epoch}`)
    expect(phases).toEqual([...Array.from({ length: 8 }, (_, i) => [`train${i + 1}`, `eval${i + 1}`]).flat(), 'done8'])
    const evals = events.filter((e) => e.type === 'eval')
    expect(evals.map((e) => e.main)).toEqual(r.epochs.map((e) => e.eval!.main))
    const steps = events.filter((e) => e.type === 'step')
    expect(steps.at(-1)!.step).toBe(96)
    expect(steps.every((e) => e.lr! >= 0 && e.gradNorm! > 0 && Number.isFinite(e.loss!) && e.etaMs >= 0)).toBe(true)
    // same seed → same weights
    const again = fresh()
    await train({ ...opts, model: again, onEvent: undefined })
    for (const [name, t] of model.toState()) expect(bitsEqual(t.data, again.param(name).dataSync() as Float32Array), name).toBe(true)
    model.dispose()
    again.dispose()
  })

  it('step events are throttled (at most one per interval, plus the end of each epoch)', async () => {
    const model = fresh()
    const events: TrainEvent[] = []
    const t0 = performance.now()
    await train({ ...quick, epochs: 3, batchSize: 4, model, mask: new Map([['classifier.weight', 'all']]), train: trainData, eventIntervalMs: 1000, onEvent: (e) => events.push(e) } as TrainOptions)
    const ms = performance.now() - t0
    const steps = events.filter((e) => e.type === 'step').length
    expect(steps).toBeLessThanOrEqual(3 + Math.ceil(ms / 1000))
    expect(steps).toBeGreaterThanOrEqual(3)
    model.dispose()
  })

  it('restoreBest puts the best epoch back; tokenizer input; regression head with STS-B metrics', async () => {
    const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'good', 'bad', 'movie', 'film', 'the', 'a', 'very']
    const tok = BertTokenizer.fromVocab(vocab.join('\n'), { doLowerCase: true })
    const words = ['movie', 'film', 'the', 'a', 'very']
    const mk = (n: number, seed: number) =>
      Array.from({ length: n }, (_, i) => {
        const label = (i * 7 + seed) % 2
        const w = Array.from({ length: 2 + ((i + seed) % 4) }, (_, j) => words[(i + j + seed) % words.length])
        w.splice(i % w.length, 0, label ? 'good' : 'bad')
        return { id: `r${i}`, line: i + 1, textA: w.join(' '), label: label * 4.5 }
      })
    const rcfg = tinyConfig({ vocab_size: vocab.length, num_labels: 1 })
    const model = BertForSequenceClassification.fromState(rcfg, tinyState(rcfg, 3))
    const mask: TrainMask = new Map(model.paramNames().map((n) => [n, 'all' as const]))
    const r = await train({ model, mask, train: { tokenizer: tok, examples: mk(32, 1) }, dev: { tokenizer: tok, examples: mk(16, 2) }, task: 'stsb', epochs: 3, batchSize: 8, lr: 1e-3, maxLength: 12, restoreBest: true, bucketByLength: true })
    expect(r.status).toBe('completed')
    expect(r.final!.metrics.pearson).toBeDefined()
    expect(r.final!.metrics.spearman).toBeDefined()
    expect(r.restoredBest).toBe(true)
    // the model now scores the dev set as the best epoch did
    const devEnc = mk(16, 2).map((e) => tok.encode(e.textA, undefined, { maxLength: 12 }))
    const batch = tok.pad(devEnc)
    const out = model.logits({ ...batch })
    const preds = Array.from(out.dataSync())
    out.dispose()
    preds.forEach((p, i) => expect(p).toBeCloseTo(r.best!.predictions[i], 4))
    await expect(train({ model, mask, train: trainData, task: 'sst2', epochs: 1, maxLength: 12 })).rejects.toThrow(/needs a head with 2 outputs/)
    model.dispose()
  })
})

describe('cancellation and memory', () => {
  it('cancelling mid-epoch returns "cancelled" with the weights of the last completed step', async () => {
    const model = fresh()
    const mask = randomMask(cfg, base, 2)
    let checks = 0
    let afterStep3: Map<string, Float32Array> | null = null
    const r = await train({
      ...quick,
      epochs: 2,
      batchSize: 6,
      model,
      mask,
      train: trainData,
      dev: devData,
      task: 'sst2',
      eventIntervalMs: 0,
      onEvent: (e) => {
        if (e.type === 'step' && e.step === 3) afterStep3 = new Map([...model.toState()].map(([k, v]) => [k, v.data]))
      },
      shouldCancel: () => ++checks > 3
    } as TrainOptions)
    expect(r.status).toBe('cancelled')
    expect(r.steps).toBe(3)
    expect(r.epochsCompleted).toBe(0)
    expect(r.final).toBeNull()
    for (const [name, data] of afterStep3!) expect(bitsEqual(model.param(name).dataSync() as Float32Array, data), name).toBe(true)
    expectOnlyMaskedChanged(model, mask)
    model.dispose()
  })

  it('cancelling during evaluation keeps the trained weights and reports the finished epoch', async () => {
    const model = fresh()
    let phase = ''
    const events: TrainEvent[] = []
    const r = await train({
      ...quick,
      epochs: 2,
      model,
      mask: new Map([['classifier.weight', 'all']]),
      train: trainData,
      dev: devData,
      onEvent: (e) => {
        phase = e.phase
        events.push(e)
      },
      shouldCancel: () => phase === 'eval'
    } as TrainOptions)
    expect(r.status).toBe('cancelled')
    expect(r.steps).toBe(4)
    expect(r.epochs[0].eval).toBeNull()
    expect(events.at(-1)).toMatchObject({ type: 'done', status: 'cancelled' })
    model.dispose()
  })

  it('tf.memory().numTensors does not grow across steps, and training frees what it made', async () => {
    for (const mask of [randomMask(cfg, base, 9), new Map([...base.keys()].map((n) => [n, 'all' as const])) as TrainMask]) {
      const model = fresh()
      model.logits({ inputIds: new Int32Array([1, 5, 2]), tokenTypeIds: new Int32Array(3), attentionMask: new Int32Array([1, 1, 1]), batchSize: 1, seqLen: 3 }).dispose()
      const before = tf.memory().numTensors
      const counts: number[] = []
      await train({ ...quick, epochs: 2, batchSize: 6, model, mask, train: trainData, dev: devData, eventIntervalMs: 0, onEvent: (e) => e.type === 'step' && counts.push(tf.memory().numTensors) } as TrainOptions)
      expect(counts.length).toBe(16)
      expect(new Set(counts.slice(1)).size, `tensor counts per step: ${counts.join(' ')}`).toBe(1)
      expect(tf.memory().numTensors).toBeLessThanOrEqual(before)
      model.dispose()
    }
  })
})

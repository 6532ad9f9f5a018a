/**
 * The engine on webgpu (over lavapipe in CI) against the PyTorch reference fixtures and the wasm backend:
 * logits equal transformers' (test/fixtures/parity, as test/engine/model/parity.test.ts), every parameter
 * gradient too, and per-sample Fisher (label/expect, scores with a range) equals wasm's to float tolerance,
 * with no tensor left behind by a Fisher pass.
 */
import * as tf from '@tensorflow/tfjs'
import { describe, expect, it, vi } from 'vitest'
import { describeBackend } from '../../../src/engine/backend'
import { FisherAccumulator, type FisherBatchOptions } from '../../../src/engine/fisher/accumulator'
import { BertForSequenceClassification, disposeCache } from '../../../src/engine/model/bert'
import { loadParityFixture, PARITY_CASES } from '../../helpers/parity-fixtures'
import { HAVE_WEBGPU, use, WEBGPU_INFO } from './webgpu'

function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0
  let den = 0
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]))
    den = Math.max(den, Math.abs(b[i]))
  }
  return den === 0 ? num : num / den
}

async function fisherOn(backend: 'webgpu' | 'wasm', name: string, opts: FisherBatchOptions) {
  await use(backend)
  const fx = loadParityFixture(name)
  const model = BertForSequenceClassification.fromState(fx.config, fx.state)
  model.logits(fx.batch).dispose() // fills the model's transposed-weight cache
  const acc = new FisherAccumulator(model)
  try {
    const before = tf.memory()
    const scores = await acc.addBatch(fx.batch, fx.labels, opts)
    const F = await acc.result()
    acc.dispose()
    const after = tf.memory()
    return { scores, F, leaked: after.numTensors - before.numTensors, leakedBytes: after.numBytes - before.numBytes }
  } finally {
    model.dispose()
  }
}

describe.skipIf(!HAVE_WEBGPU)('webgpu backend', () => {
  it('names the adapter and its limits in the backend line, and says when it is a software rasteriser', () => {
    const line = describeBackend(WEBGPU_INFO!)
    expect(line).toMatch(/^webgpu \(adapter .+; maxBufferSize \d+ MiB, maxStorageBufferBindingSize \d+ MiB\)/)
    expect(WEBGPU_INFO!.adapter!.maxStorageBufferBindingSize).toBeGreaterThan(0)
    if (WEBGPU_INFO!.adapter!.software) expect(line).toMatch(/software rasteriser, used because it was forced/)
    console.log(`backend: ${line}`)
  })

  for (const name of PARITY_CASES) {
    it(`${name}: logits and every parameter gradient equal the PyTorch reference`, async () => {
      await use('webgpu')
      const fx = loadParityFixture(name)
      const before = tf.memory().numTensors
      const model = BertForSequenceClassification.fromState(fx.config, fx.state)
      const { logits, cache } = model.forward(fx.batch)
      const ref = fx.tensors.get('logits')!.data
      const got = await logits.data()
      let maxAbs = 0
      for (let i = 0; i < ref.length; i++) maxAbs = Math.max(maxAbs, Math.abs(got[i] - ref[i]))
      expect(maxAbs).toBeLessThanOrEqual(1e-4)
      const { loss, dLogits } = model.lossAndGrad(logits, fx.labels)
      expect(Math.abs((await loss.data())[0] - fx.loss)).toBeLessThan(1e-4 * Math.max(1, Math.abs(fx.loss)))
      const grads = model.backward(cache, dLogits)
      let globalMax = 0
      for (const [k, v] of fx.tensors) if (k.startsWith('grad.')) for (const x of v.data) globalMax = Math.max(globalMax, Math.abs(x))
      let worst = 0
      for (const [pname, g] of grads) {
        const r = fx.tensors.get(`grad.${pname}`)!.data
        const gv = await g.data()
        if (pname.endsWith('attention.self.key.bias')) {
          // mathematically zero (see parity.test.ts): float32 noise only
          for (const x of gv) expect(Math.abs(x)).toBeLessThan(1e-6 * globalMax)
          continue
        }
        const rel = maxRel(gv, r)
        worst = Math.max(worst, rel)
        expect(rel, pname).toBeLessThan(1e-3)
      }
      console.log(`${name} on webgpu: logits max |Δ| ${maxAbs.toExponential(2)}, worst gradient ${worst.toExponential(2)} relative`)
      tf.dispose([logits, loss, dLogits, ...grads.values()])
      disposeCache(cache)
      model.dispose()
      expect(tf.memory().numTensors).toBe(before)
    })
  }

  const fisherCases: Array<[string, FisherBatchOptions]> = [
    ['cls3-gelu-pairs', { variant: 'label', power: 'square', scores: true }],
    ['cls3-gelu-pairs', { variant: 'expect', power: 'absolute', scores: true, sampleWeights: new Float32Array([1, 0, 1, 1]) }],
    ['reg-gelunew-single', { variant: 'label', power: 'square', scores: true }]
  ]
  for (const [name, opts] of fisherCases) {
    it(`per-sample Fisher on ${name} (${opts.variant}, ${opts.power}${opts.sampleWeights ? ', weighted' : ''}) equals wasm's; a pass leaks no tensor`, async () => {
      const fx = loadParityFixture(name)
      const o = { ...opts }
      if (o.sampleWeights && o.sampleWeights.length !== fx.batch.batchSize) o.sampleWeights = Float32Array.from({ length: fx.batch.batchSize }, (_, i) => opts.sampleWeights![i % opts.sampleWeights!.length])
      // a score range over half of one tensor: per-sample scores count only its entries there
      const q = 'bert.encoder.layer.0.attention.self.query.weight'
      const n = fx.state.get(q)!.data.length
      o.scoreRange = new Map([[q, Uint8Array.from({ length: n }, (_, i) => (i % 2 ? 1 : 0))]])
      const ref = await fisherOn('wasm', name, o)
      const got = await fisherOn('webgpu', name, o)
      expect(got.leaked).toBe(0)
      expect(got.leakedBytes).toBe(0)
      expect([...got.F.keys()].sort()).toEqual([...ref.F.keys()].sort())
      let worst = 0
      let fMax = 0
      for (const f of ref.F.values()) for (const x of f) fMax = Math.max(fMax, x)
      for (const [p, f] of ref.F) {
        if (p.endsWith('attention.self.key.bias')) {
          // its gradient is mathematically zero (softmax ignores a shift shared by all keys): both are noise
          for (const x of got.F.get(p)!) expect(x).toBeLessThan(1e-6 * fMax)
          continue
        }
        const rel = maxRel(got.F.get(p)!, f)
        worst = Math.max(worst, rel)
        expect(rel, p).toBeLessThan(1e-4)
      }
      expect(maxRel(got.scores, ref.scores)).toBeLessThan(1e-4)
      console.log(`Fisher ${name} webgpu vs wasm: worst ${worst.toExponential(2)} relative per tensor`)
    })
  }

  it('splits a Fisher batch into chunks that fit the buffer limit, with the same result', async () => {
    const opts: FisherBatchOptions = { variant: 'label', power: 'square', scores: true }
    const whole = await fisherOn('webgpu', 'cls3-gelu-pairs', opts)
    const fx = loadParityFixture('cls3-gelu-pairs')
    const largest = Math.max(...[...fx.state].filter(([n]) => !n.startsWith('classifier.') && !n.endsWith('embeddings.weight')).map(([, t]) => t.data.length))
    process.env.IRD_WEBGPU_BUFFER_LIMIT = String(4 * largest) // one sample's largest gradient per chunk
    let chunked
    let calls = 0
    const spy = vi.spyOn(FisherAccumulator.prototype, 'addBatch')
    try {
      chunked = await fisherOn('webgpu', 'cls3-gelu-pairs', opts)
    } finally {
      delete process.env.IRD_WEBGPU_BUFFER_LIMIT
      calls = spy.mock.calls.length
      spy.mockRestore()
    }
    expect(calls, 'one call for the batch, one per chunk').toBeGreaterThan(2)
    expect(chunked.leaked).toBe(0)
    for (const [p, f] of whole.F) expect(maxRel(chunked.F.get(p)!, f), p).toBeLessThan(1e-5)
    expect(maxRel(chunked.scores, whole.scores)).toBeLessThan(1e-5)
  })
})

/**
 * The memory estimate: calibrated against what a real training step and a real Fisher batch hold on wasm
 * (tf.profile peak bytes), grows with batch, length and workers, and warns with advice when a run will
 * not fit the machine or a wasm instance; out-of-memory errors become a failure reason with advice.
 */
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../src/engine/backend'
import { describeEstimate, estimateMemory, failureReason, isOutOfMemory, type MemoryEstimateInput } from '../../../src/engine/jobs/memory'
import { BertForSequenceClassification } from '../../../src/engine/model/bert'
import { makeConfig } from '../../../src/engine/model/config'
import { initState } from '../../../src/engine/model/init'
import { fisherPass, type EncodedSample } from '../../../src/engine/selection'
import { train } from '../../../src/engine/train'
import { Rng } from '../../../src/engine/util/rng'

beforeAll(async () => {
  await initBackend({ force: 'wasm' })
})

const base = makeConfig({ vocab_size: 30522, hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072, max_position_embeddings: 512 })
const input = (over: Partial<MemoryEstimateInput> = {}): MemoryEstimateInput => ({ config: base, method: 'ird', keepRatio: 0.005, batchSize: 16, maxLength: 128, fisherBatchSize: 16, backend: 'wasm', ...over })
const GiB = 1024 ** 3

describe('memory estimate', () => {
  it('is within -40 %/+20 % of the backend memory a real training step and a real Fisher batch hold (wasm)', async () => {
    const cfg = makeConfig({ vocab_size: 1000, hidden_size: 128, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 512, max_position_embeddings: 128 })
    const B = 16
    const T = 64
    const model = BertForSequenceClassification.fromState(cfg, initState(cfg, 1))
    try {
      const data = Array.from({ length: B }, (_, i) => ({ id: String(i), inputIds: Int32Array.from({ length: T }, (_, t) => 5 + ((t * 7 + i) % 900)), label: i % 2 }))
      const before = tf.memory().numBytes
      // a FISH-like mask: 0.5 % of every tensor, the head whole
      const rng = new Rng(2)
      const mask = new Map<string, Int32Array | 'all'>()
      for (const s of model.spec) {
        const n = s.shape.reduce((a, b) => a * b, 1)
        mask.set(s.name, s.name.startsWith('classifier.') ? 'all' : Int32Array.from(rng.sample(n, Math.max(1, Math.floor(n * 0.005)))).sort())
      }
      const tr = await tf.profile(async () => {
        await train({ model, mask, train: data, epochs: 1, batchSize: B, maxLength: T })
      })
      const before2 = tf.memory().numBytes
      const fi = await tf.profile(async () => {
        await fisherPass(model, data as EncodedSample[], data.map((_, i) => i), { batchSize: B })
      })
      const est = estimateMemory({ config: cfg, method: 'fish', keepRatio: 0.005, batchSize: B, maxLength: T, fisherBatchSize: B })
      const trainRatio = (tr.peakBytes - before) / est.parts.activations
      const fisherRatio = (fi.peakBytes - before2) / (est.parts.fisher - 2 * est.parameters * 4)
      expect(trainRatio, `training step: measured ${tr.peakBytes - before}, estimated ${est.parts.activations}`).toBeGreaterThan(0.6)
      expect(trainRatio).toBeLessThan(1.2)
      expect(fisherRatio, `Fisher batch: measured ${fi.peakBytes - before2}`).toBeGreaterThan(0.6)
      expect(fisherRatio).toBeLessThan(1.2)
    } finally {
      model.dispose()
    }
  })

  it('grows with batch size, sequence length and workers; sparse methods need less optimizer state than full', () => {
    const a = estimateMemory(input())
    expect(estimateMemory(input({ batchSize: 32 })).peakBytes).toBeGreaterThan(a.peakBytes)
    expect(estimateMemory(input({ maxLength: 256 })).peakBytes).toBeGreaterThan(a.peakBytes)
    expect(estimateMemory(input({ workers: 4 })).peakBytes).toBeGreaterThan(a.peakBytes)
    const full = estimateMemory(input({ method: 'full' }))
    expect(full.parts.optimizer).toBeGreaterThan(50 * a.parts.optimizer)
    expect(full.trainable).toBe(full.parameters)
    // BERT-base: 109.5 M parameters; IRD at 0.5 %, batch 16 × 128 tokens: ~8.7 GiB to train, ~11.6 GiB for a
    // Fisher batch of 16 (the calibration above, scaled) — beyond one wasm instance
    expect(a.parameters).toBe(109483778)
    expect(a.trainingBytes / GiB).toBeGreaterThan(6)
    expect(a.trainingBytes / GiB).toBeLessThan(12)
    expect(a.verdict).toBe('over')
    expect(a.warning).toMatch(/above the wasm backend's 4 GiB limit/)
    expect(estimateMemory(input({ backend: 'tensorflow' })).verdict).toBe('unknown')
    expect(describeEstimate(a)).toMatch(/^memory estimate: \d+\.\d GiB peak \(training .*; activations .*, optimizer .*\)$/)
  })

  it('warns when the run does not fit the free memory, or a wasm instance, with advice', () => {
    const native = { backend: 'tensorflow' }
    const roomy = estimateMemory(input(native), { totalBytes: 64 * GiB, freeBytes: 60 * GiB })
    expect(roomy.verdict).toBe('ok')
    expect(roomy.warning).toBeNull()
    expect(roomy.advice).toEqual([])
    const small = estimateMemory(input(native), { totalBytes: 2 * GiB, freeBytes: 1 * GiB })
    expect(small.verdict).toBe('over')
    expect(small.warning).toMatch(/needs about .* more than the 1\.0 GiB free of 2\.0 GiB/)
    expect(small.advice.join('; ')).toMatch(/--batch-size \(now 16, try 8\).*--max-length \(now 128, try 64\)/)
    const tight = estimateMemory(input(native), { totalBytes: 8 * GiB, freeBytes: small.peakBytes / 0.9 })
    expect(tight.verdict).toBe('tight')
    // a mini model fits a wasm instance at batch 16 × 128, not at batch 64 × 512
    const mini = { ...base, hidden_size: 256, num_hidden_layers: 4, num_attention_heads: 4, intermediate_size: 1024 }
    expect(estimateMemory(input({ config: mini }), { totalBytes: 256 * GiB, freeBytes: 200 * GiB }).verdict).toBe('ok')
    const huge = estimateMemory(input({ config: mini, batchSize: 64, maxLength: 512 }), { totalBytes: 256 * GiB, freeBytes: 200 * GiB })
    expect(huge.verdict).toBe('over')
    expect(huge.warning).toMatch(/4 GiB limit/)
    expect(estimateMemory(input({ config: mini, batchSize: 64, maxLength: 512, backend: 'tensorflow' }), { totalBytes: 256 * GiB, freeBytes: 200 * GiB }).verdict).toBe('ok')
  })

  it('turns out-of-memory errors into a failure reason with advice; other errors pass through', () => {
    const settings = { batchSize: 16, maxLength: 128, method: 'ird' as const, keepRatio: 0.005, fisherBatchSize: 16, workers: 2 }
    for (const e of [new RangeError('Array buffer allocation failed'), new Error('Aborted(OOM)'), new RangeError('WebAssembly.Memory.grow(): Maximum memory size exceeded'), new Error('Cannot allocate memory')]) {
      expect(isOutOfMemory(e), e.message).toBe(true)
      expect(failureReason(e, settings)).toMatch(/^out of memory \(.*\)\. Start a new run with --batch-size 8 \(now 16\), --max-length 64 \(now 128\), a smaller --keep-ratio \(now 0\.005\), --fisher-batch-size 8, fewer --workers \(now 2\)/)
    }
    expect(isOutOfMemory(new Error('training example 3 has label 7'))).toBe(false)
    expect(failureReason(new Error('training example 3 has label 7'), settings)).toBe('training example 3 has label 7')
  })
})

/**
 * Model throughput benchmark: forward and forward+backward samples/s at a fixed sequence length on the
 * active backend (one engine thread), with peak memory. The PyTorch peer: side-by-side.ts.
 * Must not: assert anything (benchmarks measure; tests check).
 */
import * as tf from '@tensorflow/tfjs'
import { BertForSequenceClassification, disposeCache, type BertBatch } from '../model/bert'
import { initState } from '../model/init'
import { countParameters } from '../model/config'
import { Rng } from '../util/rng'
import { FisherAccumulator } from '../fisher/accumulator'
import { BENCH_MODELS, benchConfig, type BenchModel } from './configs'

export interface ModelBenchResult {
  model: BenchModel['name']
  layers: number
  hidden: number
  parameters: number
  seqLen: number
  forward: { batchSize: number; samplesPerSec: number; iterations: number }
  forwardBackward: { batchSize: number; samplesPerSec: number; iterations: number }
  /** Per-sample empirical Fisher (label, square) over every non-head parameter, one batched backward per batch. */
  fisher: { batchSize: number; samplesPerSec: number; iterations: number }
  peakTensorBytes: number
  peakRssBytes: number
}

export function randomBatch(batchSize: number, seqLen: number, vocab: number, seed: number, padded = false): BertBatch {
  const rng = new Rng(seed)
  const n = batchSize * seqLen
  const inputIds = new Int32Array(n)
  const tokenTypeIds = new Int32Array(n)
  const attentionMask = new Int32Array(n)
  for (let b = 0; b < batchSize; b++) {
    const len = padded ? 8 + rng.int(seqLen - 7) : seqLen
    for (let t = 0; t < seqLen; t++) {
      const i = b * seqLen + t
      if (t < len) {
        inputIds[i] = t === 0 ? 101 : t === len - 1 ? 102 : 1000 + rng.int(vocab - 1000)
        attentionMask[i] = 1
        tokenTypeIds[i] = t > len / 2 ? 1 : 0
      }
    }
  }
  return { inputIds, tokenTypeIds, attentionMask, batchSize, seqLen }
}

/** Run `step` until both minIters and minSeconds are reached (after one warm-up call). */
export async function timeIt(step: () => unknown, minIters = 3, minSeconds = 4, onSample?: () => void): Promise<{ perCallMs: number; iterations: number }> {
  await step()
  onSample?.()
  let iterations = 0
  const t0 = performance.now()
  while (iterations < minIters || performance.now() - t0 < minSeconds * 1000) {
    await step()
    onSample?.()
    iterations++
    await new Promise((r) => setImmediate(r))
  }
  return { perCallMs: (performance.now() - t0) / iterations, iterations }
}

export async function benchModel(
  m: BenchModel,
  opts: { seqLen?: number; forwardBatch?: number; trainBatch?: number; minSeconds?: number; log?: (s: string) => void } = {}
): Promise<ModelBenchResult> {
  const seqLen = opts.seqLen ?? 128
  const fb = opts.forwardBatch ?? 32
  const tb = opts.trainBatch ?? 16
  const minSeconds = opts.minSeconds ?? 4
  const cfg = benchConfig(m)
  const model = BertForSequenceClassification.fromState(cfg, initState(cfg, 1))
  let peakTensorBytes = 0
  let peakRss = 0
  const sample = () => {
    peakTensorBytes = Math.max(peakTensorBytes, tf.memory().numBytes)
    peakRss = Math.max(peakRss, process.memoryUsage().rss)
  }
  try {
    const fwdBatch = randomBatch(fb, seqLen, cfg.vocab_size, 2)
    const fwd = await timeIt(
      async () => {
        const l = model.logits(fwdBatch)
        await l.data() // wait for the device (webgpu runs asynchronously)
        l.dispose()
      },
      3,
      minSeconds,
      sample
    )
    opts.log?.(`${m.name}: forward ${((fb * 1000) / fwd.perCallMs).toFixed(1)} samples/s`)
    const trBatch = randomBatch(tb, seqLen, cfg.vocab_size, 3)
    const labels = Array.from({ length: tb }, (_, i) => i % 2)
    const fb2 = await timeIt(
      async () => {
        const { logits, cache } = model.forward(trBatch)
        sample()
        const { loss, dLogits } = model.lossAndGrad(logits, labels)
        const grads = model.backward(cache, dLogits)
        sample()
        for (const g of grads.values()) await g.data() // force completion, as an optimiser would
        tf.dispose([logits, loss, dLogits, ...grads.values()])
        disposeCache(cache)
      },
      2,
      minSeconds
    )
    const fbPerSec = (tb * 1000) / fb2.perCallMs
    opts.log?.(`${m.name}: forward+backward ${fbPerSec.toFixed(1)} samples/s`)
    const acc = new FisherAccumulator(model)
    let fisher
    try {
      fisher = await timeIt(() => acc.addBatch(trBatch, labels), 2, minSeconds, sample)
    } finally {
      acc.dispose()
    }
    const fisherPerSec = (tb * 1000) / fisher.perCallMs
    opts.log?.(`${m.name}: Fisher ${fisherPerSec.toFixed(1)} samples/s`)
    return {
      model: m.name,
      layers: m.layers,
      hidden: m.hidden,
      parameters: countParameters(cfg),
      seqLen,
      forward: { batchSize: fb, samplesPerSec: (fb * 1000) / fwd.perCallMs, iterations: fwd.iterations },
      forwardBackward: { batchSize: tb, samplesPerSec: fbPerSec, iterations: fb2.iterations },
      fisher: { batchSize: tb, samplesPerSec: fisherPerSec, iterations: fisher.iterations },
      peakTensorBytes,
      peakRssBytes: peakRss
    }
  } finally {
    model.dispose()
  }
}

export function findBenchModels(names: string[]): BenchModel[] {
  return names.map((n) => {
    const m = BENCH_MODELS.find((b) => b.name === n)
    if (!m) throw new Error(`unknown benchmark model "${n}" (known: ${BENCH_MODELS.map((b) => b.name).join(', ')})`)
    return m
  })
}

/**
 * The WebGPU rows of the benchmark, beside the same rows on wasm in the same run: GFLOP/s of a square
 * matMul and of the model's forward+backward (all gradients), per-sample Fisher samples/s (one batched
 * backward per batch) and masked (0.5 %) fine-tuning samples/s with the sparse AdamW (the real trainer).
 * Every timed call ends with an awaited read, so asynchronous GPU work is inside the time.
 * Must not: assert anything (benchmarks measure; tests check), or change the perf helper's model bench.
 */
import * as tf from '@tensorflow/tfjs'
import { describeBackend, initBackend, type BackendInfo } from '../backend'
import { FisherAccumulator } from '../fisher/accumulator'
import { BertForSequenceClassification, disposeCache } from '../model/bert'
import { countParameters, numel, type BertConfig } from '../model/config'
import { initState } from '../model/init'
import { timeTrainSteps } from '../train/bench'
import type { TrainMask } from '../train/masked-params'
import { Rng } from '../util/rng'
import { benchConfig, type BenchModel } from './configs'
import { randomBatch, timeIt } from './model-bench'

export interface GpuBenchRow {
  backend: string
  model: string
  layers: number
  hidden: number
  seqLen: number
  matmul: { n: number; gflops: number }
  forwardBackward: { batchSize: number; samplesPerSec: number; gflops: number }
  fisher: { batchSize: number; samplesPerSec: number }
  train: { batchSize: number; samplesPerSec: number; keepRatio: number }
}

/** FLOPs of one sample's forward pass: 2 per weight and token, plus attention's QKᵀ and AV (4·T·H per token and layer). */
export function forwardFlops(cfg: BertConfig, T: number): number {
  const H = cfg.hidden_size
  const weights = cfg.num_hidden_layers * (4 * H * H + 2 * H * cfg.intermediate_size) + H * H // encoder + pooler
  return T * (2 * weights + 4 * cfg.num_hidden_layers * T * H)
}

async function matmulGflops(n: number, seconds: number): Promise<number> {
  const a = tf.randomNormal([n, n])
  const b = tf.randomNormal([n, n])
  try {
    const t = await timeIt(
      async () => {
        const c = tf.matMul(a, b)
        await c.data()
        c.dispose()
      },
      3,
      seconds
    )
    return (2 * n ** 3) / (t.perCallMs * 1e6)
  } finally {
    tf.dispose([a, b])
  }
}

/** A 0.5 % random mask of every encoder/embedding tensor, the head whole (as FISH's budget shapes it). */
function randomMask(model: BertForSequenceClassification, ratio: number, seed: number): TrainMask {
  const rng = new Rng(seed)
  const mask: TrainMask = new Map()
  for (const s of model.spec) {
    if (s.head) {
      mask.set(s.name, 'all')
      continue
    }
    const n = numel(s.shape)
    const k = Math.max(1, Math.floor(n * ratio))
    mask.set(s.name, Int32Array.from(rng.sample(n, k)).sort())
  }
  return mask
}

async function benchOne(m: BenchModel, o: { seqLen: number; batch: number; seconds: number; matmulN: number; trainSteps: number }): Promise<Omit<GpuBenchRow, 'backend'>> {
  const cfg = benchConfig(m)
  const model = BertForSequenceClassification.fromState(cfg, initState(cfg, 1))
  try {
    const gflopsMm = await matmulGflops(o.matmulN, o.seconds)
    const B = o.batch
    const batch = randomBatch(B, o.seqLen, cfg.vocab_size, 3)
    const labels = Array.from({ length: B }, (_, i) => i % 2)
    const fb = await timeIt(
      async () => {
        const { logits, cache } = model.forward(batch)
        const { loss, dLogits } = model.lossAndGrad(logits, labels)
        const grads = model.backward(cache, dLogits)
        for (const g of grads.values()) await g.data()
        tf.dispose([logits, loss, dLogits, ...grads.values()])
        disposeCache(cache)
      },
      2,
      o.seconds
    )
    const fbPerSec = (B * 1000) / fb.perCallMs
    const acc = new FisherAccumulator(model)
    let fisherMs: number
    try {
      fisherMs = (await timeIt(() => acc.addBatch(batch, labels), 2, o.seconds)).perCallMs
      await acc.result()
    } finally {
      acc.dispose()
    }
    // masked fine-tuning: the trainer itself on fixed-length rows, steps after the first (warm-up) timed
    const rng = new Rng(5)
    const rows = Array.from({ length: B * (o.trainSteps + 1) }, (_, i) => ({ inputIds: [101, ...Array.from({ length: o.seqLen - 2 }, () => 1000 + rng.int(cfg.vocab_size - 1000)), 102], label: i % 2 }))
    const { stepMs } = await timeTrainSteps({ model, mask: randomMask(model, 0.005, 7), train: rows, epochs: 1, batchSize: B, lr: 1e-4, maxLength: o.seqLen })
    return {
      model: m.name,
      layers: m.layers,
      hidden: m.hidden,
      seqLen: o.seqLen,
      matmul: { n: o.matmulN, gflops: gflopsMm },
      forwardBackward: { batchSize: B, samplesPerSec: fbPerSec, gflops: (3 * forwardFlops(cfg, o.seqLen) * fbPerSec) / 1e9 },
      fisher: { batchSize: B, samplesPerSec: (B * 1000) / fisherMs },
      train: { batchSize: B, samplesPerSec: (B * 1000) / stepMs, keepRatio: 0.005 }
    }
  } finally {
    model.dispose()
  }
}

/**
 * Each model on each backend (forced: a software webgpu adapter is measured too, and the backend line
 * says so). Returns the rows and each backend's line.
 */
export async function benchGpu(
  models: BenchModel[],
  opts: { backends?: Array<'webgpu' | 'wasm'>; seqLen?: number; batch?: number; seconds?: number; matmulN?: number; trainSteps?: number; log?: (s: string) => void } = {}
): Promise<{ rows: GpuBenchRow[]; backends: Array<{ name: string; line: string; info: BackendInfo }> }> {
  const o = { seqLen: opts.seqLen ?? 128, batch: opts.batch ?? 8, seconds: opts.seconds ?? 3, matmulN: opts.matmulN ?? 1024, trainSteps: opts.trainSteps ?? 3 }
  const rows: GpuBenchRow[] = []
  const backends = []
  for (const name of opts.backends ?? ['webgpu', 'wasm']) {
    const info = await initBackend({ force: name })
    const line = describeBackend(info)
    backends.push({ name, line, info })
    opts.log?.(`backend: ${line}`)
    for (const m of models) {
      const r = { backend: name, ...(await benchOne(m, o)) }
      rows.push(r)
      opts.log?.(
        `${name} ${m.name} (${m.layers}/${m.hidden}, ${countParameters(benchConfig(m))} params): matMul ${r.matmul.n}³ ${r.matmul.gflops.toFixed(1)} GFLOP/s; fwd+bwd ${r.forwardBackward.samplesPerSec.toFixed(2)} samples/s = ${r.forwardBackward.gflops.toFixed(1)} GFLOP/s; Fisher ${r.fisher.samplesPerSec.toFixed(2)} samples/s; masked training ${r.train.samplesPerSec.toFixed(2)} samples/s`
      )
    }
  }
  return { rows, backends }
}

/** Markdown: one row per model and backend. */
export function gpuBenchTable(rows: GpuBenchRow[]): string {
  const head = '| backend | model | seq | matMul GFLOP/s | fwd+bwd samples/s | fwd+bwd GFLOP/s | Fisher samples/s | masked (0.5 %) training samples/s |\n|---|---|---|---|---|---|---|---|'
  const body = rows.map((r) => `| ${r.backend} | ${r.model} (${r.layers}/${r.hidden}) | ${r.seqLen} | ${r.matmul.gflops.toFixed(1)} (${r.matmul.n}³) | ${r.forwardBackward.samplesPerSec.toFixed(2)} | ${r.forwardBackward.gflops.toFixed(1)} | ${r.fisher.samplesPerSec.toFixed(2)} | ${r.train.samplesPerSec.toFixed(2)} |`)
  return [head, ...body].join('\n')
}

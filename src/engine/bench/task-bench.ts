/**
 * Benchmarks on the real workload: (1) Fisher samples/s on SST-2 training sentences with dynamic padding
 * and length-bucketed batches (the FISH reference pads every sample to 128 tokens and loops batch-1, so
 * PLATFORM.md's figure is also its real-data figure); (2) masked fine-tuning samples/s at sequence length
 * 128 with a 0.5 % mask (random entries, so every tensor is touched, the worst case for sparsity), next to
 * PyTorch's dense training figure.
 * Must not: assert (benchmarks measure), or be used by the app (reads ../shared data through its caller).
 */
import type { Example } from '../data'
import { BertForSequenceClassification } from '../model/bert'
import { initState } from '../model/init'
import { selectMask } from '../selection'
import { encodeExamples, fisherPass } from '../selection/fisher-pass'
import type { BertTokenizer } from '../tokenizer'
import { train, type EncodedExample } from '../train'
import { Rng } from '../util/rng'
import { benchConfig, type BenchModel } from './configs'
import { randomBatch } from './model-bench'
import { availableParallelism } from 'node:os'

export interface TaskBenchResult {
  model: BenchModel['name']
  workers: number
  /** Fisher at 128 tokens on every core (worker threads), steady and including worker start-up. */
  fisher128Parallel: { samples: number; samplesPerSec: number; vsTorchFisher: number }
  fisherReal: { samples: number; meanTokens: number; samplesPerSec: number; vsTorchFisher: number; parallelSamplesPerSec: number; parallelVsTorchFisher: number }
  maskedTrain: { keepRatio: number; trainable: number; batchSize: number; seqLen: number; samplesPerSec: number; vsTorchTrain: number; vsHalfTorchTrain: number; parallelSamplesPerSec: number; parallelVsHalfTorchTrain: number }
}

export async function benchTask(
  m: BenchModel,
  tokenizer: BertTokenizer,
  sst2Train: readonly Example[],
  opts: { fisherSamples?: number; fisher128Samples?: number; trainExamples?: number; workers?: number; log?: (s: string) => void } = {}
): Promise<TaskBenchResult> {
  const cfg = benchConfig(m)
  const model = BertForSequenceClassification.fromState(cfg, initState(cfg, 1))
  try {
    // (1) Fisher on real sentences
    const rng = new Rng(7)
    // enough samples that worker start-up (1-2 s per thread: loading tfjs) is amortised as in a real pass
    const n = Math.min(opts.fisherSamples ?? (m.name === 'tiny' ? 1024 : 512), sst2Train.length)
    const picked = rng.sample(sst2Train.length, n).map((i) => sst2Train[i])
    const samples = encodeExamples(tokenizer, picked, { maxLength: 128 })
    const positions = samples.map((_, i) => i)
    await fisherPass(model, samples.slice(0, 16), positions.slice(0, 16), { batchSize: 16 }) // warm-up
    const t0 = performance.now()
    await fisherPass(model, samples, positions, { batchSize: 16 })
    const fisherPerSec = (n * 1000) / (performance.now() - t0)
    const meanTokens = samples.reduce((s, x) => s + x.inputIds.length, 0) / n
    opts.log?.(`${m.name}: Fisher on SST-2 train ${fisherPerSec.toFixed(1)} samples/s (mean ${meanTokens.toFixed(1)} tokens; PyTorch batch-1 at 128: ${m.torchFisherPerSec})`)
    const workers = opts.workers ?? availableParallelism()
    const t1 = performance.now()
    await fisherPass(model, samples, positions, { batchSize: 16, workers })
    const parallelReal = (n * 1000) / (performance.now() - t1)
    opts.log?.(`${m.name}: Fisher on SST-2 train, ${workers} workers: ${parallelReal.toFixed(1)} samples/s (start-up included)`)

    // (1b) Fisher at 128 tokens on every core
    const n128 = opts.fisher128Samples ?? (m.name === 'tiny' ? 512 : 160)
    const long = Array.from({ length: n128 }, (_, i) => {
      const b = randomBatch(1, 128, cfg.vocab_size, 100 + i)
      return { inputIds: b.inputIds, tokenTypeIds: b.tokenTypeIds, label: i % 2, id: String(i) }
    })
    const t2 = performance.now()
    await fisherPass(model, long, long.map((_, i) => i), { batchSize: 16, workers })
    const par128 = (n128 * 1000) / (performance.now() - t2)
    opts.log?.(`${m.name}: Fisher at 128 tokens, ${workers} workers: ${par128.toFixed(1)} samples/s (PyTorch batch-1: ${m.torchFisherPerSec})`)

    // (2) masked fine-tuning at length 128
    const keepRatio = 0.005
    const sel = await selectMask({ method: 'random', model, keepRatio, seed: 1 })
    const count = opts.trainExamples ?? 64
    const r2 = new Rng(9)
    const data: EncodedExample[] = Array.from({ length: count }, (_, i) => ({
      inputIds: Int32Array.from({ length: 128 }, (_, t) => (t === 0 ? 101 : t === 127 ? 102 : 1000 + r2.int(cfg.vocab_size - 1000))),
      label: i % 2,
      id: String(i)
    }))
    const batchSize = 16
    const res = await train({ model, mask: sel.mask, train: data, epochs: 1, batchSize, lr: 1e-4, seed: 1, maxLength: 128, padding: 'max_length' })
    const trainPerSec = res.stepsPerSec * batchSize
    const resPar = await train({ model, mask: sel.mask, train: data, epochs: 1, batchSize, lr: 1e-4, seed: 1, maxLength: 128, padding: 'max_length', workers })
    const parPerSec = resPar.stepsPerSec * batchSize
    opts.log?.(`${m.name}: masked fine-tuning (0.5 %), ${workers} workers: ${parPerSec.toFixed(1)} samples/s`)
    opts.log?.(`${m.name}: masked fine-tuning (0.5 %) ${trainPerSec.toFixed(1)} samples/s (PyTorch dense ${m.torchTrainPerSec}; target ≥ half: ${(m.torchTrainPerSec / 2).toFixed(1)})`)
    return {
      model: m.name,
      workers,
      fisher128Parallel: { samples: n128, samplesPerSec: par128, vsTorchFisher: par128 / m.torchFisherPerSec },
      fisherReal: {
        samples: n,
        meanTokens,
        samplesPerSec: fisherPerSec,
        vsTorchFisher: fisherPerSec / m.torchFisherPerSec,
        parallelSamplesPerSec: parallelReal,
        parallelVsTorchFisher: parallelReal / m.torchFisherPerSec
      },
      maskedTrain: {
        keepRatio,
        trainable: sel.maskCount,
        batchSize,
        seqLen: 128,
        samplesPerSec: trainPerSec,
        vsTorchTrain: trainPerSec / m.torchTrainPerSec,
        vsHalfTorchTrain: trainPerSec / (m.torchTrainPerSec / 2),
        parallelSamplesPerSec: parPerSec,
        parallelVsHalfTorchTrain: parPerSec / (m.torchTrainPerSec / 2)
      }
    }
  } finally {
    model.dispose()
  }
}

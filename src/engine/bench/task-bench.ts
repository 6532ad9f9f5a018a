/**
 * Fisher on the real workload: samples/s on SST-2 training sentences with dynamic padding and
 * length-bucketed batches, in this thread and on every core (worker threads, start-up included). The FISH
 * reference pads every sample to 128 tokens and loops batch-1, so the peer's Fisher figure at 128 tokens
 * (side-by-side.ts) is also its real-data figure.
 * Must not: assert (benchmarks measure), or be used by the app (reads ../shared data through its caller).
 */
import type { Example } from '../data'
import { BertForSequenceClassification } from '../model/bert'
import { initState } from '../model/init'
import { encodeExamples, fisherPass } from '../selection/fisher-pass'
import type { BertTokenizer } from '../tokenizer'
import { Rng } from '../util/rng'
import { benchConfig, type BenchModel } from './configs'
import { availableParallelism } from 'node:os'

export interface TaskBenchResult {
  model: BenchModel['name']
  workers: number
  fisherReal: { samples: number; meanTokens: number; samplesPerSec: number; parallelSamplesPerSec: number }
}

export async function benchTask(
  m: BenchModel,
  tokenizer: BertTokenizer,
  sst2Train: readonly Example[],
  opts: { fisherSamples?: number; workers?: number; log?: (s: string) => void } = {}
): Promise<TaskBenchResult> {
  const cfg = benchConfig(m)
  const model = BertForSequenceClassification.fromState(cfg, initState(cfg, 1))
  try {
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
    opts.log?.(`${m.name}: Fisher on SST-2 train ${fisherPerSec.toFixed(1)} samples/s (mean ${meanTokens.toFixed(1)} tokens)`)
    const workers = opts.workers ?? availableParallelism()
    const t1 = performance.now()
    await fisherPass(model, samples, positions, { batchSize: 16, workers })
    const parallelReal = (n * 1000) / (performance.now() - t1)
    opts.log?.(`${m.name}: Fisher on SST-2 train, ${workers} workers: ${parallelReal.toFixed(1)} samples/s (start-up included)`)
    return { model: m.name, workers, fisherReal: { samples: n, meanTokens, samplesPerSec: fisherPerSec, parallelSamplesPerSec: parallelReal } }
  } finally {
    model.dispose()
  }
}

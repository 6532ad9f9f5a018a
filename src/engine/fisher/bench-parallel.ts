/**
 * Parallel Fisher throughput: samples/s with 0 (in-process), 1, 2, … workers on a bench model size.
 * Run: npx tsx src/engine/fisher/bench-parallel.ts [model=mini] [batches=6] [workers=0,1,2]
 * Prints, per worker count, the wall time including worker start-up and the steady rate (from the time
 * every worker has finished a unit to the last unit), and checks that every run gives the same F bit for bit.
 * IRD selection (every pass of it on one worker pool):
 *   npx tsx src/engine/fisher/bench-parallel.ts ird [model=tiny] [samples=512] [n=64] [workers=0,2]
 * on seeded random samples of SST-2-like lengths (4–40 tokens): wall time, passes, worker starts, and
 * whether every worker count selects the same samples.
 * Must not: be imported by the app (a script; timings are never asserted in tests).
 */
import { loadavg } from 'node:os'
import { initBackend } from '../backend'
import { BENCH_MODELS, benchConfig } from '../bench/configs'
import { randomBatch } from '../bench/model-bench'
import { initState } from '../model/init'
import { BertForSequenceClassification } from '../model/bert'
import { selectMask, type EncodedSample } from '../selection'
import { Rng } from '../util/rng'
import { computeFisherParallel, fisherWorkerStarts, type ParallelFisherResult } from './parallel'

async function benchIrd(args: string[]): Promise<void> {
  const [modelName = 'tiny', nSamples = '512', nText = '64', workerList = '0,2'] = args
  const m = BENCH_MODELS.find((b) => b.name === modelName)
  if (!m) throw new Error(`unknown model ${modelName}`)
  await initBackend({ force: 'wasm' })
  const config = benchConfig(m)
  const model = BertForSequenceClassification.fromState(config, initState(config, 1))
  const rng = new Rng(5)
  const samples: EncodedSample[] = Array.from({ length: Number(nSamples) }, (_, i) => {
    const len = 4 + rng.int(37)
    return { id: `s${i}`, inputIds: Array.from({ length: len }, (_, t) => (t === 0 ? 101 : t === len - 1 ? 102 : 1000 + rng.int(config.vocab_size - 1000))), label: rng.int(2) }
  })
  const n = Number(nText)
  console.log(`IRD on ${m.name} (${m.layers} layers, hidden ${m.hidden}): ${samples.length} random samples of 4–40 tokens, n = ${n}, batch 16; load average ${loadavg()[0].toFixed(1)}`)
  let firstIds: string | null = null
  for (const workers of workerList.split(',').map(Number)) {
    const starts = fisherWorkerStarts()
    let passes = 0
    const t0 = performance.now()
    const r = await selectMask({ method: 'ird', model, samples, nSamples: n, seed: 0, workers, onProgress: (p) => void (p.done === 0 && passes++) })
    const wall = (performance.now() - t0) / 1000
    const ids = r.selectedSampleIds.join(',')
    firstIds ??= ids
    console.log(
      `workers ${workers}: ${wall.toFixed(2)} s, ${r.stats.ird!.rounds.length} rounds, ${passes} Fisher passes, ${r.gradientEvaluations} per-sample gradients ` +
        `(${(r.gradientEvaluations / wall).toFixed(0)}/s), ${fisherWorkerStarts() - starts} worker starts; samples ${ids === firstIds ? 'as the first run' : 'DIFFER from the first run'}`
    )
  }
  model.dispose()
}

async function main(): Promise<void> {
  if (process.argv[2] === 'ird') return benchIrd(process.argv.slice(3))
  const [modelName = 'mini', nBatches = '6', workerList = '0,1,2'] = process.argv.slice(2)
  const m = BENCH_MODELS.find((b) => b.name === modelName)
  if (!m) throw new Error(`unknown model ${modelName}`)
  const seqLen = 128
  const batchSize = 16
  await initBackend({ force: 'wasm' })
  const config = benchConfig(m)
  const state = initState(config, 1)
  const batches = Array.from({ length: Number(nBatches) }, (_, k) => ({
    batch: randomBatch(batchSize, seqLen, config.vocab_size, 100 + k),
    labels: Array.from({ length: batchSize }, (_, i) => (i + k) % 2)
  }))
  const total = batches.length * batchSize
  console.log(`${m.name} (${m.layers} layers, hidden ${m.hidden}), seq ${seqLen}, batch ${batchSize}, ${batches.length} batches; load average ${loadavg()[0].toFixed(1)}`)
  let first: ParallelFisherResult | null = null
  for (const workers of workerList.split(',').map(Number)) {
    const t0 = performance.now()
    const marks: Array<[number, number]> = []
    const r = await computeFisherParallel({
      config,
      state,
      batches,
      workers,
      backend: 'wasm',
      fisher: {},
      onProgress: (done) => marks.push([done, performance.now()])
    })
    const wall = (performance.now() - t0) / 1000
    // steady rate: from the moment every worker has finished one unit (all started) to the last unit
    const [d0, t1] = marks[Math.min(Math.max(0, workers - 1), marks.length - 1)]
    const [d1, t2] = marks[marks.length - 1]
    const steady = t2 > t1 ? ((d1 - d0) * 1000) / (t2 - t1) : NaN
    let same = true
    if (first) for (const [n, f] of first.fisher) if (!Buffer.from(f.buffer, f.byteOffset, f.byteLength).equals(Buffer.from(r.fisher.get(n)!.buffer, r.fisher.get(n)!.byteOffset, r.fisher.get(n)!.byteLength))) same = false
    first ??= r
    console.log(
      `workers ${workers}: ${(total / wall).toFixed(1)} samples/s overall (${wall.toFixed(1)} s incl. start-up), ${steady.toFixed(1)} samples/s steady; ` +
        `peak buffered units ${r.peakBufferedUnits}; F ${same ? 'bit-identical to the first run' : 'DIFFERS from the first run'}`
    )
  }
}

void main().catch((e) => {
  console.error(e)
  process.exitCode = 1
})

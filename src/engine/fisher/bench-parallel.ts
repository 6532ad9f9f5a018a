/**
 * Parallel Fisher throughput: samples/s with 0 (in-process), 1, 2, … workers on a bench model size.
 * Run: npx tsx src/engine/fisher/bench-parallel.ts [model=mini] [batches=6] [workers=0,1,2]
 * Prints, per worker count, the wall time including worker start-up and the steady rate (from the time
 * every worker has finished a unit to the last unit), and checks that every run gives the same F bit for bit.
 * Must not: be imported by the app (a script; timings are never asserted in tests).
 */
import { loadavg } from 'node:os'
import { initBackend } from '../backend'
import { BENCH_MODELS, benchConfig } from '../bench/configs'
import { randomBatch } from '../bench/model-bench'
import { initState } from '../model/init'
import { computeFisherParallel, type ParallelFisherResult } from './parallel'

async function main(): Promise<void> {
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

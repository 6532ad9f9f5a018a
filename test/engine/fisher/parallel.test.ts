/**
 * Parallel Fisher (worker threads): the result does not depend on the worker count (0 = in-process, 1, 2,
 * 3 give bit-identical F, scores and counts), equals FisherAccumulator over the same batches, comes back in
 * batch order, and every way out (done, cancelled, a worker error, a worker crash) leaves no worker alive.
 * A persistent pool (createFisherPool) reused for several passes with other batches and settings gives the
 * same results as fresh passes, and closes on close(), on cancellation and on a worker failure.
 * Model: the tiny cls2-gelu-long parity fixture; batches: seeded random, padded, of uneven sizes.
 */
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../src/engine/backend'
import type { BertBatch } from '../../../src/engine/model/bert'
import { BertForSequenceClassification } from '../../../src/engine/model/bert'
import { FisherAccumulator } from '../../../src/engine/fisher/accumulator'
import {
  activeFisherWorkers,
  computeFisherParallel,
  createFisherPool,
  defaultFisherWorkerEntry,
  FisherCancelledError,
  FisherPoolBusyError,
  FisherPoolClosedError,
  FisherWorkerError,
  fisherWorkerStarts,
  type FisherWorkBatch,
  type ParallelFisherResult
} from '../../../src/engine/fisher/parallel'
import { computeUnit } from '../../../src/engine/fisher/units'
import { Rng } from '../../../src/engine/util/rng'
import { loadParityFixture } from '../../helpers/parity-fixtures'

const fx = loadParityFixture('cls2-gelu-long')
const { config, state } = fx

function randomBatches(sizes: number[], seed: number): FisherWorkBatch[] {
  const rng = new Rng(seed)
  return sizes.map((B, k) => {
    const T = 6 + rng.int(30)
    const batch: BertBatch = { inputIds: new Int32Array(B * T), tokenTypeIds: new Int32Array(B * T), attentionMask: new Int32Array(B * T), batchSize: B, seqLen: T }
    for (let b = 0; b < B; b++) {
      const len = b === 0 ? T : 3 + rng.int(T - 2) // padded, the first row full length
      for (let t = 0; t < len; t++) {
        const i = b * T + t
        batch.inputIds[i] = t === 0 ? 1 : 3 + rng.int(config.vocab_size - 3)
        batch.tokenTypeIds[i] = t > len / 2 ? 1 : 0
        batch.attentionMask[i] = 1
      }
    }
    const labels = Array.from({ length: B }, () => rng.int(config.num_labels))
    // one batch with 0/1 sample weights (IRD's sample selection)
    const sampleWeights = k === 2 ? Float32Array.from({ length: B }, (_, i) => (i % 2 === 0 ? 1 : 0)) : undefined
    return { batch, labels, sampleWeights }
  })
}

const BATCHES = randomBatches([3, 5, 2, 4, 6, 1, 3], 11)
const TOTAL = BATCHES.reduce((n, b) => n + b.batch.batchSize, 0)

function bits(a: Float32Array | Float64Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength)
}

function expectIdentical(a: ParallelFisherResult, b: ParallelFisherResult, what: string): void {
  expect([...a.fisher.keys()], what).toEqual([...b.fisher.keys()])
  for (const [name, f] of a.fisher) expect(bits(f).equals(bits(b.fisher.get(name)!)), `${what}: ${name} bit-identical`).toBe(true)
  expect(bits(a.scores).equals(bits(b.scores)), `${what}: scores bit-identical`).toBe(true)
  expect(a.samples, what).toBe(b.samples)
}

/** OS threads of this process (Linux): a terminated worker's thread is joined before 'exit'. */
function threads(): number {
  const m = /^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))
  return m ? Number(m[1]) : -1
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p
  } catch (e) {
    return e as Error
  }
  throw new Error('expected a rejection')
}

describe('computeFisherParallel', () => {
  let inProcess: ParallelFisherResult
  beforeAll(async () => {
    await initBackend({ force: 'wasm' })
    inProcess = await computeFisherParallel({ config, state, batches: BATCHES, workers: 0, fisher: { scores: true } })
  })

  it('1, 2 and 3 workers agree bit for bit with the in-process mode; scores in batch order; progress to the end', async () => {
    expect(inProcess.workers).toBe(0)
    expect(inProcess.backend).toBe('wasm')
    expect(inProcess.scores.length).toBe(TOTAL)
    expect(inProcess.samples).toBe(TOTAL - 1) // batch 2 (2 samples) has one weight 0
    for (const workers of [1, 2, 3]) {
      const progress: number[] = []
      const r = await computeFisherParallel({
        config,
        state,
        batches: BATCHES,
        workers,
        backend: workers === 3 ? undefined : 'wasm', // 'auto' picks wasm, the fastest one-core backend
        fisher: { scores: true },
        onProgress: (done, total) => {
          expect(total).toBe(TOTAL)
          progress.push(done)
        }
      })
      expect(r.workers).toBe(workers)
      expect(r.backend).toBe('wasm')
      expectIdentical(r, inProcess, `${workers} workers`)
      expect(progress.length).toBe(BATCHES.length)
      expect(progress.at(-1)).toBe(TOTAL)
      expect(progress.every((d, i) => i === 0 || d > progress[i - 1])).toBe(true)
      expect(r.peakBufferedUnits).toBeLessThanOrEqual(workers)
      expect(activeFisherWorkers()).toBe(0)
    }
  })

  it('equals FisherAccumulator over the same batches: bit for bit summed per batch in order, 1e-5 relative to one accumulator', async () => {
    const model = BertForSequenceClassification.fromState(config, state)
    const one = new FisherAccumulator(model)
    const perBatch = new Map<string, Float32Array>()
    const scores: number[] = []
    for (const { batch, labels, sampleWeights } of BATCHES) {
      const s = await one.addBatch(batch, labels, { sampleWeights, scores: true })
      scores.push(...s)
      const acc = new FisherAccumulator(model)
      await acc.addBatch(batch, labels, { sampleWeights })
      for (const [name, f] of await acc.result()) {
        const sum = perBatch.get(name)
        if (!sum) perBatch.set(name, f.slice())
        else for (let i = 0; i < f.length; i++) sum[i] += f[i] // float32, batch order
      }
      acc.dispose()
    }
    const F = await one.result()
    // both encodings of embedding tables travel in these units: whole tables and only the touched rows
    const units = []
    for (const [k, b] of BATCHES.entries()) units.push(await computeUnit(model, k, k, [b], { variant: 'label', power: 'square', scores: false }))
    expect(units.some((u) => u.rows.some((r) => r.name === 'bert.embeddings.word_embeddings.weight'))).toBe(true)
    expect(units.some((u) => u.dense.some((d) => d.name === 'bert.embeddings.word_embeddings.weight'))).toBe(true)
    expect([...inProcess.fisher.keys()].sort()).toEqual([...F.keys()].sort())
    for (const [name, ref] of F) {
      const got = inProcess.fisher.get(name)!
      expect(bits(got).equals(bits(perBatch.get(name)!)), `${name}: per-batch float32 sum`).toBe(true)
      let diff = 0
      let max = 0
      for (let i = 0; i < ref.length; i++) {
        diff = Math.max(diff, Math.abs(got[i] - ref[i]))
        max = Math.max(max, Math.abs(ref[i]))
      }
      expect(diff, `${name}: ${diff} vs max ${max}`).toBeLessThanOrEqual(1e-5 * max)
    }
    expect(Array.from(inProcess.scores)).toEqual(scores) // per sample, batch order
    expect(inProcess.samples).toBe(one.samples)
    one.dispose()
    model.dispose()
  })

  it('expect / absolute, a parameter subset, a score range, 2-batch units, no buffering: 2 workers = in-process', async () => {
    const names = ['bert.embeddings.word_embeddings.weight', 'bert.encoder.layer.0.attention.self.query.weight', 'bert.encoder.layer.1.output.dense.bias']
    const q = state.get(names[1])!.data.length
    const scoreRange = new Map([[names[1], Uint8Array.from({ length: q }, (_, i) => (i % 3 === 0 ? 1 : 0))]])
    const fisher = { variant: 'expect' as const, power: 'absolute' as const, scores: true, params: names, scoreRange }
    const local = await computeFisherParallel({ config, state, batches: BATCHES, workers: 0, unitBatches: 2, fisher })
    // maxInFlightUnits 1: units strictly one after another, nothing ever waits in the parent
    const parallel = await computeFisherParallel({ config, state, batches: BATCHES, workers: 2, unitBatches: 2, maxInFlightUnits: 1, backend: 'wasm', fisher })
    expect(parallel.peakBufferedUnits).toBe(0)
    expect([...local.fisher.keys()]).toEqual(names)
    expect(parallel.workers).toBe(2)
    expectIdentical(parallel, local, 'expect/absolute, 2 workers')
    expect(activeFisherWorkers()).toBe(0)
  })

  it('cancels between units: rejects early, and no worker (thread) is left', async () => {
    const before = threads()
    const progress: number[] = []
    let during = -1
    const err = await rejection(
      computeFisherParallel({
        config,
        state,
        batches: BATCHES,
        workers: 2,
        backend: 'wasm',
        fisher: {},
        onProgress: (done) => {
          progress.push(done)
          during = threads()
        },
        shouldCancel: () => progress.length > 0
      })
    )
    expect(err).toBeInstanceOf(FisherCancelledError)
    expect((err as FisherCancelledError).doneSamples).toBeLessThan(TOTAL)
    expect(err.message).toBe(`Fisher pass cancelled after ${(err as FisherCancelledError).doneSamples} of ${TOTAL} samples`)
    expect(progress.length).toBeLessThan(BATCHES.length)
    expect(activeFisherWorkers()).toBe(0)
    if (before > 0) {
      expect(during, 'the check sees worker threads while they run').toBeGreaterThanOrEqual(before + 2)
      expect(threads(), 'every worker thread has ended').toBeLessThanOrEqual(before)
    }
    // in-process mode: the same check between units
    const seen: number[] = []
    const local = await rejection(computeFisherParallel({ config, state, batches: BATCHES, workers: 0, fisher: {}, shouldCancel: () => seen.length > 0, onProgress: (d) => seen.push(d) }))
    expect(local).toBeInstanceOf(FisherCancelledError)
    expect((local as FisherCancelledError).doneSamples).toBe(BATCHES[0].batch.batchSize)
    // cancelled before it starts: no worker is started at all
    const early = await rejection(computeFisherParallel({ config, state, batches: BATCHES, workers: 2, fisher: {}, shouldCancel: () => true }))
    expect(early).toBeInstanceOf(FisherCancelledError)
    expect(activeFisherWorkers()).toBe(0)
  })

  it('an error in a worker rejects naming the worker and the batch, and stops every worker', async () => {
    const bad = BATCHES.map((b) => ({ ...b }))
    const ids = bad[4].batch.inputIds.slice()
    ids[2] = 999
    bad[4] = { ...bad[4], batch: { ...bad[4].batch, inputIds: ids } }
    const err = await rejection(computeFisherParallel({ config, state, batches: bad, workers: 2, backend: 'wasm', fisher: {} }))
    expect(err).toBeInstanceOf(FisherWorkerError)
    expect(err.message).toMatch(/^Fisher worker [12] of 2 failed on batch 4: token id 999 at position 2 is outside the vocabulary \(size 120\)$/)
    expect((err as FisherWorkerError).batch).toBe(4)
    expect(activeFisherWorkers()).toBe(0)
  })

  it('a worker that crashes or exits rejects with a clear message (fake worker entries)', async () => {
    // Fake workers: answer init at once, then die on their first unit.
    const fake = (die: string) =>
      new URL(
        'data:text/javascript,' +
          encodeURIComponent(`import { parentPort } from 'node:worker_threads'
parentPort.on('message', (m) => {
  if (m.type === 'init') parentPort.postMessage({ type: 'ready', backend: 'fake', description: 'fake' })
  else { ${die} }
})`)
      )
    const crash = await rejection(computeFisherParallel({ config, state, batches: BATCHES, workers: 2, fisher: {}, workerEntry: fake("throw new Error('simulated crash')") }))
    expect(crash).toBeInstanceOf(FisherWorkerError)
    expect(crash.message).toMatch(/^Fisher worker [12] of 2 crashed while computing batch [01]: simulated crash$/)
    expect(activeFisherWorkers()).toBe(0)
    const exit = await rejection(computeFisherParallel({ config, state, batches: BATCHES, workers: 1, fisher: {}, workerEntry: fake('process.exit(3)') }))
    expect(exit.message).toBe('Fisher worker 1 of 1 exited unexpectedly (code 3) while computing batch 0')
    expect(activeFisherWorkers()).toBe(0)
    const missing = await rejection(computeFisherParallel({ config, state, batches: BATCHES, workers: 1, fisher: {}, workerEntry: '/nonexistent/fisher-worker.js' }))
    expect(missing.message).toMatch(/^Fisher worker 1 of 1 crashed while starting: Cannot find module/)
    expect(activeFisherWorkers()).toBe(0)
  })

  it('rejects bad arguments before starting anything', async () => {
    const short = [{ ...BATCHES[0], labels: [0] }]
    await expect(computeFisherParallel({ config, state, batches: short, workers: 1, fisher: {} })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: 'batch 0: 1 labels for 3 samples' })
    await expect(computeFisherParallel({ config, state, batches: BATCHES, workers: 1, fisher: { params: ['nope'] } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    const noWeights = new Map(state)
    noWeights.delete('bert.pooler.dense.bias')
    await expect(computeFisherParallel({ config, state: noWeights, batches: BATCHES, workers: 1, fisher: {} })).rejects.toThrow(/missing "bert.pooler.dense.bias"/)
    expect(activeFisherWorkers()).toBe(0)
    await expect(computeFisherParallel({ config, state, batches: BATCHES, workers: 0, backend: 'cpu', fisher: {} })).rejects.toThrow(
      'in-process Fisher (workers: 0) runs on the engine\'s backend "wasm", not "cpu"'
    )
    const empty = await computeFisherParallel({ config, state, batches: [], workers: 2, fisher: { scores: true } })
    expect(empty).toMatchObject({ samples: 0, workers: 0 })
    expect(empty.fisher.size).toBe(0)
  })

  it('finds the built worker next to the entry or one level above a chunk', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fisher-entry-'))
    try {
      mkdirSync(join(dir, 'main', 'chunks'), { recursive: true })
      writeFileSync(join(dir, 'main', 'fisher-worker.js'), '')
      expect(defaultFisherWorkerEntry(pathToFileURL(join(dir, 'main', 'engine-process.js')).href)).toBe(join(dir, 'main', 'fisher-worker.js'))
      expect(defaultFisherWorkerEntry(pathToFileURL(join(dir, 'main', 'chunks', 'parallel-abc.js')).href)).toBe(join(dir, 'main', 'fisher-worker.js'))
      expect(() => defaultFisherWorkerEntry(pathToFileURL(join(dir, 'other', 'x.js')).href)).toThrow(/Fisher worker entry not found.*"fisher-worker" an entry of the main build/)
      expect(defaultFisherWorkerEntry()).toMatch(/src\/engine\/fisher\/worker\.ts$/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('createFisherPool: one set of workers for many passes', () => {
  const names = ['bert.embeddings.word_embeddings.weight', 'bert.encoder.layer.0.attention.self.query.weight', 'bert.encoder.layer.1.output.dense.bias']
  const q = state.get(names[1])!.data.length
  const scoreRange = new Map([[names[1], Uint8Array.from({ length: q }, (_, i) => (i % 3 === 0 ? 1 : 0))]])
  const OTHER = randomBatches([4, 2, 5, 3], 23)
  // passes as IRD makes them: other batches, parameter subsets, score ranges, scores on and off, unit sizes
  const passes = [
    { batches: BATCHES, fisher: { scores: true } },
    { batches: OTHER, fisher: { scores: true, params: names, scoreRange } },
    { batches: BATCHES.slice(1, 5), fisher: { scores: false, params: names.slice(1) } },
    { batches: OTHER, fisher: { variant: 'expect' as const, power: 'absolute' as const, scores: true, scoreRange }, unitBatches: 2 },
    { batches: BATCHES, fisher: { scores: true }, maxInFlightUnits: 1 }
  ]

  beforeAll(async () => {
    await initBackend({ force: 'wasm' })
  })

  it('reused for several passes: each bit-identical to in-process and to a fresh computeFisherParallel; close() ends every thread', async () => {
    const before = threads()
    const starts = fisherWorkerStarts()
    const pool = await createFisherPool({ config, state, workers: 2, backend: 'wasm' })
    expect(pool.workers).toBe(2)
    expect(pool.closed).toBe(false)
    const fresh: ParallelFisherResult[] = []
    for (const [i, p] of passes.entries()) {
      const progress: number[] = []
      const r = await pool.run({ ...p, onProgress: (d) => progress.push(d) })
      const local = await computeFisherParallel({ config, state, workers: 0, ...p })
      expect(r.workers).toBe(2)
      expect(r.backend).toBe('wasm')
      expectIdentical(r, local, `pass ${i} on the pool vs in-process`)
      expect(progress.at(-1)).toBe(p.batches.reduce((n, b) => n + b.batch.batchSize, 0))
      expect(activeFisherWorkers(), 'the pool keeps its workers between passes').toBe(2)
      fresh.push(r)
    }
    expect(fisherWorkerStarts() - starts, 'workers started once for all passes').toBe(2)
    // a fresh pass per setting gives the same (a pool of 3 here: independent of the worker count)
    const again = await computeFisherParallel({ config, state, workers: 3, backend: 'wasm', ...passes[1] })
    expectIdentical(again, fresh[1], 'fresh computeFisherParallel vs the pool')
    expect(activeFisherWorkers()).toBe(2)
    await pool.close()
    expect(pool.closed).toBe(true)
    expect(activeFisherWorkers()).toBe(0)
    if (before > 0) expect(threads(), 'every worker thread has ended').toBeLessThanOrEqual(before)
    await pool.close() // idempotent
    const after = await rejection(pool.run(passes[0]))
    expect(after).toBeInstanceOf(FisherPoolClosedError)
    expect(after.message).toBe('the Fisher worker pool is closed')
  })

  it('runs are sequential: a second run while one is in progress rejects; an empty run needs no worker', async () => {
    const pool = await createFisherPool({ config, state, workers: 2 })
    try {
      const first = pool.run(passes[0])
      const second = await rejection(pool.run(passes[1]))
      expect(second).toBeInstanceOf(FisherPoolBusyError)
      expect(second.message).toBe('the Fisher worker pool is already running a pass: runs on one pool are sequential')
      const r = await first
      expect(r.samples).toBe(TOTAL - 1)
      const empty = await pool.run({ batches: [], fisher: { scores: true } })
      expect(empty.samples).toBe(0)
      expect(empty.fisher.size).toBe(0)
      // bad arguments reject the run and leave the pool usable
      await expect(pool.run({ batches: BATCHES, fisher: { params: ['nope'] } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
      expect(pool.closed).toBe(false)
      expectIdentical(await pool.run(passes[0]), r, 'after a rejected argument')
    } finally {
      await pool.close()
    }
    expect(activeFisherWorkers()).toBe(0)
    await expect(createFisherPool({ config, state, workers: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
  })

  it('a cancelled run closes the pool; later runs reject naming why', async () => {
    const pool = await createFisherPool({ config, state, workers: 2, backend: 'wasm' })
    await pool.run(passes[2])
    const progress: number[] = []
    const err = await rejection(pool.run({ ...passes[0], onProgress: (d) => progress.push(d), shouldCancel: () => progress.length > 0 }))
    expect(err).toBeInstanceOf(FisherCancelledError)
    expect(pool.closed).toBe(true)
    expect(activeFisherWorkers()).toBe(0)
    const later = await rejection(pool.run(passes[0]))
    expect(later).toBeInstanceOf(FisherPoolClosedError)
    expect(later.message).toBe(`the Fisher worker pool is closed (after: ${err.message})`)
    // close() while a run is in progress: the run rejects, nothing is left
    const pool2 = await createFisherPool({ config, state, workers: 1 })
    const running = pool2.run(passes[0])
    await pool2.close()
    expect(await rejection(running)).toBeInstanceOf(FisherPoolClosedError)
    expect(activeFisherWorkers()).toBe(0)
  })

  it('a worker error closes the pool; a worker that dies while idle fails the next run', async () => {
    const bad = BATCHES.map((b) => ({ ...b }))
    const ids = bad[4].batch.inputIds.slice()
    ids[2] = 999
    bad[4] = { ...bad[4], batch: { ...bad[4].batch, inputIds: ids } }
    const pool = await createFisherPool({ config, state, workers: 2, backend: 'wasm' })
    await pool.run(passes[0])
    const err = await rejection(pool.run({ batches: bad, fisher: {} }))
    expect(err).toBeInstanceOf(FisherWorkerError)
    expect(err.message).toMatch(/^Fisher worker [12] of 2 failed on batch 4: token id 999/)
    expect(pool.closed).toBe(true)
    expect(activeFisherWorkers()).toBe(0)
    expect((await rejection(pool.run(passes[0]))).message).toMatch(/^the Fisher worker pool is closed \(after: Fisher worker [12] of 2 failed on batch 4/)
    // a fake worker that exits on its own after start-up, before any run
    const fake = new URL(
      'data:text/javascript,' +
        encodeURIComponent(`import { parentPort } from 'node:worker_threads'
parentPort.on('message', (m) => { if (m.type === 'init') { parentPort.postMessage({ type: 'ready', backend: 'fake', description: 'fake' }); setTimeout(() => process.exit(5), 10) } })`)
    )
    const dying = await createFisherPool({ config, state, workers: 1, workerEntry: fake })
    for (let i = 0; i < 100 && !dying.closed; i++) await new Promise((r) => setTimeout(r, 20))
    expect(dying.closed).toBe(true)
    expect((await rejection(dying.run(passes[0]))).message).toBe('the Fisher worker pool is closed (after: Fisher worker 1 of 1 exited unexpectedly (code 5) while idle)')
    await dying.close()
    expect(activeFisherWorkers()).toBe(0)
  })
})

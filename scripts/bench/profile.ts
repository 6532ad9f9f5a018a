/**
 * Per-phase / per-op profile of the engine, one thread (one wasm instance = one core):
 *   - Fisher: one batch (per-sample gradients of every non-head parameter, square-summed on the host);
 *   - a masked training step (0.5 % mask, FISH-selected or random), as the trainer runs it: forward,
 *     loss, backward (masked entries only), gather, clip, AdamW, write-back;
 *   - the gradient pool's exchange: a parallel step's wall time minus its slowest worker's compute.
 * Every backend kernel is wrapped in a profiling section, so each engine section (linear, attention,
 * softmax, layer norm, gelu, embeddings, dropout, host loops) splits into kernel time and the rest
 * (JS: tfjs dispatch, tensor bookkeeping, host loops outside kernels). Also measures one XNNPACK matmul's
 * GFLOP/s at the model's shapes: the wasm ceiling.
 *   npx tsx scripts/bench/profile.ts --models tiny,mini --seq 128 --iters 5 --out docs/perf/profile.md
 */
import * as tf from '@tensorflow/tfjs'
import { cpus, loadavg } from 'node:os'
import { writeFileSync, mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { initBackend, describeBackend } from '../../src/engine/backend'
import { findBenchModels } from '../../src/engine/bench/model-bench'
import { benchConfig, type BenchModel } from '../../src/engine/bench/configs'
import { BertForSequenceClassification, disposeCache, type BertBatch } from '../../src/engine/model/bert'
import { initState } from '../../src/engine/model/init'
import { FisherAccumulator } from '../../src/engine/fisher/accumulator'
import { MaskedParams, SparseAdamW, clipGradNorm, randomKeepMask, type TrainMask } from '../../src/engine/train'
import { selectMask } from '../../src/engine/selection'
import { Profiler, installProfiler, section, sectionAsync, type ProfileEntry } from '../../src/engine/util/profile'
import { Rng } from '../../src/engine/util/rng'

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def
}
const models = findBenchModels(arg('models', 'tiny,mini').split(','))
const seqLen = Number(arg('seq', '128'))
const iters = Number(arg('iters', '5'))
const out = resolve(arg('out', 'docs/perf/profile.md'))
const label = arg('label', 'profile')
/** cpu (default): CPU time of this process inside each section, robust to other load; wall: elapsed time. */
const clock: 'ms' | 'cpuMs' = arg('clock', 'cpu') === 'wall' ? 'ms' : 'cpuMs'

const info = await initBackend({ force: (arg('backend', 'wasm') as 'wasm') })
const backendName = tf.getBackend()

// wrap every kernel of the running backend in a section `kernel:<Name>`
for (const k of tf.getKernelsForBackend(backendName)) {
  const orig = k.kernelFunc
  tf.unregisterKernel(k.kernelName, backendName)
  tf.registerKernel({ ...k, kernelFunc: ((args: Parameters<typeof orig>[0]) => section(`kernel:${k.kernelName}`, () => orig(args))) as typeof orig })
}
// the Fisher accumulator's host loops
const accProto = FisherAccumulator.prototype as unknown as Record<string, (...a: unknown[]) => unknown>
for (const m of ['addDense', 'addEmbedding']) {
  const orig = accProto[m]
  accProto[m] = function (this: unknown, ...a: unknown[]) {
    return section('Fisher accumulate (host square-sum)', () => orig.apply(this, a))
  }
}

function cpuMsSince(c0: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(c0)
  return (u.user + u.system) / 1000
}

function batchOf(B: number, T: number, vocab: number, seed: number): BertBatch {
  const rng = new Rng(seed)
  const inputIds = Int32Array.from({ length: B * T }, (_, i) => (i % T === 0 ? 101 : i % T === T - 1 ? 102 : 1000 + rng.int(vocab - 1000)))
  const tokenTypeIds = Int32Array.from({ length: B * T }, (_, i) => (i % T > T / 2 ? 1 : 0))
  return { inputIds, tokenTypeIds, attentionMask: new Int32Array(B * T).fill(1), batchSize: B, seqLen: T }
}

interface Row {
  phase: string
  section: string
  ms: number
  kernelMs: number
  kernels: Array<[string, number]>
}

/** Fold a profile into phase → section rows: section time split into kernels and the rest. */
function fold(entries: ProfileEntry[], perIter: number, field: 'ms' | 'cpuMs' = clock): { rows: Row[]; phases: Map<string, number> } {
  const phases = new Map<string, number>()
  const rows = new Map<string, Row>()
  const row = (phase: string, sec: string) => {
    const key = `${phase}\u0000${sec}`
    let r = rows.get(key)
    if (!r) rows.set(key, (r = { phase, section: sec, ms: 0, kernelMs: 0, kernels: [] }))
    return r
  }
  const children: Array<[string, string, number]> = []
  for (const e of entries) {
    const parts = e.path.split(' / ')
    const ms = e[field] / perIter
    if (parts.length === 1) {
      phases.set(parts[0], (phases.get(parts[0]) ?? 0) + ms)
      continue
    }
    const phase = parts[0]
    const kernelAt = parts.findIndex((p) => p.startsWith('kernel:'))
    const secParts = kernelAt >= 0 ? parts.slice(1, kernelAt) : parts.slice(1)
    const sec = secParts.length ? secParts[secParts.length - 1] : '(outside sections)'
    if (kernelAt >= 0) {
      if (kernelAt !== parts.length - 1) continue // a kernel calling a kernel counts once, at the outer one
      const r = row(phase, sec)
      r.kernelMs += ms
      if (!secParts.length) r.ms += ms
      const name = parts[kernelAt].slice(7)
      const kk = r.kernels.find((x) => x[0] === name)
      if (kk) kk[1] += ms
      else r.kernels.push([name, ms])
    } else {
      row(phase, sec).ms += ms // inclusive; child sections are subtracted below
      if (secParts.length >= 2) children.push([phase, secParts[secParts.length - 2], ms])
    }
  }
  for (const [phase, parent, ms] of children) row(phase, parent).ms -= ms
  return { rows: [...rows.values()], phases }
}

function render(title: string, f: { rows: Row[]; phases: Map<string, number> }): string {
  const lines = [`#### ${title}`, '', '| phase | section | ms | of which kernels | JS / host outside kernels | top kernels (ms) |', '|---|---|---|---|---|---|']
  for (const [phase, total] of f.phases) {
    const rows = f.rows.filter((r) => r.phase === phase).sort((a, b) => b.ms - a.ms)
    const inRows = rows.reduce((s, r) => s + r.ms, 0)
    lines.push(`| **${phase}** | **total** | **${total.toFixed(1)}** | ${rows.reduce((s, r) => s + r.kernelMs, 0).toFixed(1)} | | |`)
    for (const r of rows) {
      const top = r.kernels.sort((a, b) => b[1] - a[1]).slice(0, 4).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')
      lines.push(`| ${phase} | ${r.section} | ${r.ms.toFixed(1)} | ${r.kernelMs.toFixed(1)} | ${(r.ms - r.kernelMs).toFixed(1)} | ${top} |`)
    }
    lines.push(`| ${phase} | (not in a section: tfjs dispatch, reshapes, bookkeeping) | ${(total - inRows).toFixed(1)} | | | |`)
  }
  return lines.join('\n') + '\n'
}

/** GFLOP/s of one matmul [M, K] × [K, N] on this thread, per CPU-second (median of several). */
function matmulGflops(M: number, K: number, N: number): number {
  const a = tf.randomNormal([M, K])
  const b = tf.randomNormal([K, N])
  const ts: number[] = []
  for (let i = 0; i < 9; i++) {
    const c0 = process.cpuUsage()
    const c = tf.matMul(a, b)
    c.dataSync()
    ts.push(cpuMsSince(c0))
    c.dispose()
  }
  tf.dispose([a, b])
  ts.sort((x, y) => x - y)
  return (2 * M * K * N) / (ts[4] / 1000) / 1e9
}

/** Multiply-adds of one forward pass (linear layers + attention), per sample. */
function forwardFlops(m: BenchModel, T: number): { linear: number; attention: number } {
  const H = m.hidden
  const I = 4 * H
  const perLayerLinear = 2 * T * (4 * H * H + 2 * H * I)
  const perLayerAttn = 2 * 2 * T * T * H
  return { linear: m.layers * perLayerLinear, attention: m.layers * perLayerAttn }
}

const prof = new Profiler()
const doc: string[] = []
doc.push(`### ${label}: ${new Date().toISOString()}`)
doc.push('')
doc.push(`backend ${describeBackend(info)}; one thread; ${cpus().length} × ${cpus()[0]?.model}; load average at start ${loadavg().map((l) => l.toFixed(1)).join(' / ')}; sequence length ${seqLen}, batch 16, mean over ${iters} iterations after a warm-up. Section times are ${clock === 'cpuMs' ? 'CPU time of this process (process.cpuUsage, user + system; robust to other load on the shared machine; includes tfjs/V8 helper threads such as GC)' : 'wall-clock'}; the headline per batch/step is wall-clock and CPU. Timings include the profiler's own wrapping (one closure per kernel call).`)
doc.push('')
const B = 16
for (const m of models) {
  const cfg = benchConfig(m)
  const model = BertForSequenceClassification.fromState(cfg, initState(cfg, 1))
  const batch = batchOf(B, seqLen, cfg.vocab_size, 5)
  const labels = Array.from({ length: B }, (_, i) => i % 2)

  // Fisher
  const acc = new FisherAccumulator(model)
  acc.addBatch(batch, labels)
  installProfiler(prof)
  prof.reset()
  let t0 = performance.now()
  let c0 = process.cpuUsage()
  for (let i = 0; i < iters; i++) section('Fisher batch', () => acc.addBatch(batch, labels))
  const fisherMs = (performance.now() - t0) / iters
  const fisherCpu = cpuMsSince(c0) / iters
  installProfiler(null)
  acc.dispose()
  doc.push(render(`${m.name} (${m.layers}/${m.hidden}): Fisher, batch ${B} × ${seqLen} tokens: ${fisherMs.toFixed(0)} ms wall (${fisherCpu.toFixed(0)} ms CPU) per batch = ${((B * 1000) / fisherMs).toFixed(1)} samples/s wall, ${((B * 1000) / fisherCpu).toFixed(1)} per CPU-second, on one thread`, fold(prof.result(), iters)))

  // masked training steps
  const fishSel = await selectMask({ method: 'fish', model, keepRatio: 0.005, seed: 1, samples: Array.from({ length: 32 }, (_, i) => ({ inputIds: batch.inputIds.slice((i % B) * seqLen, (i % B + 1) * seqLen), tokenTypeIds: batch.tokenTypeIds.slice(0, seqLen), label: i % 2, id: String(i) })), nSamples: 32 })
  const masks: Array<[string, TrainMask]> = [['FISH mask 0.5 %', fishSel.mask as TrainMask], ['random mask 0.5 % (every tensor)', randomKeepMask(cfg, 0.005)]]
  for (const [maskName, mask] of masks) {
    const params = await MaskedParams.create(model, mask)
    const opt = new SparseAdamW(params.slots.map((s) => ({ name: s.name, values: s.values, decay: true })), { weightDecay: 0.01 })
    const step = async (seed: number) => {
      const { logits, cache } = section('forward', () => model.forward(batch, { training: true, dropoutSeed: seed }))
      const { loss, dLogits } = section('loss', () => model.lossAndGrad(logits, labels))
      section('loss', () => loss.dataSync())
      const grads = section('backward', () => model.backward(cache, dLogits, { wantGrad: (n) => params.has(n), gradEntries: (n) => params.sparseIndices(n) }))
      tf.dispose([loss, dLogits, logits])
      disposeCache(cache)
      // gather is async (reads are awaited for webgpu)
      const g = await sectionAsync('optimizer: gather masked grads', () => params.gather(grads))
      section('optimizer', () => {
        for (const t of grads.values()) t.dispose()
        section('clip', () => clipGradNorm(g, 1))
        section('AdamW', () => opt.step(g, 1e-5))
        section('write back (scatter)', () => params.writeBack())
      })
    }
    await step(0)
    installProfiler(prof)
    prof.reset()
    t0 = performance.now()
    c0 = process.cpuUsage()
    for (let i = 0; i < iters; i++) await step(i + 1)
    const stepMs = (performance.now() - t0) / iters
    const stepCpu = cpuMsSince(c0) / iters
    installProfiler(null)
    params.dispose()
    doc.push(render(`${m.name}: masked training step, ${maskName} (${params.size} entries), batch ${B} × ${seqLen}: ${stepMs.toFixed(0)} ms wall (${stepCpu.toFixed(0)} ms CPU) = ${((B * 1000) / stepMs).toFixed(1)} samples/s wall, ${((B * 1000) / stepCpu).toFixed(1)} per CPU-second, on one thread`, fold(prof.result(), iters)))
  }

  // the wasm ceiling: one XNNPACK matmul at the model's shapes, and what the forward achieves
  const N = B * seqLen
  const g1 = matmulGflops(N, m.hidden, m.hidden)
  const g2 = matmulGflops(N, m.hidden, 4 * m.hidden)
  const g3 = matmulGflops(N, 4 * m.hidden, m.hidden)
  const fl = forwardFlops(m, seqLen)
  doc.push(`${m.name}: one XNNPACK matmul on one thread, per CPU-second: [${N}×${m.hidden}]·[${m.hidden}×${m.hidden}] ${g1.toFixed(1)} GFLOP/s, [${N}×${m.hidden}]·[${m.hidden}×${4 * m.hidden}] ${g2.toFixed(1)}, [${N}×${4 * m.hidden}]·[${4 * m.hidden}×${m.hidden}] ${g3.toFixed(1)}; forward FLOPs per sample ${((fl.linear + fl.attention) / 1e9).toFixed(3)} G (${((fl.attention / (fl.linear + fl.attention)) * 100).toFixed(0)} % attention); at the mean of these rates a forward pass of one sample needs ≥ ${(((fl.linear + fl.attention) / (((g1 + g2 + g3) / 3) * 1e9)) * 1000).toFixed(1)} ms on one thread.`)
  doc.push('')
  model.dispose()
}
mkdirSync(dirname(out), { recursive: true })
writeFileSync(out, doc.join('\n') + '\n')
console.log(doc.join('\n'))

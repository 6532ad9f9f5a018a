/**
 * The engine next to the PyTorch peer, in one run on one machine: for each model size the peer runs, then
 * the engine, then the peer again (so a load change on a shared machine shows up as a spread of the
 * peer's two runs rather than as a false ratio). Both sides use every core:
 *   - Fisher: the engine's per-sample Fisher through the Fisher worker pool (one wasm thread per core, a
 *     warm pool; its start-up is reported separately) against the FISH reference's batch-1 loop;
 *   - training: the engine's masked fine-tuning (0.5 % mask, FISH-selected and random) through the
 *     gradient worker pool against the peer's dense AdamW training with clipping; batch 16.
 * Every sample is `seqLen` real tokens on both sides. No hard-coded peer figures: without a peer the
 * engine's absolute figures are reported and the ratios are null.
 * Must not: assert anything (benchmarks measure; tests check), or be used by the app.
 */
import { availableParallelism, cpus } from 'node:os'
import { BertForSequenceClassification } from '../model/bert'
import { countParameters } from '../model/config'
import { initState } from '../model/init'
import { createFisherPool } from '../fisher/parallel'
import { selectMask } from '../selection'
import { fisherPass, type EncodedSample } from '../selection/fisher-pass'
import { train, type EncodedExample } from '../train'
import { Rng } from '../util/rng'
import { benchConfig, type BenchModel } from './configs'
import type { PeerResult, PeerRunner } from './peer'

export interface OursTrainResult {
  mask: 'fish' | 'random'
  keepRatio: number
  trainable: number
  tensorsTouched: number
  /** Lowest encoder layer with a trainable entry (-1: the embeddings; null: only the head/pooler). */
  lowestLayer: number | null
  samplesPerSec: number
  steps: number
  /** Optimizer state (AdamW m and v) in floats: 2 per trainable entry. */
  optimizerStateFloats: number
  /** Bytes each worker sends and receives per step (masked gradient entries out, new values in). */
  exchangedBytesPerStep: number
}

export interface OursResult {
  side: 'engine'
  backend: string
  workers: number
  cpus: number
  cpu: string
  parameters: number
  seqLen: number
  fisher: { batchSize: number; samples: number; samplesPerSec: number; poolStartSec: number }
  train: OursTrainResult[]
}

export interface SideBySideRow {
  model: BenchModel['name']
  layers: number
  hidden: number
  parameters: number
  seqLen: number
  ours: OursResult
  /** The peer's runs before and after ours (empty without a peer). */
  peer: PeerResult[]
  /** ours / peer, [min, max] over the peer's runs; null without a peer. */
  fisherRatio: [number, number] | null
  /** masked training (FISH mask) / peer dense training. */
  trainRatio: [number, number] | null
  /** masked training (random mask: every tensor touched) / peer dense training. */
  trainRatioRandom: [number, number] | null
}

function randomSamples(n: number, seqLen: number, vocab: number, seed: number): EncodedSample[] {
  const rng = new Rng(seed)
  return Array.from({ length: n }, (_, i) => ({
    inputIds: Int32Array.from({ length: seqLen }, (_, t) => (t === 0 ? 101 : t === seqLen - 1 ? 102 : 1000 + rng.int(vocab - 1000))),
    tokenTypeIds: Int32Array.from({ length: seqLen }, (_, t) => (t > seqLen / 2 ? 1 : 0)),
    label: i % 2,
    id: String(i)
  }))
}

/** Our side for one model size. */
export async function benchOurs(
  m: BenchModel,
  /** workers: threads for the Fisher and gradient pools (default every core); 0 = in this thread on the running backend. */
  opts: { seqLen?: number; seconds?: number; workers?: number; backend: string; log?: (s: string) => void }
): Promise<OursResult> {
  const seqLen = opts.seqLen ?? 128
  const seconds = opts.seconds ?? 4
  const workers = opts.workers ?? availableParallelism()
  const cfg = benchConfig(m)
  const model = BertForSequenceClassification.fromState(cfg, initState(cfg, 1))
  const batchSize = 16
  try {
    // Fisher through a warm pool: start it, run one batch per worker, then time a pass long enough.
    // workers = 0: in this thread on the running backend (the hook for backends that use every core
    // themselves, e.g. tfjs-node or WebGPU: pass workers 0 and the backend's name)
    const t0 = performance.now()
    const pool = workers > 0 ? await createFisherPool({ config: cfg, state: model.toState(), workers }) : undefined
    let fisher: OursResult['fisher']
    try {
      const lanes = Math.max(1, workers)
      const warm = randomSamples(batchSize * lanes, seqLen, cfg.vocab_size, 11)
      await fisherPass(model, warm, warm.map((_, i) => i), { pool, batchSize })
      // createFisherPool returns at once; the first pass pays the workers' start (loading tfjs, wasm, the weights)
      const warmSec = (performance.now() - t0) / 1000
      // size the timed pass from a rough rate (the warm pass includes loading tfjs in each worker)
      const guess = Math.max(4 * batchSize, warm.length / Math.max(0.5, warmSec - (pool ? 1.5 : 0)))
      const n = Math.ceil((guess * seconds) / (batchSize * lanes)) * batchSize * lanes
      const samples = randomSamples(n, seqLen, cfg.vocab_size, 12)
      const t1 = performance.now()
      await fisherPass(model, samples, samples.map((_, i) => i), { pool, batchSize })
      const sec = (performance.now() - t1) / 1000
      fisher = { batchSize, samples: n, samplesPerSec: n / sec, poolStartSec: warmSec }
      opts.log?.(`${m.name}: Fisher, ${workers || 'no'} workers: ${fisher.samplesPerSec.toFixed(1)} samples/s (${n} samples; first pass${pool ? ' with worker start' : ''} ${warmSec.toFixed(1)} s)`)
    } finally {
      await pool?.close()
    }

    // masked fine-tuning through the gradient pool
    const trainResults: OursTrainResult[] = []
    const keepRatio = 0.005
    const fishSamples = randomSamples(64, seqLen, cfg.vocab_size, 13)
    for (const method of ['fish', 'random'] as const) {
      const sel = await selectMask({ method, model, keepRatio, seed: 1, samples: fishSamples, nSamples: fishSamples.length, workers: method === 'fish' ? workers : 0 })
      let tensorsTouched = 0
      let lowest: number | null = null
      const mask = sel.mask
      for (const s of model.spec) {
        const e = mask.get(s.name)
        if (!e || (e !== 'all' && e.length === 0)) continue
        tensorsTouched++
        const encoderOrEmb = s.layer >= 0 || s.name.startsWith('bert.embeddings.')
        if (encoderOrEmb) lowest = lowest === null ? s.layer : Math.min(lowest, s.layer)
      }
      const rate = fisher.samplesPerSec
      const steps = Math.max(4, Math.ceil((rate * seconds) / batchSize))
      const data: EncodedExample[] = randomSamples(steps * batchSize, seqLen, cfg.vocab_size, 14).map((s) => ({ inputIds: s.inputIds, tokenTypeIds: s.tokenTypeIds, label: s.label as number, id: s.id }))
      const res = await train({ model, mask, train: data, epochs: 1, batchSize, lr: 1e-4, seed: 1, maxLength: seqLen, padding: 'max_length', workers: workers > 1 ? workers : 0 })
      const trainable = sel.maskCount
      const r: OursTrainResult = {
        mask: method,
        keepRatio,
        trainable,
        tensorsTouched,
        lowestLayer: lowest,
        samplesPerSec: res.stepsPerSec * batchSize,
        steps,
        optimizerStateFloats: 2 * trainable,
        exchangedBytesPerStep: workers > 1 ? 2 * 4 * trainable : 0
      }
      trainResults.push(r)
      opts.log?.(`${m.name}: masked training (${method} mask ${keepRatio * 100} %, ${tensorsTouched} tensors, lowest layer ${lowest}), ${workers} workers: ${r.samplesPerSec.toFixed(1)} samples/s`)
    }
    return {
      side: 'engine',
      backend: opts.backend,
      workers,
      cpus: cpus().length,
      cpu: cpus()[0]?.model ?? 'cpu',
      parameters: countParameters(cfg),
      seqLen,
      fisher,
      train: trainResults
    }
  } finally {
    model.dispose()
  }
}

function ratio(ours: number, peers: number[]): [number, number] | null {
  if (!peers.length) return null
  const r = peers.map((p) => ours / p)
  return [Math.min(...r), Math.max(...r)]
}

/** The peer's runs at its best thread count for one metric: [threads, rates]. */
export function bestPeer(peers: PeerResult[], rate: (p: PeerResult) => number): { threads: number; rates: number[] } | null {
  const by = new Map<number, number[]>()
  for (const p of peers) by.set(p.threads, [...(by.get(p.threads) ?? []), rate(p)])
  let best: { threads: number; rates: number[] } | null = null
  const mean = (v: number[]) => v.reduce((x, y) => x + y, 0) / v.length
  for (const [threads, rates] of by) if (!best || mean(rates) > mean(best.rates)) best = { threads, rates }
  return best
}

/**
 * Peer, ours, peer for each model size. The peer runs at each of `peerThreads` (default: every core)
 * before and after ours; ratios are against its best thread count per metric (on a loaded machine
 * OpenMP threads can be far slower than one thread: the table shows every count's figures).
 */
export async function benchSideBySide(
  models: BenchModel[],
  opts: { seqLen?: number; seconds?: number; workers?: number; peerThreads?: number[]; backend: string; peer: PeerRunner | null; log?: (s: string) => void }
): Promise<SideBySideRow[]> {
  const seqLen = opts.seqLen ?? 128
  const seconds = opts.seconds ?? 4
  const threads = opts.workers ?? availableParallelism()
  const peerThreads = opts.peerThreads?.length ? opts.peerThreads : [availableParallelism()]
  const rows: SideBySideRow[] = []
  for (const m of models) {
    const peerRuns: PeerResult[] = []
    const runPeer = () => {
      if (!opts.peer) return
      for (const t of peerThreads) {
        const p = opts.peer.run({ layers: m.layers, hidden: m.hidden, seqLen, seconds, threads: t })
        opts.log?.(`${m.name}: PyTorch peer (${p.threads} threads, ${p.blas.split(' (')[0]}): Fisher batch-1 ${p.fisher?.samples_per_sec.toFixed(2)} samples/s, dense train ${p.train?.samples_per_sec.toFixed(2)} samples/s`)
        peerRuns.push(p)
      }
    }
    runPeer()
    const ours = await benchOurs(m, { seqLen, seconds, workers: threads, backend: opts.backend, log: opts.log })
    runPeer()
    const cfg = benchConfig(m)
    const pf = bestPeer(peerRuns, (p) => p.fisher!.samples_per_sec)
    const pt = bestPeer(peerRuns, (p) => p.train!.samples_per_sec)
    rows.push({
      model: m.name,
      layers: m.layers,
      hidden: m.hidden,
      parameters: countParameters(cfg),
      seqLen,
      ours,
      peer: peerRuns,
      fisherRatio: ratio(ours.fisher.samplesPerSec, pf?.rates ?? []),
      trainRatio: ratio(ours.train.find((t) => t.mask === 'fish')!.samplesPerSec, pt?.rates ?? []),
      trainRatioRandom: ratio(ours.train.find((t) => t.mask === 'random')!.samplesPerSec, pt?.rates ?? [])
    })
  }
  return rows
}

const fmt = (v: number) => v.toFixed(v < 10 ? 2 : 1)
const range = (v: number[]) => (v.length ? (fmt(Math.min(...v)) === fmt(Math.max(...v)) ? fmt(Math.min(...v)) : `${fmt(Math.min(...v))}–${fmt(Math.max(...v))}`) : '–')
/** Every thread count's range, the best (the ratios' reference) first. */
function peerCell(peers: PeerResult[], rate: (p: PeerResult) => number): string {
  const best = bestPeer(peers, rate)
  if (!best) return '–'
  const counts = [best.threads, ...[...new Set(peers.map((p) => p.threads))].filter((t) => t !== best.threads)]
  return counts.map((t) => `${range(peers.filter((p) => p.threads === t).map(rate))} (${t} thr)`).join('; ')
}
const xr = (r: [number, number] | null) => (r ? (r[0].toFixed(2) === r[1].toFixed(2) ? `${r[0].toFixed(2)}×` : `${r[0].toFixed(2)}–${r[1].toFixed(2)}×`) : '–')

/** The side-by-side Markdown table and what each side ran on. */
export function renderSideBySide(rows: SideBySideRow[], peerReason: string | null): string {
  const lines: string[] = []
  if (!rows.length) return ''
  const o = rows[0].ours
  const p = rows.find((r) => r.peer.length)?.peer[0]
  lines.push(`engine: ${o.backend}; ${o.workers} worker threads (1 wasm thread each); ${o.cpus} × ${o.cpu}`)
  if (p) {
    const counts = [...new Set(rows.flatMap((r) => r.peer.map((x) => x.threads)))].join(', ')
    lines.push(`peer: PyTorch ${p.torch} (Python ${p.python}), ${p.model_class}; torch threads ${counts} (interop ${p.interop_threads}; ratios against its best count, listed first); BLAS ${p.blas}; ${p.cpus} × ${p.cpu}; OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset for the peer`)
  } else {
    lines.push(`peer: none — ${peerReason ?? 'not run'}; absolute figures only`)
  }
  lines.push(`sequence length ${rows[0].seqLen} (every token real on both sides); Fisher: ours batch 16 per worker, peer batch 1 (the FISH reference's loop); training batch 16; masked = 0.5 % of the parameters (FISH-selected; random = every tensor touched)`)
  lines.push('')
  lines.push('| model | params | our Fisher/s | peer batch-1 Fisher/s | ratio | our masked train/s (FISH mask) | our masked train/s (random mask) | peer dense train/s | ratio (FISH) | ratio (random) | optimizer state ours / peer (floats) | exchanged per step per worker |')
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|')
  for (const r of rows) {
    const fish = r.ours.train.find((t) => t.mask === 'fish')!
    const rnd = r.ours.train.find((t) => t.mask === 'random')!
    const pf = peerCell(r.peer, (x) => x.fisher!.samples_per_sec)
    const pt = peerCell(r.peer, (x) => x.train!.samples_per_sec)
    const peerState = r.peer[0]?.train?.optimizer_state_floats ?? 2 * r.parameters
    lines.push(
      `| ${r.model} (${r.layers}/${r.hidden}) | ${(r.parameters / 1e6).toFixed(1)} M | ${fmt(r.ours.fisher.samplesPerSec)} | ${pf} | ${xr(r.fisherRatio)} | ${fmt(fish.samplesPerSec)} | ${fmt(rnd.samplesPerSec)} | ${pt} | ${xr(r.trainRatio)} | ${xr(r.trainRatioRandom)} | ${(fish.optimizerStateFloats / 1e3).toFixed(0)} k / ${(peerState / 1e6).toFixed(1)} M | ${(fish.exchangedBytesPerStep / 1024).toFixed(0)} KiB |`
    )
  }
  return lines.join('\n') + '\n'
}

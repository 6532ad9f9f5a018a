/**
 * What a run will cost, estimated before it starts: the parameter budget k (keep ratio ↔ k both ways, as
 * src/engine/selection/budget.ts computes it), the number of per-sample gradient evaluations of the mask
 * selection (FISH: n; IRD: the pool, then each round's score passes, see ALGORITHMS.md), training steps,
 * time and memory.
 *
 * Time and memory are rough: time scales a measured throughput (BERT tiny, 2 cores, wasm SIMD, 128 tokens:
 * README benchmark) by parameters × tokens and by backend; memory counts weights, gradients, the masked
 * optimizer state and activations. Both say so in the UI. Must not: call the engine.
 */

export type Method = 'ird' | 'fish' | 'random' | 'bitfit' | 'full'
export const METHODS: readonly Method[] = ['ird', 'fish', 'random', 'bitfit', 'full']

export interface ModelShape {
  /** Every parameter, classifier head included. */
  parameters: number
  hidden: number
  layers: number
  intermediate?: number
  /** Output classes of the head (1 = regression). */
  numLabels: number
}

/** |H| = classifier weight + bias. */
export function headSize(m: Pick<ModelShape, 'hidden' | 'numLabels'>): number {
  return m.hidden * m.numLabels + m.numLabels
}

/** k = floor(P · r) − |H| (entries of θ selected on top of the head); may be ≤ 0 (the UI says why). */
export function kFromRatio(m: ModelShape, keepRatio: number): number {
  return Math.floor(m.parameters * keepRatio) - headSize(m)
}

/** The smallest ratio, rounded up to 4 significant digits, whose k is at least the given one. */
export function ratioFromK(m: ModelShape, k: number): number {
  const raw = (k + headSize(m)) / m.parameters
  if (!(raw > 0)) return 0
  const digits = Math.max(0, 4 - Math.floor(Math.log10(raw)) - 1)
  const step = 10 ** -digits
  let r = Math.ceil(raw / step) * step
  while (kFromRatio(m, r) < k) r += step
  return Number(r.toFixed(digits))
}

export interface IrdSettings {
  poolFactor: number
  alphaS: number
  alphaP: number
  maxRounds: number | null
}

export interface SelectionCost {
  /** Per-sample gradient evaluations (forward + backward of one sample). */
  gradientEvaluations: number
  /** IRD only: the pool D₀ and the expected rounds. */
  pool?: number
  rounds?: number
  /** How the number was obtained, for the UI. */
  explanation: string
}

/**
 * Per-sample gradient evaluations of the mask selection. IRD: |D₀| = min(N, ⌈poolFactor·n⌉); each round
 * scores S_{t-1} (step a) and, when the samples shrank, S_t again (step c); S shrinks by α_S down to n, P by
 * α_P down to k; the rounds end when both are reached or at the round limit (then cut to n and k).
 */
export function selectionCost(method: Method, opts: { trainRows: number; nSamples: number; thetaSize: number; k: number; ird: IrdSettings }): SelectionCost {
  const n = Math.max(1, Math.min(opts.nSamples, opts.trainRows))
  if (method === 'fish') return { gradientEvaluations: n, explanation: `one Fisher pass over n = ${n} samples` }
  if (method !== 'ird') return { gradientEvaluations: 0, explanation: method === 'random' ? 'random choice: no Fisher pass' : `${method}: no Fisher pass` }
  const pool = Math.max(n, Math.min(opts.trainRows, Math.ceil(opts.ird.poolFactor * n)))
  let S = pool
  let P = Math.max(1, opts.thetaSize)
  const k = Math.max(1, opts.k)
  let evals = 0
  let rounds = 0
  while ((S > n || P > k) && rounds < 1000) {
    rounds++
    const atLimit = opts.ird.maxRounds !== null && rounds >= opts.ird.maxRounds
    const nextS = atLimit ? n : Math.max(n, Math.ceil(opts.ird.alphaS * S))
    const nextP = atLimit ? k : Math.max(k, Math.ceil(opts.ird.alphaP * P))
    evals += S + (nextS < S ? nextS : 0)
    if (nextS === S && nextP === P) break // stalled: the engine cuts straight to n and k
    S = nextS
    P = nextP
  }
  return {
    gradientEvaluations: evals,
    pool,
    rounds,
    explanation: `pool D₀ = ${pool} samples, about ${rounds} round${rounds === 1 ? '' : 's'} of score passes (α_S = ${opts.ird.alphaS}, α_P = ${opts.ird.alphaP})`
  }
}

/** Relative speed of a backend against wasm SIMD on this kind of machine (PLATFORM.md, README benchmark). */
// webgpu: a guess for a hardware GPU, not measured yet (a software adapter, forced, is far slower: ~0.1)
export const BACKEND_SPEED: Record<string, number> = { 'tensorflow-gpu': 8, webgpu: 4, tensorflow: 1.5, wasm: 1, cpu: 1 / 25 }

/** Measured: BERT tiny (4.4 M parameters), 128 tokens, wasm, 2 threads: about 40 samples/s forward+backward. */
const REFERENCE = { parameters: 4.4e6, tokens: 128, samplesPerSec: 40 }

/** Forward+backward samples per second expected for a model, sequence length and backend. */
export function samplesPerSecond(m: ModelShape, maxLength: number, backend: string): number {
  const work = (m.parameters / REFERENCE.parameters) * (maxLength / REFERENCE.tokens)
  return (REFERENCE.samplesPerSec / Math.max(work, 1e-6)) * (BACKEND_SPEED[backend] ?? 1)
}

export interface RunEstimate {
  k: number
  thetaSize: number
  selection: SelectionCost
  trainSteps: number
  /** Seconds: mask selection, training, evaluation. */
  seconds: { selection: number; training: number; evaluation: number; total: number }
  /** Bytes: weights, gradients, optimizer state, activations; peak is their sum. */
  memory: { weights: number; gradients: number; optimizer: number; activations: number; peak: number }
  /** Trainable entries: k + |H| (fish/ird/random), the biases + head (bitfit), all (full). */
  trainable: number
  notes: string[]
}

export interface EstimateInput {
  model: ModelShape
  method: Method
  keepRatio: number
  nSamples: number
  trainRows: number
  devRows: number
  maxLength: number
  batchSize: number
  epochs: number
  ird: IrdSettings
  backend: string
}

/** Bias entries of a BERT encoder: roughly 9 vectors of `hidden` and one of `intermediate` per layer. */
function biasCount(m: ModelShape): number {
  const inter = m.intermediate ?? 4 * m.hidden
  return m.layers * (9 * m.hidden + inter) + 3 * m.hidden
}

export function estimateRun(x: EstimateInput): RunEstimate {
  const head = headSize(x.model)
  const thetaSize = x.model.parameters - head
  const k = kFromRatio(x.model, x.keepRatio)
  const notes: string[] = []
  if ((x.method === 'ird' || x.method === 'fish' || x.method === 'random') && k <= 0) {
    notes.push(`keep ratio ${x.keepRatio} leaves nothing to select: floor(${x.model.parameters} × ${x.keepRatio}) does not exceed the head (${head} entries)`)
  }
  const trainable = x.method === 'full' ? x.model.parameters : x.method === 'bitfit' ? biasCount(x.model) + head : Math.max(0, k) + head
  const selection = selectionCost(x.method, { trainRows: x.trainRows, nSamples: x.nSamples, thetaSize, k: Math.max(1, k), ird: x.ird })
  if (x.nSamples > x.trainRows && (x.method === 'ird' || x.method === 'fish')) notes.push(`the sample budget n = ${x.nSamples} exceeds the ${x.trainRows} training rows`)
  const trainSteps = Math.ceil(x.trainRows / Math.max(1, x.batchSize)) * x.epochs
  const sps = samplesPerSecond(x.model, x.maxLength, x.backend)
  const selectionS = selection.gradientEvaluations / sps
  // Masked fine-tuning costs about a full forward+backward per sample; evaluation a forward (≈ 1/3).
  const trainingS = (x.trainRows * x.epochs) / sps
  const evaluationS = (x.devRows * x.epochs) / (3 * sps)
  const weights = 4 * x.model.parameters
  const gradients = x.method === 'full' ? 4 * x.model.parameters : 4 * trainable + 4 * x.model.parameters // Fisher/backward still produce dense gradients per batch
  const optimizer = 2 * 4 * trainable
  const activations = 4 * x.batchSize * x.maxLength * x.model.hidden * x.model.layers * 16
  return {
    k,
    thetaSize,
    selection,
    trainSteps,
    seconds: { selection: selectionS, training: trainingS, evaluation: evaluationS, total: selectionS + trainingS + evaluationS },
    memory: { weights, gradients, optimizer, activations, peak: weights + gradients + optimizer + activations },
    trainable,
    notes
  }
}

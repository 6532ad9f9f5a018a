/**
 * How much memory a run will need, estimated before it starts, and whether that fits this machine — so
 * that a run too large for it is refused or warned about with advice, instead of dying half-way.
 *
 * The estimate (bytes, float32 everywhere) is the larger of the two phases, selection and training:
 *   parameters    4·P for the model on the backend + 4·P for the base weights kept on the host (the delta
 *                 is computed against them)
 *   optimizer     trainable entries k: values 4 + indices 4 + AdamW m and v 8, per entry; dense tensors
 *                 (≥ 5 % trainable, or method 'full') also keep a host mirror of the whole tensor
 *   activations   per layer about (10·H + 3·I)·B·T floats for the hidden, attention-output, LayerNorm,
 *                 feed-forward and dropout tensors plus 3·heads·B·T² for the attention scores,
 *                 probabilities and dropout mask, times a factor for what forward + backward hold at their
 *                 peak: 5 for a training step, 5.5 for a per-sample Fisher batch. Calibrated with
 *                 tf.profile peakBytes on wasm (backend tensors above the model, this project's machine):
 *                 training H128/L2/B16/T64 102–148 MB measured (the peak varies between processes) vs
 *                 131 MB estimated, H256/L4/B16/T128 886 vs 1174, H128/L2/B32/T128 438 vs 587; Fisher
 *                 H128/L2/B16/T64 146–148 vs 149, H256/L4/B16/T128 1197 vs 1310. So the estimate errs
 *                 high by up to ~25 % rather than low
 *   gradients     the masked gradient entries plus, for tensors on the dense path, one full gradient at a time
 *   fisher        per-sample gradient buffers of one Fisher batch: B_f × the largest dense tensor (one
 *                 tensor at a time), per-token embedding gradients B_f·T·H, plus the Fisher accumulators:
 *                 one float per parameter (IRD keeps two: Fisher and the previous round's range)
 *   workers       each worker thread holds its own model copy and its share of the batch's activations
 * A wasm backend addresses at most 4 GiB per instance (engine thread and each worker), whatever the machine has.
 * Must not: import node modules (the app's renderer may call it; the caller passes the machine's memory),
 * or allocate anything.
 */
import { bertParameterSpec, numel, type BertConfig } from '../model/config'

export type EstimateMethod = 'ird' | 'fish' | 'random' | 'bitfit' | 'full'

export interface MemoryEstimateInput {
  config: Pick<BertConfig, 'hidden_size' | 'num_hidden_layers' | 'num_attention_heads' | 'intermediate_size' | 'vocab_size' | 'max_position_embeddings' | 'type_vocab_size' | 'num_labels'>
  method: EstimateMethod
  /** Share of parameters trained (FISH/IRD/random); ignored for bitfit/full. */
  keepRatio: number
  batchSize: number
  maxLength: number
  /** Samples per Fisher batch (FISH/IRD); default 16. */
  fisherBatchSize?: number
  /** Worker threads (0/1 = the engine thread only). */
  workers?: number
  /** Backend name: 'wasm' adds the 4 GiB-per-instance limit. */
  backend?: string
  /** Dev batch size; default 2 × batchSize (evaluation needs no backward pass). */
  evalBatchSize?: number
}

export interface MemorySystem {
  /** os.totalmem() */
  totalBytes: number
  /** os.freemem() (or available memory) */
  freeBytes: number
}

export interface MemoryEstimate {
  /** Bytes per part (at the peak phase's sizes). */
  parts: { parameters: number; optimizer: number; activations: number; gradients: number; fisher: number; workers: number }
  /** Bytes needed during selection (Fisher passes) and during training. */
  selectionBytes: number
  trainingBytes: number
  /** max(selection, training) */
  peakBytes: number
  /** Bytes the engine thread's backend instance needs (what the 4 GiB wasm limit applies to). */
  perInstanceBytes: number
  parameters: number
  trainable: number
  system: MemorySystem | null
  /** 'ok', 'tight' (more than 80 % of free memory), 'over' (more than free or beyond a backend limit). */
  verdict: 'ok' | 'tight' | 'over' | 'unknown'
  /** One line to show when verdict is not 'ok'; null otherwise. */
  warning: string | null
  /** What to change, most effective first. */
  advice: string[]
}

export const WASM_INSTANCE_LIMIT = 4 * 1024 ** 3

export function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(0)} MiB`
  return `${Math.max(1, Math.round(n / 1024))} KiB`
}

export function estimateMemory(input: MemoryEstimateInput, system?: MemorySystem | null): MemoryEstimate {
  const c = input.config
  const H = c.hidden_size
  const L = c.num_hidden_layers
  const I = c.intermediate_size
  const nh = c.num_attention_heads
  const T = Math.min(input.maxLength, c.max_position_embeddings)
  const B = input.batchSize
  const Bf = input.fisherBatchSize ?? 16
  const workers = Math.max(0, Math.floor(input.workers ?? 0))
  const parallel = workers > 1
  const spec = bertParameterSpec({ ...c, extra: {} } as BertConfig)
  const P = spec.reduce((a, s) => a + numel(s.shape), 0)
  const largest = Math.max(...spec.filter((s) => !s.name.includes('embeddings')).map((s) => numel(s.shape)))
  const biasLike = spec.filter((s) => s.name.endsWith('.bias') || s.name.startsWith('classifier.')).reduce((a, s) => a + numel(s.shape), 0)
  const trainable = input.method === 'full' ? P : input.method === 'bitfit' ? biasLike : Math.min(P, Math.ceil(P * input.keepRatio) + numel([c.num_labels, H]) + c.num_labels)
  const dense = input.method === 'full'
  const f = 4

  const parameters = 2 * P * f
  // values + indices + m + v per entry; whole tensors need no indices
  const optimizer = trainable * (dense ? 12 : 16)
  const actBase = (rows: number) => L * ((10 * H + 3 * I) * rows * T + 3 * nh * rows * T * T) * f
  const actPerSample = (rows: number) => 5 * actBase(rows)
  const actFisher = (rows: number) => 5.5 * actBase(rows)
  // the trainer's thread holds the whole batch unless workers split it
  const share = parallel ? Math.ceil(B / workers) : B
  const activations = actPerSample(share)
  const gradients = trainable * f + (dense ? largest * f : 0)
  const usesFisher = input.method === 'fish' || input.method === 'ird'
  // one Fisher batch in flight: per-sample gradients of one tensor, per-token embedding gradients, activations
  const fisherBatch = Bf * largest * f + Bf * T * H * f + actFisher(Bf)
  // accumulators: F and the IRD range (one float each per parameter)
  const accumulators = 2 * P * f
  const fisher = usesFisher ? fisherBatch + accumulators : 0
  const perWorkerTrain = P * f + actPerSample(share) + gradients
  // Fisher workers take whole batches and keep their own accumulator
  const perWorkerFisher = usesFisher ? P * f + fisherBatch + P * f : 0
  const workersTrain = parallel ? workers * perWorkerTrain : 0
  const workersFisher = parallel && fisher > 0 ? workers * perWorkerFisher : 0

  const trainingBytes = parameters + optimizer + (parallel ? 0 : activations + gradients) + workersTrain
  const selectionBytes = usesFisher ? parameters + (parallel ? accumulators : fisher) + workersFisher : parameters
  const peakBytes = Math.max(trainingBytes, selectionBytes)
  // what one backend instance (engine thread or one worker) holds at its peak
  const perInstanceBytes = parallel ? Math.max(perWorkerTrain, perWorkerFisher) : P * f + Math.max(activations + gradients, usesFisher ? fisherBatch : 0)

  const advice: string[] = []
  const biggestAct = activations >= optimizer
  if (biggestAct || parallel) {
    advice.push(`a smaller --batch-size (now ${B}${B > 1 ? `, try ${Math.max(1, Math.floor(B / 2))}` : ''})`)
    advice.push(`a shorter --max-length (now ${T}${T > 32 ? `, try ${Math.max(32, Math.floor(T / 2))}` : ''})`)
  }
  if (input.method === 'full') advice.push('a sparse method (ird or fish with --keep-ratio 0.005) instead of full: optimizer state only for the masked entries')
  else if (input.method !== 'bitfit') advice.push(`a smaller --keep-ratio (now ${input.keepRatio})`)
  if (fisher > 0) advice.push(`a smaller --fisher-batch-size (now ${Bf})`)
  if (parallel) advice.push(`fewer --workers (now ${workers}: each holds its own model copy)`)
  if (!biggestAct && !parallel) {
    advice.push(`a smaller --batch-size (now ${B})`)
    advice.push(`a shorter --max-length (now ${T})`)
  }

  let verdict: MemoryEstimate['verdict'] = system ? 'ok' : 'unknown'
  let warning: string | null = null
  const wasmOver = input.backend === 'wasm' && perInstanceBytes > WASM_INSTANCE_LIMIT
  if (wasmOver) {
    verdict = 'over'
    warning = `this run needs about ${formatBytes(perInstanceBytes)} in one WebAssembly instance${parallel ? ' (each worker thread)' : ''}, above the wasm backend's 4 GiB limit`
  } else if (system) {
    if (peakBytes > system.freeBytes) {
      verdict = 'over'
      warning = `this run needs about ${formatBytes(peakBytes)}, more than the ${formatBytes(system.freeBytes)} free of ${formatBytes(system.totalBytes)}${peakBytes > system.totalBytes ? ' (more than this machine has)' : ''}: it will likely fail or swap`
    } else if (peakBytes > 0.8 * system.freeBytes) {
      verdict = 'tight'
      warning = `this run needs about ${formatBytes(peakBytes)} of the ${formatBytes(system.freeBytes)} free: close other programs or it may run out of memory`
    }
  }
  return {
    parts: { parameters, optimizer, activations, gradients, fisher, workers: Math.max(workersTrain, workersFisher) },
    selectionBytes,
    trainingBytes,
    peakBytes,
    perInstanceBytes,
    parameters: P,
    trainable,
    system: system ?? null,
    verdict,
    warning,
    advice: verdict === 'ok' || verdict === 'unknown' ? [] : advice
  }
}

/** One line: "memory estimate: 1.2 GiB peak (training 1.2 GiB, selection 0.9 GiB) of 3.1 GiB free". */
export function describeEstimate(e: MemoryEstimate): string {
  const free = e.system ? ` of ${formatBytes(e.system.freeBytes)} free (${formatBytes(e.system.totalBytes)} total)` : ''
  const sel = e.selectionBytes > e.parts.parameters ? `, selection ${formatBytes(e.selectionBytes)}` : ''
  return `memory estimate: ${formatBytes(e.peakBytes)} peak (training ${formatBytes(e.trainingBytes)}${sel}; activations ${formatBytes(e.parts.activations)}, optimizer ${formatBytes(e.parts.optimizer)})${free}`
}

const OOM_RE = /allocation failed|out of memory|\boom\b|cannot allocate|memory access out of bounds|Aborted\(|WebAssembly\.Memory|failed to grow|Invalid (typed )?array length|Array buffer allocation|ENOMEM|std::bad_alloc/i

/** Is this error the engine running out of memory (JS heap, ArrayBuffer, wasm heap, native allocator)? */
export function isOutOfMemory(e: unknown): boolean {
  const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e)
  return OOM_RE.test(msg)
}

/** The failure reason a run records: for out-of-memory errors, with what to change. */
export function failureReason(e: unknown, input: Pick<MemoryEstimateInput, 'batchSize' | 'maxLength' | 'method' | 'keepRatio' | 'fisherBatchSize' | 'workers'>): string {
  const msg = e instanceof Error ? e.message : String(e)
  if (!isOutOfMemory(e)) return msg
  const tips = [`--batch-size ${Math.max(1, Math.floor(input.batchSize / 2))} (now ${input.batchSize})`, `--max-length ${Math.max(32, Math.floor(input.maxLength / 2))} (now ${input.maxLength})`]
  if (input.method === 'full') tips.push('a sparse method (ird/fish) instead of full')
  else if (input.method !== 'bitfit') tips.push(`a smaller --keep-ratio (now ${input.keepRatio})`)
  if (input.method === 'fish' || input.method === 'ird') tips.push(`--fisher-batch-size ${Math.max(1, Math.floor((input.fisherBatchSize ?? 16) / 2))}`)
  if ((input.workers ?? 0) > 1) tips.push(`fewer --workers (now ${input.workers})`)
  return `out of memory (${msg}). Start a new run with ${tips.join(', ')} (resuming this one repeats its settings)`
}

/**
 * Empirical Fisher accumulation from per-sample gradients (ALGORITHMS.md):
 *   f_i[j] = (∂ℓ(x_i, y_i)/∂θ_j)²   ('square', default)   or |∂ℓ_i/∂θ_j|   ('absolute')
 *   F[j]   = Σ_i w_i f_i[j]          (w_i = 1 for plain FISH; IRD passes 0/1 sample selections)
 *   s_i    = Σ_{j ∈ range} f_i[j]    (per-sample scores over a parameter range, for IRD)
 *
 * Per-sample gradients come from one batched backward pass (BertForSequenceClassification's per-sample
 * mode), never a batch-1 loop. Accumulators are host Float32Arrays, one float32 per parameter: the
 * per-sample gradients [B, ...] are read through a heap view (no copy on wasm/cpu) and squared and
 * summed in one loop, which on wasm is several times cheaper than square + a ones-matmul over the batch
 * (that matmul re-packs the whole [B, P] operand each call). Embedding tables accumulate from sparse
 * per-token gradients, summed per sample and row before squaring.
 * Backends without synchronous reads (webgpu) keep F on the device instead: each [B, P] per-sample
 * gradient is squared and weighted there and added into a device accumulator (read back once, by
 * result()); embedding gradients [B·T, H] and the scores [B] come back asynchronously per batch. Batches
 * are split into chunks whose largest per-sample gradient fits the device's buffer limits.
 * Must not: choose samples or parameters (selection does that), or touch files.
 */
import * as tf from '@tensorflow/tfjs'
import { deviceBufferLimit, hasSyncReads } from '../backend'
import type { BertBatch, BertForSequenceClassification, PerSampleSink } from '../model/bert'
import { disposeCache } from '../model/bert'
import { numel } from '../model/config'
import { hostView } from '../util/host-view'

/** Rows [start, end) of a padded batch (same seqLen). */
export function sliceBatch(batch: BertBatch, start: number, end: number): BertBatch {
  const T = batch.seqLen
  return {
    inputIds: batch.inputIds.slice(start * T, end * T),
    tokenTypeIds: batch.tokenTypeIds.slice(start * T, end * T),
    attentionMask: batch.attentionMask.slice(start * T, end * T),
    batchSize: end - start,
    seqLen: T
  }
}

export type FisherVariant = 'label' | 'expect'
export type FisherPower = 'square' | 'absolute'

export interface FisherBatchOptions {
  variant?: FisherVariant
  power?: FisherPower
  /** Which parameters get Fisher values (default: every non-head parameter). */
  params?: (name: string) => boolean
  /** Sample weights w_i for F (default 1); length = batch size. */
  sampleWeights?: Float32Array
  /** Parameter range for per-sample scores s_i: name → 0/1 mask over the tensor (HF layout). Absent = whole tensor. */
  scoreRange?: Map<string, Uint8Array>
  /** Compute per-sample scores (default false). */
  scores?: boolean
}

export class FisherAccumulator {
  private readonly host = new Map<string, Float32Array>()
  /** webgpu: F per dense parameter, on the device (moved to `host` by result()). */
  private readonly device = new Map<string, tf.Tensor>()
  /** webgpu: score ranges as float32 0/1 tensors, uploaded once. */
  private readonly rangeTensors = new Map<Uint8Array, tf.Tensor>()
  /** Number of samples whose Fisher has been added (weighted samples count when w_i > 0). */
  samples = 0

  constructor(private readonly model: BertForSequenceClassification) {}

  /**
   * Add one batch. Returns per-sample scores s_i when opts.scores is set (else an empty array).
   * Regression heads (1 output) use the squared-error loss; `expect` needs a classification head.
   */
  async addBatch(batch: BertBatch, labels: ArrayLike<number>, opts: FisherBatchOptions = {}): Promise<Float64Array> {
    if (!hasSyncReads()) {
      const cap = this.deviceChunk(opts, batch.seqLen)
      if (batch.batchSize > cap) {
        const scores = new Float64Array(opts.scores ? batch.batchSize : 0)
        for (let start = 0; start < batch.batchSize; start += cap) {
          const end = Math.min(batch.batchSize, start + cap)
          const w = opts.sampleWeights?.subarray(start, end)
          const s = await this.addBatch(sliceBatch(batch, start, end), Array.from(labels).slice(start, end), { ...opts, sampleWeights: w })
          scores.set(s, start)
        }
        return scores
      }
    }
    const variant = opts.variant ?? 'label'
    const power = opts.power ?? 'square'
    const headless = (n: string) => !n.startsWith('classifier.')
    const want = opts.params ? (n: string) => headless(n) && opts.params!(n) : headless
    const B = batch.batchSize
    const C = this.model.config.num_labels
    if (variant === 'expect' && C === 1) throw new Error("Fisher variant 'expect' needs a classification head; use 'label' for regression")
    const scores = new Float64Array(opts.scores ? B : 0)
    const w = opts.sampleWeights ?? new Float32Array(B).fill(1)
    if (w.length !== B) throw new Error(`sampleWeights has length ${w.length}, expected ${B}`)
    const { logits, cache } = this.model.forward(batch, { training: false })
    try {
      const passes: Array<{ dLogits: tf.Tensor; scale: number }> = []
      if (variant === 'label') {
        // per-sample loss (reduction 'sum' gives each sample its own gradient, not divided by B)
        const { loss, dLogits } = this.model.lossAndGrad(logits, labels, { reduction: 'sum' })
        loss.dispose()
        passes.push({ dLogits, scale: 1 })
      } else {
        // Σ_c p(c|x) · (∂ log p(c|x)/∂θ)²: one backward per class; ∂ log p_c/∂z = onehot_c − p. The weight p_c
        // enters as √p_c on the gradient for 'square' and as p_c for 'absolute'.
        const p = tf.tidy(() => tf.softmax(logits))
        for (let c = 0; c < C; c++) {
          passes.push({
            dLogits: tf.tidy(() => {
              const g = tf.sub(p, tf.oneHot(tf.fill([B], c, 'int32'), C)) // −∂ log p_c/∂z (sign irrelevant)
              const pc = tf.slice(p, [0, c], [B, 1])
              return tf.mul(g, power === 'square' ? tf.sqrt(pc) : pc)
            }),
            scale: 1
          })
        }
        p.dispose()
      }
      const onDevice = !hasSyncReads()
      const wT = onDevice ? tf.tensor2d(w, [1, B]) : null
      try {
        for (const pass of passes) {
          let deviceScores: tf.Tensor | null = null
          let embedding: { tables: Array<{ name: string; rows: Int32Array }>; grad: tf.Tensor; T: number } | null = null
          const sink: PerSampleSink = {
            dense: (name, g) => {
              if (!onDevice) return this.addDense(name, g, B, power, w, scores, opts.scoreRange?.get(name))
              const s = this.addDenseDevice(name, g, B, power, wT!, scores.length > 0, opts.scoreRange?.get(name))
              if (!s) return
              const prev: tf.Tensor | null = deviceScores
              if (!prev) deviceScores = s
              else {
                deviceScores = tf.keep(tf.add(prev, s))
                prev.dispose()
                s.dispose()
              }
            },
            embedding: (name, rows, grad, batchSize, seqLen) => this.addEmbedding(name, rows, grad, batchSize, seqLen, power, w, scores, opts.scoreRange?.get(name)),
            embeddingTensor: onDevice ? (tables, grad, _b, seqLen) => (embedding = { tables, grad: tf.keep(grad), T: seqLen }) : undefined
          }
          try {
            this.model.backward(cache, pass.dLogits, { wantGrad: want, perSample: sink })
            // reads in the order the backward pass queued them; each read waits for the device
            if (deviceScores) {
              const s = await (deviceScores as tf.Tensor).data()
              for (let i = 0; i < B; i++) scores[i] += s[i]
            }
            if (embedding) {
              const e = embedding as { tables: Array<{ name: string; rows: Int32Array }>; grad: tf.Tensor; T: number }
              const g = (await e.grad.data()) as Float32Array
              for (const t of e.tables) this.addEmbedding(t.name, t.rows, g, B, e.T, power, w, scores, opts.scoreRange?.get(t.name))
            }
          } finally {
            ;(deviceScores as tf.Tensor | null)?.dispose()
            ;(embedding as { grad: tf.Tensor } | null)?.grad.dispose()
            pass.dLogits.dispose()
          }
        }
      } finally {
        wT?.dispose()
      }
    } finally {
      logits.dispose()
      disposeCache(cache)
    }
    for (let i = 0; i < B; i++) if (w[i] > 0) this.samples++
    return scores
  }

  private addDense(name: string, g: tf.Tensor, B: number, power: FisherPower, w: Float32Array, scores: Float64Array, range: Uint8Array | undefined): void {
    const P = numel(g.shape.slice(1))
    let acc = this.host.get(name)
    if (!acc) {
      acc = new Float32Array(P)
      this.host.set(name, acc)
    }
    const v = hostView(g) // [B, P]; used at once (a heap view)
    const square = power === 'square'
    for (let i = 0; i < B; i++) {
      const off = i * P
      const wi = w[i]
      if (wi !== 0) {
        if (square) for (let j = 0; j < P; j++) acc[j] += wi * v[off + j] * v[off + j]
        else for (let j = 0; j < P; j++) acc[j] += wi * Math.abs(v[off + j])
      }
      if (scores.length) {
        let s = 0
        for (let j = 0; j < P; j++) {
          if (range && !range[j]) continue
          const x = v[off + j]
          s += square ? x * x : Math.abs(x)
        }
        scores[i] += s
      }
    }
  }

  /**
   * Most samples per backward pass on the device: each tensor of the pass must fit one storage buffer
   * binding (deviceBufferLimit): the largest per-sample gradient [B, P] (and its square), the attention
   * probabilities [B, heads, T, T] and the feed-forward activations [B·T, intermediate]. At least 1.
   */
  private deviceChunk(opts: FisherBatchOptions, T: number): number {
    const limit = deviceBufferLimit()
    if (limit === null) return Infinity
    const c = this.model.config
    let perSample = Math.max(c.num_attention_heads * T * T, T * Math.max(c.intermediate_size, c.hidden_size))
    for (const s of this.model.spec) {
      if (s.name.startsWith('classifier.') || s.name.endsWith('embeddings.weight') || (opts.params && !opts.params(s.name))) continue
      perSample = Math.max(perSample, numel(s.shape))
    }
    return Math.max(1, Math.floor(limit / (4 * perSample)))
  }

  /** webgpu: F += Σ_i w_i f_i on the device; returns the per-sample scores [B] when asked (caller keeps/disposes). */
  private addDenseDevice(name: string, g: tf.Tensor, B: number, power: FisherPower, wT: tf.Tensor, wantScores: boolean, range: Uint8Array | undefined): tf.Tensor | null {
    const P = numel(g.shape.slice(1))
    let rangeT: tf.Tensor | undefined
    if (wantScores && range) {
      rangeT = this.rangeTensors.get(range)
      if (!rangeT) {
        rangeT = tf.keep(tf.tensor1d(Float32Array.from(range)))
        this.rangeTensors.set(range, rangeT)
      }
    }
    let scores: tf.Tensor | null = null
    tf.tidy(() => {
      const g2 = tf.reshape(g, [B, P])
      const f = power === 'square' ? tf.square(g2) : tf.abs(g2)
      const add = tf.reshape(tf.matMul(wT, f), [P])
      const prev = this.device.get(name)
      this.device.set(name, tf.keep(prev ? tf.add(prev, add) : add))
      prev?.dispose()
      if (wantScores) scores = tf.keep(rangeT ? tf.sum(tf.mul(f, rangeT), 1) : tf.sum(f, 1))
    })
    return scores
  }

  private addEmbedding(
    name: string,
    rows: Int32Array,
    grad: Float32Array,
    B: number,
    T: number,
    power: FisherPower,
    w: Float32Array,
    scores: Float64Array,
    range: Uint8Array | undefined
  ): void {
    const spec = this.model.spec.find((s) => s.name === name)!
    const H = spec.shape[1]
    let acc = this.host.get(name)
    if (!acc) {
      acc = new Float32Array(numel(spec.shape))
      this.host.set(name, acc)
    }
    const summed = new Map<number, Float64Array>()
    for (let b = 0; b < B; b++) {
      summed.clear()
      for (let t = 0; t < T; t++) {
        const r = b * T + t
        let v = summed.get(rows[r])
        if (!v) {
          v = new Float64Array(H)
          summed.set(rows[r], v)
        }
        const off = r * H
        for (let h = 0; h < H; h++) v[h] += grad[off + h]
      }
      let s = 0
      for (const [row, v] of summed) {
        const base = row * H
        for (let h = 0; h < H; h++) {
          const f = power === 'square' ? v[h] * v[h] : Math.abs(v[h])
          if (w[b] !== 0) acc[base + h] += w[b] * f
          if (scores.length && (!range || range[base + h])) s += f
        }
      }
      if (scores.length) scores[b] += s
    }
  }

  /** F per parameter (host copies, Hugging Face layout). Parameters never reached have no entry. */
  async result(): Promise<Map<string, Float32Array>> {
    for (const [name, t] of this.device) {
      const v = (await t.data()) as Float32Array
      t.dispose()
      const acc = this.host.get(name)
      if (acc) for (let i = 0; i < acc.length; i++) acc[i] += v[i]
      else this.host.set(name, v)
    }
    this.device.clear()
    const out = new Map<string, Float32Array>()
    for (const s of this.model.spec) {
      const h = this.host.get(s.name)
      if (h) out.set(s.name, h)
    }
    return out
  }

  dispose(): void {
    this.host.clear()
    for (const t of this.device.values()) t.dispose()
    this.device.clear()
    for (const t of this.rangeTensors.values()) t.dispose()
    this.rangeTensors.clear()
  }
}

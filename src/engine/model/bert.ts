/**
 * BERT encoder + sequence-classification head in TensorFlow.js, numerically Hugging Face's
 * BertForSequenceClassification, with a hand-written backward pass.
 *
 * Owns: the forward pass (embeddings + LayerNorm, L post-LN transformer layers with masked multi-head
 * attention and GELU feed-forward, tanh pooler, dropout, classifier), the loss (cross-entropy, or MSE
 * for a 1-output regression head) and its gradient w.r.t. every parameter.
 *
 * Why a manual backward pass instead of tf.grads: (1) per-sample gradients for the Fisher fall out of it
 * for free — every layer's input activations and output gradients are at hand, so ∂ℓ_i/∂W = G_iᵀ X_i is
 * one batched matmul, no batch-1 loop and no probe tensors; (2) masked training skips the weight
 * gradient of every tensor that has no trainable entry and stops back-propagating below the lowest one;
 * (3) every matmul is chosen to hit the fast path of the backend (see wasm-kernels.ts).
 *
 * Parameters live in Hugging Face layout and names (Linear weights [out, in]); the transposed copies the
 * forward pass multiplies with are cached until a parameter changes.
 * Must not: read files, know about datasets, masks or optimisers.
 */
import * as tf from '@tensorflow/tfjs'
import { bertParameterSpec, type BertConfig, type ParamSpec, type StateDict } from './config'
import { hasSyncReads } from '../backend'
import { sumRowsPerSampleHost } from '../util/host-view'
import { embeddingGradTensor, sparseEmbeddingGradTensor, sparseLinearGradTensor } from './sparse-grad'
import { section } from '../util/profile'
import { Rng } from '../util/rng'

/** A tokenised batch, row-major [batchSize, seqLen]. */
export interface BertBatch {
  inputIds: Int32Array
  tokenTypeIds: Int32Array
  attentionMask: Int32Array
  batchSize: number
  seqLen: number
}

export interface ForwardOptions {
  /** Dropout on (training) or off (evaluation, Fisher). Default false. */
  training?: boolean
  /** Seed for this call's dropout masks (required for reproducible training). */
  dropoutSeed?: number
}

/** Where per-sample gradients go when `backward` runs in per-sample mode. */
export interface PerSampleSink {
  /**
   * Gradient of each sample's own loss w.r.t. a dense parameter: shape [B, ...paramShape].
   * Called inside a tf.tidy: keep() what must outlive the call.
   */
  dense(name: string, perSample: tf.Tensor): void
  /**
   * Embedding tables get their per-sample gradient in sparse form: for token r = b*T + t, the gradient of
   * sample b's loss w.r.t. row `rows[r]` of the table receives `grad[r*H .. r*H+H)`. Rows repeated
   * within a sample must be summed before squaring.
   */
  embedding(name: string, rows: Int32Array, grad: Float32Array, batchSize: number, seqLen: number): void
  /**
   * Backends without synchronous reads (webgpu): the same tables with the gradient [B·T, H] still on the
   * device; the sink keep()s it and reads it asynchronously after `backward` returns. Used when present.
   */
  embeddingTensor?(tables: Array<{ name: string; rows: Int32Array }>, grad: tf.Tensor, batchSize: number, seqLen: number): void
}

export interface BackwardOptions {
  /** Which parameters need a weight gradient (default: all). */
  wantGrad?: (name: string) => boolean
  /** Per-sample mode: hand per-sample gradients to the sink instead of returning summed ones. */
  perSample?: PerSampleSink
  /**
   * Only these entries (sorted HF-layout flat indices) of a weight matrix or embedding table: the
   * returned gradient is then 1-D, one value per index, and the dense dW is never formed.
   */
  gradEntries?: (name: string) => Int32Array | undefined
}

type T = tf.Tensor

interface LNCache {
  xhat: T
  rstd: T
}
interface LayerCache {
  x: T // [N, H] layer input
  qh: T // [B, nh, T, dh]
  kh: T
  vh: T
  probs: T // [B, nh, T, T] softmax output
  probsDrop: T // after dropout (== probs when eval)
  probsMask: T | null
  ctx: T // [N, H]
  attnOutMask: T | null
  ln1: LNCache
  h1: T // [N, H]
  u: T // [N, I] pre-activation
  act: T // [N, I]
  cdf: T | null // Φ(u) kept from the forward pass for the erf-GELU backward (saves an erf per layer)
  ffnOutMask: T | null
  ln2: LNCache
}
export interface ForwardCache {
  B: number
  T: number
  ids: Int32Array
  tt: Int32Array
  maskBias: T // [B, 1, 1, T]
  ln0: LNCache
  embMask: T | null
  layers: LayerCache[]
  cls: T // [B, H] first-token hidden state
  pooled: T // [B, H] tanh output
  pooledDrop: T
  poolMask: T | null
}

const MASK_NEG = -1e9

/**
 * Column sums of x [R, C] → [C]. On wasm and cpu a host loop over the heap view (~3 ms per million
 * values); a reduction over axis 0 makes tfjs transpose first (9 ms), and a ones[1, R] @ x matmul makes
 * XNNPACK re-pack x (11 ms). Other backends (native, GPU) keep the matmul: no host round trip.
 */
function sumRows(x: T): T {
  const backend = tf.getBackend()
  if (backend === 'wasm' || backend === 'cpu') return tf.tensor1d(sumRowsPerSampleHost(x, 1))
  return tf.reshape(tf.matMul(tf.ones([1, x.shape[0]!]), x), [x.shape[1]!])
}

/**
 * Per-sample sums over rows: x [B·R, C] → [B, C]. A host loop over a heap view: the batched ones-matmul
 * alternative runs B tiny XNNPACK calls that each re-pack a [R, C] operand.
 */
function sumRowsPerSample(x: T, B: number): T {
  if (x.shape[0] === B) return x
  if (!hasSyncReads()) return tf.sum(tf.reshape(x, [B, -1, x.shape[x.shape.length - 1]!]), 1) // webgpu: stays on the device
  return tf.tensor2d(sumRowsPerSampleHost(x, B), [B, x.shape[x.shape.length - 1]!])
}

export class BertForSequenceClassification {
  readonly config: BertConfig
  readonly spec: ParamSpec[]
  private readonly params = new Map<string, T>()
  private readonly transposed = new Map<string, T>()

  private constructor(config: BertConfig) {
    this.config = config
    this.spec = bertParameterSpec(config)
  }

  /** Build a model from float32 weights in Hugging Face layout (every name of bertParameterSpec). */
  static fromState(config: BertConfig, state: StateDict): BertForSequenceClassification {
    const m = new BertForSequenceClassification(config)
    for (const s of m.spec) {
      const t = state.get(s.name)
      if (!t) throw new Error(`model weights lack "${s.name}" (expected shape [${s.shape.join(', ')}])`)
      if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i])) {
        throw new Error(`weight "${s.name}" has shape [${t.shape.join(', ')}], expected [${s.shape.join(', ')}]`)
      }
      m.params.set(s.name, tf.tensor(t.data, s.shape, 'float32'))
    }
    return m
  }

  /** Copy every parameter back to host memory (Hugging Face names and layout), on every backend. */
  async readState(): Promise<StateDict> {
    const out: StateDict = new Map()
    for (const s of this.spec) out.set(s.name, { shape: [...s.shape], data: (await this.param(s.name).data()) as Float32Array })
    return out
  }

  /** toState's synchronous form, for backends with synchronous reads (not webgpu: use readState). */
  toState(): StateDict {
    const out: StateDict = new Map()
    for (const s of this.spec) {
      out.set(s.name, { shape: [...s.shape], data: this.param(s.name).dataSync() as Float32Array })
    }
    return out
  }

  param(name: string): T {
    const p = this.params.get(name)
    if (!p) throw new Error(`unknown parameter "${name}"`)
    return p
  }

  paramNames(): string[] {
    return this.spec.map((s) => s.name)
  }

  /** Replace a parameter; the model takes ownership of `value` and disposes the old tensor. */
  setParam(name: string, value: T): void {
    const old = this.param(name)
    if (old === value) return
    const spec = this.spec.find((s) => s.name === name)!
    if (value.shape.length !== spec.shape.length || value.shape.some((d, i) => d !== spec.shape[i])) {
      throw new Error(`setParam("${name}"): shape [${value.shape.join(', ')}], expected [${spec.shape.join(', ')}]`)
    }
    old.dispose()
    this.params.set(name, value)
    const t = this.transposed.get(name)
    if (t) {
      t.dispose()
      this.transposed.delete(name)
    }
  }

  dispose(): void {
    for (const t of this.params.values()) t.dispose()
    for (const t of this.transposed.values()) t.dispose()
    this.params.clear()
    this.transposed.clear()
  }

  /** W [out, in] → Wᵀ [in, out], cached while W is unchanged (also keeps XNNPACK's packed copy warm). */
  private wT(name: string): T {
    let t = this.transposed.get(name)
    if (!t) {
      t = tf.keep(tf.transpose(this.param(name)))
      this.transposed.set(name, t)
    }
    return t
  }

  private linear(x: T, prefix: string): T {
    return section('linear', () => tf.add(tf.matMul(x, this.wT(`${prefix}.weight`)), this.param(`${prefix}.bias`)))
  }

  private layerNorm(x: T, prefix: string): { y: T; cache: LNCache } {
    return section('layer norm', () => this.layerNormImpl(x, prefix))
  }

  private layerNormImpl(x: T, prefix: string): { y: T; cache: LNCache } {
    const eps = this.config.layer_norm_eps
    const mean = tf.mean(x, -1, true)
    const xc = tf.sub(x, mean)
    const variance = tf.mean(tf.square(xc), -1, true)
    const rstd = tf.rsqrt(tf.add(variance, eps))
    const xhat = tf.mul(xc, rstd)
    const y = tf.add(tf.mul(xhat, this.param(`${prefix}.weight`)), this.param(`${prefix}.bias`))
    return { y, cache: { xhat, rstd } }
  }

  private activation(u: T): { act: T; cdf: T | null } {
    return section('gelu', () => this.activationImpl(u))
  }

  private activationImpl(u: T): { act: T; cdf: T | null } {
    switch (this.config.hidden_act) {
      case 'gelu': {
        const cdf = tf.mul(0.5, tf.add(1, tf.erf(tf.mul(u, Math.SQRT1_2))))
        return { act: tf.mul(u, cdf), cdf }
      }
      case 'gelu_new':
      case 'gelu_pytorch_tanh': {
        const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(u, tf.mul(0.044715, tf.pow(u, 3))))
        return { act: tf.mul(tf.mul(u, 0.5), tf.add(1, tf.tanh(inner))), cdf: null }
      }
      case 'relu':
        return { act: tf.relu(u), cdf: null }
    }
  }

  private activationGrad(u: T, cdf: T | null, dOut: T): T {
    return section('gelu', () => this.activationGradImpl(u, cdf, dOut))
  }

  private activationGradImpl(u: T, cdf: T | null, dOut: T): T {
    switch (this.config.hidden_act) {
      case 'gelu': {
        // d/du [u Φ(u)] = Φ(u) + u φ(u)
        const pdf = tf.mul(1 / Math.sqrt(2 * Math.PI), tf.exp(tf.mul(-0.5, tf.square(u))))
        return tf.mul(dOut, tf.add(cdf!, tf.mul(u, pdf)))
      }
      case 'gelu_new':
      case 'gelu_pytorch_tanh': {
        const c = Math.sqrt(2 / Math.PI)
        const u2 = tf.square(u)
        const th = tf.tanh(tf.mul(c, tf.mul(u, tf.add(1, tf.mul(0.044715, u2)))))
        const dInner = tf.mul(c, tf.add(1, tf.mul(3 * 0.044715, u2)))
        const left = tf.mul(0.5, tf.add(1, th))
        const right = tf.mul(tf.mul(tf.mul(0.5, u), tf.sub(1, tf.square(th))), dInner)
        return tf.mul(dOut, tf.add(left, right))
      }
      case 'relu':
        return tf.mul(dOut, tf.step(u))
    }
  }

  /** Inverted dropout mask (values 0 or 1/(1-rate)), or null when off. */
  private dropoutMask(shape: number[], rate: number, opts: ForwardOptions, counter: { n: number }): T | null {
    if (!opts.training || rate <= 0) return null
    const seed = (opts.dropoutSeed ?? 0) * 1000 + counter.n++
    return section('dropout', () => {
      // drawn on the host in one pass (xoshiro128**, seeded per call) and uploaded once: tf.randomUniform +
      // greaterEqual + cast + mul cost ~10x more on wasm (the uniform draws run in JS there too)
      const n = shape.reduce((a, b) => a * b, 1)
      const data = new Float32Array(n)
      new Rng(seed).fillKeepMask(data, rate, Math.fround(1 / (1 - rate)))
      return tf.tensor(data, shape, 'float32')
    })
  }

  private static applyMask(x: T, mask: T | null): T {
    return mask ? tf.mul(x, mask) : x
  }

  /** Logits [B, num_labels]; nothing else is kept. */
  logits(batch: BertBatch, opts: ForwardOptions = {}): T {
    return tf.tidy(() => this.run(batch, opts, false).logits)
  }

  /** Forward pass that keeps what `backward` needs. Dispose the cache with disposeCache(). */
  forward(batch: BertBatch, opts: ForwardOptions = {}): { logits: T; cache: ForwardCache } {
    // tidy keeps every tensor reachable from the returned object (the cache) and frees the rest
    return tf.tidy(() => {
      const r = this.run(batch, opts, true)
      return { logits: r.logits, cache: r.cache! } as unknown as tf.TensorContainer
    }) as unknown as { logits: T; cache: ForwardCache }
  }

  private run(batch: BertBatch, opts: ForwardOptions, keepCache: boolean): { logits: T; cache?: ForwardCache } {
    const cfg = this.config
    const { batchSize: B, seqLen: Tn } = batch
    const N = B * Tn
    const H = cfg.hidden_size
    const nh = cfg.num_attention_heads
    const dh = H / nh
    if (Tn > cfg.max_position_embeddings) {
      throw new Error(`sequence length ${Tn} exceeds the model's max_position_embeddings ${cfg.max_position_embeddings}`)
    }
    for (let i = 0; i < N; i++) {
      const id = batch.inputIds[i]
      if (id < 0 || id >= cfg.vocab_size) throw new Error(`token id ${id} at position ${i} is outside the vocabulary (size ${cfg.vocab_size})`)
      const tt = batch.tokenTypeIds[i]
      if (tt < 0 || tt >= cfg.type_vocab_size) throw new Error(`token type id ${tt} at position ${i} is outside [0, ${cfg.type_vocab_size})`)
    }
    const counter = { n: 0 }
    const ids = tf.tensor1d(batch.inputIds, 'int32')
    const tts = tf.tensor1d(batch.tokenTypeIds, 'int32')
    const pos = tf.tensor1d(Int32Array.from({ length: N }, (_, i) => i % Tn), 'int32')
    const emb = section('embeddings', () =>
      tf.addN([
        tf.gather(this.param('bert.embeddings.word_embeddings.weight'), ids),
        tf.gather(this.param('bert.embeddings.position_embeddings.weight'), pos),
        tf.gather(this.param('bert.embeddings.token_type_embeddings.weight'), tts)
      ])
    )
    const ln0 = this.layerNorm(emb, 'bert.embeddings.LayerNorm')
    const embMask = this.dropoutMask([N, H], cfg.hidden_dropout_prob, opts, counter)
    let x = BertForSequenceClassification.applyMask(ln0.y, embMask)

    const maskF = tf.tensor(batch.attentionMask, [B, 1, 1, Tn], 'int32')
    const maskBias = tf.mul(tf.sub(1, tf.cast(maskF, 'float32')), MASK_NEG)
    const scale = 1 / Math.sqrt(dh)
    const layers: LayerCache[] = []
    for (let l = 0; l < cfg.num_hidden_layers; l++) {
      const p = `bert.encoder.layer.${l}`
      const heads = (t: T) => section('attention', () => tf.transpose(tf.reshape(t, [B, Tn, nh, dh]), [0, 2, 1, 3]))
      const qh = heads(this.linear(x, `${p}.attention.self.query`))
      const kh = heads(this.linear(x, `${p}.attention.self.key`))
      const vh = heads(this.linear(x, `${p}.attention.self.value`))
      const scores = section('attention', () => tf.add(tf.mul(tf.matMul(qh, kh, false, true), scale), maskBias))
      const probs = section('softmax', () => tf.softmax(scores))
      const probsMask = this.dropoutMask([B, nh, Tn, Tn], cfg.attention_probs_dropout_prob, opts, counter)
      const probsDrop = BertForSequenceClassification.applyMask(probs, probsMask)
      const ctx = section('attention', () => tf.reshape(tf.transpose(tf.matMul(probsDrop, vh), [0, 2, 1, 3]), [N, H]))
      const attnOutMask = this.dropoutMask([N, H], cfg.hidden_dropout_prob, opts, counter)
      const attnOut = BertForSequenceClassification.applyMask(this.linear(ctx, `${p}.attention.output.dense`), attnOutMask)
      const ln1 = this.layerNorm(tf.add(attnOut, x), `${p}.attention.output.LayerNorm`)
      const u = this.linear(ln1.y, `${p}.intermediate.dense`)
      const { act, cdf } = this.activation(u)
      const ffnOutMask = this.dropoutMask([N, H], cfg.hidden_dropout_prob, opts, counter)
      const ffnOut = BertForSequenceClassification.applyMask(this.linear(act, `${p}.output.dense`), ffnOutMask)
      const ln2 = this.layerNorm(tf.add(ffnOut, ln1.y), `${p}.output.LayerNorm`)
      if (keepCache) {
        layers.push({ x, qh, kh, vh, probs, probsDrop, probsMask, ctx, attnOutMask, ln1: ln1.cache, h1: ln1.y, u, act, cdf, ffnOutMask, ln2: ln2.cache })
      }
      x = ln2.y
    }
    const cls = tf.reshape(tf.slice(tf.reshape(x, [B, Tn, H]), [0, 0, 0], [B, 1, H]), [B, H])
    const pooled = tf.tanh(this.linear(cls, 'bert.pooler.dense'))
    const classifierDropout = cfg.classifier_dropout ?? cfg.hidden_dropout_prob
    const poolMask = this.dropoutMask([B, H], classifierDropout, opts, counter)
    const pooledDrop = BertForSequenceClassification.applyMask(pooled, poolMask)
    const logits = this.linear(pooledDrop, 'classifier')
    if (!keepCache) return { logits }
    return {
      logits,
      cache: {
        B,
        T: Tn,
        ids: batch.inputIds,
        tt: batch.tokenTypeIds,
        maskBias,
        ln0: ln0.cache,
        embMask,
        layers,
        cls,
        pooled,
        pooledDrop,
        poolMask
      }
    }
  }

  /**
   * Back-propagate dLogits ([B, num_labels], the gradient of the loss w.r.t. the logits) through the
   * cached forward pass. Returns summed gradients (Hugging Face layout) for every wanted parameter, or,
   * in per-sample mode, hands per-sample gradients to the sink and returns an empty map.
   */
  backward(cache: ForwardCache, dLogits: T, opts: BackwardOptions = {}): Map<string, T> {
    const want = opts.wantGrad ?? (() => true)
    const sink = opts.perSample
    const out = new Map<string, T>()
    const result = tf.tidy(() => {
      const grads: Record<string, T> = {}
      const cfg = this.config
      const { B, T: Tn } = cache
      const N = B * Tn
      const H = cfg.hidden_size
      const nh = cfg.num_attention_heads
      const dh = H / nh
      const L = cfg.num_hidden_layers

      // Lowest point that still needs a gradient: stop back-propagating below it.
      const layerWants = (l: number) => this.spec.some((s) => s.layer === l && want(s.name))
      const embWants = this.spec.some((s) => s.layer === -1 && s.name.startsWith('bert.embeddings.') && want(s.name))
      let lowest = embWants ? -1 : L
      if (!embWants) for (let l = 0; l < L; l++) if (layerWants(l)) { lowest = l; break }

      /** Weight/bias gradients of y = x Wᵀ + b, given x [rows, in] and dy [rows, out]; rows = B * perSampleRows. */
      const linearGrads = (prefix: string, x: T, dy: T, rowsPerSample: number) => {
        const wName = `${prefix}.weight`
        const bName = `${prefix}.bias`
        if (sink) {
          if (want(wName)) {
            const dy3 = tf.reshape(dy, [B, rowsPerSample, dy.shape[1]!])
            const x3 = tf.reshape(x, [B, rowsPerSample, x.shape[1]!])
            const g = section('per-sample dW', () => tf.matMul(dy3, x3, true, false)) // [B, out, in]
            sink.dense(wName, g)
            g.dispose() // the largest tensors of the pass: free each one once the sink has it, not at the end
          }
          if (want(bName)) {
            const g = section('bias/LN grads (host row sums)', () => sumRowsPerSample(dy, B))
            sink.dense(bName, g)
          }
        } else {
          const entries = opts.gradEntries?.(wName)
          if (want(wName)) {
            grads[wName] = entries
              ? section('dW masked entries', () => sparseLinearGradTensor(x, dy, entries))
              : section('dW dense', () => tf.matMul(dy, x, true, false)) // [k] or [out, in]
          }
          if (want(bName)) grads[bName] = section('bias/LN grads (host row sums)', () => sumRows(dy))
        }
      }
      const linearBack = (prefix: string, x: T, dy: T, rowsPerSample: number, needDx: boolean): T | null => {
        linearGrads(prefix, x, dy, rowsPerSample)
        return needDx ? section('linear dX', () => tf.matMul(dy, this.param(`${prefix}.weight`))) : null
      }
      const lnBack = (prefix: string, c: LNCache, dy: T): T => section('layer norm', () => lnBackImpl(prefix, c, dy))
      const lnBackImpl = (prefix: string, c: LNCache, dy: T): T => {
        const gName = `${prefix}.weight`
        const bName = `${prefix}.bias`
        if (sink) {
          if (want(gName)) sink.dense(gName, section('bias/LN grads (host row sums)', () => sumRowsPerSample(tf.mul(dy, c.xhat), B)))
          if (want(bName)) sink.dense(bName, section('bias/LN grads (host row sums)', () => sumRowsPerSample(dy, B)))
        } else {
          if (want(gName)) grads[gName] = section('bias/LN grads (host row sums)', () => sumRows(tf.mul(dy, c.xhat)))
          if (want(bName)) grads[bName] = section('bias/LN grads (host row sums)', () => sumRows(dy))
        }
        const dxhat = tf.mul(dy, this.param(gName))
        const m1 = tf.mean(dxhat, -1, true)
        const m2 = tf.mean(tf.mul(dxhat, c.xhat), -1, true)
        return tf.mul(c.rstd, tf.sub(tf.sub(dxhat, m1), tf.mul(c.xhat, m2)))
      }

      // classifier and pooler
      const dPooledDrop = linearBack('classifier', cache.pooledDrop, dLogits, 1, true)!
      const dPooled = BertForSequenceClassification.applyMask(dPooledDrop, cache.poolMask)
      const dPoolZ = tf.mul(dPooled, tf.sub(1, tf.square(cache.pooled)))
      const dCls = linearBack('bert.pooler.dense', cache.cls, dPoolZ, 1, lowest < L)
      if (lowest >= L || !dCls) return grads

      // the pooler reads token 0 only: scatter its gradient into [B, T, H]
      let dx = tf.reshape(tf.pad(tf.reshape(dCls, [B, 1, H]), [[0, 0], [0, Tn - 1], [0, 0]]), [N, H])
      const headsToRows = (t: T) => tf.reshape(tf.transpose(t, [0, 2, 1, 3]), [N, H])
      const rowsToHeads = (t: T) => tf.transpose(tf.reshape(t, [B, Tn, nh, dh]), [0, 2, 1, 3])
      for (let l = L - 1; l >= Math.max(lowest, 0); l--) {
        const c = cache.layers[l]
        const p = `bert.encoder.layer.${l}`
        // output LayerNorm: h2 = LN(ffnOut + h1)
        const dSum2 = lnBack(`${p}.output.LayerNorm`, c.ln2, dx)
        const dFfnOut = BertForSequenceClassification.applyMask(dSum2, c.ffnOutMask)
        const dAct = linearBack(`${p}.output.dense`, c.act, dFfnOut, Tn, true)!
        const dU = this.activationGrad(c.u, c.cdf, dAct)
        const dH1ffn = linearBack(`${p}.intermediate.dense`, c.h1, dU, Tn, true)!
        const dH1 = tf.add(dSum2, dH1ffn)
        // attention LayerNorm: h1 = LN(attnOut + x)
        const dSum1 = lnBack(`${p}.attention.output.LayerNorm`, c.ln1, dH1)
        const dAttnOut = BertForSequenceClassification.applyMask(dSum1, c.attnOutMask)
        const dCtx = linearBack(`${p}.attention.output.dense`, c.ctx, dAttnOut, Tn, true)!
        const { dQh, dKh, dVh } = section('attention', () => {
          const dCtxH = rowsToHeads(dCtx) // [B, nh, T, dh]
          const dProbsDrop = tf.matMul(dCtxH, c.vh, false, true) // [B, nh, T, T]
          const dVh = tf.matMul(c.probsDrop, dCtxH, true, false) // [B, nh, T, dh]
          const dProbs = BertForSequenceClassification.applyMask(dProbsDrop, c.probsMask)
          // softmax backward: ds = p ⊙ (dp − Σ_j dp_j p_j)
          const dScores = section('softmax', () => tf.mul(c.probs, tf.sub(dProbs, tf.sum(tf.mul(dProbs, c.probs), -1, true))))
          const scale = 1 / Math.sqrt(dh)
          const dQh = headsToRows(tf.mul(tf.matMul(dScores, c.kh), scale))
          const dKh = headsToRows(tf.mul(tf.matMul(dScores, c.qh, true, false), scale))
          return { dQh, dKh, dVh: headsToRows(dVh) }
        })
        const needDx = l > lowest || lowest === -1
        const dxQ = linearBack(`${p}.attention.self.query`, c.x, dQh, Tn, needDx)
        const dxK = linearBack(`${p}.attention.self.key`, c.x, dKh, Tn, needDx)
        const dxV = linearBack(`${p}.attention.self.value`, c.x, dVh, Tn, needDx)
        if (!needDx) return grads
        dx = tf.addN([dSum1, dxQ!, dxK!, dxV!])
      }

      // embeddings: emb = word[ids] + pos[t] + type[tt]; x0 = dropout(LN(emb))
      const dLn0 = BertForSequenceClassification.applyMask(dx, cache.embMask)
      const dEmb = lnBack('bert.embeddings.LayerNorm', cache.ln0, dLn0)
      const word = 'bert.embeddings.word_embeddings.weight'
      const posName = 'bert.embeddings.position_embeddings.weight'
      const typeName = 'bert.embeddings.token_type_embeddings.weight'
      const posIds = Int32Array.from({ length: N }, (_, i) => i % Tn)
      if (sink) {
        const tables = [{ name: word, rows: cache.ids }, { name: posName, rows: posIds }, { name: typeName, rows: cache.tt }].filter((e) => want(e.name))
        if (tables.length && sink.embeddingTensor && !hasSyncReads()) sink.embeddingTensor(tables, dEmb, B, Tn)
        else if (tables.length) {
          const g = dEmb.dataSync() as Float32Array
          for (const e of tables) sink.embedding(e.name, e.rows, g, B, Tn)
        }
      } else {
        const seg = (name: string, rows: Int32Array, n: number) =>
          section('embeddings', () => {
            const entries = opts.gradEntries?.(name)
            return entries ? sparseEmbeddingGradTensor(dEmb, rows, cfg.hidden_size, entries) : embeddingGradTensor(dEmb, rows, n)
          })
        if (want(word)) grads[word] = seg(word, cache.ids, cfg.vocab_size)
        if (want(posName)) grads[posName] = seg(posName, posIds, cfg.max_position_embeddings)
        if (want(typeName)) grads[typeName] = seg(typeName, cache.tt, cfg.type_vocab_size)
      }
      return grads
    })
    for (const [k, v] of Object.entries(result)) out.set(k, v)
    return out
  }

  /** Loss and its gradient w.r.t. the logits: mean cross-entropy (classification) or mean MSE (1 output). */
  lossAndGrad(logits: T, labels: ArrayLike<number>, opts: { reduction?: 'mean' | 'sum' } = {}): { loss: T; dLogits: T } {
    return tf.tidy(() => {
      const B = logits.shape[0]!
      const C = logits.shape[1]!
      const div = opts.reduction === 'sum' ? 1 : B
      if (C === 1) {
        const y = tf.tensor2d(Float32Array.from(labels), [B, 1])
        const diff = tf.sub(logits, y)
        return { loss: tf.div(tf.sum(tf.square(diff)), div), dLogits: tf.mul(diff, 2 / div) }
      }
      const idx = Int32Array.from(labels)
      for (let i = 0; i < idx.length; i++) {
        if (!(idx[i] >= 0 && idx[i] < C)) throw new Error(`label ${labels[i]} of sample ${i} is outside [0, ${C})`)
      }
      const onehot = tf.oneHot(tf.tensor1d(idx, 'int32'), C)
      const logp = tf.logSoftmax(logits)
      const loss = tf.div(tf.neg(tf.sum(tf.mul(onehot, logp))), div)
      const dLogits = tf.div(tf.sub(tf.exp(logp), onehot), div)
      return { loss, dLogits }
    })
  }
}

export function disposeCache(cache: ForwardCache): void {
  tf.dispose(cache as unknown as tf.TensorContainer)
}

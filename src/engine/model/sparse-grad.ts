/**
 * Gradients of selected entries only. Masked fine-tuning trains ~0.5 % of each weight matrix, yet a
 * dense dW = dYᵀX costs as much as the forward matmul; computing just the k selected entries costs
 * k · N multiply-adds on the host (N = batch rows), far less, and needs no transpose.
 * Entries are HF-layout flat indices, sorted ascending (the mask format). Sums run in float64.
 * Backends without synchronous reads (webgpu) compute the same entries on the device instead
 * (sparse*GradTensor): the dense product, then a gather of the k entries.
 * Must not: allocate tensors between reading the heap views and finishing (views would detach).
 */
import * as tf from '@tensorflow/tfjs'
import { deviceBufferLimit, hasSyncReads } from '../backend'
import { hostView } from '../util/host-view'

/** Row and column of each flat index f = o·in + i, cached per (indices array, in). */
const decomposed = new WeakMap<Int32Array, { inDim: number; rows: Int32Array; cols: Int32Array }>()
function decompose(indices: Int32Array, inDim: number): { rows: Int32Array; cols: Int32Array } {
  const hit = decomposed.get(indices)
  if (hit && hit.inDim === inDim) return hit
  const rows = new Int32Array(indices.length)
  const cols = new Int32Array(indices.length)
  for (let j = 0; j < indices.length; j++) {
    const o = Math.floor(indices[j] / inDim)
    rows[j] = o
    cols[j] = indices[j] - o * inDim
  }
  const d = { inDim, rows, cols }
  decomposed.set(indices, d)
  return d
}

/** sparseLinearGrad as a [k] tensor; on webgpu computed on the device (dense dYᵀX, then the k entries). */
export function sparseLinearGradTensor(x: tf.Tensor, dy: tf.Tensor, indices: Int32Array): tf.Tensor {
  if (hasSyncReads()) return tf.tensor1d(sparseLinearGrad(x, dy, indices))
  return tf.tidy(() => tf.gather(tf.reshape(tf.matMul(dy, x, true, false), [-1]), tf.tensor1d(indices, 'int32')))
}

/**
 * Token gradients g [N, H] summed per distinct row: [U, H] and the compact index of each row. A one-hot
 * matmul, not tf.unsortedSegmentSum: webgpu's segment sum adds with float atomics in whatever order the
 * threads run, so its sums (and a training run) would not be reproducible; a matmul's order is fixed.
 */
function compactRowSums(g: tf.Tensor, rows: Int32Array): { summed: tf.Tensor; compact: Map<number, number> } {
  const compact = new Map<number, number>()
  const seg = new Int32Array(rows.length)
  for (let t = 0; t < rows.length; t++) {
    let c = compact.get(rows[t])
    if (c === undefined) compact.set(rows[t], (c = compact.size))
    seg[t] = c
  }
  const U = compact.size
  // the one-hot [tokens, U] must fit one buffer: add chunks of tokens in a fixed order where it would not
  const chunk = Math.max(1, Math.floor((deviceBufferLimit() ?? Infinity) / (4 * U)))
  const summed = tf.tidy(() => {
    let acc: tf.Tensor | null = null
    for (let t0 = 0; t0 < rows.length; t0 += chunk) {
      const t1 = Math.min(rows.length, t0 + chunk)
      // (oneHot needs depth ≥ 2: a batch with one distinct row gets an extra all-zero row, cut below)
      const part = tf.matMul(tf.oneHot(tf.tensor1d(seg.subarray(t0, t1), 'int32'), Math.max(U, 2)), t1 - t0 === rows.length ? g : tf.slice(g, [t0, 0], [t1 - t0, -1]), true, false)
      acc = acc ? tf.add(acc, part) : part
    }
    return U < 2 ? tf.slice(acc!, [0, 0], [U, -1]) : acc!
  })
  return { summed, compact }
}

/**
 * The whole embedding-table gradient [n, H] (tf.unsortedSegmentSum(g, rows, n)); on webgpu reproducible:
 * compact row sums scattered to their distinct rows (each output written once).
 */
export function embeddingGradTensor(g: tf.Tensor, rows: Int32Array, n: number): tf.Tensor {
  if (hasSyncReads()) return tf.unsortedSegmentSum(g, tf.tensor1d(rows, 'int32'), n)
  const { summed, compact } = compactRowSums(g, rows)
  return tf.tidy(() => {
    const at = tf.tensor2d(Int32Array.from(compact.keys()), [compact.size, 1], 'int32')
    const out = tf.scatterND(at, summed, [n, g.shape[1]!])
    summed.dispose()
    return out
  })
}

/**
 * sparseEmbeddingGrad as a [k] tensor; on webgpu on the device: the token gradients summed per distinct
 * row of this batch ([U, H], U ≤ tokens), then the k entries (0 where the batch does not use the row).
 */
export function sparseEmbeddingGradTensor(g: tf.Tensor, rows: Int32Array, H: number, indices: Int32Array): tf.Tensor {
  if (hasSyncReads()) return tf.tensor1d(sparseEmbeddingGrad(g, rows, H, indices))
  const { summed, compact } = compactRowSums(g, rows)
  const U = compact.size
  const at = new Int32Array(indices.length)
  for (let j = 0; j < indices.length; j++) {
    const c = compact.get(Math.floor(indices[j] / H))
    at[j] = c === undefined ? U * H : c * H + (indices[j] % H) // U·H: the appended zero
  }
  return tf.tidy(() => {
    const flat = tf.concat([tf.reshape(summed, [-1]), tf.zeros([1])])
    summed.dispose()
    return tf.gather(flat, tf.tensor1d(at, 'int32'))
  })
}

/**
 * dW[o, i] = Σ_n dy[n, o] · x[n, i] at the given flat indices f = o·in + i of W [out, in].
 * Sample rows outermost: each row of x and dy is read once while it is in cache, and every entry's sum
 * runs over n in ascending order in float64 (rows with dy[n, o] = 0, e.g. padding, are skipped).
 */
export function sparseLinearGrad(x: tf.Tensor, dy: tf.Tensor, indices: Int32Array): Float32Array {
  const N = x.shape[0]!
  const inDim = x.shape[1]!
  const outDim = dy.shape[1]!
  const { rows, cols } = decompose(indices, inDim)
  const xv = hostView(x)
  const dv = hostView(dy)
  const k = indices.length
  const acc = new Float64Array(k)
  for (let n = 0; n < N; n++) {
    const xo = n * inDim
    const d0 = n * outDim
    for (let j = 0; j < k; j++) {
      const a = dv[d0 + rows[j]]
      if (a !== 0) acc[j] += a * xv[xo + cols[j]]
    }
  }
  return Float32Array.from(acc)
}

/** Embedding table gradient at flat indices f = row·H + h: Σ over tokens t with rows[t] = row of g[t, h]. */
export function sparseEmbeddingGrad(g: tf.Tensor, rows: Int32Array, H: number, indices: Int32Array): Float32Array {
  const gv = hostView(g)
  const byRow = new Map<number, number[]>() // row → positions j in indices
  for (let j = 0; j < indices.length; j++) {
    const r = Math.floor(indices[j] / H)
    let list = byRow.get(r)
    if (!list) byRow.set(r, (list = []))
    list.push(j)
  }
  const acc = new Float64Array(indices.length)
  for (let t = 0; t < rows.length; t++) {
    const list = byRow.get(rows[t])
    if (!list) continue
    const off = t * H - rows[t] * H
    for (const j of list) acc[j] += gv[off + indices[j]]
  }
  return Float32Array.from(acc)
}

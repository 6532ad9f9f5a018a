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
import { hasSyncReads } from '../backend'
import { hostView } from '../util/host-view'

/** sparseLinearGrad as a [k] tensor; on webgpu computed on the device (dense dYᵀX, then the k entries). */
export function sparseLinearGradTensor(x: tf.Tensor, dy: tf.Tensor, indices: Int32Array): tf.Tensor {
  if (hasSyncReads()) return tf.tensor1d(sparseLinearGrad(x, dy, indices))
  return tf.tidy(() => tf.gather(tf.reshape(tf.matMul(dy, x, true, false), [-1]), tf.tensor1d(indices, 'int32')))
}

/**
 * sparseEmbeddingGrad as a [k] tensor; on webgpu on the device: the token gradients summed per distinct
 * row of this batch ([U, H], U ≤ tokens), then the k entries (0 where the batch does not use the row).
 */
export function sparseEmbeddingGradTensor(g: tf.Tensor, rows: Int32Array, H: number, indices: Int32Array): tf.Tensor {
  if (hasSyncReads()) return tf.tensor1d(sparseEmbeddingGrad(g, rows, H, indices))
  const compact = new Map<number, number>()
  const seg = new Int32Array(rows.length)
  for (let t = 0; t < rows.length; t++) {
    let c = compact.get(rows[t])
    if (c === undefined) compact.set(rows[t], (c = compact.size))
    seg[t] = c
  }
  const U = compact.size
  const at = new Int32Array(indices.length)
  for (let j = 0; j < indices.length; j++) {
    const c = compact.get(Math.floor(indices[j] / H))
    at[j] = c === undefined ? U * H : c * H + (indices[j] % H) // U·H: the appended zero
  }
  return tf.tidy(() => {
    const summed = tf.reshape(tf.unsortedSegmentSum(g, tf.tensor1d(seg, 'int32'), U), [-1])
    return tf.gather(tf.concat([summed, tf.zeros([1])]), tf.tensor1d(at, 'int32'))
  })
}

/** dW[o, i] = Σ_n dy[n, o] · x[n, i] at the given flat indices f = o·in + i of W [out, in]. */
export function sparseLinearGrad(x: tf.Tensor, dy: tf.Tensor, indices: Int32Array): Float32Array {
  const N = x.shape[0]!
  const inDim = x.shape[1]!
  const outDim = dy.shape[1]!
  const xv = hostView(x)
  const dv = hostView(dy)
  const out = new Float32Array(indices.length)
  let j = 0
  while (j < indices.length) {
    const o = Math.floor(indices[j] / inDim)
    let end = j
    while (end < indices.length && Math.floor(indices[end] / inDim) === o) end++
    const cols = indices.subarray(j, end)
    const acc = new Float64Array(cols.length)
    const base = o * inDim
    for (let n = 0; n < N; n++) {
      const a = dv[n * outDim + o]
      if (a === 0) continue // padding rows carry no gradient
      const row = n * inDim - base
      for (let c = 0; c < cols.length; c++) acc[c] += a * xv[row + cols[c]]
    }
    for (let c = 0; c < cols.length; c++) out[j + c] = acc[c]
    j = end
  }
  return out
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

/**
 * Gradients of selected entries only. Masked fine-tuning trains ~0.5 % of each weight matrix, yet a
 * dense dW = dYᵀX costs as much as the forward matmul; computing just the k selected entries costs
 * k · N multiply-adds on the host (N = batch rows), far less, and needs no transpose.
 * Entries are HF-layout flat indices, sorted ascending (the mask format). Sums run in float64.
 * Must not: allocate tensors between reading the heap views and finishing (views would detach).
 */
import type * as tf from '@tensorflow/tfjs'
import { hostView } from '../util/host-view'

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

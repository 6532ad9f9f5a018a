/**
 * Gradients of selected entries only. Masked fine-tuning trains ~0.5 % of each weight matrix, yet a
 * dense dW = dYᵀX costs as much as the forward matmul; computing just the k selected entries costs
 * k · N multiply-adds on the host (N = batch rows), far less, and needs no transpose.
 * Entries are HF-layout flat indices, sorted ascending (the mask format). Sums run in float64.
 * Must not: allocate tensors between reading the heap views and finishing (views would detach).
 */
import type * as tf from '@tensorflow/tfjs'
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

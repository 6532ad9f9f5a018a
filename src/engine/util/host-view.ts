/**
 * Read a float32 tensor's values on the host without a copy where the backend allows it: the wasm
 * backend keeps data in its heap (a view is free), the cpu backend in a JS typed array. Other backends
 * (tfjs-node, GPU) get a dataSync() copy. The view is valid only until the next tfjs allocation (the
 * wasm heap may grow and detach it) or until the tensor is disposed: use it at once.
 * Must not: be held across tfjs calls.
 */
import * as tf from '@tensorflow/tfjs'

interface ViewBackend {
  typedArrayFromHeap?: (t: tf.TensorInfo) => Float32Array
  data?: { get(id: object): { values?: unknown } }
}

export function hostView(t: tf.Tensor): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`hostView: float32 expected, got ${t.dtype}`)
  const name = tf.getBackend()
  const be = tf.backend() as unknown as ViewBackend
  if (name === 'wasm' && be.typedArrayFromHeap) return be.typedArrayFromHeap(t)
  if (name === 'cpu' && be.data) {
    const v = be.data.get(t.dataId).values
    if (v instanceof Float32Array) return v
  }
  return t.dataSync() as Float32Array
}

/** Per-sample column sums on the host: x [B·R, C] → Float32Array [B, C]. */
export function sumRowsPerSampleHost(x: tf.Tensor, B: number): Float32Array {
  const C = x.shape[x.shape.length - 1]!
  const R = x.size / (B * C)
  const v = hostView(x)
  const out = new Float32Array(B * C)
  for (let b = 0; b < B; b++) {
    const o = b * C
    for (let r = 0; r < R; r++) {
      const base = (b * R + r) * C
      for (let c = 0; c < C; c++) out[o + c] += v[base + c]
    }
  }
  return out
}

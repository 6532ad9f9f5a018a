/**
 * Kernels that make the tfjs wasm backend complete and fast enough for BERT training.
 *
 * Owns: (1) a JS UnsortedSegmentSum for wasm (missing there, so the gradient of `gather`, i.e. of an
 * embedding lookup, fails without it); (2) a BatchMatMul wrapper. tfjs-backend-wasm 4.22 sends a matmul
 * to XNNPACK only when both operands have batch 1 and neither is transposed; everything else runs a
 * scalar triple loop that is 10-40x slower (measured: 4096x256 @ 256x1024 takes 137 ms plain, 1.3 s
 * with transposeB, 5.7 s with transposeA; a [32,128,256] @ [256,1024] batch 4.8 s). The wrapper
 * transposes explicitly (a cheap copy), folds a broadcast batch into rows, and runs true batches as a
 * loop of 2-D XNNPACK matmuls. Results are the same sums in a different order (float rounding only).
 * Must not: change behaviour on any backend other than wasm.
 */
import * as tf from '@tensorflow/tfjs'
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs'

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array
  disposeData(dataId: object): boolean
}

let installed = false

export function installWasmKernels(): void {
  if (installed) return
  installed = true
  registerUnsortedSegmentSum()
  registerFastBatchMatMul()
  registerFastGather()
}

/**
 * Row gather (embedding lookup). The wasm Gather computes an index per element (13 ms for 2048 rows of
 * 128 floats); copying whole rows with TypedArray.set is ~50x faster. Other axes fall through.
 */
function registerFastGather(): void {
  const original = tf.getKernel('GatherV2', 'wasm')
  if (!original) return
  const orig = original.kernelFunc
  const fast: KernelFunc = (args) => {
    const be = args.backend as unknown as WasmBackendLike
    const x = args.inputs.x as TensorInfo
    const indices = args.inputs.indices as TensorInfo
    const { axis, batchDims } = args.attrs as unknown as { axis: number; batchDims: number }
    if ((axis !== 0 && axis !== -x.shape.length) || (batchDims ?? 0) !== 0 || x.shape.length < 1 || indices.dtype !== 'int32' || (x.dtype !== 'float32' && x.dtype !== 'int32')) {
      return orig(args) as TensorInfo
    }
    const rows = x.shape[0]
    const row = x.shape.slice(1).reduce((a, b) => a * b, 1)
    const n = indices.shape.reduce((a, b) => a * b, 1)
    const out = be.makeOutput([...indices.shape, ...x.shape.slice(1)], x.dtype)
    const iv = be.typedArrayFromHeap(indices)
    const xv = be.typedArrayFromHeap(x)
    const ov = be.typedArrayFromHeap(out)
    for (let i = 0; i < n; i++) {
      const r = iv[i]
      if (r < 0 || r >= rows) {
        be.disposeData(out.dataId)
        throw new Error(`GatherV2: the index value ${r} is not in [0, ${rows - 1}]`)
      }
      ov.set(xv.subarray(r * row, (r + 1) * row), i * row)
    }
    return out
  }
  tf.unregisterKernel('GatherV2', 'wasm')
  tf.registerKernel({ ...original, kernelFunc: fast })
}

function registerUnsortedSegmentSum(): void {
  if (tf.getKernel('UnsortedSegmentSum', 'wasm')) return
  tf.registerKernel({
    kernelName: 'UnsortedSegmentSum',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const be = backend as unknown as WasmBackendLike
      const x = inputs.x as TensorInfo
      const ids = inputs.segmentIds as TensorInfo
      const numSegments = (attrs as unknown as { numSegments: number }).numSegments
      if (x.dtype !== 'float32' && x.dtype !== 'int32') {
        throw new Error(`UnsortedSegmentSum (wasm): unsupported dtype ${x.dtype}`)
      }
      const idsShape = ids.shape
      const rows = idsShape.reduce((a, b) => a * b, 1)
      const inner = x.shape.slice(idsShape.length).reduce((a, b) => a * b, 1)
      const outShape = [numSegments, ...x.shape.slice(idsShape.length)]
      const out = be.makeOutput(outShape, x.dtype)
      // views after makeOutput: allocation may grow (and detach) the heap
      const xv = be.typedArrayFromHeap(x)
      const iv = be.typedArrayFromHeap(ids)
      const ov = be.typedArrayFromHeap(out)
      ov.fill(0)
      for (let r = 0; r < rows; r++) {
        const seg = iv[r]
        if (seg < 0 || seg >= numSegments) continue // TF drops out-of-range ids
        const src = r * inner
        const dst = seg * inner
        for (let j = 0; j < inner; j++) ov[dst + j] += xv[src + j]
      }
      return out
    }
  })
}

function registerFastBatchMatMul(): void {
  const original = tf.getKernel('BatchMatMul', 'wasm')
  const transposeK = tf.getKernel('Transpose', 'wasm')
  const reshapeK = tf.getKernel('Reshape', 'wasm')
  if (!original || !transposeK || !reshapeK) return
  const orig = original.kernelFunc
  const transpose = transposeK.kernelFunc
  const reshape = reshapeK.kernelFunc

  const fast: KernelFunc = (args) => {
    const { inputs, backend } = args
    const be = backend as unknown as WasmBackendLike
    const attrs = args.attrs as unknown as { transposeA: boolean; transposeB: boolean }
    let a = inputs.a as TensorInfo
    let b = inputs.b as TensorInfo
    const temps: TensorInfo[] = []
    const call = (f: KernelFunc, i: Record<string, TensorInfo>, at: Record<string, unknown>): TensorInfo => {
      const r = f({ inputs: i, backend, attrs: at as never }) as TensorInfo
      temps.push(r)
      return r
    }
    try {
      const rankA = a.shape.length
      const rankB = b.shape.length
      if (a.dtype !== 'float32' || b.dtype !== 'float32' || rankA < 2 || rankB < 2) {
        return orig(args) as TensorInfo
      }
      // to 3-D [batch, rows, cols]
      const batchA = a.shape.slice(0, -2).reduce((x, y) => x * y, 1)
      const batchB = b.shape.slice(0, -2).reduce((x, y) => x * y, 1)
      const outBatchShape = (batchA >= batchB ? a : b).shape.slice(0, -2)
      if (rankA !== 3) a = call(reshape, { x: a }, { shape: [batchA, a.shape[rankA - 2], a.shape[rankA - 1]] })
      if (rankB !== 3) b = call(reshape, { x: b }, { shape: [batchB, b.shape[rankB - 2], b.shape[rankB - 1]] })
      if (attrs.transposeA) a = call(transpose, { x: a }, { perm: [0, 2, 1] })
      if (attrs.transposeB) b = call(transpose, { x: b }, { perm: [0, 2, 1] })
      const [, M, K] = a.shape
      const N = b.shape[2]
      if (b.shape[1] !== K) throw new Error(`BatchMatMul: inner dimensions ${K} and ${b.shape[1]} differ`)
      const noT = { transposeA: false, transposeB: false }
      let out: TensorInfo
      if (batchA === 1 && batchB === 1) {
        out = orig({ inputs: { a, b }, backend, attrs: noT as never }) as TensorInfo
      } else if (batchB === 1) {
        // broadcast weights: fold the batch into rows, one XNNPACK call
        const a2 = call(reshape, { x: a }, { shape: [1, batchA * M, K] })
        const o = call(orig, { a: a2, b }, noT)
        out = reshape({ inputs: { x: o }, backend, attrs: { shape: [batchA, M, N] } as never }) as TensorInfo
      } else {
        if (batchA !== batchB && batchA !== 1) {
          throw new Error(`BatchMatMul: batch dimensions ${batchA} and ${batchB} do not broadcast`)
        }
        const batch = Math.max(batchA, batchB)
        out = be.makeOutput([batch, M, N], 'float32')
        const as = be.makeOutput([1, M, K], 'float32')
        temps.push(as)
        for (let i = 0; i < batch; i++) {
          // Re-read heap views after every allocation: the wasm heap can grow and detach old views.
          const ia = batchA === 1 ? 0 : i
          if (i === 0 || batchA !== 1) be.typedArrayFromHeap(as).set(be.typedArrayFromHeap(a).subarray(ia * M * K, (ia + 1) * M * K))
          // A fresh tensor for b each time: XNNPACK caches packed weights by b's tensor id.
          const bs = be.makeOutput([1, K, N], 'float32')
          be.typedArrayFromHeap(bs).set(be.typedArrayFromHeap(b).subarray(i * K * N, (i + 1) * K * N))
          const o = orig({ inputs: { a: as, b: bs }, backend, attrs: noT as never }) as TensorInfo
          be.typedArrayFromHeap(out).set(be.typedArrayFromHeap(o), i * M * N)
          be.disposeData(o.dataId)
          be.disposeData(bs.dataId)
        }
      }
      if (outBatchShape.length !== 1) {
        const o = out
        out = reshape({ inputs: { x: o }, backend, attrs: { shape: [...outBatchShape, M, N] } as never }) as TensorInfo
        be.disposeData(o.dataId)
      }
      return out
    } finally {
      for (const t of temps) be.disposeData(t.dataId)
    }
  }
  tf.unregisterKernel('BatchMatMul', 'wasm')
  tf.registerKernel({ ...original, kernelFunc: fast })
}

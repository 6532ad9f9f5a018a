/** The wasm kernel replacements give the cpu backend's results (to float rounding), for every layout. */
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../src/engine/backend'
import { Rng } from '../../src/engine/util/rng'

function randn(shape: number[], seed: number): { shape: number[]; data: Float32Array } {
  const rng = new Rng(seed)
  const n = shape.reduce((a, b) => a * b, 1)
  return { shape, data: Float32Array.from({ length: n }, () => rng.normal()) }
}

async function onBoth(f: () => tf.Tensor): Promise<{ wasm: Float32Array; cpu: Float32Array; shape: number[] }> {
  await tf.setBackend('wasm')
  const w = f()
  const wasm = w.dataSync() as Float32Array
  const shape = w.shape
  await tf.setBackend('cpu')
  const cpu = f().dataSync() as Float32Array
  await tf.setBackend('wasm')
  return { wasm, cpu, shape }
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]))
  return m
}

describe('wasm kernels', () => {
  beforeAll(async () => {
    const info = await initBackend({ force: 'wasm' })
    expect(info.name).toBe('wasm')
  })

  const cases: Array<[string, number[], number[], boolean, boolean]> = [
    ['2-D plain', [7, 5], [5, 3], false, false],
    ['2-D transposeA', [5, 7], [5, 3], true, false],
    ['2-D transposeB', [7, 5], [3, 5], false, true],
    ['2-D both', [5, 7], [3, 5], true, true],
    ['batched', [4, 6, 5], [4, 5, 3], false, false],
    ['batched transposeB (attention scores)', [2, 3, 6, 4], [2, 3, 5, 4], false, true],
    ['batched transposeA (per-sample weight grads)', [4, 6, 5], [4, 6, 3], true, false],
    ['broadcast b', [4, 6, 5], [5, 3], false, false],
    ['broadcast a', [6, 5], [4, 5, 3], false, false]
  ]
  for (const [name, sa, sb, ta, tb] of cases) {
    it(`BatchMatMul ${name}`, async () => {
      const a = randn(sa, 1)
      const b = randn(sb, 2)
      const r = await onBoth(() => tf.matMul(tf.tensor(a.data, a.shape), tf.tensor(b.data, b.shape), ta, tb))
      expect(r.wasm.length).toBe(r.cpu.length)
      expect(maxDiff(r.wasm, r.cpu)).toBeLessThan(1e-5)
    })
  }

  it('BatchMatMul leaks no tensors', () => {
    const a = tf.randomNormal([3, 4, 5])
    const b = tf.randomNormal([3, 2, 4])
    tf.matMul(a, b, true, true).dispose()
    const before = tf.memory().numTensors
    const bytes = tf.memory().numBytes
    for (let i = 0; i < 5; i++) tf.matMul(a, b, true, true).dispose()
    expect(tf.memory().numTensors).toBe(before)
    expect(tf.memory().numBytes).toBe(bytes)
    tf.dispose([a, b])
  })

  it('gather rows matches cpu and rejects out-of-range ids', async () => {
    const x = randn([10, 3, 2], 3)
    const ids = Int32Array.from([9, 0, 3, 3, 7])
    const r = await onBoth(() => tf.gather(tf.tensor(x.data, x.shape), tf.tensor2d(ids, [5, 1], 'int32')))
    expect(r.shape).toEqual([5, 1, 3, 2])
    expect(maxDiff(r.wasm, r.cpu)).toBe(0)
    expect(() => tf.gather(tf.tensor(x.data, x.shape), tf.tensor1d([10], 'int32'))).toThrow(/index value 10/)
  })

  it('the gradient of gather (UnsortedSegmentSum) works on wasm', async () => {
    const e = randn([6, 4], 4)
    const ids = tf.tensor1d([1, 5, 1, 0], 'int32')
    const w = randn([4, 4], 5)
    const f = () => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, ids), tf.tensor(w.data, w.shape))))(tf.tensor(e.data, e.shape))
    const r = await onBoth(f)
    expect(maxDiff(r.wasm, r.cpu)).toBeLessThan(1e-6)
    // row 1 was used twice: its gradient is the sum of two rows of w
    expect(r.wasm[4]).toBeCloseTo(w.data[0] + w.data[8], 5)
  })
})

/** Epoch batching (seeded shuffle, length buckets) and dynamic padding. Host-only. */
import { describe, expect, it } from 'vitest'
import { collate, encodeData, epochBatches } from '../../../src/engine/train/batches'
import { Rng } from '../../../src/engine/util/rng'

describe('epochBatches', () => {
  const lengths = Int32Array.from({ length: 203 }, (_, i) => 3 + ((i * 37) % 60))
  for (const bucket of [false, true]) {
    it(`every row exactly once per epoch, batch sizes ≤ B, seeded (bucket ${bucket})`, () => {
      const a = epochBatches(lengths, 8, new Rng(1), bucket)
      const b = epochBatches(lengths, 8, new Rng(1), bucket)
      const c = epochBatches(lengths, 8, new Rng(2), bucket)
      expect(a.map((x) => Array.from(x))).toEqual(b.map((x) => Array.from(x)))
      expect(a.map((x) => Array.from(x))).not.toEqual(c.map((x) => Array.from(x)))
      const all = a.flatMap((x) => Array.from(x)).sort((p, q) => p - q)
      expect(all).toEqual(Array.from({ length: 203 }, (_, i) => i))
      expect(a.every((x) => x.length <= 8)).toBe(true)
      expect(a.length).toBe(Math.ceil(203 / 8))
    })
  }
  it('bucketing pads less than plain shuffling', () => {
    const pad = (batches: Int32Array[]) => batches.reduce((s, x) => s + x.length * Math.max(...Array.from(x, (r) => lengths[r])), 0)
    expect(pad(epochBatches(lengths, 8, new Rng(3), true))).toBeLessThan(0.8 * pad(epochBatches(lengths, 8, new Rng(3), false)))
  })
  it('without an rng: rows in order', () => {
    expect(epochBatches(Int32Array.from([1, 2, 3, 4, 5]), 2, null, false).map((x) => Array.from(x))).toEqual([[0, 1], [2, 3], [4]])
  })
})

describe('collate', () => {
  it('pads to the longest row (or a fixed length) with the pad id, type 0 and mask 0', () => {
    const set = encodeData(
      [
        { inputIds: [1, 7, 2], label: 0 },
        { inputIds: [1, 8, 9, 2, 4, 2], tokenTypeIds: [0, 0, 0, 0, 1, 1], label: 1 }
      ],
      { maxLength: 8, padId: 3, what: 'test' }
    )
    const b = collate(set, [0, 1], 'longest')
    expect(b.seqLen).toBe(6)
    expect(Array.from(b.inputIds)).toEqual([1, 7, 2, 3, 3, 3, 1, 8, 9, 2, 4, 2])
    expect(Array.from(b.tokenTypeIds)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1])
    expect(Array.from(b.attentionMask)).toEqual([1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1])
    expect(collate(set, [1], 8).seqLen).toBe(8)
    expect(() => encodeData([{ inputIds: [1, 2, 3] }], { maxLength: 2, padId: 0, what: 'training' })).toThrow(/more than maxLength 2/)
  })
})

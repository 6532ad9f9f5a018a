import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { mean, pairedTTest, std, tTwoSidedP } from '../../../src/engine/study/stats'

const fx = JSON.parse(readFileSync(new URL('../../fixtures/study/ttest.json', import.meta.url), 'utf8')) as {
  ttest_rel: Array<{ a: number[]; b: number[]; t: number; p: number; meanDiff: number; stdDiff: number }>
  t_two_sided: Array<{ t: number; df: number; p: number }>
}

describe('study statistics match scipy (test/reference/study_stats_reference.py)', () => {
  it('Student t two-sided p-values', () => {
    for (const c of fx.t_two_sided) expect(tTwoSidedP(c.t, c.df)).toBeCloseTo(c.p, 10)
  })
  it('paired t-test = scipy.stats.ttest_rel', () => {
    for (const c of fx.ttest_rel) {
      const r = pairedTTest(c.a, c.b)
      expect(r.t).toBeCloseTo(c.t, 9)
      expect(r.p).toBeCloseTo(c.p, 10)
      expect(r.meanDiff).toBeCloseTo(c.meanDiff, 12)
      expect(r.stdDiff).toBeCloseTo(c.stdDiff, 12)
    }
  })
  it('degenerate cases say so instead of inventing a p-value', () => {
    expect(Number.isNaN(pairedTTest([1], [0]).p)).toBe(true)
    expect(pairedTTest([1, 2, 3], [1, 2, 3]).p).toBe(1)
    expect(pairedTTest([2, 3, 4], [1, 2, 3]).p).toBe(0)
    expect(() => pairedTTest([1, 2], [1])).toThrow(/pairs must match/)
    expect(mean([1, 2, 3])).toBe(2)
    expect(std([5])).toBe(0)
  })
})

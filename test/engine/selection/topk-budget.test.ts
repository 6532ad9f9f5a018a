/** Exact global top-k (against a full sort, with ties and ranges), sample top-m, and the budget's refusals. */
import { describe, expect, it } from 'vitest'
import { bertParameterSpec, countParameters } from '../../../src/engine/model/config'
import { BudgetError, computeBudget, globalTopK, topPositions } from '../../../src/engine/selection'
import { Rng } from '../../../src/engine/util/rng'
import { bruteTopK, tinyConfig } from './tiny'

function keysOf(mask: Map<string, Int32Array | 'all'>): Set<string> {
  const out = new Set<string>()
  for (const [name, e] of mask) for (const i of e as Int32Array) out.add(`${name}#${i}`)
  return out
}

describe('globalTopK', () => {
  const rng = new Rng(3)
  const order = ['a', 'b', 'c', 'd']
  const values = new Map<string, Float32Array>([
    ['a', Float32Array.from({ length: 1000 }, () => rng.next() ** 4)],
    ['b', Float32Array.from({ length: 37 }, () => rng.next())],
    ['c', Float32Array.from({ length: 5000 }, () => Math.exp(-30 * rng.next()))],
    ['d', new Float32Array(10)]
  ])

  it('equals a full sort for every k, and reports mass and threshold', () => {
    for (const k of [0, 1, 2, 17, 500, 3000, 6037, 6047, 9999]) {
      const r = globalTopK(values, order, k)
      const ref = bruteTopK(values, order, Math.min(k, 6047) || 1)
      expect(r.count).toBe(Math.min(k, 6047))
      if (k === 0) {
        expect(r.mask.size).toBe(0)
        continue
      }
      expect(keysOf(r.mask)).toEqual(ref.set)
      expect(r.threshold).toBe(ref.threshold)
      let kept = 0
      for (const e of ref.all.slice(0, r.count)) kept += e.v
      expect(r.keptMass).toBeCloseTo(kept, 6)
      expect(r.rangeSize).toBe(6047)
      for (const e of r.mask.values()) for (let i = 1; i < (e as Int32Array).length; i++) expect((e as Int32Array)[i]).toBeGreaterThan((e as Int32Array)[i - 1])
    }
  })

  it('equals per-tensor top-k followed by a merge of the candidates', () => {
    const tied = new Map([...values].map(([n, f]) => [n, f.map((v) => Math.round(v * 50) / 50)])) // many ties
    for (const k of [1, 40, 700, 2500]) {
      const cand: Array<{ v: number; t: number; i: number }> = []
      order.forEach((name, t) => {
        const f = tied.get(name)!
        const mine = Array.from(f, (v, i) => ({ v, t, i }))
          .sort((a, b) => b.v - a.v || a.i - b.i)
          .slice(0, k)
        cand.push(...mine)
      })
      cand.sort((a, b) => b.v - a.v || a.t - b.t || a.i - b.i)
      const merged = new Set(cand.slice(0, k).map((c) => `${order[c.t]}#${c.i}`))
      expect(keysOf(globalTopK(tied, order, k).mask)).toEqual(merged)
    }
  })

  it('breaks ties by tensor order, then flat index', () => {
    const v = new Map([
      ['x', Float32Array.from([1, 2, 2, 0])],
      ['y', Float32Array.from([2, 2, 5, 2])]
    ])
    // 5 first, then the 2s: x#1, x#2, y#0, y#1, y#3
    expect(keysOf(globalTopK(v, ['x', 'y'], 3).mask)).toEqual(new Set(['y#2', 'x#1', 'x#2']))
    expect(keysOf(globalTopK(v, ['y', 'x'], 3).mask)).toEqual(new Set(['y#2', 'y#0', 'y#1']))
    expect(keysOf(globalTopK(v, ['x', 'y'], 5).mask)).toEqual(new Set(['y#2', 'x#1', 'x#2', 'y#0', 'y#1']))
  })

  it('restricts to a range', () => {
    const range = new Map<string, Int32Array | 'all'>([
      ['a', Int32Array.from([3, 10, 500, 999])],
      ['c', 'all']
    ])
    const restricted = new Map<string, Float32Array>()
    for (const name of order) {
      const f = values.get(name)!
      const e = range.get(name)
      const g = new Float32Array(f.length).fill(-1)
      if (e === 'all') g.set(f)
      else if (e) for (const i of e) g[i] = f[i]
      restricted.set(name, g)
    }
    const r = globalTopK(values, order, 100, range)
    const ref = bruteTopK(restricted, order, 100)
    expect(keysOf(r.mask)).toEqual(ref.set)
    expect(r.rangeSize).toBe(5004)
  })

  it('refuses NaN with the tensor and index', () => {
    const v = new Map([['x', Float32Array.from([1, NaN])]])
    expect(() => globalTopK(v, ['x'], 1)).toThrow(/"x" holds NaN at flat index 1/)
  })

  it('topPositions: larger first, ties to the lower position, result ascending', () => {
    expect(topPositions([0.5, 3, 1, 3, 0.1], 2)).toEqual([1, 3])
    expect(topPositions([1, 1, 1, 1], 2)).toEqual([0, 1])
    expect(topPositions([0.2, 0.9, 0.5], 5)).toEqual([0, 1, 2])
  })
})

describe('budget', () => {
  const cfg = tinyConfig()
  const spec = bertParameterSpec(cfg)
  const total = countParameters(cfg)
  const head = 2 * 16 + 2

  it('k = floor(total × keep_ratio) − |H|', () => {
    const b = computeBudget(spec, 0.05)
    expect(b).toEqual({ keepRatio: 0.05, totalParams: total, headSize: head, thetaSize: total - head, k: Math.floor(total * 0.05) - head })
    expect(computeBudget(spec, 1).k).toBe(total - head)
  })

  it('refuses k ≤ 0, naming keep_ratio and the smallest one that works', () => {
    let err: unknown
    try {
      computeBudget(spec, 0.001)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(BudgetError)
    const msg = (err as Error).message
    expect(msg).toContain('keep_ratio 0.001 is too small')
    expect(msg).toContain(`|H| = ${head}`)
    const min = Number(/smallest keep_ratio that works is ([0-9.e-]+)/.exec(msg)![1])
    expect(computeBudget(spec, min).k).toBeGreaterThanOrEqual(1)
    expect(() => computeBudget(spec, min * 0.9)).toThrow(BudgetError)
  })

  it('refuses k > |θ| and nonsense ratios', () => {
    expect(() => computeBudget(spec, 1.5)).toThrow(/more than the \d+ non-head parameters.*at most 1/)
    expect(() => computeBudget(spec, 0)).toThrow(/keep_ratio must be a number in \(0, 1\]/)
    expect(() => computeBudget(spec, NaN)).toThrow(/keep_ratio must be a number/)
  })
})

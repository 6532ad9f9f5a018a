/**
 * IRD: every round's sizes follow |S_t| = max(n, ceil(α_s|S_{t-1}|)) and |P_t| = max(k, ceil(α_p|P_{t-1}|)),
 * ranges only shrink and nest, the final sizes are exactly n and k (+ head), the round limit cuts, the
 * records are in range and the gradient-evaluation count is what the implementation really spends. The
 * selection is checked against a literal float64 implementation of ALGORITHMS.md over cached f_i.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../src/engine/backend'
import type { BertForSequenceClassification } from '../../../src/engine/model/bert'
import { countParameters, numel } from '../../../src/engine/model/config'
import { maskEquals, maskIntersectionCount, type ParamMask } from '../../../src/engine/mask'
import { selectMask, type EncodedSample, type IrdRound } from '../../../src/engine/selection'
import { loopFisher, tinyConfig, tinyModel, tinySamples } from './tiny'

const cfg = tinyConfig()
let model: BertForSequenceClassification
let samples: EncodedSample[]
const KEEP = 0.05
const HEAD = 2 * 16 + 2
let total: number
let k: number
let thetaSize: number

beforeAll(async () => {
  await initBackend({ force: 'wasm' })
  model = tinyModel(cfg)
  samples = tinySamples(40, cfg)
  total = countParameters(cfg)
  k = Math.floor(total * KEEP) - HEAD
  thetaSize = total - HEAD
})
afterAll(() => model.dispose())

interface Seen {
  round: IrdRound
  S: number[]
  P: ParamMask
}

function isSubset(a: ParamMask, b: ParamMask): boolean {
  let n = 0
  for (const e of a.values()) n += e === 'all' ? Infinity : e.length
  return maskIntersectionCount(a, b, model.spec) === n
}

async function run(ird: Record<string, unknown>, n: number, seed = 11) {
  const seen: Seen[] = []
  const r = await selectMask({ method: 'ird', model, samples, keepRatio: KEEP, nSamples: n, seed, batchSize: 4, ird, onIrdRound: (round, S, P) => seen.push({ round, S: [...S], P }) })
  return { r, seen }
}

/** ALGORITHMS.md literally, in float64, over f_i cached per sample (feasible only for a tiny model). */
function referenceIrd(pool: number[], n: number, alphaS: number, alphaP: number) {
  const order = model.spec.filter((s) => !s.head)
  const f = pool.map((p) => {
    const F = loopFisher(model, [samples[p]])
    const flat = new Float64Array(thetaSize)
    let off = 0
    for (const s of order) {
      flat.set(F.get(s.name)!, off)
      off += numel(s.shape)
    }
    return flat
  })
  let S = pool.map((_, i) => i)
  let P = Array.from({ length: thetaSize }, (_, j) => j)
  const rounds: Array<{ S: string[]; P: number[] }> = []
  while (true) {
    const s = S.map((i) => P.reduce((a, j) => a + f[i][j], 0))
    const m = Math.max(n, Math.ceil(alphaS * S.length))
    const keep = S.map((_, x) => x).sort((a, b) => s[b] - s[a] || S[a] - S[b]).slice(0, m)
    S = keep.map((x) => S[x]).sort((a, b) => a - b)
    const F = P.map((j) => S.reduce((a, i) => a + f[i][j], 0))
    const mp = Math.max(k, Math.ceil(alphaP * P.length))
    P = P.map((_, x) => x).sort((a, b) => F[b] - F[a] || P[a] - P[b]).slice(0, mp).map((x) => P[x]).sort((a, b) => a - b)
    rounds.push({ S: S.map((i) => samples[pool[i]].id), P })
    if (S.length === n && P.length === k) break
  }
  return rounds
}

function flatKeys(P: ParamMask): number[] {
  const out: number[] = []
  let off = 0
  for (const s of model.spec.filter((x) => !x.head)) {
    const e = P.get(s.name)
    if (e === 'all') for (let i = 0; i < numel(s.shape); i++) out.push(off + i)
    else if (e) for (const i of e) out.push(off + i)
    off += numel(s.shape)
  }
  return out
}

describe('ird', () => {
  it('follows the round rules, nests, ends at exactly n and k, counts evaluations honestly, and matches the literal procedure', async () => {
    const n = 5
    const { r, seen } = await run({ poolFactor: 4, alphaS: 0.5, alphaP: 0.5 }, n)
    const rounds = r.stats.ird!.rounds
    expect(r.stats.ird!.poolSize).toBe(20)
    expect(rounds.length).toBe(seen.length)
    let prevS = 20
    let prevP = thetaSize
    let evals = 0
    for (const [t, rd] of rounds.entries()) {
      expect(rd.round).toBe(t + 1)
      expect(rd.samplesBefore).toBe(prevS)
      expect(rd.paramsBefore).toBe(prevP)
      expect(rd.samplesAfter).toBe(Math.max(n, Math.ceil(0.5 * prevS)))
      expect(rd.paramsAfter).toBe(Math.max(k, Math.ceil(0.5 * prevP)))
      expect(rd.cut).toBe(false)
      for (const v of [rd.sampleMassKept, rd.paramMassKept, rd.fishOverlap.fractionOfFish, rd.fishOverlap.fractionOfRange, rd.fishOverlap.jaccard]) {
        expect(v).toBeGreaterThanOrEqual(0)
        expect(v).toBeLessThanOrEqual(1)
      }
      // keeping the top half keeps at least half of the mass
      if (rd.samplesAfter < rd.samplesBefore) expect(rd.sampleMassKept).toBeGreaterThanOrEqual(rd.samplesAfter / rd.samplesBefore)
      expect(rd.paramMassKept).toBeGreaterThanOrEqual(rd.paramsAfter / rd.paramsBefore)
      expect(rd.scores.count).toBe(prevS)
      // step a over S_{t-1}; step c over S_t unless S_t = S_{t-1} (then step a's F is reused)
      expect(rd.reusedScorePass).toBe(rd.samplesAfter === rd.samplesBefore)
      expect(rd.gradientEvaluations).toBe(rd.samplesBefore + (rd.reusedScorePass ? 0 : rd.samplesAfter))
      evals += rd.gradientEvaluations
      // nesting
      expect(seen[t].S.length).toBe(rd.samplesAfter)
      if (t > 0) {
        expect(seen[t].S.every((p) => seen[t - 1].S.includes(p))).toBe(true)
        expect(isSubset(seen[t].P, seen[t - 1].P)).toBe(true)
      }
      prevS = rd.samplesAfter
      prevP = rd.paramsAfter
    }
    expect(prevS).toBe(n)
    expect(prevP).toBe(k)
    // 20 → 10 → 5 samples; |θ| → … → k halving: 5 rounds: 5 rounds, 30 + 15 + 5 + 5 + 5 evaluations
    expect(rounds.map((x) => x.samplesAfter)).toEqual([10, 5, 5, 5, 5])
    expect(r.gradientEvaluations).toBe(evals)
    expect(r.gradientEvaluations).toBe(60)
    expect(r.stats.ird!.stopReason).toBe('budgets reached')
    expect(r.k).toBe(k)
    expect(r.maskCount).toBe(k + HEAD)
    expect(r.selectedSampleIds).toHaveLength(n)
    expect(r.selectedSampleIds).toEqual(seen[seen.length - 1].S.map((p) => samples[p].id))
    expect(r.stats.sampleScores!.ids).toHaveLength(20)
    expect(JSON.parse(JSON.stringify(r.stats))).toEqual(r.stats)

    // the literal procedure over cached f_i picks the same samples every round and (up to float-order
    // swaps at a threshold) the same parameters
    const pool = r.stats.sampleScores!.ids.map((id) => samples.findIndex((s) => s.id === id))
    const ref = referenceIrd(pool, n, 0.5, 0.5)
    expect(ref.length).toBe(rounds.length)
    for (const [t, rr] of ref.entries()) {
      expect(seen[t].S.map((p) => samples[p].id)).toEqual(rr.S)
      const got = new Set(flatKeys(seen[t].P))
      const common = rr.P.filter((j) => got.has(j)).length
      expect(common / rr.P.length).toBeGreaterThanOrEqual(0.995)
    }
  })

  it('cuts straight to n and k at the round limit', async () => {
    const { r } = await run({ poolFactor: 4, maxRounds: 2 }, 5)
    const rounds = r.stats.ird!.rounds
    expect(rounds).toHaveLength(2)
    expect(rounds[0].samplesAfter).toBe(10)
    expect(rounds[1]).toMatchObject({ samplesBefore: 10, samplesAfter: 5, paramsAfter: k, cut: true })
    expect(r.stats.ird!.stopReason).toBe('round limit')
    expect(r.maskCount).toBe(k + HEAD)
    expect(r.notes.join(' ')).toMatch(/round limit/)
    const { r: one } = await run({ poolFactor: 4, maxRounds: 1 }, 5)
    expect(one.stats.ird!.rounds).toHaveLength(1)
    expect(one.maskCount).toBe(k + HEAD)
  })

  it('a pool no larger than n keeps every sample and spends n evaluations per round', async () => {
    const { r } = await run({ poolFactor: 1, alphaP: 0.25 }, 8)
    const rounds = r.stats.ird!.rounds
    expect(rounds.every((x) => x.samplesBefore === 8 && x.samplesAfter === 8 && x.reusedScorePass && x.sampleMassKept === 1)).toBe(true)
    expect(r.gradientEvaluations).toBe(8 * rounds.length)
    const chain: number[] = []
    for (let p = thetaSize; p !== k; ) chain.push((p = Math.max(k, Math.ceil(0.25 * p))))
    expect(rounds.map((x) => x.paramsAfter)).toEqual(chain)
    expect(chain.length).toBe(3)
  })

  it('does not loop forever when α is too close to 1 to shrink', async () => {
    const { r } = await run({ poolFactor: 2, alphaS: 0.999, alphaP: 0.99999 }, 5)
    expect(r.stats.ird!.stopReason).toBe('stalled')
    expect(r.maskCount).toBe(k + HEAD)
    expect(r.selectedSampleIds).toHaveLength(5)
  })

  it('is deterministic and seed-dependent; the plain FISH overlap is recorded', async () => {
    const a = (await run({ poolFactor: 2, maxRounds: 3 }, 5, 1)).r
    const b = (await run({ poolFactor: 2, maxRounds: 3 }, 5, 1)).r
    const c = (await run({ poolFactor: 2, maxRounds: 3 }, 5, 2)).r
    expect(maskEquals(a.mask, b.mask, model.spec)).toBe(true)
    expect(b.selectedSampleIds).toEqual(a.selectedSampleIds)
    expect(maskEquals(a.mask, c.mask, model.spec)).toBe(false)
    const o = a.stats.ird!.finalFishOverlap
    expect(o.intersection).toBeGreaterThan(0)
    expect(o.fractionOfFish).toBe(o.intersection / k)
  })

  it('validates its settings', async () => {
    await expect(run({ alphaS: 1 }, 5)).rejects.toThrow(/ird.alphaS must be a number strictly between 0 and 1/)
    await expect(run({ poolFactor: 0.5 }, 5)).rejects.toThrow(/ird.poolFactor must be a number ≥ 1/)
    await expect(run({ maxRounds: 0 }, 5)).rejects.toThrow(/ird.maxRounds must be an integer ≥ 1/)
  })
})

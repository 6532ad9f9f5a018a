import { describe, expect, it } from 'vitest'
import { devChart, fisherHistogramChart, fisherLayerChart, irdChart, lossChart, overlayLossChart, sampleScoreChart } from '../../src/renderer/src/charts/run-charts'
import type { FisherChartData, RunDetail } from '../../src/renderer/src/domain'

const detail = (over: Partial<RunDetail> = {}): RunDetail => ({
  summary: { id: 'r', task: 'sst2', method: 'ird', status: 'running', model: '/m', seed: 0, startedAt: '2026-01-01T00:00:00Z', live: true },
  config: null, events: [], curve: [], metrics: [], fisher: null, results: null, memory: [], ...over
})
const round = (r: number, sBefore: number, sAfter: number, pBefore: number, pAfter: number) => ({
  round: r, samplesBefore: sBefore, samplesAfter: sAfter, paramsBefore: pBefore, paramsAfter: pAfter, cut: false, sampleMassKept: 0.9, paramMassKept: 0.8,
  scores: { count: sBefore, mean: 1, min: 0, q10: 0, q25: 0, median: 1, q75: 1, q90: 1, max: 2 },
  fishOverlap: { intersection: 10, fractionOfFish: 0.5, fractionOfRange: 0.1, jaccard: 0.05 }, gradientEvaluations: sBefore + sAfter, reusedScorePass: false
})

describe('run charts: every chart has a table with the same numbers, and no data means no rows', () => {
  it('empty run: tables are empty (the card shows its empty text instead of a blank chart)', () => {
    for (const spec of [lossChart(detail()), devChart(detail()), fisherLayerChart(null), fisherHistogramChart(null), sampleScoreChart(null), irdChart(null)]) {
      expect(spec.table.rows).toEqual([])
      expect(spec.summary.length).toBeGreaterThan(5)
    }
  })

  it('loss and dev metric: one row per point, metrics ×100', () => {
    const d = detail({
      curve: [{ step: 1, loss: 0.7, lr: 1e-4, elapsedMs: 1 }, { step: 2, loss: 0.6, lr: 1e-4, elapsedMs: 2 }],
      metrics: [{ runId: 'r', epoch: 1, metrics: { accuracy: 0.8125 }, main: 0.8125, evalLoss: 0.5, step: 2 }]
    })
    expect(lossChart(d).table.rows).toEqual([['1', '–', '0.7'], ['2', '–', '0.6']])
    expect(devChart(d).table.rows).toEqual([['1', '81.25', '0.5']])
  })

  it('Fisher per layer: shares of mass, of the group and of the mask', () => {
    const f: FisherChartData = {
      runId: 'r', method: 'ird', irdRounds: [],
      perLayer: [
        { group: 'embeddings', size: 100, mass: 1, massFraction: 0.25, selected: 1, selectedMass: 0.1 },
        { group: 'layer.0', size: 100, mass: 3, massFraction: 0.75, selected: 3, selectedMass: 2 }
      ]
    }
    const t = fisherLayerChart(f).table
    expect(t.rows[0]).toEqual(['embeddings', '100', '25.0 %', '1', '1 %', '25.0 %'])
    expect(t.rows[1]).toEqual(['layer.0', '100', '75.0 %', '3', '3 %', '75.0 %'])
  })

  it('log-Fisher histogram keeps zeros and out-of-range counts, and only the bins that hold values', () => {
    const f: FisherChartData = { runId: 'r', method: 'fish', irdRounds: [], histogram: { min: -4, max: 0, width: 1, edges: [-4, -3, -2, -1, 0], counts: [0, 5, 2, 0], zeros: 3, below: 1, above: 0 } }
    expect(fisherHistogramChart(f).table.rows).toEqual([['F = 0 (not on the log axis)', '3'], ['below 1e-4', '1'], ['[-3.0, -2.0)', '5'], ['[-2.0, -1.0)', '2']])
  })

  it('log-Fisher histogram never draws F = 0 on the log10 axis (a bar at "0" would read as F = 1): it says the count apart', () => {
    const f: FisherChartData = { runId: 'r', method: 'fish', irdRounds: [], histogram: { min: -4, max: 2, width: 1, edges: [-4, -3, -2, -1, 0, 1, 2], counts: [0, 5, 2, 0, 4, 0], zeros: 12345, below: 0, above: 0 } }
    const spec = fisherHistogramChart(f)
    const opt = spec.option as { xAxis: { data: string[] }; series: Array<{ data: number[] }>; title?: { text: string } }
    // the bins' own starts only: no category for the zeros, and the drawn counts are the positive entries
    expect(opt.xAxis.data).toEqual(['-3.0', '-2.0', '-1.0', '0.0'])
    expect(opt.series[0].data).toEqual([5, 2, 0, 4])
    expect(opt.series[0].data).not.toContain(12345)
    expect(opt.title?.text).toBe('12,345 entries have F = 0 (not drawn: log₁₀ 0 is undefined)')
    expect(spec.summary).toBe('Histogram of log10 Fisher over 11 parameter entries with F > 0; 12,345 entries have F = 0 (not drawn: log₁₀ 0 is undefined)')
    const none = fisherHistogramChart({ ...f, histogram: { ...f.histogram!, zeros: 0 } }).option as { title?: unknown }
    expect(none.title).toBeUndefined()
  })

  it('IRD trajectory: |S| and |P| per round from the rounds', () => {
    const f: FisherChartData = { runId: 'r', method: 'ird', irdRounds: [round(1, 128, 64, 1000, 500), round(2, 64, 32, 500, 250)] }
    const spec = irdChart(f)
    expect(spec.table.rows.map((r) => r.slice(0, 5))).toEqual([['1', '128', '64', '1,000', '500'], ['2', '64', '32', '500', '250']])
    expect(spec.summary).toMatch(/samples 128 → 32, parameters 1,000 → 250/)
  })

  it('overlaid loss of several runs, one row each', () => {
    const spec = overlayLossChart([
      { label: 'a', detail: detail({ curve: [{ step: 1, loss: 0.9, elapsedMs: 0 }, { step: 2, loss: 0.5, elapsedMs: 0 }] }) },
      { label: 'b', detail: detail() }
    ])
    expect(spec.table.rows).toEqual([['a', '2', '0.9', '0.5'], ['b', '0', '–', '–']])
  })
})

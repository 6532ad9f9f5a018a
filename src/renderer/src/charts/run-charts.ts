/**
 * Chart options and their table alternatives for one run (loss, learning rate, dev metrics, Fisher per
 * layer, log-Fisher histogram, per-sample scores, IRD trajectory, FISH overlap, memory) and for runs
 * overlaid (comparison). Pure functions of the run data, so views stay small and tests can call them.
 * Must not: fetch anything or touch the DOM.
 */
import type { EngineMemory, FisherChartData, RunDetail, RunMetric } from '../domain'
import { bytes, int, percent, sci } from '../lib/format'
import type { PlainTable } from '../lib/table-export'
import type { ChartOption } from './chart-option'

export interface ChartSpec {
  option: ChartOption
  table: PlainTable
  summary: string
}

const grid = { left: 64, right: 24, top: 36, bottom: 44, containLabel: false }
const axisName = (name: string) => ({ name, nameLocation: 'middle' as const, nameGap: 28 })

/** Thins a series to at most n points for drawing (tables keep every point). */
function thin<T>(xs: T[], n = 1500): T[] {
  if (xs.length <= n) return xs
  const step = xs.length / n
  const out: T[] = []
  for (let i = 0; i < n; i++) out.push(xs[Math.floor(i * step)])
  out.push(xs[xs.length - 1])
  return out
}

export function lossChart(d: RunDetail): ChartSpec {
  const pts = d.curve.filter((p) => p.loss !== undefined)
  const evalPts = d.metrics.filter((m) => m.evalLoss !== undefined && m.step !== undefined)
  const last = pts[pts.length - 1]
  return {
    option: {
      grid,
      tooltip: { trigger: 'axis' },
      legend: { top: 0, data: ['training loss', ...(evalPts.length ? ['dev loss'] : [])] },
      xAxis: { type: 'value', ...axisName('step'), min: 0 },
      yAxis: { type: 'value', scale: true },
      series: [
        { name: 'training loss', type: 'line', showSymbol: false, data: thin(pts).map((p) => [p.step, p.loss!]) },
        ...(evalPts.length ? [{ name: 'dev loss', type: 'line' as const, data: evalPts.map((m) => [m.step!, m.evalLoss!]) }] : [])
      ]
    },
    table: { header: ['step', 'epoch', 'training loss'], rows: pts.map((p) => [String(p.step), p.epoch === undefined ? '–' : p.epoch.toFixed(2), sci(p.loss)]) },
    summary: last ? `Training loss over ${pts.length} steps, last ${sci(last.loss)} at step ${last.step}` : 'No training steps yet'
  }
}

export function lrChart(d: RunDetail): ChartSpec {
  const pts = d.curve.filter((p) => p.lr !== undefined)
  return {
    option: {
      grid,
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'value', ...axisName('step'), min: 0 },
      yAxis: { type: 'value', axisLabel: { formatter: (v: number) => sci(v) } },
      series: [{ name: 'learning rate', type: 'line', showSymbol: false, data: thin(pts).map((p) => [p.step, p.lr!]) }]
    },
    table: { header: ['step', 'learning rate'], rows: pts.map((p) => [String(p.step), sci(p.lr)]) },
    summary: pts.length ? `Learning rate schedule, peak ${sci(Math.max(...pts.map((p) => p.lr!)))}` : 'No steps yet'
  }
}

export function metricNames(metrics: RunMetric[]): string[] {
  return [...new Set(metrics.flatMap((m) => Object.keys(m.metrics)))].sort()
}

export function devChart(d: RunDetail): ChartSpec {
  const names = metricNames(d.metrics)
  return {
    option: {
      grid,
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      xAxis: { type: 'value', ...axisName('epoch'), min: 0, minInterval: 1 },
      yAxis: { type: 'value', scale: true, axisLabel: { formatter: (v: number) => (100 * v).toFixed(1) } },
      series: names.map((n) => ({ name: n, type: 'line' as const, showSymbol: d.metrics.length < 40, data: d.metrics.map((m) => [m.epoch, m.metrics[n] ?? null]) }))
    },
    table: { header: ['epoch', ...names, ...(d.metrics.some((m) => m.evalLoss !== undefined) ? ['dev loss'] : [])], rows: d.metrics.map((m) => [String(m.epoch), ...names.map((n) => (m.metrics[n] === undefined ? '–' : (100 * m.metrics[n]).toFixed(2))), ...(d.metrics.some((x) => x.evalLoss !== undefined) ? [sci(m.evalLoss)] : [])]) },
    summary: d.metrics.length ? `Dev ${names.join(', ')} after ${d.metrics.length} epoch(s); last: ${names.map((n) => `${n} ${(100 * (d.metrics[d.metrics.length - 1].metrics[n] ?? NaN)).toFixed(2)}`).join(', ')}` : 'No evaluation yet'
  }
}

/** Per layer: Fisher mass share, share of the group's entries selected, share of the mask. Colour per column. */
export function fisherLayerChart(f: FisherChartData | null): ChartSpec {
  const groups = f?.perLayer ?? []
  const totalSelected = groups.reduce((a, g) => a + g.selected, 0)
  const columns = ['Fisher mass (share of total)', 'Selected (share of the group)', 'Mask (share of all selected)']
  const values = groups.map((g) => [g.massFraction, g.size ? g.selected / g.size : 0, totalSelected ? g.selected / totalSelected : 0])
  const maxes = columns.map((_, c) => Math.max(1e-12, ...values.map((v) => v[c])))
  const data = groups.flatMap((g, y) =>
    columns.map((_, x) => {
      const norm = values[y][x] / maxes[x]
      return { value: [x, y, norm], label: { formatter: percent(values[y][x], 2), color: norm > 0.55 ? '#ffffff' : '#1b1f24' } }
    })
  )
  return {
    option: {
      grid: { left: 96, right: 16, top: 8, bottom: 56 },
      tooltip: { formatter: (p: unknown) => { const i = (p as { dataIndex: number }).dataIndex; const g = groups[Math.floor(i / 3)]; return `${g.group}<br>${columns[i % 3]}: ${percent(values[Math.floor(i / 3)][i % 3], 3)}` } },
      xAxis: { type: 'category', data: ['Fisher mass', 'Selected in group', 'Share of mask'], splitArea: { show: true } },
      yAxis: { type: 'category', data: groups.map((g) => g.group), inverse: true },
      visualMap: { min: 0, max: 1, show: false, dimension: 2, inRange: { color: ['#f1f6fb', '#6aaed6', '#08306b'] } },
      series: [{ type: 'heatmap', data, label: { show: true, fontSize: 11 } }]
    },
    table: {
      header: ['group', 'parameters', 'Fisher mass share', 'selected', 'selected share of group', 'share of mask'],
      rows: groups.map((g, i) => [g.group, int(g.size), percent(values[i][0], 3), int(g.selected), percent(values[i][1], 3), percent(values[i][2], 3)])
    },
    summary: groups.length ? `Fisher mass and selection over ${groups.length} parameter groups; the most mass in ${[...groups].sort((a, b) => b.massFraction - a.massFraction)[0].group}` : 'No Fisher statistics yet'
  }
}

/**
 * The log10-Fisher histogram. Entries with F = 0 have no log10, so they are never drawn on the log10 F
 * axis (a bar there at "0" reads as F = 1): the chart says how many there are in a note above the bars,
 * the table lists them in a row of their own, and the summary counts them apart.
 */
export function fisherHistogramChart(f: FisherChartData | null): ChartSpec {
  const h = f?.histogram
  const rows: string[][] = []
  const cats: string[] = []
  const counts: number[] = []
  const zeros = h?.zeros ?? 0
  if (h) {
    if (zeros) rows.push(['F = 0 (not on the log axis)', int(zeros)])
    if (h.below) { cats.push(`<1e${h.min}`); counts.push(h.below); rows.push([`below 1e${h.min}`, int(h.below)]) }
    // Only the range that holds values, so the bars are readable.
    const first = h.counts.findIndex((c) => c > 0)
    const last = h.counts.length - 1 - [...h.counts].reverse().findIndex((c) => c > 0)
    for (let i = Math.max(0, first); first >= 0 && i <= last; i++) {
      cats.push(h.edges[i].toFixed(1))
      counts.push(h.counts[i])
      rows.push([`[${h.edges[i].toFixed(1)}, ${h.edges[i + 1].toFixed(1)})`, int(h.counts[i])])
    }
    if (h.above) { cats.push(`≥1e${h.max}`); counts.push(h.above); rows.push([`at least 1e${h.max}`, int(h.above)]) }
  }
  const drawn = counts.reduce((a, b) => a + b, 0)
  const zeroNote = zeros ? `${int(zeros)} ${zeros === 1 ? 'entry has' : 'entries have'} F = 0 (not drawn: log₁₀ 0 is undefined)` : ''
  return {
    option: {
      grid: zeros ? { ...grid, top: 48 } : grid,
      ...(zeros ? { title: { text: zeroNote, right: 16, top: 4, textStyle: { fontSize: 12, fontWeight: 'normal' as const } } } : {}),
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'category', data: cats, ...axisName('log₁₀ F (bin start)') },
      yAxis: { type: 'log', name: 'entries', logBase: 10, min: 1 },
      series: [{ type: 'bar', data: counts, barCategoryGap: '5%' }]
    },
    table: { header: ['log10 F', 'parameter entries'], rows },
    summary: h ? `Histogram of log10 Fisher over ${int(drawn)} parameter entries with F > 0${zeros ? `; ${zeroNote}` : ''}` : 'No Fisher statistics yet'
  }
}

export function sampleScoreChart(f: FisherChartData | null): ChartSpec {
  const s = f?.sampleScores
  const h = s?.log10Histogram
  const q = s?.distribution
  // Enough decimals that neighbouring bins read differently (scores can sit in a narrow range).
  const width = h && h.edges.length > 1 ? Math.abs(h.edges[1] - h.edges[0]) : 0.1
  const digits = Math.min(6, Math.max(2, Math.ceil(-Math.log10(width || 0.1)) + 1))
  return {
    option: {
      grid,
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'category', data: h ? h.counts.map((_, i) => h.edges[i].toFixed(digits)) : [], ...axisName('log₁₀ s_i (bin start)') },
      yAxis: { type: 'value', name: 'samples' },
      series: [{ type: 'bar', data: h?.counts ?? [], barCategoryGap: '5%' }]
    },
    table: { header: ['log10 s_i', 'samples'], rows: h ? h.counts.map((c, i) => [`[${h.edges[i].toFixed(digits)}, ${h.edges[i + 1].toFixed(digits)})`, int(c)]) : [] },
    summary: q ? `Per-sample scores of ${int(q.count)} samples (${s!.scope}): median ${sci(q.median)}, 10–90 % ${sci(q.q10)}–${sci(q.q90)}` : 'No per-sample scores'
  }
}

export function irdChart(f: FisherChartData | null): ChartSpec {
  const rounds = f?.irdRounds ?? []
  const xs = ['0', ...rounds.map((r) => String(r.round))]
  const S = rounds.length ? [rounds[0].samplesBefore, ...rounds.map((r) => r.samplesAfter)] : []
  const P = rounds.length ? [rounds[0].paramsBefore, ...rounds.map((r) => r.paramsAfter)] : []
  return {
    option: {
      grid: { ...grid, top: 72, right: 64 },
      tooltip: { trigger: 'axis' },
      legend: { top: 0, data: ['|S| samples', '|P| parameters', 'sample mass kept', 'parameter mass kept'] },
      xAxis: { type: 'category', data: xs, ...axisName('round') },
      yAxis: [
        { type: 'log', name: 'size', logBase: 10 },
        { type: 'value', name: 'mass kept', min: 0, max: 1, position: 'right', splitLine: { show: false } }
      ],
      series: [
        { name: '|S| samples', type: 'line', data: S },
        { name: '|P| parameters', type: 'line', data: P },
        { name: 'sample mass kept', type: 'line', yAxisIndex: 1, lineStyle: { type: 'dashed' }, data: [null, ...rounds.map((r) => r.sampleMassKept)] },
        { name: 'parameter mass kept', type: 'line', yAxisIndex: 1, lineStyle: { type: 'dashed' }, data: [null, ...rounds.map((r) => r.paramMassKept)] }
      ]
    },
    table: {
      header: ['round', '|S| before', '|S| after', '|P| before', '|P| after', 'sample mass kept', 'parameter mass kept', 'gradients', 'cut'],
      rows: rounds.map((r) => [String(r.round), int(r.samplesBefore), int(r.samplesAfter), int(r.paramsBefore), int(r.paramsAfter), percent(r.sampleMassKept), percent(r.paramMassKept), int(r.gradientEvaluations), r.cut ? 'yes' : 'no'])
    },
    summary: rounds.length ? `IRD: ${rounds.length} round(s), samples ${int(S[0])} → ${int(S[S.length - 1])}, parameters ${int(P[0])} → ${int(P[P.length - 1])}` : 'No IRD rounds yet'
  }
}

export function fishOverlapChart(f: FisherChartData | null): ChartSpec {
  const rounds = f?.irdRounds ?? []
  return {
    option: {
      grid,
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      xAxis: { type: 'category', data: rounds.map((r) => String(r.round)), ...axisName('round') },
      yAxis: { type: 'value', min: 0, max: 1, axisLabel: { formatter: (v: number) => `${Math.round(v * 100)} %` } },
      series: [
        { name: 'Jaccard with FISH', type: 'line', data: rounds.map((r) => r.fishOverlap.jaccard) },
        { name: 'share of FISH mask kept', type: 'line', data: rounds.map((r) => r.fishOverlap.fractionOfFish) }
      ]
    },
    table: { header: ['round', 'intersection', 'Jaccard', 'share of FISH', 'share of IRD range'], rows: rounds.map((r) => [String(r.round), int(r.fishOverlap.intersection), percent(r.fishOverlap.jaccard), percent(r.fishOverlap.fractionOfFish), percent(r.fishOverlap.fractionOfRange)]) },
    summary: rounds.length ? `Overlap of the IRD parameter range with the FISH mask on the pool: Jaccard ${percent(rounds[rounds.length - 1].fishOverlap.jaccard)} after round ${rounds[rounds.length - 1].round}` : 'No IRD rounds yet'
  }
}

export function memoryChart(mem: EngineMemory[]): ChartSpec {
  const t0 = mem[0]?.time ?? 0
  const MiB = 2 ** 20
  return {
    option: {
      grid,
      tooltip: { trigger: 'axis', valueFormatter: (v: unknown) => `${Number(v).toFixed(0)} MiB` },
      legend: { top: 0 },
      xAxis: { type: 'value', ...axisName('seconds watched'), min: 0 },
      yAxis: { type: 'value', name: 'MiB' },
      series: [
        { name: 'engine RSS', type: 'line', showSymbol: false, data: mem.map((m) => [(m.time - t0) / 1000, m.rss / MiB]) },
        { name: 'JS heap', type: 'line', showSymbol: false, data: mem.map((m) => [(m.time - t0) / 1000, m.heapUsed / MiB]) },
        { name: 'tensors', type: 'line', showSymbol: false, data: mem.map((m) => [(m.time - t0) / 1000, m.tfBytes / MiB]) }
      ]
    },
    table: { header: ['seconds', 'engine RSS', 'JS heap', 'tensors', 'tensor count', 'machine free'], rows: mem.map((m) => [((m.time - t0) / 1000).toFixed(0), bytes(m.rss), bytes(m.heapUsed), bytes(m.tfBytes), int(m.tfTensors), bytes(m.systemFree)]) },
    summary: mem.length ? `Engine memory: ${bytes(mem[mem.length - 1].rss)} resident, ${bytes(mem[mem.length - 1].tfBytes)} in tensors, ${bytes(mem[mem.length - 1].systemFree)} free on the machine` : 'No memory samples yet'
  }
}

/** Overlaid training loss of several runs (comparison). */
export function overlayLossChart(runs: Array<{ label: string; detail: RunDetail }>): ChartSpec {
  return {
    option: {
      grid,
      tooltip: { trigger: 'axis' },
      legend: { top: 0, type: 'scroll' },
      xAxis: { type: 'value', ...axisName('step'), min: 0 },
      yAxis: { type: 'value', scale: true },
      series: runs.map((r) => ({ name: r.label, type: 'line' as const, showSymbol: false, data: thin(r.detail.curve.filter((p) => p.loss !== undefined), 600).map((p) => [p.step, p.loss!]) }))
    },
    table: { header: ['run', 'steps', 'first loss', 'last loss'], rows: runs.map((r) => { const c = r.detail.curve.filter((p) => p.loss !== undefined); return [r.label, String(c.length), sci(c[0]?.loss), sci(c[c.length - 1]?.loss)] }) },
    summary: `Training loss of ${runs.length} runs overlaid`
  }
}

/** Overlaid main dev metric per epoch. */
export function overlayDevChart(runs: Array<{ label: string; detail: RunDetail }>): ChartSpec {
  const epochs = Math.max(0, ...runs.map((r) => r.detail.metrics.length))
  return {
    option: {
      grid,
      tooltip: { trigger: 'axis' },
      legend: { top: 0, type: 'scroll' },
      xAxis: { type: 'value', ...axisName('epoch'), min: 0, minInterval: 1 },
      yAxis: { type: 'value', scale: true, axisLabel: { formatter: (v: number) => (100 * v).toFixed(1) } },
      series: runs.map((r) => ({ name: r.label, type: 'line' as const, data: r.detail.metrics.map((m) => [m.epoch, m.main ?? null]) }))
    },
    table: { header: ['run', ...Array.from({ length: epochs }, (_, i) => `epoch ${i + 1}`)], rows: runs.map((r) => [r.label, ...Array.from({ length: epochs }, (_, i) => { const v = r.detail.metrics[i]?.main; return v === undefined ? '–' : (100 * v).toFixed(2) })]) },
    summary: `Main dev score per epoch of ${runs.length} runs`
  }
}

/**
 * The study report: collects each cell's run (metrics, time, IRD trajectory, masks), aggregates over seeds
 * and renders docs-ready Markdown, JSON and CSV, with charts as SVG (ECharts' server-side renderer).
 *
 * Per task and cell: the task's main score as mean ± sample std over seeds (×100). Per method: the GLUE
 * score (mean over the study's tasks of the per-task means) at the primary budgets. IRD − FISH per cell:
 * mean paired difference over seeds with a two-sided paired t-test; "win"/"loss" only at p < 0.05, else
 * "tie". Mask overlap between the IRD and FISH masks of the same task, budgets and seed (θ only: the head is
 * in both by construction). IRD's round-by-round |S|, |P| and mass kept. Time per cell and in total.
 * Degenerate cells: a run whose dev predictions are (almost) constant — one class for ≥ 98 % of the dev
 * rows, or a regression output whose spread is under 5 % of the labels' — learned nothing the metric can
 * rank; a tie between two such runs says nothing about the methods, and the report says which ties are so.
 * Must not: run cells, or write anything but the files it is asked to.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import * as echarts from 'echarts'
import { getTask, type TaskName } from '../data'
import { writeFileAtomic, writeJsonAtomic } from '../io/atomic'
import { loadMask } from '../mask'
import { CONSTANT_SPREAD, CONSTANT_TOP_CLASS_SHARE, predictionShape } from '../metrics/constant'
import { maskOverlap, withoutHead } from '../mask/mask'
import { bertParameterSpec, parseBertConfig, type BertConfig } from '../model/config'
import type { RunStore, RunSummary } from '../runs/store'
import type { IrdRound } from '../selection'
import { expandCells, type StudyCell, type StudyConfig } from './config'
import { mean, pairedTTest, std, type PairedTest } from './stats'
import type { StudyState } from './run'

export interface CellResult {
  cell: StudyCell
  runId?: string
  status: 'completed' | 'failed' | 'cancelled' | 'missing'
  reason?: string
  /** Task main score, a fraction. */
  main?: number
  metrics?: Record<string, number>
  elapsedMs?: number
  trainable?: number
  irdRounds?: IrdRound[]
  /** From predictions-dev.jsonl: classification, the share of dev rows given the most frequent class. */
  topClassShare?: number
  /** Regression: population std of the predictions / that of the labels. */
  predictionSpread?: number
  /** Predictions (almost) constant (metrics/constant.ts: topClassShare ≥ 0.98 or predictionSpread < 0.05). */
  degenerate?: boolean
}

/** How constant a run's dev predictions are, from its predictions-dev.jsonl ({} when missing, damaged or unjudgeable). */
export function predictionShapeOfFile(file: string, regression: boolean): Pick<CellResult, 'topClassShare' | 'predictionSpread' | 'degenerate'> {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return {}
  }
  const preds: number[] = []
  const labels: Array<number | undefined> = []
  for (const line of text.split('\n')) {
    if (!line.trim()) continue
    let row: { prediction: number; label?: number | null }
    try {
      row = JSON.parse(line) as typeof row
    } catch {
      return {} // a damaged file cannot be judged; the cell's score is still reported
    }
    preds.push(Number(row.prediction))
    labels.push(row.label === undefined || row.label === null ? undefined : Number(row.label))
  }
  const shape = predictionShape(preds, labels, regression)
  if (!shape) return {}
  return shape.topClassShare !== undefined ? { topClassShare: shape.topClassShare, degenerate: shape.constant } : { predictionSpread: shape.predictionSpread, degenerate: shape.constant }
}

export interface GroupStat {
  task: TaskName
  method: string
  keepRatio: number | null
  nSamples: number | null
  seeds: number[]
  values: number[]
  mean: number
  std: number
  meanElapsedMs: number
  /** Seeds whose run predicted (almost) a constant. */
  degenerateSeeds: number[]
}

export interface IrdVsFish {
  task: TaskName
  keepRatio: number
  nSamples: number
  seeds: number[]
  ird: number[]
  fish: number[]
  test: PairedTest
  verdict: 'win' | 'loss' | 'tie' | 'n/a'
  /** Mean over seeds of |IRD ∩ FISH| / |FISH| and Jaccard, θ only. */
  overlapOfFish?: number
  jaccard?: number
  /** Paired seeds whose IRD / FISH run predicted (almost) a constant. */
  irdDegenerate: number
  fishDegenerate: number
  /** Every paired run of both methods is degenerate: a tie here carries no information about the methods. */
  bothDegenerate: boolean
}

export interface StudyReport {
  name: string
  primary: { keepRatio: number; nSamples: number }
  cells: CellResult[]
  groups: GroupStat[]
  glue: Array<{ method: string; score: number; tasks: string[] }>
  irdVsFish: IrdVsFish[]
  trajectories: Array<{ task: TaskName; seed: number; rounds: IrdRound[] }>
  time: Array<{ method: string; cells: number; totalMs: number; meanMs: number }>
  totalMs: number
  missing: string[]
}

function readJson<T>(p: string): T | undefined {
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as T
  } catch {
    return undefined
  }
}

export function collectResults(cfg: StudyConfig, state: StudyState, store: RunStore): CellResult[] {
  const byId = new Map<string, RunSummary>(store.list().map((r) => [r.id, r]))
  return expandCells(cfg).map((cell) => {
    const o = state.cells[cell.key]
    const run = o ? byId.get(o.runId) : undefined
    if (!o) return { cell, status: 'missing' }
    // a cell that ended without a run (e.g. a Slurm task killed before it started one) failed: say so, with why
    if (!run) return o.status === 'completed' ? { cell, status: 'missing' } : { cell, runId: o.runId || undefined, status: o.status, reason: o.reason }
    const res: CellResult = { cell, runId: o.runId, status: run.status === 'running' || run.status === 'damaged' ? 'failed' : run.status, reason: run.reason }
    if (run.status === 'completed') {
      res.main = run.main
      res.metrics = run.metrics
      res.elapsedMs = run.elapsedMs
      res.trainable = run.trainable
      Object.assign(res, predictionShapeOfFile(join(store.root, o.runId, 'predictions-dev.jsonl'), getTask(cell.task).isRegression))
      if (cell.method === 'ird') {
        const fs = readJson<{ ird?: { rounds: IrdRound[] } }>(join(store.root, o.runId, 'fisher-stats.json'))
        res.irdRounds = fs?.ird?.rounds
      }
    }
    return res
  })
}

const keyOf = (t: string, m: string, k: number | null, n: number | null) => `${t}|${m}|${k ?? '-'}|${n ?? '-'}`

/** The config a task's masks were saved against (labels set from the task). */
function taskConfig(modelDir: string, task: TaskName): BertConfig {
  const raw = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8')) as unknown
  return parseBertConfig(raw, { file: join(modelDir, 'config.json'), numLabels: getTask(task).numLabels })
}

export function buildReport(cfg: StudyConfig, cells: CellResult[], opts: { storeRoot: string; modelDir: string }): StudyReport {
  const primary = { keepRatio: cfg.grids[0].keepRatios[0], nSamples: cfg.grids[0].sampleBudgets[0] }
  const done = cells.filter((c) => c.status === 'completed' && c.main !== undefined)
  const groupsMap = new Map<string, CellResult[]>()
  for (const c of done) {
    const k = keyOf(c.cell.task, c.cell.method, c.cell.keepRatio, c.cell.nSamples)
    groupsMap.set(k, [...(groupsMap.get(k) ?? []), c])
  }
  const groups: GroupStat[] = [...groupsMap.values()].map((cs) => {
    const vals = cs.map((c) => c.main!)
    return {
      task: cs[0].cell.task,
      method: cs[0].cell.method,
      keepRatio: cs[0].cell.keepRatio,
      nSamples: cs[0].cell.nSamples,
      seeds: cs.map((c) => c.cell.seed),
      values: vals,
      mean: mean(vals),
      std: std(vals),
      meanElapsedMs: mean(cs.map((c) => c.elapsedMs ?? 0)),
      degenerateSeeds: cs.filter((c) => c.degenerate).map((c) => c.cell.seed)
    }
  })
  const find = (t: string, m: string, k: number | null, n: number | null) => groups.find((g) => keyOf(g.task, g.method, g.keepRatio, g.nSamples) === keyOf(t, m, k, n))

  // GLUE score per method at the primary budgets, over the tasks every method has
  const methods = [...new Set(cells.map((c) => c.cell.method))]
  const tasks = [...new Set(cells.map((c) => c.cell.task))]
  const atPrimary = (t: string, m: string) =>
    find(t, m, m === 'ird' || m === 'fish' || m === 'random' ? primary.keepRatio : null, m === 'ird' || m === 'fish' ? primary.nSamples : null)
  const commonTasks = tasks.filter((t) => methods.every((m) => atPrimary(t, m)))
  const glue = methods.map((m) => ({ method: m, score: commonTasks.length ? mean(commonTasks.map((t) => atPrimary(t, m)!.mean)) : NaN, tasks: commonTasks }))

  // IRD − FISH per (task, keep, samples)
  const irdVsFish: IrdVsFish[] = []
  const configs = new Map<TaskName, BertConfig>()
  for (const g of groups.filter((x) => x.method === 'ird')) {
    const f = find(g.task, 'fish', g.keepRatio, g.nSamples)
    if (!f) continue
    const seeds = g.seeds.filter((s) => f.seeds.includes(s)).sort((a, b) => a - b)
    const ird = seeds.map((s) => g.values[g.seeds.indexOf(s)])
    const fish = seeds.map((s) => f.values[f.seeds.indexOf(s)])
    const test = pairedTTest(ird, fish)
    const verdict: IrdVsFish['verdict'] = seeds.length < 2 || Number.isNaN(test.p) ? 'n/a' : test.p < 0.05 ? (test.meanDiff > 0 ? 'win' : 'loss') : 'tie'
    const irdDegenerate = seeds.filter((x) => g.degenerateSeeds.includes(x)).length
    const fishDegenerate = seeds.filter((x) => f.degenerateSeeds.includes(x)).length
    const bothDegenerate = seeds.length > 0 && irdDegenerate === seeds.length && fishDegenerate === seeds.length
    const row: IrdVsFish = { task: g.task, keepRatio: g.keepRatio!, nSamples: g.nSamples!, seeds, ird, fish, test, verdict, irdDegenerate, fishDegenerate, bothDegenerate }
    // mask overlap, θ only
    const overlaps: Array<{ of: number; j: number }> = []
    for (const s of seeds) {
      const ci = done.find((c) => c.cell.task === g.task && c.cell.method === 'ird' && c.cell.keepRatio === g.keepRatio && c.cell.nSamples === g.nSamples && c.cell.seed === s)
      const cf = done.find((c) => c.cell.task === g.task && c.cell.method === 'fish' && c.cell.keepRatio === g.keepRatio && c.cell.nSamples === g.nSamples && c.cell.seed === s)
      if (!ci?.runId || !cf?.runId) continue
      const mi = join(opts.storeRoot, ci.runId, 'mask')
      const mf = join(opts.storeRoot, cf.runId, 'mask')
      if (!existsSync(mi) || !existsSync(mf)) continue
      if (!configs.has(g.task)) configs.set(g.task, taskConfig(opts.modelDir, g.task))
      const config = configs.get(g.task)!
      const spec = bertParameterSpec(config)
      const a = withoutHead(loadMask(mi, config).mask, spec)
      const b = withoutHead(loadMask(mf, config).mask, spec)
      const o = maskOverlap(b, a, spec) // fractionOfA = |FISH ∩ IRD| / |FISH|
      overlaps.push({ of: o.fractionOfA, j: o.jaccard })
    }
    if (overlaps.length) {
      row.overlapOfFish = mean(overlaps.map((o) => o.of))
      row.jaccard = mean(overlaps.map((o) => o.j))
    }
    irdVsFish.push(row)
  }

  const trajectories = tasks.flatMap((t) => {
    const c = done
      .filter((x) => x.cell.task === t && x.cell.method === 'ird' && x.cell.keepRatio === primary.keepRatio && x.cell.nSamples === primary.nSamples && x.irdRounds?.length)
      .sort((a, b) => a.cell.seed - b.cell.seed)[0]
    return c ? [{ task: t, seed: c.cell.seed, rounds: c.irdRounds! }] : []
  })

  const time = methods.map((m) => {
    const cs = done.filter((c) => c.cell.method === m)
    const totalMs = cs.reduce((s, c) => s + (c.elapsedMs ?? 0), 0)
    return { method: m, cells: cs.length, totalMs, meanMs: cs.length ? totalMs / cs.length : 0 }
  })
  return {
    name: cfg.name,
    primary,
    cells,
    groups,
    glue,
    irdVsFish,
    trajectories,
    time,
    totalMs: time.reduce((s, t) => s + t.totalMs, 0),
    missing: cells.filter((c) => c.status !== 'completed').map((c) => `${c.cell.key} (${c.status}${c.reason ? `: ${c.reason}` : ''})`)
  }
}

// ------------------------------------------------------------------------------------------------ rendering

const pct = (x: number, d = 1) => (Number.isFinite(x) ? (100 * x).toFixed(d) : '–')
const keepText = (k: number | null) => (k === null ? '–' : `${+(100 * k).toFixed(3)} %`)
const minutes = (ms: number) => `${(ms / 60000).toFixed(1)} min`
const display = (t: TaskName) => getTask(t).displayName
const METHOD_ORDER = ['ird', 'fish', 'random', 'bitfit', 'full']
const byMethod = (a: string, b: string) => METHOD_ORDER.indexOf(a) - METHOD_ORDER.indexOf(b)

export function reportCsv(r: StudyReport): string {
  const head = ['key', 'task', 'method', 'keep_ratio', 'n_samples', 'seed', 'status', 'main', 'elapsed_s', 'trainable', 'top_class_share', 'prediction_spread', 'degenerate', 'run_id', 'metrics']
  const q = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s)
  const rows = r.cells.map((c) =>
    [c.cell.key, c.cell.task, c.cell.method, c.cell.keepRatio ?? '', c.cell.nSamples ?? '', c.cell.seed, c.status, c.main ?? '', c.elapsedMs !== undefined ? (c.elapsedMs / 1000).toFixed(1) : '', c.trainable ?? '', c.topClassShare ?? '', c.predictionSpread ?? '', c.degenerate === undefined ? '' : c.degenerate, c.runId ?? '', c.metrics ? JSON.stringify(c.metrics) : '']
      .map((v) => q(String(v)))
      .join(',')
  )
  return [head.join(','), ...rows].join('\n') + '\n'
}

function svgChart(option: Record<string, unknown>, width = 720, height = 360): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height })
  chart.setOption({ animation: false, backgroundColor: '#ffffff', textStyle: { fontFamily: 'sans-serif' }, ...option })
  const svg = chart.renderToSVGString()
  chart.dispose()
  return svg
}

export function reportCharts(r: StudyReport): Record<string, string> {
  const charts: Record<string, string> = {}
  const tasks = [...new Set(r.groups.map((g) => g.task))]
  const methods = [...new Set(r.groups.map((g) => g.method))].sort(byMethod)
  const prim = (t: TaskName, m: string) =>
    r.groups.find((g) => g.task === t && g.method === m && (g.keepRatio === null || g.keepRatio === r.primary.keepRatio) && (g.nSamples === null || g.nSamples === r.primary.nSamples))
  if (tasks.length) {
    charts['primary.svg'] = svgChart({
      title: { text: `Dev score by method (keep ${keepText(r.primary.keepRatio)}, n = ${r.primary.nSamples}; mean over seeds)`, left: 'center', top: 4, textStyle: { fontSize: 13 } },
      legend: { top: 32 },
      grid: { top: 76, left: 48, right: 16, bottom: 32 },
      xAxis: { type: 'category', data: tasks.map(display) },
      yAxis: { type: 'value', name: 'score ×100' },
      series: methods.map((m) => ({ name: m, type: 'bar', data: tasks.map((t) => { const g = prim(t, m); return g ? +(100 * g.mean).toFixed(2) : null }) }))
    })
  }
  for (const axis of ['keepRatio', 'nSamples'] as const) {
    const rows = r.irdVsFish.filter((x) => (axis === 'keepRatio' ? x.nSamples === r.primary.nSamples : x.keepRatio === r.primary.keepRatio))
    const ts = [...new Set(rows.map((x) => x.task))].filter((t) => new Set(rows.filter((x) => x.task === t).map((x) => x[axis])).size > 1)
    if (!ts.length) continue
    const xs = [...new Set(rows.filter((x) => ts.includes(x.task)).map((x) => x[axis]))].sort((a, b) => a - b)
    charts[axis === 'keepRatio' ? 'keep-ratio.svg' : 'sample-budget.svg'] = svgChart({
      title: { text: axis === 'keepRatio' ? `IRD and FISH vs keep ratio (n = ${r.primary.nSamples})` : `IRD and FISH vs sample budget (keep ${keepText(r.primary.keepRatio)})`, left: 'center', top: 4, textStyle: { fontSize: 13 } },
      legend: { top: 32 },
      grid: { top: 76, left: 48, right: 16, bottom: 40 },
      xAxis: { type: 'category', data: xs.map((x) => (axis === 'keepRatio' ? keepText(x) : String(x))), name: axis === 'keepRatio' ? 'keep ratio' : 'samples', nameLocation: 'middle', nameGap: 26 },
      yAxis: { type: 'value', name: 'score ×100', scale: true },
      series: ts.flatMap((t) =>
        (['ird', 'fish'] as const).map((m) => ({
          name: `${display(t)} ${m}`,
          type: 'line',
          lineStyle: { type: m === 'fish' ? 'dashed' : 'solid' },
          data: xs.map((x) => {
            const row = rows.find((y) => y.task === t && y[axis] === x)
            return row ? +(100 * mean(m === 'ird' ? row.ird : row.fish)).toFixed(2) : null
          })
        }))
      )
    })
  }
  if (r.trajectories.length) {
    const maxRounds = Math.max(...r.trajectories.map((t) => t.rounds.length))
    const xs = Array.from({ length: maxRounds + 1 }, (_, i) => String(i))
    charts['ird-trajectory.svg'] = svgChart({
      title: { text: 'IRD trajectory: |S| (samples) and |P| (parameters) per round', left: 'center', top: 4, textStyle: { fontSize: 13 } },
      legend: { top: 30, type: 'scroll' },
      grid: { top: 72, left: 88, right: 24, bottom: 40 },
      xAxis: { type: 'category', data: xs, name: 'round', nameLocation: 'middle', nameGap: 26 },
      yAxis: { type: 'log', name: 'size (log scale)', nameGap: 16 },
      series: r.trajectories.flatMap((t) => [
        { name: `${display(t.task)} |S|`, type: 'line', data: [t.rounds[0].samplesBefore, ...t.rounds.map((x) => x.samplesAfter)] },
        { name: `${display(t.task)} |P|`, type: 'line', lineStyle: { type: 'dashed' }, data: [t.rounds[0].paramsBefore, ...t.rounds.map((x) => x.paramsAfter)] }
      ])
    })
  }
  return charts
}

export interface ReportMeta {
  description?: string
  commit: string
  configFile: string
  backend: string
  machine: string
  model: string
  generatedAt: string
  caps: string[]
}

/** `charts`: where the chart files are (relative to the Markdown file) and which exist; null = no charts. */
export function reportMarkdown(r: StudyReport, meta: ReportMeta, charts: { dir: string; names: ReadonlySet<string> } | null): string {
  const chart = (name: string, alt: string): string[] => (charts?.names.has(name) ? [`![${alt}](${charts.dir}/${name})`, ''] : [])
  const L: string[] = []
  const tasks = [...new Set(r.groups.map((g) => g.task))]
  L.push(`# GLUE study: ${r.name}`, '')
  if (meta.description) L.push(meta.description, '')
  L.push(`Generated ${meta.generatedAt} by \`ird-studio study\` (commit \`${meta.commit}\`, config \`${meta.configFile}\`).`, '')
  L.push(`- Model: ${meta.model}`, `- Backend: ${meta.backend}`, `- Machine: ${meta.machine}`, `- Cells: ${r.cells.length} (${r.cells.length - r.missing.length} completed), total training + selection time ${minutes(r.totalMs)}`)
  L.push('', '## Caps (what this study does not do at full scale)', '', ...meta.caps.map((c) => `- ${c}`), '')
  L.push('Scores are the task\'s GLUE main metric on the dev split (accuracy for SST-2 and RTE, Matthews correlation for CoLA, the mean of Pearson and Spearman for STS-B, the mean of accuracy and F1 for MRPC), ×100, mean ± sample standard deviation over seeds (n = number of seeds).', '')
  L.push('## GLUE score per method', '', `At keep ratio ${keepText(r.primary.keepRatio)} and ${r.primary.nSamples} Fisher samples; mean over ${r.glue[0]?.tasks.map((t) => display(t as TaskName)).join(', ') || 'no task'}.`, '')
  L.push('| method | GLUE score |', '|---|---:|', ...[...r.glue].sort((a, b) => byMethod(a.method, b.method)).map((g) => `| ${g.method} | ${pct(g.score, 2)} |`), '')
  L.push(...chart('primary.svg', 'Dev score by method'))
  L.push('## Per task', '', `"Constant predictions": seeds whose run gave one class to at least ${100 * CONSTANT_TOP_CLASS_SHARE} % of the dev rows (for STS-B: predictions spread less than ${100 * CONSTANT_SPREAD} % of the labels' standard deviation). Such a run learned nothing the metric can rank; its score is the constant predictor's.`, '')
  for (const t of tasks) {
    L.push(`### ${display(t)}`, '', '| method | keep ratio | samples | score | n | constant predictions | time per cell |', '|---|---:|---:|---:|---:|---:|---:|')
    const gs = r.groups.filter((g) => g.task === t).sort((a, b) => byMethod(a.method, b.method) || (a.keepRatio ?? 0) - (b.keepRatio ?? 0) || (a.nSamples ?? 0) - (b.nSamples ?? 0))
    for (const g of gs) L.push(`| ${g.method} | ${keepText(g.keepRatio)} | ${g.nSamples ?? '–'} | ${pct(g.mean, 2)} ± ${pct(g.std, 2)} | ${g.values.length} | ${g.degenerateSeeds.length ? `${g.degenerateSeeds.length} of ${g.values.length}` : '–'} | ${(g.meanElapsedMs / 1000).toFixed(0)} s |`)
    L.push('')
  }
  L.push('## IRD against FISH', '', 'Paired over seeds (same seed = same training-subset draw, initialisation and data order); two-sided paired t-test. "win"/"loss" only at p < 0.05; with two or three seeds only a large, consistent difference reaches that; n per cell is in the per-task tables. Overlap: share of the FISH mask (θ, head excluded) that IRD also selected, and the Jaccard index.', '')
  L.push('| task | keep ratio | samples | IRD | FISH | IRD − FISH | p | verdict | constant predictions (IRD / FISH) | overlap with FISH | Jaccard |', '|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|')
  for (const x of r.irdVsFish) {
    L.push(`| ${display(x.task)} | ${keepText(x.keepRatio)} | ${x.nSamples} | ${pct(mean(x.ird), 2)} | ${pct(mean(x.fish), 2)} | ${x.test.meanDiff >= 0 ? '+' : ''}${pct(x.test.meanDiff, 2)} ± ${pct(x.test.stdDiff, 2)} | ${Number.isFinite(x.test.p) ? x.test.p.toFixed(3) : '–'} | ${x.verdict}${x.bothDegenerate ? ' (both constant)' : ''} | ${x.irdDegenerate} / ${x.fishDegenerate} of ${x.seeds.length} | ${x.overlapOfFish !== undefined ? pct(x.overlapOfFish) + ' %' : '–'} | ${x.jaccard !== undefined ? x.jaccard.toFixed(3) : '–'} |`)
  }
  const count = (v: string) => r.irdVsFish.filter((x) => x.verdict === v).length
  L.push('', `Summary: IRD wins ${count('win')}, ties ${count('tie')} and loses ${count('loss')} of ${r.irdVsFish.length} cells against FISH (${count('n/a')} without enough paired seeds). Mean difference over all cells: ${r.irdVsFish.length ? pct(mean(r.irdVsFish.map((x) => x.test.meanDiff)), 2) : '–'} points.`, '')
  const emptyTies = r.irdVsFish.filter((x) => x.verdict === 'tie' && x.bothDegenerate).length
  if (emptyTies)
    L.push(`${emptyTies} of the ${count('tie')} ties are between runs that predict a constant on every paired seed (marked "both constant"): there neither mask learned anything the metric can rank, so those ties say the budget is too small for this encoder, not that IRD and FISH are equal. Cells where at least one paired run learned more than a constant: ${r.irdVsFish.length - r.irdVsFish.filter((x) => x.bothDegenerate).length} of ${r.irdVsFish.length} cells.`, '')
  for (const f of ['keep-ratio.svg', 'sample-budget.svg']) L.push(...chart(f, f.replace('.svg', '')))
  L.push('## IRD trajectory', '', `One seed per task at the primary budgets: per round, the sample range |S| and parameter range |P| before → after, and the share of score / Fisher mass kept.`, '')
  for (const t of r.trajectories) {
    L.push(`**${display(t.task)}** (seed ${t.seed})`, '', '| round | samples | parameters | sample mass kept | Fisher mass kept | overlap with FISH | cut |', '|---:|---|---|---:|---:|---:|---|')
    for (const x of t.rounds) L.push(`| ${x.round} | ${x.samplesBefore} → ${x.samplesAfter} | ${x.paramsBefore} → ${x.paramsAfter} | ${pct(x.sampleMassKept)} % | ${pct(x.paramMassKept)} % | ${pct(x.fishOverlap.fractionOfFish)} % | ${x.cut ? 'yes' : ''} |`)
    L.push('')
  }
  L.push(...chart('ird-trajectory.svg', 'IRD trajectory'))
  L.push('## Time', '', '| method | cells | total | mean per cell |', '|---|---:|---:|---:|', ...[...r.time].sort((a, b) => byMethod(a.method, b.method)).map((t) => `| ${t.method} | ${t.cells} | ${minutes(t.totalMs)} | ${(t.meanMs / 1000).toFixed(0)} s |`), '')
  if (r.missing.length) L.push('## Cells without a result', '', ...r.missing.map((m) => `- ${m}`), '')
  L.push('Machine-readable: every cell in the CSV and JSON beside this file.', '')
  return L.join('\n')
}

/** Write <mdFile>, <base>.json, <base>.csv and the charts into <base>/ (all atomically). */
export function writeReport(r: StudyReport, meta: ReportMeta, mdFile: string): string[] {
  const base = mdFile.replace(/\.md$/, '')
  const chartDir = base
  mkdirSync(chartDir, { recursive: true })
  const charts = reportCharts(r)
  const written: string[] = []
  for (const [name, svg] of Object.entries(charts)) {
    writeFileAtomic(join(chartDir, name), svg)
    written.push(join(chartDir, name))
  }
  const relDir = relative(join(mdFile, '..'), chartDir) || '.'
  writeFileAtomic(mdFile, reportMarkdown(r, meta, { dir: relDir, names: new Set(Object.keys(charts)) }))
  writeJsonAtomic(`${base}.json`, { meta, ...r })
  writeFileAtomic(`${base}.csv`, reportCsv(r))
  written.push(mdFile, `${base}.json`, `${base}.csv`)
  return written
}

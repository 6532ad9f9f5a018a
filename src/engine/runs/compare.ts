/**
 * Comparison tables of saved runs, as Markdown, CSV or LaTeX: one row per run (task metrics, budgets,
 * time, status), and a GLUE pivot (one row per method and budget, one column per task, GLUE score).
 * Must not: read files (takes summaries), or invent numbers for runs that have none (shown as "–").
 */
import { glueScore, GLUE_TASK_INFO, parseGlueTask } from '../metrics'
import type { RunSummary } from './store'
import { hasConstantPredictions } from '../../shared/domain'

export type TableFormat = 'markdown' | 'csv' | 'latex'

export interface Table {
  header: string[]
  rows: string[][]
}

const fmt = (x: number | undefined, digits = 2) => (x === undefined || !Number.isFinite(x) ? '–' : (100 * x).toFixed(digits))

function duration(ms: number | undefined): string {
  if (ms === undefined) return '–'
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}

/**
 * A keep ratio as a percentage with two significant digits and never in exponent form: 0.005 → 0.50%,
 * 0.02 → 2.0%, 0.125 → 13%, 1 → 100% (toPrecision(2) alone writes 100 as "1.0e+2").
 */
export function keepRatioText(ratio: number): string {
  const pct = 100 * ratio
  if (pct >= 10) return `${Math.round(pct)}%`
  if (pct > 0 && pct < 1e-6) return `${pct.toExponential(1)}%`
  return `${pct.toPrecision(2)}%`
}

function budget(r: RunSummary): string {
  if (r.method === 'full') return 'all'
  if (r.keepRatio !== undefined && r.method !== 'bitfit') return keepRatioText(r.keepRatio)
  return r.trainable !== undefined ? `${r.trainable}` : '–'
}

/** One row per run. Metrics are shown ×100. */
export function runsTable(runs: RunSummary[]): Table {
  const metricNames = [...new Set(runs.flatMap((r) => Object.keys(r.metrics ?? {})))].sort()
  return {
    header: ['run', 'task', 'method', 'budget', 'trainable', 'samples', 'seed', ...metricNames, 'main', 'time', 'status'],
    rows: runs.map((r) => [
      r.name ?? r.id,
      r.task,
      r.method,
      budget(r),
      r.trainable !== undefined ? String(r.trainable) : '–',
      r.nSamples !== undefined ? String(r.nSamples) : '–',
      String(r.seed),
      ...metricNames.map((m) => fmt(r.metrics?.[m])),
      fmt(r.main),
      duration(r.elapsedMs),
      r.status + (r.reason && r.status !== 'completed' ? ` (${r.reason})` : '') + (r.status === 'completed' && hasConstantPredictions(r) ? ' (constant predictions: see the run)' : '')
    ])
  }
}

/**
 * GLUE pivot: completed runs grouped by method, budget and sample count; per task the mean main score
 * over the group's runs (seeds), and the GLUE score over the tasks present (named in the last column).
 */
export function gluePivot(runs: RunSummary[]): Table {
  const done = runs.filter((r) => r.status === 'completed' && r.main !== undefined)
  const tasks = [...new Set(done.map((r) => r.task))].sort(
    (a, b) => Object.keys(GLUE_TASK_INFO).indexOf(a) - Object.keys(GLUE_TASK_INFO).indexOf(b)
  )
  const groups = new Map<string, RunSummary[]>()
  for (const r of done) {
    const key = `${r.method}|${budget(r)}|${r.nSamples ?? ''}`
    groups.set(key, [...(groups.get(key) ?? []), r])
  }
  const rows: string[][] = []
  for (const [key, rs] of groups) {
    const [method, b, n] = key.split('|')
    const per: Record<string, number> = {}
    const cells = tasks.map((t) => {
      const v = rs.filter((r) => r.task === t).map((r) => r.main!)
      if (!v.length) return '–'
      const mean = v.reduce((a, c) => a + c, 0) / v.length
      per[t] = mean
      return `${fmt(mean)}${v.length > 1 ? ` (n=${v.length})` : ''}`
    })
    let glue = '–'
    const known = Object.fromEntries(Object.entries(per).filter(([t]) => safeTask(t)))
    if (Object.keys(known).length) glue = fmt(glueScore(known as Parameters<typeof glueScore>[0]).score)
    rows.push([method, b, n || '–', ...cells, glue])
  }
  return { header: ['method', 'budget', 'samples', ...tasks, `GLUE score (${tasks.length} task${tasks.length === 1 ? '' : 's'})`], rows }
}

function safeTask(t: string): boolean {
  try {
    parseGlueTask(t)
    return true
  } catch {
    return false
  }
}

/**
 * RFC 4180: a cell holding a comma, a double quote, CR or LF, or leading/trailing spaces is quoted, with
 * inner quotes doubled. Lines end in CRLF, as the RFC says (every reader takes it).
 */
export function csvCell(s: string): string {
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

const LATEX_SPECIAL: Record<string, string> = {
  '\\': '\\textbackslash{}',
  '&': '\\&',
  '%': '\\%',
  $: '\\$',
  '#': '\\#',
  _: '\\_',
  '{': '\\{',
  '}': '\\}',
  '~': '\\textasciitilde{}',
  '^': '\\textasciicircum{}',
  '<': '\\textless{}',
  '>': '\\textgreater{}',
  '|': '\\textbar{}',
  '–': '--',
  '\n': ' ',
  '\r': ' '
}

/** Every LaTeX special character escaped in one pass (so an escape's own braces are never re-escaped). */
export function latexCell(s: string): string {
  return s.replace(/[\\&%$#_{}~^<>|–\r\n]/g, (c) => LATEX_SPECIAL[c])
}

/** A Markdown table cell: pipes and backslashes escaped, line breaks as spaces. */
export function markdownCell(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n|\r/g, ' ')
}

export function renderTable(t: Table, format: TableFormat): string {
  switch (format) {
    case 'csv':
      return [t.header, ...t.rows].map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n'
    case 'latex': {
      const cols = t.header.map((_, i) => (i < 3 ? 'l' : 'r')).join('')
      const lines = [
        `\\begin{tabular}{${cols}}`,
        '\\hline',
        t.header.map(latexCell).join(' & ') + ' \\\\',
        '\\hline',
        ...t.rows.map((r) => r.map(latexCell).join(' & ') + ' \\\\'),
        '\\hline',
        '\\end{tabular}'
      ]
      return lines.join('\n') + '\n'
    }
    case 'markdown': {
      const esc = markdownCell
      return [
        `| ${t.header.map(esc).join(' | ')} |`,
        `|${t.header.map((_, i) => (i < 3 ? '---' : '---:')).join('|')}|`,
        ...t.rows.map((r) => `| ${r.map(esc).join(' | ')} |`)
      ].join('\n') + '\n'
    }
  }
}

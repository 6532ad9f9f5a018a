/**
 * Comparison tables of saved runs written to a file: CSV (RFC 4180), Markdown or LaTeX (compare.ts
 * renders them; this picks the runs and writes atomically).
 * Must not: change the runs.
 */
import { existsSync } from 'node:fs'
import { writeFileAtomic } from '../io/atomic'
import { gluePivot, renderTable, runsTable, type TableFormat } from '../runs/compare'
import type { RunStore, RunSummary } from '../runs/store'
import { ExportError } from './artifacts'
import { resolveExportPath } from './paths'

export interface TableExportOptions {
  format: TableFormat
  /** GLUE pivot (one row per method and budget) instead of one row per run. */
  glue?: boolean
  /** Only these runs (ids or unique prefixes); default all. */
  runs?: string[]
  task?: string
  method?: string
  within?: string
  overwrite?: boolean
}

/** The format a file name asks for: .csv, .md/.markdown, .tex; undefined otherwise. */
export function formatFromFileName(file: string): TableFormat | undefined {
  const f = file.toLowerCase()
  if (f.endsWith('.csv')) return 'csv'
  if (f.endsWith('.md') || f.endsWith('.markdown')) return 'markdown'
  if (f.endsWith('.tex')) return 'latex'
  return undefined
}

export function selectRuns(store: RunStore, opts: Pick<TableExportOptions, 'runs' | 'task' | 'method'>): RunSummary[] {
  let runs = store.list()
  if (opts.runs?.length) {
    const ids = new Set(opts.runs.map((r) => store.resolve(r)))
    runs = runs.filter((r) => ids.has(r.id))
  }
  if (opts.task) runs = runs.filter((r) => r.task === opts.task)
  if (opts.method) runs = runs.filter((r) => r.method === opts.method)
  return runs
}

/** Render and write the table; returns the text written. */
export function exportTable(store: RunStore, out: string, opts: TableExportOptions): string {
  const dest = resolveExportPath(out, opts.within)
  if (!opts.overwrite && existsSync(dest)) throw new ExportError(`${dest} already exists: choose another name (or overwrite)`)
  const runs = selectRuns(store, opts)
  if (!runs.length) throw new ExportError(`no runs to put in a table in ${store.root}${opts.runs || opts.task || opts.method ? ' with those filters' : ''}`)
  const text = renderTable(opts.glue ? gluePivot(runs) : runsTable(runs), opts.format)
  writeFileAtomic(dest, text)
  return text
}

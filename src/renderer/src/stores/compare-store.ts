/**
 * Runs and comparison: the runs table (sorting, filtering), the runs chosen for comparison (any number),
 * a pinned baseline, the config diff, the mask overlap matrix, the GLUE pivot, and the table export.
 *
 * Owns: the table's view state and what the comparison shows. Reads runs from useRunsStore (which keeps
 * them live). Must not: touch window.api or compute metrics (the engine's summaries carry them).
 */
import { defineStore } from 'pinia'
import { computed, ref, shallowRef } from 'vue'
import { call } from '../client'
import type { CompareTables, MaskOverlapMatrix, RunListEntry } from '../domain'
import { DASH, dateTime, duration, int, metric, percent, taskName } from '../lib/format'
import type { PlainTable } from '../lib/table-export'
import { useRunsStore } from './runs-store'

export type SortKey = 'name' | 'task' | 'method' | 'budget' | 'trainable' | 'samples' | 'main' | 'time' | 'started' | 'status'

export function runLabel(r: Pick<RunListEntry, 'id' | 'name' | 'task' | 'method'>): string {
  return r.name || `${taskName(r.task)} · ${r.method} · ${r.id.slice(-6)}`
}

export function budgetText(r: RunListEntry): string {
  if (r.method === 'full') return 'all'
  if (r.method === 'bitfit') return 'biases'
  return r.keepRatio !== undefined ? percent(r.keepRatio, 2) : DASH
}

function sortValue(r: RunListEntry, key: SortKey): string | number {
  switch (key) {
    case 'name': return runLabel(r).toLowerCase()
    case 'task': return r.task
    case 'method': return r.method
    case 'budget': return r.keepRatio ?? (r.method === 'full' ? 2 : -1)
    case 'trainable': return r.trainable ?? -1
    case 'samples': return r.nSamples ?? -1
    case 'main': return r.main ?? -Infinity
    case 'time': return r.elapsedMs ?? -1
    case 'started': return r.startedAt
    case 'status': return r.status
  }
}

/** Flattens a config into dotted keys: { ird: { alphaS: 0.5 } } → { 'ird.alphaS': '0.5' }. */
export function flattenConfig(c: Record<string, unknown> | null, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {}
  if (!c) return out
  for (const [k, v] of Object.entries(c)) {
    const key = prefix ? `${prefix}.${k}` : k
    if (v && typeof v === 'object' && !Array.isArray(v)) Object.assign(out, flattenConfig(v as Record<string, unknown>, key))
    else out[key] = v === undefined ? DASH : typeof v === 'string' ? v : JSON.stringify(v)
  }
  return out
}

/** Rows of fields whose values differ between the configs (the first column is the baseline's). */
export function configDiff(configs: Array<Record<string, unknown> | null>, ignore: readonly string[] = ['rerun', 'name']): Array<{ key: string; values: string[] }> {
  const flat = configs.map((c) => flattenConfig(c))
  const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))].filter((k) => !ignore.some((i) => k === i || k.startsWith(`${i}.`))).sort()
  return keys.map((key) => ({ key, values: flat.map((f) => f[key] ?? DASH) })).filter((row) => new Set(row.values).size > 1)
}

export const useCompareStore = defineStore('compare', () => {
  const runs = useRunsStore()
  const filterText = ref('')
  const filterStatus = ref<string>('')
  const filterTask = ref<string>('')
  const filterMethod = ref<string>('')
  const sortKey = ref<SortKey>('started')
  const sortDesc = ref(true)
  const selectedIds = ref<string[]>([])
  const baselineId = ref<string | null>(null)
  const overlap = shallowRef<MaskOverlapMatrix | null>(null)
  const overlapError = shallowRef<unknown>(null)
  const overlapLoading = ref(false)
  const glue = shallowRef<CompareTables | null>(null)
  const glueError = shallowRef<unknown>(null)

  const tasks = computed(() => [...new Set(runs.list.map((r) => r.task))].sort())
  const methods = computed(() => [...new Set(runs.list.map((r) => r.method))].sort())
  const metricNames = computed(() => [...new Set(runs.list.flatMap((r) => Object.keys(r.metrics ?? {})))].sort())

  const filtered = computed(() => {
    const q = filterText.value.trim().toLowerCase()
    return runs.list.filter(
      (r) =>
        (!filterStatus.value || r.status === filterStatus.value) &&
        (!filterTask.value || r.task === filterTask.value) &&
        (!filterMethod.value || r.method === filterMethod.value) &&
        (!q || `${runLabel(r)} ${r.id} ${r.model} ${r.method} ${r.task}`.toLowerCase().includes(q))
    )
  })

  const sorted = computed(() => {
    const key = sortKey.value
    const dir = sortDesc.value ? -1 : 1
    const rows = [...filtered.value].sort((a, b) => {
      const x = sortValue(a, key)
      const y = sortValue(b, key)
      return (x < y ? -1 : x > y ? 1 : 0) * dir || a.id.localeCompare(b.id)
    })
    // The pinned baseline stays on top.
    const base = rows.findIndex((r) => r.id === baselineId.value)
    if (base > 0) rows.unshift(...rows.splice(base, 1))
    return rows
  })

  const baseline = computed(() => runs.list.find((r) => r.id === baselineId.value) ?? null)
  /** The compared runs, baseline first, in table order. */
  const compared = computed(() => {
    const ids = new Set(selectedIds.value)
    return sorted.value.filter((r) => ids.has(r.id))
  })

  function setSort(key: SortKey): void {
    if (sortKey.value === key) sortDesc.value = !sortDesc.value
    else {
      sortKey.value = key
      sortDesc.value = key === 'main' || key === 'started' || key === 'trainable'
    }
  }

  function toggle(id: string, on?: boolean): void {
    const has = selectedIds.value.includes(id)
    const want = on ?? !has
    if (want && !has) selectedIds.value = [...selectedIds.value, id]
    if (!want && has) selectedIds.value = selectedIds.value.filter((x) => x !== id)
  }

  function selectAllShown(on: boolean): void {
    const shown = new Set(sorted.value.map((r) => r.id))
    selectedIds.value = on ? [...new Set([...selectedIds.value, ...shown])] : selectedIds.value.filter((id) => !shown.has(id))
  }

  function pin(id: string | null): void {
    baselineId.value = baselineId.value === id ? null : id
    if (id && baselineId.value === id) toggle(id, true)
  }

  /** Δ of the main score against the baseline, in points ×100. */
  function delta(r: RunListEntry): string {
    const b = baseline.value
    if (!b || b.id === r.id || b.main === undefined || r.main === undefined || b.task !== r.task) return ''
    const d = 100 * (r.main - b.main)
    return `${d >= 0 ? '+' : '−'}${Math.abs(d).toFixed(2)}`
  }

  /** What the export writes: the shown rows (or only the compared runs), shown columns. */
  function table(onlyCompared = false): PlainTable {
    const rows = onlyCompared && compared.value.length ? compared.value : sorted.value
    const header = ['run', 'id', 'task', 'method', 'budget', 'k', 'trainable', 'samples', 'seed', ...metricNames.value, 'main', ...(baseline.value ? ['Δ main vs baseline'] : []), 'time', 'started', 'status']
    return {
      header,
      rows: rows.map((r) => [
        runLabel(r) + (r.id === baselineId.value ? ' (baseline)' : ''),
        r.id,
        taskName(r.task),
        r.method,
        budgetText(r),
        int(r.k),
        int(r.trainable),
        int(r.nSamples),
        String(r.seed),
        ...metricNames.value.map((m) => metric(r.metrics?.[m])),
        metric(r.main),
        ...(baseline.value ? [delta(r) || DASH] : []),
        duration(r.elapsedMs),
        dateTime(r.startedAt),
        r.status + (r.reason && r.status !== 'completed' ? ` (${r.reason})` : '')
      ])
    }
  }

  let overlapSeq = 0
  async function loadOverlap(): Promise<void> {
    const ids = compared.value.map((r) => r.id).slice(0, 50)
    const mine = ++overlapSeq
    overlapError.value = null
    if (ids.length < 2) {
      overlap.value = null
      return
    }
    overlapLoading.value = true
    try {
      const m = await call('runs:maskOverlap', { runIds: ids })
      if (mine === overlapSeq) overlap.value = m
    } catch (e) {
      if (mine === overlapSeq) {
        overlap.value = null
        overlapError.value = e
      }
    } finally {
      if (mine === overlapSeq) overlapLoading.value = false
    }
  }

  async function loadGlue(): Promise<void> {
    try {
      glue.value = await call('runs:compare', { view: 'glue' })
      glueError.value = null
    } catch (e) {
      glueError.value = e
    }
  }

  /** Loads the compared runs' snapshots (configs and curves) that are not loaded yet. */
  async function loadDetails(): Promise<void> {
    await Promise.all(compared.value.filter((r) => !runs.details[r.id]).map((r) => runs.open(r.id)))
  }

  return {
    filterText, filterStatus, filterTask, filterMethod, sortKey, sortDesc, selectedIds, baselineId, overlap, overlapError, overlapLoading, glue, glueError,
    tasks, methods, metricNames, filtered, sorted, baseline, compared,
    setSort, toggle, selectAllShown, pin, delta, table, loadOverlap, loadGlue, loadDetails
  }
})

/**
 * Runs: the saved runs (runs:list) and, for each opened run, its details (runs:get snapshot: config,
 * milestones, curve, per-epoch metrics, Fisher statistics, results), kept live by the pushed run:* events;
 * plus the engine's memory samples while runs are live.
 *
 * Owns: the snapshot-then-events rule: events are subscribed to before any snapshot is fetched; events that
 * arrive while a run's snapshot is in flight are kept and applied on top of it, so a snapshot never erases
 * newer points, and a point already present (same step, same epoch) is never added twice. A reload finds a
 * running run again through runs:list (the engine, not the window, owns the job).
 * Must not: touch window.api or compute anything the engine reports. Events replace a run's details object
 * (never mutate the one views hold).
 */
import { defineStore } from 'pinia'
import { computed, ref, shallowRef } from 'vue'
import { call, on } from '../client'
import type { EngineMemory, RunDetail, RunListEntry, RunMetric, RunSnapshot } from '../domain'
import { MEMORY_HISTORY_POINTS, type EventMap } from '../../../shared/contract'

export type RunEvent =
  | { event: 'run:started'; payload: EventMap['run:started'] }
  | { event: 'run:progress'; payload: EventMap['run:progress'] }
  | { event: 'run:phase'; payload: EventMap['run:phase'] }
  | { event: 'run:metric'; payload: EventMap['run:metric'] }
  | { event: 'run:fisher'; payload: EventMap['run:fisher'] }
  | { event: 'run:finished'; payload: EventMap['run:finished'] }

export function detailFromSnapshot(s: RunSnapshot): RunDetail {
  return {
    summary: { ...s.summary },
    config: s.config,
    events: [...s.events],
    curve: [...s.curve],
    metrics: [...s.metrics],
    fisher: s.fisher,
    results: s.results,
    progress: s.summary.progress,
    memory: []
  }
}

function upsertMetric(metrics: RunMetric[], m: RunMetric): void {
  const i = metrics.findIndex((x) => x.epoch === m.epoch)
  if (i >= 0) metrics[i] = m
  else {
    metrics.push(m)
    metrics.sort((a, b) => a.epoch - b.epoch)
  }
}

/** Applies one pushed event to a run's details (mutates). */
export function applyEvent(d: RunDetail, e: RunEvent): void {
  switch (e.event) {
    case 'run:started':
      d.summary = { ...d.summary, ...e.payload, live: true }
      break
    case 'run:progress': {
      const p = e.payload
      d.progress = p
      d.summary = { ...d.summary, progress: p }
      if (p.phase === 'train' && p.loss !== undefined) {
        const last = d.curve[d.curve.length - 1]
        const point = { step: p.done, epoch: p.epoch, loss: p.loss, lr: p.lr, elapsedMs: p.elapsedMs }
        if (!last || p.done > last.step) d.curve.push(point)
        else if (p.done === last.step) d.curve[d.curve.length - 1] = point
      }
      break
    }
    case 'run:phase': {
      const p = e.payload
      d.events.push({ time: new Date(p.time).toISOString(), elapsedMs: d.progress?.elapsedMs ?? 0, phase: p.phase, ...(p.message ? { message: p.message } : {}), ...(p.fields ?? {}) })
      break
    }
    case 'run:metric':
      upsertMetric(d.metrics, e.payload)
      break
    case 'run:fisher':
      d.fisher = e.payload
      break
    case 'run:finished': {
      const f = e.payload
      d.summary = { ...d.summary, status: f.status, live: false, ...(f.reason ? { reason: f.reason } : {}), ...(f.metrics ? { metrics: f.metrics } : {}), ...(f.main != null ? { main: f.main } : {}), ...(f.warnings?.length ? { warnings: f.warnings } : {}) }
      if (d.progress) d.progress = { ...d.progress, etaMs: undefined }
      break
    }
  }
}

function runIdOf(e: RunEvent): string {
  return e.event === 'run:started' ? e.payload.id : e.payload.runId
}

export const useRunsStore = defineStore('runs', () => {
  const list = ref<RunListEntry[]>([])
  const listError = shallowRef<unknown>(null)
  const listLoaded = ref(false)
  /** Opened runs' details by id (shallow: each event replaces the run's object). */
  const details = shallowRef<Record<string, RunDetail>>({})
  const detailErrors = ref<Record<string, unknown>>({})
  const stopping = ref<Record<string, boolean>>({})
  const stopErrors = ref<Record<string, unknown>>({})
  const memory = shallowRef<EngineMemory[]>([])

  const running = computed(() => list.value.filter((r) => r.status === 'running'))
  const newestFirst = computed(() => [...list.value].sort((a, b) => b.startedAt.localeCompare(a.startedAt)))

  /** Events received while a run's snapshot is being fetched, by run id. */
  const pending = new Map<string, RunEvent[]>()
  let unsubscribe: Array<() => void> = []

  function handle(e: RunEvent): void {
    const id = runIdOf(e)
    pending.get(id)?.push(e)
    const d = details.value[id]
    if (d) {
      // A new object per event: views compute from `details[id]`, and an object mutated in place would look
      // unchanged to them (a computed returning the same object does not notify).
      const next = { ...d, curve: [...d.curve], metrics: [...d.metrics], events: [...d.events] }
      applyEvent(next, e)
      details.value = { ...details.value, [id]: next }
    }
    // The list row follows too.
    const i = list.value.findIndex((r) => r.id === id)
    if (e.event === 'run:started') {
      const row: RunListEntry = { ...e.payload, live: true }
      if (i >= 0) list.value[i] = { ...list.value[i], ...row }
      else list.value = [...list.value, row]
    } else if (i >= 0) {
      if (e.event === 'run:progress') list.value[i] = { ...list.value[i], progress: e.payload }
      if (e.event === 'run:finished') {
        const f = e.payload
        list.value[i] = { ...list.value[i], status: f.status, live: false, ...(f.reason ? { reason: f.reason } : {}), ...(f.metrics ? { metrics: f.metrics } : {}), ...(f.main != null ? { main: f.main } : {}), ...(f.warnings?.length ? { warnings: f.warnings } : {}) }
        stopping.value = { ...stopping.value, [id]: false }
        void refresh() // the summary on disk has the final numbers (time, k, trainable)
      }
    }
  }

  function init(): void {
    if (unsubscribe.length) return
    const names = ['run:started', 'run:progress', 'run:phase', 'run:metric', 'run:fisher', 'run:finished'] as const
    unsubscribe = names.map((event) => on(event, (payload: unknown) => handle({ event, payload } as RunEvent)))
    unsubscribe.push(
      on('engine:memory', (m) => {
        memory.value = [...memory.value.slice(-(MEMORY_HISTORY_POINTS - 1)), m]
      })
    )
  }

  function dispose(): void {
    for (const off of unsubscribe) off()
    unsubscribe = []
  }

  let listSeq = 0
  async function refresh(): Promise<void> {
    init()
    const mine = ++listSeq
    try {
      const next = await call('runs:list')
      if (mine !== listSeq) return
      list.value = next
      listError.value = null
    } catch (e) {
      if (mine === listSeq) listError.value = e
    } finally {
      listLoaded.value = true
    }
  }

  /** Fetches a run's snapshot (again) and keeps it live. */
  async function open(id: string): Promise<RunDetail | null> {
    init()
    const buffer: RunEvent[] = []
    pending.set(id, buffer)
    try {
      const snap = await call('runs:get', { runId: id })
      const d = detailFromSnapshot(snap)
      for (const e of buffer) applyEvent(d, e)
      // a window opened (or reloaded) mid-run: the app's memory history of the run so far
      if (snap.memory && snap.memory.length > memory.value.length) memory.value = snap.memory.slice(-MEMORY_HISTORY_POINTS)
      details.value = { ...details.value, [id]: d }
      const { [id]: _gone, ...rest } = detailErrors.value
      detailErrors.value = rest
      const i = list.value.findIndex((r) => r.id === id)
      if (i >= 0) list.value[i] = d.summary
      else list.value = [...list.value, d.summary]
      return d
    } catch (e) {
      detailErrors.value = { ...detailErrors.value, [id]: e }
      return null
    } finally {
      if (pending.get(id) === buffer) pending.delete(id)
    }
  }

  async function stop(id: string): Promise<void> {
    stopping.value = { ...stopping.value, [id]: true }
    const { [id]: _old, ...rest } = stopErrors.value
    stopErrors.value = rest
    try {
      await call('runs:stop', { runId: id })
    } catch (e) {
      stopErrors.value = { ...stopErrors.value, [id]: e }
      stopping.value = { ...stopping.value, [id]: false }
    }
  }

  async function remove(id: string): Promise<boolean> {
    try {
      await call('runs:delete', { runId: id })
      list.value = list.value.filter((r) => r.id !== id)
      const { [id]: _d, ...rest } = details.value
      details.value = rest
      return true
    } catch (e) {
      listError.value = e
      return false
    }
  }

  return { list, listError, listLoaded, details, detailErrors, stopping, stopErrors, memory, running, newestFirst, init, dispose, refresh, open, stop, remove, handle }
})

/**
 * The engine as the UI sees it: process status, the running backend and why faster ones were skipped,
 * recent engine log lines, app versions; and the actions to force a backend or restart the engine.
 *
 * Owns: the snapshot-then-events pattern (subscribe first, then fetch, and a snapshot never overwrites a
 * newer event) and the rule that a stale answer never overwrites a newer one (each backend request takes a
 * sequence number; only the latest may write `info`).
 * Must not: touch window.api (api.ts does) or decide anything the engine decides.
 */
import { defineStore } from 'pinia'
import { computed, ref, shallowRef } from 'vue'
import type { AppVersion, BackendChoice, BackendInfo, EngineLog, EngineStatus } from '../../../shared/contract'
import { appApi, engineApi, errorMessage, onEvent } from '../api'

const MAX_LOG_LINES = 200

export const useEngineStore = defineStore('engine', () => {
  const status = ref<EngineStatus>({ state: 'starting' })
  const info = ref<BackendInfo | null>(null)
  /** Why `info` is missing while the engine is ready (e.g. no backend could start). */
  const infoError = ref<string | null>(null)
  /** The last failed user action (switching backend, restarting), shown until the next action. */
  const actionError = ref<string | null>(null)
  const busy = ref(false)
  const logs = shallowRef<EngineLog[]>([])
  const versions = ref<AppVersion | null>(null)

  const ready = computed(() => status.value.state === 'ready')
  /** What the selector should show: the forced backend, or auto. */
  const currentChoice = computed<BackendChoice>(() => (info.value?.forced ? info.value.name : 'auto'))

  let infoSeq = 0
  let statusEvents = 0
  let unsubscribe: Array<() => void> = []

  function applyStatus(next: EngineStatus): void {
    const wasReady = status.value.state === 'ready'
    status.value = next
    if (next.state === 'ready' && !wasReady) void refreshInfo()
    if (next.state !== 'ready') {
      infoSeq++ // answers still in flight belong to a process that is gone or not ready yet
      info.value = null
      actionError.value = null // it was about that process
    }
  }

  function subscribe(): Array<() => void> {
    return [
      onEvent('engine:status', (s) => {
        statusEvents++
        applyStatus(s)
      }),
      onEvent('engine:log', (line) => {
        logs.value = [...logs.value.slice(-(MAX_LOG_LINES - 1)), line]
      })
    ]
  }

  async function init(): Promise<void> {
    if (unsubscribe.length) return
    try {
      unsubscribe = subscribe()
    } catch (e) {
      // No preload (a plain browser without a test bridge): say so instead of "starting" forever.
      status.value = { state: 'stopped', reason: `no connection to the app: ${errorMessage(e)}` }
      return
    }
    const seenBefore = statusEvents
    const [snapshot, appVersions] = await Promise.allSettled([engineApi.getStatus(), appApi.version()])
    if (appVersions.status === 'fulfilled') versions.value = appVersions.value
    if (snapshot.status === 'fulfilled') {
      if (statusEvents === seenBefore) applyStatus(snapshot.value)
    } else {
      actionError.value = errorMessage(snapshot.reason)
    }
  }

  async function refreshInfo(): Promise<void> {
    const seq = ++infoSeq
    try {
      const next = await engineApi.info()
      if (seq !== infoSeq) return
      info.value = next
      infoError.value = null
    } catch (e) {
      if (seq !== infoSeq) return
      info.value = null
      infoError.value = errorMessage(e)
    }
  }

  async function setBackend(choice: BackendChoice): Promise<void> {
    const seq = ++infoSeq
    busy.value = true
    actionError.value = null
    try {
      const next = await engineApi.setBackend(choice)
      if (seq !== infoSeq) return
      info.value = next
      infoError.value = null
    } catch (e) {
      if (seq === infoSeq) actionError.value = errorMessage(e)
    } finally {
      busy.value = false
    }
  }

  async function restart(): Promise<void> {
    busy.value = true
    actionError.value = null
    try {
      await engineApi.restart() // status events bring the new state and trigger refreshInfo
    } catch (e) {
      actionError.value = errorMessage(e)
    } finally {
      busy.value = false
    }
  }

  function dispose(): void {
    for (const off of unsubscribe) off()
    unsubscribe = []
  }

  return { status, info, infoError, actionError, busy, logs, versions, ready, currentChoice, init, refreshInfo, setBackend, restart, dispose }
})

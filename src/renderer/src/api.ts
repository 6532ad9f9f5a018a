/**
 * The renderer's only door to the app, the same in both shells: `window.api` from the preload inside
 * Electron, or the same WindowApi over a WebSocket to `ird-studio serve` in a browser (token from the page
 * URL). Each method resolves to its value or rejects with a RemoteError (name, message, code, details).
 *
 *   api.datasets.import({ source: { name, content } })   api.runs.start({ config })   onEvent('run:progress', …)
 *
 * Owns: access to window.api and the choice of transport. Must not: be bypassed (components and stores
 * import this, never window.api), or hold state (stores do).
 * A test may still define `window.api` before this module is used to stand in for the preload.
 */
import {
  CALL_NAMES,
  type BackendChoice,
  type CallDomain,
  type CallName,
  type CallParams,
  type CallResult,
  type DomainOf,
  type VerbOf,
  type EventMap,
  type EventName,
  type Result,
  type WindowApi
} from '../../shared/contract'
import { RemoteError } from '../../shared/errors'
import { createWebSocketApi, serverApiUrl, type LocationLike, type StorageLike } from './api/ws-client'

let current: WindowApi | null = null
let currentMode: 'electron' | 'browser' | null = null

/** The page's globals, typed structurally (this module also compiles without the DOM library). */
const page = globalThis as unknown as { api?: WindowApi; location?: LocationLike; sessionStorage?: StorageLike }

function bridge(): WindowApi {
  if (current) return current
  const preload = page.api
  if (preload) {
    currentMode = 'electron'
    return (current = preload)
  }
  const loc = page.location
  if (loc && (loc.protocol === 'http:' || loc.protocol === 'https:')) {
    currentMode = 'browser'
    return (current = createWebSocketApi({ url: serverApiUrl(loc, page.sessionStorage) }))
  }
  throw new Error('window.api is missing: this page runs inside IRD Studio (whose preload provides it) or from `ird-studio serve`')
}

/**
 * Inside Electron: where a dropped or picked File is on disk (the preload's `electronFiles`, Electron's
 * webUtils.getPathForFile), so it is imported by path — no upload, no size limit. null in a browser, or
 * for a File that has no path (e.g. made by the page).
 */
export function pathForFile(file: unknown): string | null {
  const files = (globalThis as unknown as { electronFiles?: { pathForFile(file: unknown): string } }).electronFiles
  if (!files) return null
  try {
    return files.pathForFile(file) || null
  } catch {
    return null
  }
}

/** 'electron' inside the app, 'browser' when served by `ird-studio serve`. */
export function apiMode(): 'electron' | 'browser' {
  bridge()
  return currentMode!
}

async function unwrap<T>(pending: Promise<Result<T>>): Promise<T> {
  const result = await pending
  if (result.ok) return result.value
  throw new RemoteError(result.error)
}

/** A domain's methods resolving to values (throwing RemoteError) instead of Results. */
/** A call as a method resolving to its value (throwing RemoteError) instead of a Result. */
export type UnwrappedMethod<M extends CallName> = [CallParams<M>] extends [void]
  ? () => Promise<CallResult<M>>
  : (params: CallParams<M>) => Promise<CallResult<M>>
export type Unwrapped<D extends CallDomain> = { [M in CallName as DomainOf<M> extends D ? VerbOf<M> : never]: UnwrappedMethod<M> }

function domain<D extends CallDomain>(name: D): Unwrapped<D> {
  const out: Record<string, (params?: unknown) => Promise<unknown>> = {}
  for (const method of CALL_NAMES) {
    const [d, verb] = method.split(':') as [string, string]
    if (d !== name) continue
    out[verb] = (params?: unknown) => {
      const target = bridge()[name] as unknown as Record<string, (p?: unknown) => Promise<Result<unknown>>>
      return unwrap(params === undefined ? target[verb]() : target[verb](params))
    }
  }
  return out as Unwrapped<D>
}

/** Every call: `api.<domain>.<verb>(params)`, e.g. `await api.runs.get({ runId })`. */
export const api = {
  engine: domain('engine'),
  app: domain('app'),
  datasets: domain('datasets'),
  models: domain('models'),
  runs: domain('runs')
} satisfies { [D in CallDomain]: Unwrapped<D> }

export const engineApi = {
  ...api.engine,
  /** Kept positional for the engine panel. */
  setBackend: (backend: BackendChoice) => api.engine.setBackend({ backend })
}
export const appApi = api.app
export const datasetsApi = api.datasets
export const modelsApi = api.models
export const runsApi = api.runs

/** Subscribe to a pushed event; returns the unsubscribe function. */
export function onEvent<E extends EventName>(event: E, listener: (payload: EventMap[E]) => void): () => void {
  return bridge().on(event, listener)
}

/** A message fit for the UI from anything thrown. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

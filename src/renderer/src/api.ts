/**
 * The renderer's only door to the app: wraps `window.api` (the preload) into promises that resolve to
 * values or reject with a RemoteError (name, message, code, details from the other process).
 *
 * Owns: access to window.api. Must not: be bypassed (components and stores import this, never
 * window.api), or hold state (stores do).
 * In a plain browser (Playwright against the renderer build) a small test bridge can stand in for the
 * preload by defining `window.api` before this module is used.
 */
import type { BackendChoice, EventMap, EventName, Result, WindowApi } from '../../shared/contract'
import { RemoteError } from '../../shared/errors'

function bridge(): WindowApi {
  const api = (window as Partial<Window>).api
  if (!api) throw new Error('window.api is missing: this page runs inside IRD Studio, whose preload provides it')
  return api
}

async function unwrap<T>(pending: Promise<Result<T>>): Promise<T> {
  const result = await pending
  if (result.ok) return result.value
  throw new RemoteError(result.error)
}

export const engineApi = {
  info: () => unwrap(bridge().engine.info()),
  setBackend: (backend: BackendChoice) => unwrap(bridge().engine.setBackend(backend)),
  getStatus: () => unwrap(bridge().engine.getStatus()),
  restart: () => unwrap(bridge().engine.restart())
}

export const appApi = {
  version: () => unwrap(bridge().app.version())
}

/** Subscribe to a pushed event; returns the unsubscribe function. */
export function onEvent<E extends EventName>(event: E, listener: (payload: EventMap[E]) => void): () => void {
  return bridge().on(event, listener)
}

/** A message fit for the UI from anything thrown. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

/**
 * The stores' door to the contract's calls and events: `call('datasets:list')`, `on('run:progress', …)`,
 * typed by src/shared/contract.ts and carried by api.ts (window.api in Electron, the WebSocket in a
 * browser). Unit tests swap the transport with `setTransport`.
 * Owns: nothing but the indirection. Must not: hold state (stores do) or touch window.api (api.ts does).
 */
import type { CallName, CallParams, CallResult, EventMap, EventName } from '../../shared/contract'
import { api, onEvent, pathForFile as electronPathForFile } from './api'

export interface Transport {
  call<M extends CallName>(method: M, params: CallParams<M>): Promise<CallResult<M>>
  on<E extends EventName>(event: E, listener: (payload: EventMap[E]) => void): () => void
}

/** api.ts's `api.<domain>.<verb>(params)` and `onEvent`. */
function defaultTransport(): Transport {
  return {
    call<M extends CallName>(method: M, params: CallParams<M>): Promise<CallResult<M>> {
      const [domain, verb] = method.split(':') as [keyof typeof api, string]
      const fn = (api[domain] as unknown as Record<string, (p?: unknown) => Promise<unknown>>)[verb]
      return (params === undefined ? fn() : fn(params)) as Promise<CallResult<M>>
    },
    on: (event, listener) => onEvent(event, listener)
  }
}

let current: Transport | null = null
let filePaths: (file: unknown) => string | null = electronPathForFile

/** A File's path on disk when the shell can tell (Electron), else null. Tests swap it with setFilePaths. */
export function pathForFile(file: unknown): string | null {
  return filePaths(file)
}

export function setFilePaths(fn: ((file: unknown) => string | null) | null): void {
  filePaths = fn ?? electronPathForFile
}

function transport(): Transport {
  return (current ??= defaultTransport())
}

export function call<M extends CallName>(method: M, ...params: CallParams<M> extends void ? [] : [CallParams<M>]): Promise<CallResult<M>> {
  return transport().call(method, params[0] as CallParams<M>)
}

export function on<E extends EventName>(event: E, listener: (payload: EventMap[E]) => void): () => void {
  return transport().on(event, listener)
}

/** Tests: replace the transport (null restores the real one). */
export function setTransport(t: Transport | null): void {
  current = t
}

/**
 * The preload: exposes one typed `window.api` (WindowApi from the contract), one method per call plus
 * `on(event, listener)`.
 *
 * Owns: the mapping from api methods to IPC channels. Must not: expose ipcRenderer, IPC events (their
 * `sender`) or any Node/Electron object to the page, or grow logic: it runs sandboxed (built as CommonJS,
 * only `electron`'s renderer modules can be required) and main validates everything anyway.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron'
import { isEventName, type BackendChoice, type CallName, type CallResult, type EventMap, type EventName, type Result, type WindowApi } from '../shared/contract'

function call<M extends CallName>(method: M, params?: unknown): Promise<Result<CallResult<M>>> {
  return ipcRenderer.invoke(method, params) as Promise<Result<CallResult<M>>>
}

export const api: WindowApi = {
  engine: {
    info: () => call('engine:info'),
    setBackend: (backend: BackendChoice) => call('engine:setBackend', { backend }),
    getStatus: () => call('engine:getStatus'),
    restart: () => call('engine:restart')
  },
  app: {
    version: () => call('app:version')
  },
  on<E extends EventName>(event: E, listener: (payload: EventMap[E]) => void): () => void {
    if (!isEventName(event)) throw new TypeError(`api.on: unknown event "${String(event)}"`)
    if (typeof listener !== 'function') throw new TypeError('api.on: listener must be a function')
    const relay = (_event: IpcRendererEvent, payload: EventMap[E]): void => listener(payload)
    ipcRenderer.on(event, relay)
    return () => {
      ipcRenderer.removeListener(event, relay)
    }
  }
}

contextBridge.exposeInMainWorld('api', api)

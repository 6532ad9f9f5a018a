/**
 * The preload: exposes one typed `window.api` (WindowApi from the contract), `api.<domain>.<verb>(params)`
 * for every call plus `on(event, listener)`, built by the contract's createWindowApi over Electron IPC;
 * and `window.electronFiles.pathForFile(file)` (webUtils.getPathForFile) for drag and drop by path.
 *
 * Owns: the IPC transport of window.api. Must not: expose ipcRenderer, IPC events (their `sender`) or any
 * Node/Electron object to the page, or grow logic: it runs sandboxed (built as CommonJS, only `electron`'s
 * renderer modules can be required) and main validates everything anyway.
 */
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron'
import { createWindowApi, type Result, type WindowApi } from '../shared/contract'

export const api: WindowApi = createWindowApi(
  (method, params) => ipcRenderer.invoke(method, params) as Promise<Result<unknown>>,
  (event, listener) => {
    const relay = (_event: IpcRendererEvent, payload: unknown): void => listener(payload)
    ipcRenderer.on(event, relay)
    return () => {
      ipcRenderer.removeListener(event, relay)
    }
  }
)

contextBridge.exposeInMainWorld('api', api)

/**
 * A dropped or picked File's path on disk (Electron ≥ 29 removed File.path), so that the page imports big
 * datasets by path instead of uploading their text. Returns '' for a File without one. Main still checks
 * the path like any other.
 */
export const electronFiles = {
  pathForFile: (file: Parameters<typeof webUtils.getPathForFile>[0]): string => webUtils.getPathForFile(file)
}
contextBridge.exposeInMainWorld('electronFiles', electronFiles)

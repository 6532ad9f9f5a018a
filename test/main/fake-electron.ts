/**
 * A stand-in for the parts of `electron` that src/main uses, for running the main process under plain
 * Node (no Electron binary on CI machines). utilityProcess.fork runs the engine's TypeScript source with
 * tsx and an emulated process.parentPort, so the engine takes the same path as in the app.
 */
import { fork } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ENGINE_SOURCE = fileURLToPath(new URL('../../src/engine/process.ts', import.meta.url))
const PARENT_PORT = fileURLToPath(new URL('./helpers/parent-port.mjs', import.meta.url))

type Listener = (...args: unknown[]) => unknown

export function createFakeElectron() {
  const calls: unknown[][] = []
  const windows: FakeWindow[] = []
  const handlers = new Map<string, Listener>()

  const userData = mkdtempSync(join(tmpdir(), 'ird-fake-userdata-'))
  class App extends EventEmitter {
    isPackaged = false
    userData = userData
    getVersion = () => '0.1.0'
    getPath = (name: string) => {
      if (name !== 'userData') throw new Error(`fake electron: getPath(${name}) is not faked`)
      return userData
    }
    isReady = () => true
    setName = (n: string) => void calls.push(['setName', n])
    enableSandbox = () => void calls.push(['enableSandbox'])
    requestSingleInstanceLock = () => true
    whenReady = () => Promise.resolve()
    quit = () => {
      let prevented = false
      this.emit('will-quit', { preventDefault: () => (prevented = true) })
      calls.push(['quit', prevented ? 'deferred' : 'done'])
      if (!prevented) this.emit('test:quit-done')
    }
  }
  const app = new App()

  class FakeWebContents extends EventEmitter {
    sent: Array<[string, unknown]> = []
    openHandler?: (details: { url: string }) => unknown
    send = (channel: string, payload: unknown) => void this.sent.push([channel, payload])
    isDestroyed = () => false
    setWindowOpenHandler = (h: (details: { url: string }) => unknown) => void (this.openHandler = h)
  }
  class FakeWindow extends EventEmitter {
    static getAllWindows = () => windows
    webContents = new FakeWebContents()
    loaded?: string
    constructor(readonly options: Record<string, unknown>) {
      super()
      windows.push(this)
      app.emit('web-contents-created', {}, this.webContents)
    }
    isDestroyed = () => false
    isMinimized = () => false
    restore = () => undefined
    focus = () => void calls.push(['focus'])
    show = () => undefined
    /** Like the user closing it: gone from getAllWindows, 'closed', then the app's 'window-all-closed'. */
    close = () => {
      windows.splice(windows.indexOf(this), 1)
      this.emit('closed')
      if (windows.length === 0) app.emit('window-all-closed')
    }
    loadFile = async (file: string) => void (this.loaded = file)
    loadURL = async (url: string) => void (this.loaded = url)
  }

  const webRequest: { headers?: Listener; before?: [unknown, Listener] } = {}
  const defaultSession = {
    webRequest: {
      onHeadersReceived: (fn: Listener) => void (webRequest.headers = fn),
      onBeforeRequest: (filter: unknown, fn: Listener) => void (webRequest.before = [filter, fn])
    },
    permissionRequest: undefined as Listener | undefined,
    setPermissionRequestHandler(fn: Listener) {
      this.permissionRequest = fn
    },
    setPermissionCheckHandler: (_fn: Listener) => undefined
  }

  const utilityProcess = {
    fork(modulePath: string, args: string[], options: { serviceName?: string; stdio?: unknown; env?: NodeJS.ProcessEnv }) {
      calls.push(['utilityProcess.fork', modulePath, options.serviceName, options.stdio])
      const env = { ...options.env }
      delete env.IRD_BACKEND
      const child = fork(ENGINE_SOURCE, args, {
        execArgv: ['--import', 'tsx', '--import', PARENT_PORT],
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        env
      })
      const proc = Object.assign(new EventEmitter(), {
        pid: child.pid as number | undefined,
        stdout: child.stdout,
        stderr: child.stderr,
        postMessage: (m: unknown) => void child.send(m as object),
        kill: () => child.kill('SIGTERM')
      })
      child.on('message', (m) => proc.emit('message', m))
      // Electron reports an exit code only, also for a signal
      child.on('exit', (code) => {
        proc.pid = undefined
        proc.emit('exit', code ?? 137)
      })
      return proc
    }
  }

  const ipcMain = { handle: (channel: string, fn: Listener) => void handlers.set(channel, fn) }
  /** What the next dialog answers; tests set it. */
  const dialogAnswers: { open: string[] | null; save: string | null } = { open: null, save: null }
  const dialog = {
    showOpenDialog: async (...args: unknown[]) => {
      calls.push(['showOpenDialog', args.at(-1)])
      return dialogAnswers.open ? { canceled: false, filePaths: dialogAnswers.open } : { canceled: true, filePaths: [] }
    },
    showSaveDialog: async (...args: unknown[]) => {
      calls.push(['showSaveDialog', args.at(-1)])
      return dialogAnswers.save ? { canceled: false, filePath: dialogAnswers.save } : { canceled: true, filePath: undefined }
    }
  }
  const electron = { app, BrowserWindow: FakeWindow, ipcMain, session: { defaultSession }, utilityProcess, dialog }
  return { electron, calls, windows, handlers, webRequest, defaultSession, dialogAnswers, userData }
}

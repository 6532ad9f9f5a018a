/**
 * Electron main: app lifecycle, the one window, the engine process, and the IPC relay between them.
 *
 * Owns: single-instance lock; a sandboxed, context-isolated window; session hardening (CSP header, no
 * network except the dev server in development, no permissions, no new windows, no navigation off the
 * app); the AppHost (src/engine/host/app-host.ts: engine as a utilityProcess, registries, runs) with
 * native dialogs; ipcMain handlers for every contract call (sender checked, argument validated, by
 * src/main/ipc-router.ts); events relayed to every window. Training never depends on a window: closing
 * the last window while a run is live keeps the app running until the run ends, and a window opened
 * later (launch the app again) loads the run's snapshot and follows its events.
 * Folders: app data = $IRD_DATA_DIR or Electron's userData; runs = $IRD_RUNS_DIR or <app data>/runs (the
 * CLI and `ird-studio serve --runs` can share it).
 * Must not: run engine work here (it blocks the UI), trust anything the renderer sends, or load remote
 * content. Electron-free logic lives in security.ts / ipc-router.ts / src/engine/host, where tests reach it.
 */
import { BrowserWindow, app, dialog, ipcMain, session, type Session, type WebContents } from 'electron'
import { readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import icon from '../../resources/icon.png?asset'
import { AppHost, type Dialogs } from '../engine/host/app-host'
import { EngineHost } from '../engine/host/engine-host'
import { writeFileAtomic } from '../engine/io/atomic'
import { CALL_NAMES, type AppVersion } from '../shared/contract'
import { CodedError } from '../shared/errors'
import { ENGINE_SERVICE_NAME, utilityProcessSpawner } from './engine-spawner'
import { createCallRouter } from './ipc-router'
import {
  NETWORK_URL_PATTERNS,
  contentSecurityPolicy,
  isAllowedNetworkRequest,
  isAppUrl,
  type AppLocation
} from './security'

const PRODUCT_NAME = 'IRD Studio'
const here = dirname(fileURLToPath(import.meta.url)) // out/main when built
const indexHtml = join(here, '../renderer/index.html')

// electron-vite dev sets ELECTRON_RENDERER_URL. A packaged app ignores it: an environment variable must
// never be able to point the app at another page.
const devServerUrl = !app.isPackaged ? process.env.ELECTRON_RENDERER_URL : undefined
const location: AppLocation = devServerUrl
  ? { kind: 'dev-server', origin: new URL(devServerUrl).origin }
  : { kind: 'file', indexUrl: pathToFileURL(indexHtml).href }


function tfjsVersion(): string {
  try {
    return (createRequire(import.meta.url)('@tensorflow/tfjs/package.json') as { version: string }).version
  } catch {
    return 'unknown'
  }
}

/** The largest config file the open dialog reads. */
const MAX_CONFIG_BYTES = 1 << 20

const dialogs: Dialogs = {
  async pickPath(p) {
    const options = {
      title: p.title,
      properties: [p.kind === 'folder' ? ('openDirectory' as const) : ('openFile' as const)],
      ...(p.filters ? { filters: p.filters } : {})
    }
    const r = mainWindow ? await dialog.showOpenDialog(mainWindow, options) : await dialog.showOpenDialog(options)
    return r.canceled || !r.filePaths[0] ? null : r.filePaths[0]
  },
  async saveText(suggestedName, text) {
    const options = { defaultPath: suggestedName, filters: [{ name: 'JSON', extensions: ['json'] }] }
    const r = mainWindow ? await dialog.showSaveDialog(mainWindow, options) : await dialog.showSaveDialog(options)
    if (r.canceled || !r.filePath) return null
    writeFileAtomic(r.filePath, text)
    return r.filePath
  },
  async openText(filters) {
    const options = { properties: ['openFile' as const], filters }
    const r = mainWindow ? await dialog.showOpenDialog(mainWindow, options) : await dialog.showOpenDialog(options)
    const file = r.canceled ? undefined : r.filePaths[0]
    if (!file) return null
    if (statSync(file).size > MAX_CONFIG_BYTES) throw new CodedError('INVALID_INPUT', `${file} is larger than ${MAX_CONFIG_BYTES} bytes: not a run config`)
    return { path: file, text: readFileSync(file, 'utf8') }
  }
}

let host: AppHost

function createHost(): AppHost {
  const dataDir = resolve(process.env.IRD_DATA_DIR || app.getPath('userData'))
  const runsDir = resolve(process.env.IRD_RUNS_DIR || join(dataDir, 'runs'))
  // The engine process inherits the environment: this is how it learns where runs go.
  process.env.IRD_RUNS_DIR = runsDir
  const engine = new EngineHost({ spawn: utilityProcessSpawner(join(here, 'engine-process.js')) })
  return new AppHost({
    mode: 'electron',
    dataDir,
    runsDir,
    engine,
    dialogs,
    version: (): AppVersion => ({ app: app.getVersion(), electron: process.versions.electron, node: process.versions.node, tfjs: tfjsVersion() })
  })
}

function registerIpc(): void {
  const route = createCallRouter({
    engine: host.engine,
    handlers: host.handlers,
    isTrustedSender: (url) => isAppUrl(url, location),
    onInternalError: (method, e) => console.error(`[main] ${method} failed:`, e)
  })
  for (const method of CALL_NAMES) {
    ipcMain.handle(method, (event, params: unknown) => route(method, event.senderFrame?.url, params))
  }
}

function broadcast(channel: string, payload: unknown): void {
  for (const win of BrowserWindow.getAllWindows()) {
    if (!win.isDestroyed() && !win.webContents.isDestroyed()) win.webContents.send(channel, payload)
  }
}

function hardenSession(ses: Session): void {
  const csp = contentSecurityPolicy({ devServerOrigin: location.kind === 'dev-server' ? location.origin : undefined })
  // Applies to responses with headers (the dev server); for file:// pages the <meta> in index.html rules.
  ses.webRequest.onHeadersReceived((details, callback) => {
    const headers = { ...details.responseHeaders }
    for (const key of Object.keys(headers)) if (key.toLowerCase() === 'content-security-policy') delete headers[key]
    callback({ responseHeaders: { ...headers, 'Content-Security-Policy': [csp] } })
  })
  ses.webRequest.onBeforeRequest({ urls: NETWORK_URL_PATTERNS }, (details, callback) => {
    const allowed = isAllowedNetworkRequest(details.url, location)
    if (!allowed) console.warn(`[main] blocked a network request: ${details.url}`)
    callback({ cancel: !allowed })
  })
  ses.setPermissionRequestHandler((_contents, _permission, callback) => callback(false))
  ses.setPermissionCheckHandler(() => false)
}

function hardenContents(contents: WebContents): void {
  contents.setWindowOpenHandler(({ url }) => {
    console.warn(`[main] denied a new window: ${url}`)
    return { action: 'deny' }
  })
  const stayOnApp = (event: { url: string; preventDefault(): void }): void => {
    if (!isAppUrl(event.url, location)) {
      console.warn(`[main] blocked navigation to ${event.url}`)
      event.preventDefault()
    }
  }
  contents.on('will-frame-navigate', stayOnApp)
  contents.on('will-redirect', stayOnApp)
  contents.on('will-attach-webview', (event) => event.preventDefault())
}

let mainWindow: BrowserWindow | null = null
let quitWhenRunsEnd = false

function createWindow(): void {
  const win = new BrowserWindow({
    title: PRODUCT_NAME,
    width: 1100,
    height: 760,
    minWidth: 640,
    minHeight: 480,
    show: false,
    autoHideMenuBar: true,
    // Linux takes the window icon from here; macOS/Windows from the packaged app (electron-builder).
    ...(process.platform === 'linux' ? { icon } : {}),
    webPreferences: {
      // Sandboxed preloads must be CommonJS: electron.vite.config.ts builds it as index.cjs.
      preload: join(here, '../preload/index.cjs'),
      contextIsolation: true,
      nodeIntegration: false,
      sandbox: true,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false
    }
  })
  mainWindow = win
  win.once('ready-to-show', () => win.show())
  win.on('closed', () => {
    if (mainWindow === win) mainWindow = null
  })
  quitWhenRunsEnd = false
  if (devServerUrl) void win.loadURL(devServerUrl)
  else void win.loadFile(indexHtml)
}

function focusMainWindow(): void {
  // The window may have been closed while a run went on: a second launch opens it again.
  if (!mainWindow) {
    if (app.isReady()) createWindow()
    return
  }
  if (mainWindow.isMinimized()) mainWindow.restore()
  mainWindow.focus()
}

function main(): void {
  app.setName(PRODUCT_NAME)
  app.enableSandbox() // every renderer, including any created later, runs sandboxed
  app.on('second-instance', focusMainWindow)
  app.on('web-contents-created', (_event, contents) => hardenContents(contents))

  host = createHost()
  host.onEvent((e) => {
    if (e.event === 'engine:log' && e.payload.level !== 'debug') console.log(`[engine] ${e.payload.level}: ${e.payload.message}`)
    if (e.event === 'engine:status' && e.payload.state === 'crashed') console.error(`[engine] crashed: ${e.payload.reason}`)
    broadcast(e.event, e.payload)
    // The last window closed while a run was live: quit once the run has ended.
    if (e.event === 'run:finished' && quitWhenRunsEnd && host.liveRuns.size === 0) app.quit()
  })
  app.on('child-process-gone', (_event, details) => {
    if (details.type === 'Utility' && details.serviceName === ENGINE_SERVICE_NAME && details.reason !== 'clean-exit') {
      const message = `engine process gone: ${details.reason} (exit code ${details.exitCode})`
      broadcast('engine:log', { level: 'error', message, time: Date.now() })
    }
  })

  app.on('window-all-closed', () => {
    if (process.platform === 'darwin') return
    if (host.liveRuns.size > 0) {
      // Training never depends on a window: keep going; launching the app again shows the run live.
      quitWhenRunsEnd = true
      console.log(`[main] the window closed while ${host.liveRuns.size} run(s) are live: the app keeps running until they end (launch it again to watch)`)
      return
    }
    app.quit()
  })
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow()
  })

  let engineStopped = false
  app.on('will-quit', (event) => {
    if (engineStopped) return
    event.preventDefault()
    void host.stop().finally(() => {
      engineStopped = true
      app.quit()
    })
  })

  void app.whenReady().then(() => {
    hardenSession(session.defaultSession)
    registerIpc()
    host.start().catch((e: unknown) => console.error('[main] engine failed to start:', e))
    createWindow()
  })
}

if (app.requestSingleInstanceLock()) main()
else app.quit()

/**
 * src/main/index.ts under plain Node with a fake electron: window options, IPC handlers for every call
 * (sender checked, arguments validated, engine calls relayed to a real engine process), events relayed to
 * the window, session hardening, and a graceful engine stop on quit.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { CALL_NAMES, type Result } from '../../src/shared/contract'
import { createFakeElectron } from './fake-electron'

const fake = vi.hoisted(() => ({ current: undefined as unknown as ReturnType<typeof createFakeElectron> }))
vi.mock('electron', async () => {
  const { createFakeElectron } = await import('./fake-electron')
  fake.current = createFakeElectron()
  return fake.current.electron
})
vi.mock('../../resources/icon.png?asset', () => ({ default: '/fake/resources/icon.png' }))

let f: ReturnType<typeof createFakeElectron>
let appUrl: string
function call(channel: string, params?: unknown, url = appUrl): Promise<Result<unknown>> {
  const handler = f.handlers.get(channel)
  if (!handler) throw new Error(`no handler for ${channel}`)
  return handler({ senderFrame: { url } }, params) as Promise<Result<unknown>>
}

const savedDataDir = process.env.IRD_DATA_DIR
beforeAll(async () => {
  // this suite checks the desktop default (Electron's userData), so not the override the vitest
  // globalSetup sets for every other test (the fake electron's userData is a fresh temp folder)
  delete process.env.IRD_DATA_DIR
  // main logs every engine line and every blocked request; keep the test output readable
  vi.spyOn(console, 'log').mockImplementation(() => undefined)
  vi.spyOn(console, 'warn').mockImplementation(() => undefined)
  await import('../../src/main/index')
  f = fake.current
  await new Promise((resolve) => setTimeout(resolve, 0)) // whenReady().then(...)
  appUrl = pathToFileURL(f.windows[0].loaded!).href
})
afterAll(() => {
  vi.restoreAllMocks()
  if (savedDataDir !== undefined) process.env.IRD_DATA_DIR = savedDataDir
})

describe('Electron main (fake electron, real engine process)', () => {
  it('opens one locked-down window on the built index.html', () => {
    expect(f.windows).toHaveLength(1)
    const prefs = f.windows[0].options.webPreferences as Record<string, unknown>
    expect(prefs).toMatchObject({ contextIsolation: true, nodeIntegration: false, sandbox: true, webSecurity: true })
    expect(String(prefs.preload)).toMatch(/preload[\\/]index\.cjs$/)
    expect(f.windows[0].loaded).toMatch(/renderer[\\/]index\.html$/)
    expect(f.calls).toContainEqual(['enableSandbox'])
    expect(f.calls.find((c) => c[0] === 'utilityProcess.fork')?.[1]).toMatch(/engine-process\.js$/)
  })

  it('handles every contract call and relays engine calls to the engine', async () => {
    expect([...f.handlers.keys()].sort()).toEqual([...CALL_NAMES].sort())
    const info = await call('engine:info')
    expect(info).toMatchObject({ ok: true, value: { name: 'wasm' } })
    expect(await call('engine:getStatus')).toEqual({ ok: true, value: { state: 'ready' } })
    expect(await call('app:version')).toMatchObject({ ok: true, value: { app: '0.1.0', tfjs: '4.22.0' } })
  })

  it('validates renderer arguments and refuses foreign senders', async () => {
    expect(await call('engine:setBackend', { backend: 'gpu' })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_ARGUMENT', details: { field: 'params.backend' } }
    })
    expect(await call('engine:info', undefined, 'https://evil.example/')).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } })
  })

  it('relays engine events to the window', async () => {
    const sent = f.windows[0].webContents.sent
    expect(sent).toContainEqual(['engine:status', { state: 'ready' }])
    expect(sent.some(([channel]) => channel === 'engine:log')).toBe(true)
  })

  it('hardens the session and the window contents', async () => {
    const headers = await new Promise<{ responseHeaders: Record<string, string[]> }>((resolve) =>
      f.webRequest.headers!({ responseHeaders: { 'content-security-policy': ['loose'] } }, resolve)
    )
    expect(Object.keys(headers.responseHeaders)).toEqual(['Content-Security-Policy'])
    expect(headers.responseHeaders['Content-Security-Policy'][0]).toContain("default-src 'none'")
    const blocked = await new Promise((resolve) => f.webRequest.before![1]({ url: 'https://cdn.example/x.js' }, resolve))
    expect(blocked).toEqual({ cancel: true })
    const denied = await new Promise((resolve) => f.defaultSession.permissionRequest!({}, 'media', resolve))
    expect(denied).toBe(false)

    const contents = f.windows[0].webContents
    expect(contents.openHandler!({ url: 'https://example.com' })).toEqual({ action: 'deny' })
    const away = { url: 'https://example.com/', prevented: false, preventDefault() { this.prevented = true } }
    const home = { url: appUrl + '#/runs', prevented: false, preventDefault() { this.prevented = true } }
    for (const listener of contents.listeners('will-frame-navigate')) {
      listener(away)
      listener(home)
    }
    expect(away.prevented).toBe(true)
    expect(home.prevented).toBe(false)
  })

  it('answers app:info for the desktop shell: its data folder, runs under it, dialogs available', async () => {
    const info = await call('app:info')
    expect(info).toMatchObject({ ok: true, value: { mode: 'electron', dataDir: f.userData, fileDialogs: true } })
    expect((info as { value: { runsDir: string } }).value.runsDir).toBe(join(f.userData, 'runs'))
  })

  it('saves and opens run configs through native dialogs', async () => {
    const defaults = (await call('runs:defaults', { task: 'rte' })) as { ok: true; value: Record<string, unknown> }
    expect(defaults.ok).toBe(true)
    const config = { ...defaults.value, modelDir: '/models/tiny', trainFile: '/data/train.tsv' }
    f.dialogAnswers.save = join(f.userData, 'saved-config.json')
    expect(await call('runs:saveConfig', { config })).toEqual({ ok: true, value: { path: f.dialogAnswers.save } })
    expect(JSON.parse(readFileSync(f.dialogAnswers.save, 'utf8'))).toEqual(config)
    f.dialogAnswers.open = [f.dialogAnswers.save]
    expect(await call('runs:loadConfig')).toEqual({ ok: true, value: { path: f.dialogAnswers.save, config, problems: [] } })
    writeFileSync(join(f.userData, 'bad.json'), JSON.stringify({ ...config, epochs: 0 }))
    f.dialogAnswers.open = [join(f.userData, 'bad.json')]
    expect(await call('runs:loadConfig')).toMatchObject({ ok: true, value: { config: null, problems: [{ field: 'config.epochs' }] } })
    f.dialogAnswers.open = null
    expect(await call('runs:loadConfig')).toEqual({ ok: true, value: { path: null, config: null, problems: [] } })
    expect(await call('app:pickPath', { kind: 'folder' })).toEqual({ ok: true, value: { path: null } })
  })

  it('keeps the datasets registry in the app data folder', async () => {
    const imported = await call('datasets:import', { source: { name: 'tiny.tsv', content: 'sentence\tlabel\nok\t1\nbad\t0\n' } })
    expect(imported).toMatchObject({ ok: true, value: { name: 'tiny.tsv', uploaded: true } })
    const listed = (await call('datasets:list')) as { ok: true; value: Array<{ path: string }> }
    expect(listed.value).toHaveLength(1)
    expect(listed.value[0].path.startsWith(join(f.userData, 'uploads'))).toBe(true)
  })

  it('restarts the engine on request', async () => {
    expect(await call('engine:restart')).toEqual({ ok: true, value: { state: 'ready' } })
    expect(await call('engine:info')).toMatchObject({ ok: true, value: { name: 'wasm' } })
  })
  it('stops the engine gracefully before quitting', async () => {
    const done = new Promise((resolve) => f.electron.app.once('test:quit-done', resolve))
    f.electron.app.quit()
    await done
    expect(f.calls.filter((c) => c[0] === 'quit')).toEqual([
      ['quit', 'deferred'],
      ['quit', 'done']
    ])
    const statuses = f.windows[0].webContents.sent.filter(([channel]) => channel === 'engine:status')
    expect(statuses.at(-1)).toEqual(['engine:status', { state: 'stopped', reason: 'stopped by the host' }])
  })
})

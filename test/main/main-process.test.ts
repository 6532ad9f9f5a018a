/**
 * src/main/index.ts under plain Node with a fake electron: window options, IPC handlers for every call
 * (sender checked, arguments validated, engine calls relayed to a real engine process), events relayed to
 * the window, session hardening, and a graceful engine stop on quit.
 */
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

beforeAll(async () => {
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

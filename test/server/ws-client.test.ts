/**
 * The renderer's browser-mode transport (src/renderer/src/api/ws-client.ts) against the real server: the
 * same WindowApi as the preload (Results, not throws), events to listeners, a dropped server turning
 * in-flight calls into DISCONNECTED; and the run-progress throttle of the engine (src/engine/host/run-calls.ts).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import WebSocket from 'ws'
import { createWebSocketApi, serverApiUrl, type SocketConstructor } from '../../src/renderer/src/api/ws-client'
import { ProgressThrottle } from '../../src/engine/host/run-calls'
import { startServer, type RunningServer } from '../../src/server/server'
import type { EngineChild, EngineExit } from '../../src/engine/host/engine-host'
import type { HostToEngineMessage, RunProgress, WindowApi } from '../../src/shared/contract'

function fakeEngine(): EngineChild {
  const messageListeners: Array<(m: unknown) => void> = []
  const exitListeners: Array<(e: EngineExit) => void> = []
  const emit = (m: unknown) => queueMicrotask(() => messageListeners.forEach((l) => l(m)))
  emit({ event: 'engine:status', payload: { state: 'ready' } })
  return {
    pid: 1,
    send(m: HostToEngineMessage) {
      if ('type' in m) return void queueMicrotask(() => exitListeners.splice(0).forEach((l) => l({ code: 0, signal: null })))
      emit({ id: m.id, result: { name: 'cpu', tfBackend: 'cpu', forced: true, skipped: [], details: {} } })
      // an engine event, relayed to every page
      emit({ event: 'engine:log', payload: { level: 'info', message: `answered ${m.method}`, time: Date.now() } })
    },
    kill: () => queueMicrotask(() => exitListeners.splice(0).forEach((l) => l({ code: null, signal: 'SIGKILL' }))),
    onMessage: (l) => void messageListeners.push(l),
    onExit: (l) => void exitListeners.push(l)
  }
}

const tmp = mkdtempSync(join(tmpdir(), 'ird-wsclient-'))
let server: RunningServer
let api: WindowApi

beforeAll(async () => {
  mkdirSync(join(tmp, 'renderer'))
  writeFileSync(join(tmp, 'renderer', 'index.html'), '<!doctype html>')
  server = await startServer({ rendererDir: join(tmp, 'renderer'), dataDir: join(tmp, 'data'), runsDir: join(tmp, 'runs'), engine: { spawn: fakeEngine }, log: () => undefined })
  const origin = server.origin
  // A browser sends the page's Origin by itself; the `ws` package needs it spelled out.
  class BrowserLikeSocket extends WebSocket {
    constructor(url: string) {
      super(url, { origin })
    }
  }
  const url = serverApiUrl({ protocol: 'http:', host: `127.0.0.1:${server.port}`, search: `?token=${server.token}` })
  api = createWebSocketApi({ url, WebSocketImpl: BrowserLikeSocket as unknown as SocketConstructor })
})
afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true })
})

describe('browser-mode api transport', () => {
  it('builds the socket URL from the page URL and keeps the token for reloads', () => {
    const stored = new Map<string, string>()
    const storage = { getItem: (k: string) => stored.get(k) ?? null, setItem: (k: string, v: string) => void stored.set(k, v) }
    expect(serverApiUrl({ protocol: 'http:', host: '127.0.0.1:9', search: '?token=abc' }, storage)).toBe('ws://127.0.0.1:9/api?token=abc')
    expect(serverApiUrl({ protocol: 'http:', host: '127.0.0.1:9', search: '' }, storage)).toBe('ws://127.0.0.1:9/api?token=abc')
  })

  it('answers calls with Results, like the preload', async () => {
    expect(await api.engine.info()).toMatchObject({ ok: true, value: { name: 'cpu' } })
    expect(await api.runs.list()).toEqual({ ok: true, value: [] })
    expect(await api.runs.get({ runId: 'missing' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } })
    expect(await api.engine.setBackend({ backend: 'gpu' as 'cpu' })).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } })
  })

  it('delivers pushed events to listeners until they unsubscribe', async () => {
    const got: string[] = []
    const off = api.on('engine:log', (p) => got.push(p.message))
    await api.engine.info()
    await vi.waitFor(() => expect(got).toContain('answered engine:info'))
    off()
    const before = got.length
    await api.engine.info()
    await new Promise((r) => setTimeout(r, 50))
    expect(got).toHaveLength(before)
  })

  it('turns a closed server into DISCONNECTED results and a stopped engine status with the reason', async () => {
    const statuses: Array<{ state: string; reason?: string }> = []
    api.on('engine:status', (st) => statuses.push(st))
    await api.engine.info()
    await server.close()
    await vi.waitFor(() => expect(statuses.at(-1)).toMatchObject({ state: 'stopped' }))
    expect(statuses.at(-1)?.reason).toMatch(/ird-studio serve/)
    const r = await api.runs.list()
    expect(r).toMatchObject({ ok: false, error: { code: 'DISCONNECTED' } })
  })

  it('says why when the token is wrong', async () => {
    const again = await startServer({ rendererDir: join(tmp, 'renderer'), dataDir: join(tmp, 'data'), runsDir: join(tmp, 'runs'), engine: { spawn: fakeEngine }, log: () => undefined })
    try {
      const origin = again.origin
      class BrowserLikeSocket extends WebSocket {
        constructor(url: string) {
          super(url, { origin })
        }
      }
      const url = serverApiUrl({ protocol: 'http:', host: `127.0.0.1:${again.port}`, search: '?token=stale' })
      const stale = createWebSocketApi({ url, WebSocketImpl: BrowserLikeSocket as unknown as SocketConstructor })
      const statuses: Array<{ state: string; reason?: string }> = []
      const off = stale.on('engine:status', (st) => statuses.push(st))
      const r = await stale.engine.info()
      expect(r).toMatchObject({ ok: false, error: { code: 'DISCONNECTED' } })
      expect((r as { ok: false; error: { message: string } }).error.message).toMatch(/token/)
      expect(statuses[0]).toMatchObject({ state: 'stopped' })
      off()
    } finally {
      await again.close()
    }
  })

  it('stops retrying in the background when the page never connected (a wrong token), and says so once', async () => {
    const again = await startServer({ rendererDir: join(tmp, 'renderer'), dataDir: join(tmp, 'data'), runsDir: join(tmp, 'runs'), engine: { spawn: fakeEngine }, log: () => undefined })
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    try {
      let attempts = 0
      const origin = again.origin
      class CountingSocket extends WebSocket {
        constructor(url: string) {
          super(url, { origin })
          attempts++
        }
      }
      const url = serverApiUrl({ protocol: 'http:', host: `127.0.0.1:${again.port}`, search: '?token=stale' })
      const stale = createWebSocketApi({ url, WebSocketImpl: CountingSocket as unknown as SocketConstructor })
      const statuses: Array<{ state: string; reason?: string }> = []
      stale.on('engine:status', (st) => statuses.push(st))
      await stale.engine.info()
      // retries after 250 and 500 ms, then none: well past the next 1 s and 2 s backoffs
      await new Promise((r) => setTimeout(r, 4_000))
      expect(attempts).toBe(3)
      expect(statuses.filter((st) => /Stopped retrying after 3 attempts/.test(st.reason ?? ''))).toHaveLength(1)
      expect(warn).toHaveBeenCalledTimes(1)
      // a user action still tries again (and reports the refusal)
      const r = await stale.runs.list()
      expect(r).toMatchObject({ ok: false, error: { code: 'DISCONNECTED' } })
      expect(attempts).toBe(4)
    } finally {
      warn.mockRestore()
      await again.close()
    }
  })
})

describe('run progress throttle', () => {
  const p = (done: number, phase = 'train'): RunProgress => ({ runId: 'r', phase, done, total: 100, elapsedMs: done })

  it('sends at most one progress per interval, the newest, and flushes a phase before the next starts', () => {
    vi.useFakeTimers()
    try {
      let now = 0
      const sent: RunProgress[] = []
      const t = new ProgressThrottle((x) => sent.push(x), 100, () => now)
      t.push(p(1)) // first one goes out at once
      for (let i = 2; i <= 50; i++) {
        now += 1
        t.push(p(i))
      }
      expect(sent.map((x) => x.done)).toEqual([1])
      now = 100
      vi.advanceTimersByTime(100) // the timer sends the newest pending one
      expect(sent.map((x) => x.done)).toEqual([1, 50])
      now = 150
      t.push(p(51))
      t.push(p(1, 'eval')) // phase change: the pending train progress is not lost
      expect(sent.map((x) => `${x.phase}:${x.done}`)).toEqual(['train:1', 'train:50', 'train:51'])
      t.flush()
      expect(sent.at(-1)).toMatchObject({ phase: 'eval', done: 1 })
      expect(sent).toHaveLength(4)
    } finally {
      vi.useRealTimers()
    }
  })
})

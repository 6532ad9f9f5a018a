/**
 * Browser mode's trust boundary (src/server/server.ts) against hostile input: a wrong or missing token, a
 * wrong Origin or Host, malformed, oversized and binary messages — each refused with its specific error,
 * and nothing changes (registries, uploads, runs stay as they were). Also: static files with the CSP, no
 * escape from the renderer folder, and the same contract calls and events as Electron IPC. The engine is a
 * scripted fake child here (fast); test/server/app-host.test.ts drives the real one.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { MAX_MESSAGE_BYTES, startServer, type RunningServer } from '../../src/server/server'
import type { EngineChild, EngineExit } from '../../src/engine/host/engine-host'
import type { HostToEngineMessage, Result } from '../../src/shared/contract'

/** An engine child that is ready at once and answers engine:info. */
function fakeEngine(): EngineChild {
  const messageListeners: Array<(m: unknown) => void> = []
  const exitListeners: Array<(e: EngineExit) => void> = []
  const emit = (m: unknown) => queueMicrotask(() => messageListeners.forEach((l) => l(m)))
  const child: EngineChild = {
    pid: 4242,
    send(m: HostToEngineMessage) {
      if ('type' in m) {
        queueMicrotask(() => exitListeners.splice(0).forEach((l) => l({ code: 0, signal: null })))
        return
      }
      if (m.method === 'engine:info') emit({ id: m.id, result: { name: 'wasm', tfBackend: 'wasm', forced: false, skipped: [], details: {} } })
      else emit({ id: m.id, error: { name: 'CodedError', message: `fake engine: ${m.method}`, code: 'UNKNOWN_METHOD' } })
    },
    kill() {
      queueMicrotask(() => exitListeners.splice(0).forEach((l) => l({ code: null, signal: 'SIGKILL' })))
    },
    onMessage: (l) => void messageListeners.push(l),
    onExit: (l) => void exitListeners.push(l)
  }
  emit({ event: 'engine:status', payload: { state: 'ready' } })
  return child
}

const tmp = mkdtempSync(join(tmpdir(), 'ird-serve-'))
const rendererDir = join(tmp, 'renderer')
const dataDir = join(tmp, 'data')
const runsDir = join(tmp, 'runs')
const logs: string[] = []
let server: RunningServer

beforeAll(async () => {
  mkdirSync(join(rendererDir, 'assets'), { recursive: true })
  writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>IRD Studio</title><script type="module" src="./assets/app.js"></script>')
  writeFileSync(join(rendererDir, 'assets', 'app.js'), 'console.log(1)')
  writeFileSync(join(tmp, 'secret.txt'), 'not for the page')
  server = await startServer({ port: 0, rendererDir, dataDir, runsDir, engine: { spawn: fakeEngine }, log: (l) => logs.push(l) })
})
afterAll(async () => {
  await server?.close()
  rmSync(tmp, { recursive: true, force: true })
})

function wsUrl(token: string | null = server.token, path = '/api'): string {
  return `ws://127.0.0.1:${server.port}${path}${token === null ? '' : `?token=${encodeURIComponent(token)}`}`
}

/** Opens a socket; resolves with it once open, or with the HTTP refusal (status and JSON body). */
function connect(opts: { token?: string | null; origin?: string | null; host?: string; path?: string } = {}): Promise<WebSocket | { status: number; body: { ok: false; error: { code: string; message: string } } }> {
  return new Promise((resolve, reject) => {
    const origin = opts.origin === undefined ? server.origin : opts.origin
    const ws = new WebSocket(wsUrl(opts.token === undefined ? server.token : opts.token, opts.path), {
      ...(origin === null ? {} : { origin }),
      ...(opts.host ? { headers: { host: opts.host } } : {})
    })
    // Frames can arrive in the same tick as 'open': collect from the start.
    const frames: unknown[] = []
    ws.on('message', (d: Buffer) => frames.push(JSON.parse(d.toString())))
    ;(ws as WebSocket & { frames: unknown[] }).frames = frames
    ws.on('open', () => resolve(ws))
    ws.on('unexpected-response', (_req, res) => {
      let text = ''
      res.on('data', (d: Buffer) => (text += d.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }))
    })
    ws.on('error', (e) => reject(e))
  })
}

async function open(): Promise<WebSocket> {
  const ws = await connect()
  if (!(ws instanceof WebSocket)) throw new Error(`refused: ${JSON.stringify(ws)}`)
  return ws
}

/** Sends raw data and resolves with the next reply frame (not an event). */
function exchange(ws: WebSocket, data: string | Buffer, binary = false): Promise<{ id: number | null; result: Result<unknown> }> {
  return new Promise((resolve) => {
    const onMessage = (d: Buffer) => {
      const m = JSON.parse(d.toString())
      if ('event' in m) return
      ws.off('message', onMessage)
      resolve(m)
    }
    ws.on('message', onMessage)
    ws.send(data, { binary })
  })
}

let nextId = 1
async function call(ws: WebSocket, method: string, params?: unknown): Promise<Result<unknown>> {
  const id = nextId++
  const reply = await exchange(ws, JSON.stringify(params === undefined ? { id, method } : { id, method, params }))
  expect(reply.id).toBe(id)
  return reply.result
}

function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, headers: { host: `127.0.0.1:${server.port}`, ...headers } }, (res) => {
      let body = ''
      res.on('data', (d: Buffer) => (body += d.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

/** Everything the server could have changed: the data and runs folders. */
function stateOnDisk(): string[] {
  const walk = (dir: string): string[] => {
    try {
      return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]))
    } catch {
      return []
    }
  }
  return [...walk(dataDir), ...walk(runsDir)].sort()
}

describe('browser mode: the page', () => {
  it('listens on 127.0.0.1 only and prints a URL with a long random token', () => {
    expect(server.url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${server.port}/\\?token=[0-9a-f]{64}$`))
  })

  it('serves the built renderer with the strict CSP allowing only its own socket', async () => {
    const page = await get('/?token=' + server.token)
    expect(page.status).toBe(200)
    expect(page.body).toContain('<title>IRD Studio</title>')
    const csp = String(page.headers['content-security-policy'])
    expect(csp).toContain("default-src 'none'")
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain(`connect-src 'self' ws://127.0.0.1:${server.port}`)
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/)
    expect(page.headers['x-content-type-options']).toBe('nosniff')
    const js = await get('/assets/app.js')
    expect(js.status).toBe(200)
    expect(js.headers['content-type']).toMatch(/^text\/javascript/)
  })

  it('never serves a file outside the renderer folder', async () => {
    for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/%00index.html']) {
      const r = await get(p)
      expect([400, 403, 404], p).toContain(r.status)
      expect(r.body).not.toContain('not for the page')
    }
  })

  it('refuses a foreign Host header (DNS rebinding) and methods other than GET', async () => {
    const rebound = await get('/', { host: `evil.example:${server.port}` })
    expect(rebound.status).toBe(421)
    expect(rebound.body).toContain('Host')
    const post = await new Promise<number>((resolve) => {
      const req = request({ host: '127.0.0.1', port: server.port, path: '/', method: 'POST' }, (res) => resolve(res.statusCode ?? 0))
      req.end('x')
    })
    expect(post).toBe(405)
  })
})

describe('browser mode: who may connect', () => {
  it('refuses a missing token with UNAUTHORIZED', async () => {
    const r = await connect({ token: null })
    expect(r).toMatchObject({ status: 401, body: { ok: false, error: { code: 'UNAUTHORIZED' } } })
    expect((r as { body: { error: { message: string } } }).body.error.message).toContain('missing token')
  })

  it('refuses a wrong token, also one of the same length', async () => {
    const wrong = server.token.slice(0, -1) + (server.token.endsWith('0') ? '1' : '0')
    for (const token of ['nope', wrong, '']) {
      const r = await connect({ token })
      expect(r, token).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED' } } })
    }
  })

  it('refuses another Origin, and none at all, with FORBIDDEN', async () => {
    const evil = await connect({ origin: 'http://evil.example' })
    expect(evil).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN' } } })
    expect((evil as { body: { error: { message: string } } }).body.error.message).toContain('evil.example')
    const otherPort = await connect({ origin: `http://127.0.0.1:${server.port + 1}` })
    expect(otherPort).toMatchObject({ status: 403 })
    const none = await connect({ origin: null })
    expect(none).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN' } } })
  })

  it('refuses a foreign Host and other socket paths', async () => {
    expect(await connect({ host: `attacker.example:${server.port}` })).toMatchObject({ status: 421 })
    expect(await connect({ path: '/ws' })).toMatchObject({ status: 404 })
  })

  it('accepts the page it served, with the token: calls and events as over IPC', async () => {
    const ws = await open()
    expect(await call(ws, 'engine:info')).toMatchObject({ ok: true, value: { name: 'wasm' } })
    // the first frame is the engine's status, so a (re)connecting page knows it at once
    expect((ws as WebSocket & { frames: unknown[] }).frames[0]).toEqual({ event: 'engine:status', payload: { state: 'ready' } })
    expect(await call(ws, 'app:info')).toMatchObject({ ok: true, value: { mode: 'browser', fileDialogs: false, runsDir } })
    expect(await call(ws, 'runs:list')).toEqual({ ok: true, value: [] })
    ws.close()
  })
})

describe('browser mode: hostile messages are refused and change nothing', () => {
  let ws: WebSocket
  let before: string[]
  beforeAll(async () => {
    ws = await open()
    before = stateOnDisk()
  })
  afterAll(() => {
    expect(stateOnDisk()).toEqual(before)
    ws.close()
  })

  it('not JSON → INVALID_MESSAGE, and the connection stays usable', async () => {
    for (const junk of ['{', 'hello', '']) {
      const r = await exchange(ws, junk)
      expect(r).toMatchObject({ id: null, result: { ok: false, error: { code: 'INVALID_MESSAGE' } } })
    }
    expect(await call(ws, 'runs:list')).toMatchObject({ ok: true })
  })

  it('wrong shapes → INVALID_MESSAGE naming what is wrong', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [[1, 2], /object/],
      [null, /object/],
      [{ method: 'runs:list' }, /"id"/],
      [{ id: -1, method: 'runs:list' }, /"id"/],
      [{ id: 1.5, method: 'runs:list' }, /"id"/],
      [{ id: 7, method: 42 }, /"method"/],
      [{ id: 8, method: 'runs:list', params: undefined, __proto__x: 1 }, /unknown field "__proto__x"/]
    ]
    for (const [msg, why] of cases) {
      const r = await exchange(ws, JSON.stringify(msg))
      expect(r.result, JSON.stringify(msg)).toMatchObject({ ok: false, error: { code: 'INVALID_MESSAGE' } })
      expect((r.result as { error: { message: string } }).error.message).toMatch(why)
    }
  })

  it('binary frames → INVALID_MESSAGE', async () => {
    const r = await exchange(ws, Buffer.from(JSON.stringify({ id: 1, method: 'runs:list' })), true)
    expect(r.result).toMatchObject({ ok: false, error: { code: 'INVALID_MESSAGE' } })
  })

  it('unknown methods → UNKNOWN_METHOD; prototype keys are not methods', async () => {
    for (const method of ['runs:explode', '__proto__', 'constructor', 'toString']) {
      expect(await call(ws, method), method).toMatchObject({ ok: false, error: { code: 'UNKNOWN_METHOD' } })
    }
  })

  it('bad arguments → INVALID_ARGUMENT with the field named; nothing is written', async () => {
    const cases: Array<[string, unknown, string]> = [
      ['datasets:import', { source: { name: '../escape.tsv', content: 'a\tb\n' } }, 'params.source.name'],
      ['datasets:import', { source: { name: 'ok.tsv', content: 'a\tb\n' }, extra: true }, 'params.extra'],
      ['datasets:import', { source: {} }, 'params.source'],
      ['datasets:remove', { id: '../../etc' }, 'params.id'],
      ['runs:delete', { runId: '..' }, 'params.runId'],
      ['runs:get', { runId: 'a/b' }, 'params.runId'],
      ['runs:start', { config: { modelDir: '/m', task: 'sst2' } }, 'params.config.trainFile'],
      ['engine:setBackend', { backend: 'gpu' }, 'params.backend'],
      ['models:inspect', { path: 'x'.repeat(10_000) }, 'params.path']
    ]
    for (const [method, params, field] of cases) {
      expect(await call(ws, method, params), method).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT', details: { field } } })
    }
  })

  it('oversized messages → MESSAGE_TOO_LARGE (only uploads may be large)', async () => {
    const big = JSON.stringify({ id: 99, method: 'runs:validateConfig', params: { config: { name: 'x'.repeat(MAX_MESSAGE_BYTES) } } })
    const r = await exchange(ws, big)
    expect(r).toMatchObject({ id: 99, result: { ok: false, error: { code: 'MESSAGE_TOO_LARGE' } } })
    expect(await call(ws, 'runs:list')).toMatchObject({ ok: true })
  })

  it('missing resources → NOT_FOUND', async () => {
    expect(await call(ws, 'runs:get', { runId: 'no-such-run' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } })
    expect(await call(ws, 'datasets:preview', { ref: { id: 'ds-missing' } })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } })
    expect(await call(ws, 'runs:delete', { runId: 'no-such-run' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } })
  })

  it('dialog calls → UNSUPPORTED with what to do instead', async () => {
    const r = await call(ws, 'runs:loadConfig')
    expect(r).toMatchObject({ ok: false, error: { code: 'UNSUPPORTED' } })
    expect((r as unknown as { error: { details: { alternative: string } } }).error.details.alternative).toMatch(/upload/)
  })
})

describe('browser mode: uploads', () => {
  it('stores an uploaded file in the app data folder and lists it after a reconnect', async () => {
    const ws = await open()
    const r = (await call(ws, 'datasets:import', { source: { name: 'mine.tsv', content: 'sentence\tlabel\nfine\t1\n' } })) as { ok: true; value: { id: string; path: string } }
    expect(r.ok).toBe(true)
    expect(r.value.path.startsWith(join(dataDir, 'uploads'))).toBe(true)
    ws.close()
    const again = await open()
    expect(await call(again, 'datasets:list')).toMatchObject({ ok: true, value: [{ id: r.value.id, name: 'mine.tsv', uploaded: true }] })
    expect(await call(again, 'datasets:remove', { id: r.value.id })).toEqual({ ok: true, value: { removed: true } })
    expect(readdirSync(join(dataDir, 'uploads'))).toEqual([])
    again.close()
  })
})

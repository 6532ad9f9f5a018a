/**
 * `serve` works from any folder (issue 18, class 8). Its engine child used to be started with
 * `--import tsx`, which Node resolves from the working directory: started outside the checkout, the
 * engine died with ERR_MODULE_NOT_FOUND while the server printed its URL anyway. Now the engine is the
 * built JavaScript entry (out/main/engine-process.js), found from the server module's own location, and
 * the server announces nothing until the engine has answered a call; an engine that dies at start makes
 * `serve` exit non-zero with the engine's error.
 * The end-to-end cases need `npm run build` (the interface and the engine entry); they are skipped, with
 * a message, when there is no build. The startServer cases need none.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { defaultEngineOptions, startServer } from '../../src/server/server'
import type { EngineChild, EngineExit } from '../../src/engine/host/engine-host'
import { REPO_ROOT } from '../helpers/shared-data'

const tmp = mkdtempSync(join(tmpdir(), 'ird-serve-anywhere-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
const BUILT = existsSync(join(REPO_ROOT, 'out', 'main', 'engine-process.js')) && existsSync(join(REPO_ROOT, 'out', 'renderer', 'index.html'))
if (!BUILT) console.warn('serve-anywhere: no build (out/main/engine-process.js, out/renderer): the end-to-end serve cases are skipped; run `npm run build`')

const brokenEntry = join(tmp, 'broken-engine.js')
writeFileSync(brokenEntry, 'throw new Error("this engine entry is broken on purpose")\n')

interface Served {
  code: Promise<number | null>
  stdout: () => string
  stderr: () => string
  kill: (sig: NodeJS.Signals) => void
}

/** `ird-studio serve` as a user starts it, from `cwd`. */
function serve(cwd: string, env: Record<string, string> = {}): Served {
  let out = ''
  let err = ''
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'ird-studio.js'), 'serve', '--port', '0', '--data', join(cwd, 'data'), '--runs', join(cwd, 'runs')], {
    cwd,
    env: { ...process.env, IRD_BACKEND: 'wasm', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (err += d.toString()))
  const code = new Promise<number | null>((r) => child.on('exit', (c) => r(c)))
  return { code, stdout: () => out, stderr: () => err, kill: (s) => child.kill(s) }
}

async function until(f: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** One call over the page's WebSocket; resolves with its Result. */
function call(url: string, method: string): Promise<{ ok: boolean; value?: { name?: string }; error?: { message: string } }> {
  const u = new URL(url)
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${u.host}/api?token=${u.searchParams.get('token')}`, { origin: u.origin })
    ws.on('error', reject)
    ws.on('open', () => ws.send(JSON.stringify({ id: 1, method, params: undefined })))
    ws.on('message', (d: Buffer) => {
      const m = JSON.parse(d.toString()) as { id?: number; result?: never }
      if (m.id === 1) {
        ws.close()
        resolve(m.result!)
      }
    })
  })
}

describe.skipIf(!BUILT)('ird-studio serve, started from a folder outside the checkout', () => {
  it('announces its URL only with a live engine, which answers from the built entry', async () => {
    const cwd = join(tmp, 'elsewhere')
    mkdirSync(cwd)
    const s = serve(cwd)
    try {
      await until(() => /served at (http\S+)/.test(s.stdout()) || s.stderr().includes('ird-studio serve:'), 120_000, 'the URL')
      const url = /served at (http\S+)/.exec(s.stdout())?.[1]
      expect(url, s.stderr()).toBeDefined()
      const info = await call(url!, 'engine:info')
      expect(info, JSON.stringify(info)).toMatchObject({ ok: true, value: { name: 'wasm' } })
      expect(s.stderr()).not.toMatch(/ERR_MODULE_NOT_FOUND|crashed|did not start/)
    } finally {
      s.kill('SIGINT')
    }
    expect(await s.code).toBe(0)
  })

  it('an engine that dies at start: exit 1 with its error, and no URL', async () => {
    const cwd = join(tmp, 'broken')
    mkdirSync(cwd)
    const s = serve(cwd, { IRD_ENGINE_ENTRY: brokenEntry })
    const code = await Promise.race([s.code, new Promise<string>((r) => setTimeout(() => r('still running'), 60_000))])
    if (code === 'still running') s.kill('SIGKILL')
    expect(code, s.stdout() + s.stderr()).toBe(1)
    expect(s.stdout()).not.toMatch(/served at|token=/)
    expect(s.stderr()).toMatch(/ird-studio serve: the engine did not start, so the interface is not served: engine process exited with code 1.*this engine entry is broken on purpose/)
  })
})

describe('startServer and the engine entry (no build needed)', () => {
  const renderer = join(tmp, 'renderer')
  mkdirSync(renderer, { recursive: true })
  writeFileSync(join(renderer, 'index.html'), '<!doctype html>')
  const dirs = { rendererDir: renderer, dataDir: join(tmp, 'd'), runsDir: join(tmp, 'r'), log: () => undefined }

  it('the default engine is the built JavaScript entry, never TypeScript through --import tsx', () => {
    const o = defaultEngineOptions({}) as { modulePath: string; execArgv?: string[] }
    expect(o.modulePath).toBe(join(REPO_ROOT, 'out', 'main', 'engine-process.js'))
    expect(o.execArgv ?? []).toEqual([])
  })

  it('rejects (nothing to announce) when the engine entry throws at start, with its error', async () => {
    await expect(startServer({ ...dirs, engine: { modulePath: brokenEntry } })).rejects.toThrow(/the engine did not start.*exited with code 1.*this engine entry is broken on purpose/)
  })

  it('rejects when the engine entry does not exist', async () => {
    await expect(startServer({ ...dirs, engine: { modulePath: join(tmp, 'no-such-engine.js') } })).rejects.toThrow(/the engine entry .*no-such-engine\.js does not exist/)
  })

  it('rejects when the engine says ready but never answers the handshake call', async () => {
    const exits: Array<(e: EngineExit) => void> = []
    const mute = (): EngineChild => {
      const listeners: Array<(m: unknown) => void> = []
      queueMicrotask(() => listeners.forEach((l) => l({ event: 'engine:status', payload: { state: 'ready' } })))
      return {
        pid: 1,
        send: (m) => {
          if ('type' in m) queueMicrotask(() => exits.splice(0).forEach((l) => l({ code: 0, signal: null })))
        },
        kill: () => queueMicrotask(() => exits.splice(0).forEach((l) => l({ code: null, signal: 'SIGKILL' }))),
        onMessage: (l) => void listeners.push(l),
        onExit: (l) => void exits.push(l)
      }
    }
    await expect(startServer({ ...dirs, engine: { spawn: mute, requestTimeoutMs: 300 } })).rejects.toThrow(/the engine did not start/)
  })
})

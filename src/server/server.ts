/**
 * Browser mode: the app's interface and contract without Electron. One HTTP server on 127.0.0.1 serves the
 * built renderer (out/renderer) with the app's CSP, and one WebSocket (/api) carries the same calls and
 * events as Electron IPC, answered by the same AppHost (engine as a child process).
 *
 *   http://127.0.0.1:PORT/?token=TOKEN      the page (src/renderer/src/api.ts reads the token from the URL)
 *   ws://127.0.0.1:PORT/api?token=TOKEN     { id, method, params } → { id, result: Result }; { event, payload } pushed
 *
 * Owns: the trust boundary of browser mode — the listening address (loopback only), the Host header
 * (against DNS rebinding), the Origin of the WebSocket (only the page this server served), the random
 * token (constant-time compare), message framing and size limits — each refusal with a specific error
 * and no effect; and static files (no path escapes the renderer folder).
 * Must not: listen on anything but 127.0.0.1, serve files outside the renderer folder, run engine work in
 * this process, or trust a message before the router has validated it.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { basename, dirname, extname, join, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { WebSocketServer, type RawData, type WebSocket } from 'ws'
import { AppHost } from '../engine/host/app-host'
import { createCallRouter } from '../engine/host/call-router'
import { EngineHost, type EngineHostOptions } from '../engine/host/engine-host'
import { contentSecurityPolicy } from '../main/security'
import type { AppVersion, CallName, ContractEvent, ErrorCode, Result } from '../shared/contract'
import { MAX_UPLOAD_CHARS } from '../shared/contract'
import { confinePath, ConfinementError } from '../engine/io/confine'

export const SERVER_HOST = '127.0.0.1'
/** Largest frame the socket accepts at all (an upload of MAX_UPLOAD_CHARS, JSON-escaped, fits). */
export const MAX_FRAME_BYTES = MAX_UPLOAD_CHARS * 2 + (1 << 20)
/** Largest message for every call but datasets:import. */
export const MAX_MESSAGE_BYTES = 1 << 20
/** Calls one socket may have in flight. */
export const MAX_IN_FLIGHT = 64

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8'
}

export interface ServeOptions {
  /** 0 (default) picks a free port. */
  port?: number
  /** Default: 32 random bytes, hex. */
  token?: string
  /** The built renderer (index.html + assets). Default: out/renderer of this checkout or build. */
  rendererDir?: string
  dataDir: string
  runsDir: string
  /** How to start the engine process; default: this build's engine entry (out/main/engine-process.js). */
  engine?: EngineHostOptions
  version?: () => AppVersion
  /** Where notable refusals and failures are reported; default console.error. */
  log?: (line: string) => void
}

export interface RunningServer {
  url: string
  port: number
  token: string
  origin: string
  host: AppHost
  close(): Promise<void>
}

/** This module's folder and its parents (src/server in a checkout; out/main or out/main/chunks when built). */
function upwards(levels = 5): string[] {
  const out: string[] = []
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < levels; i++) {
    out.push(dir)
    const up = dirname(dir)
    if (up === dir) break
    dir = up
  }
  return out
}

/** The built renderer: <checkout>/out/renderer, or the out/renderer this bundle belongs to. Never src/renderer. */
export function findRendererDir(): string | null {
  for (const dir of upwards()) {
    const candidates = basename(dir) === 'out' ? [join(dir, 'renderer')] : [join(dir, 'out', 'renderer')]
    for (const c of candidates) if (existsSync(join(c, 'index.html'))) return resolve(c)
  }
  return null
}

/**
 * The engine process entry: always the built JavaScript (electron-vite's out/main/engine-process.js), as in
 * the installed app — never the TypeScript source through `--import tsx`, which the child resolves from
 * its working directory and so fails (ERR_MODULE_NOT_FOUND) when `serve` is started from another folder.
 * Found from this module's own location: next to (or above) the bundle when built, <checkout>/out/main
 * from src/server in a checkout. IRD_ENGINE_ENTRY names another entry (tests, custom builds).
 */
export function defaultEngineOptions(env: NodeJS.ProcessEnv): EngineHostOptions {
  const override = env.IRD_ENGINE_ENTRY
  if (override) return { modulePath: resolve(override), env }
  const here = dirname(fileURLToPath(import.meta.url))
  const candidates =
    extname(fileURLToPath(import.meta.url)) === '.ts'
      ? [join(here, '..', '..', 'out', 'main', 'engine-process.js')]
      : upwards(3).map((dir) => join(dir, 'engine-process.js'))
  for (const built of candidates) if (existsSync(built)) return { modulePath: resolve(built), env }
  throw new Error(`no built engine (looked for ${candidates.map((c) => resolve(c)).join(', ')}): run \`npm run build\` first`)
}

function refusal(code: ErrorCode, message: string): Result<never> {
  return { ok: false, error: { name: 'ServerError', message, code } }
}

function tokensEqual(given: string, expected: string): boolean {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

function appVersion(): AppVersion {
  let app = '0.0.0'
  let tfjs = 'unknown'
  try {
    for (const dir of upwards()) {
      const pkg = join(dir, 'package.json')
      if (existsSync(pkg)) {
        app = (JSON.parse(readFileSync(pkg, 'utf8')) as { version?: string }).version ?? app
        const tf = join(dir, 'node_modules', '@tensorflow', 'tfjs', 'package.json')
        if (existsSync(tf)) tfjs = (JSON.parse(readFileSync(tf, 'utf8')) as { version: string }).version
        break
      }
    }
  } catch {
    /* versions are informative only */
  }
  return { app, node: process.versions.node, tfjs }
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const rendererDir = opts.rendererDir ? resolve(opts.rendererDir) : findRendererDir()
  if (!rendererDir || !existsSync(join(rendererDir, 'index.html'))) {
    throw new Error(`no built interface at ${rendererDir ?? 'out/renderer'} (index.html missing): run \`npm run build\` first, or pass --renderer DIR`)
  }
  const token = opts.token ?? randomBytes(32).toString('hex')
  const log = opts.log ?? ((line: string) => console.error(line))
  const engineEnv = { ...process.env, IRD_RUNS_DIR: opts.runsDir }
  const engineOptions = opts.engine ?? defaultEngineOptions(engineEnv)
  if ('modulePath' in engineOptions && !existsSync(engineOptions.modulePath)) throw new Error(`the engine entry ${engineOptions.modulePath} does not exist: run \`npm run build\` first`)
  const engine = new EngineHost(engineOptions)
  const host = new AppHost({ mode: 'browser', dataDir: opts.dataDir, runsDir: opts.runsDir, engine, version: opts.version ?? appVersion })

  let port = 0
  const allowedHosts = (): string[] => [`${SERVER_HOST}:${port}`, `localhost:${port}`]
  const allowedOrigins = (): string[] => [`http://${SERVER_HOST}:${port}`, `http://localhost:${port}`]
  const csp = (): string => contentSecurityPolicy({ connectOrigins: [`ws://${SERVER_HOST}:${port}`, `ws://localhost:${port}`] })

  // ---- static files
  const rootWithSep = rendererDir.endsWith(sep) ? rendererDir : rendererDir + sep
  function serveStatic(req: IncomingMessage, res: ServerResponse): void {
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8'): void => {
      res.writeHead(status, { 'Content-Type': type, 'Content-Security-Policy': csp(), 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store' })
      res.end(req.method === 'HEAD' ? undefined : body)
    }
    if (!req.headers.host || !allowedHosts().includes(req.headers.host)) return send(421, `refused: Host "${req.headers.host ?? ''}" is not this server (${SERVER_HOST}:${port})\n`)
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, `refused: ${req.method} (this server only serves files)\n`)
    let pathname: string
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', `http://${SERVER_HOST}`).pathname)
    } catch {
      return send(400, 'refused: malformed URL\n')
    }
    if (pathname.includes('\0')) return send(400, 'refused: malformed URL\n')
    const rel = pathname === '/' ? 'index.html' : pathname.replace(/^\/+/, '')
    const file = resolve(rendererDir!, rel)
    if (file !== rendererDir && !file.startsWith(rootWithSep)) return send(403, 'refused: outside the interface folder\n')
    // …and no symbolic link inside it may lead out (io/confine.ts)
    try {
      confinePath(rendererDir!, file, { allowRoot: true })
    } catch (e) {
      if (e instanceof ConfinementError) return send(403, 'refused: a link leads outside the interface folder\n')
      return send(404, `not found: ${pathname}\n`)
    }
    let st
    try {
      st = statSync(file)
    } catch {
      return send(404, `not found: ${pathname}\n`)
    }
    if (!st.isFile()) return send(404, `not found: ${pathname}\n`)
    res.writeHead(200, {
      'Content-Type': MIME[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'Content-Length': st.size,
      'Content-Security-Policy': csp(),
      'X-Content-Type-Options': 'nosniff',
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'no-referrer',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Resource-Policy': 'same-origin',
      'Cache-Control': 'no-store'
    })
    res.end(req.method === 'HEAD' ? undefined : readFileSync(file))
  }

  const server = createServer(serveStatic)
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES })
  const sockets = new Set<WebSocket>()

  // ---- the WebSocket handshake: path, Host, Origin, token — each refused with its own status and reason
  function refuseUpgrade(socket: Duplex, status: number, code: ErrorCode, message: string): void {
    log(`[serve] refused a connection: ${message}`)
    const body = JSON.stringify(refusal(code, message))
    socket.end(`HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 404 ? 'Not Found' : status === 421 ? 'Misdirected Request' : 'Forbidden'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
  }
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined)
    let url: URL
    try {
      url = new URL(req.url ?? '/', `http://${SERVER_HOST}`)
    } catch {
      return refuseUpgrade(socket, 404, 'INVALID_MESSAGE', 'malformed URL')
    }
    if (url.pathname !== '/api') return refuseUpgrade(socket, 404, 'INVALID_MESSAGE', `no WebSocket at ${url.pathname} (use /api)`)
    if (!req.headers.host || !allowedHosts().includes(req.headers.host)) return refuseUpgrade(socket, 421, 'FORBIDDEN', `Host "${req.headers.host ?? ''}" is not this server`)
    const origin = req.headers.origin
    if (!origin) return refuseUpgrade(socket, 403, 'FORBIDDEN', 'no Origin header: only the page this server serves may connect')
    if (!allowedOrigins().includes(origin)) return refuseUpgrade(socket, 403, 'FORBIDDEN', `Origin "${origin.slice(0, 200)}" is not this server's page (${allowedOrigins()[0]})`)
    const given = url.searchParams.get('token')
    if (!given) return refuseUpgrade(socket, 401, 'UNAUTHORIZED', 'missing token: open the URL `ird-studio serve` printed (it ends in ?token=…)')
    if (!tokensEqual(given, token)) return refuseUpgrade(socket, 401, 'UNAUTHORIZED', 'wrong token: open the URL `ird-studio serve` printed in this session')
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req))
  })

  const route = createCallRouter({
    engine: host.engine,
    handlers: host.handlers,
    isTrustedSender: () => true, // only authenticated sockets get here
    onInternalError: (method, e) => log(`[serve] ${method} failed: ${(e as Error)?.stack ?? String(e)}`)
  })

  wss.on('connection', (ws: WebSocket) => {
    sockets.add(ws)
    let inFlight = 0
    const reply = (id: number | null, result: Result<unknown>): void => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ id, result }))
    }
    // A snapshot first, so a page that (re)connects knows the engine's state at once.
    ws.send(JSON.stringify({ event: 'engine:status', payload: host.engine.status }))
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) return reply(null, refusal('INVALID_MESSAGE', 'binary frames are not accepted: send JSON text { id, method, params }'))
      const bytes = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : (data as Buffer).byteLength
      const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8')
      let msg: unknown
      try {
        msg = JSON.parse(text)
      } catch {
        return reply(null, refusal('INVALID_MESSAGE', 'the message is not JSON: send { id, method, params }'))
      }
      if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return reply(null, refusal('INVALID_MESSAGE', 'the message must be an object { id, method, params }'))
      const m = msg as Record<string, unknown>
      const id = typeof m.id === 'number' && Number.isSafeInteger(m.id) && m.id >= 0 ? m.id : null
      if (id === null) return reply(null, refusal('INVALID_MESSAGE', 'the message needs "id", a non-negative integer'))
      const extra = Object.keys(m).filter((k) => k !== 'id' && k !== 'method' && k !== 'params')
      if (extra.length) return reply(id, refusal('INVALID_MESSAGE', `unknown field "${extra[0].slice(0, 100)}": a message has only id, method and params`))
      if (typeof m.method !== 'string') return reply(id, refusal('INVALID_MESSAGE', 'the message needs "method", a string such as "runs:list"'))
      if (m.method !== 'datasets:import' && bytes > MAX_MESSAGE_BYTES) {
        return reply(id, refusal('MESSAGE_TOO_LARGE', `${m.method.slice(0, 100)}: the message has ${bytes} bytes, more than the ${MAX_MESSAGE_BYTES} allowed (only datasets:import carries file content)`))
      }
      if (inFlight >= MAX_IN_FLIGHT) return reply(id, refusal('CONFLICT', `too many calls in flight on this connection (${MAX_IN_FLIGHT}); wait for answers`))
      inFlight++
      void route(m.method as CallName, 'ws', m.params)
        .then((result) => reply(id, result))
        .finally(() => inFlight--)
    })
    ws.on('close', () => sockets.delete(ws))
    ws.on('error', () => sockets.delete(ws))
  })

  const offEvents = host.onEvent((e: ContractEvent) => {
    const frame = JSON.stringify(e)
    for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.send(frame)
  })

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, SERVER_HOST, () => {
      server.off('error', reject)
      resolveListen()
    })
  })
  port = (server.address() as AddressInfo).port
  // Never announce a server whose engine is down: the engine must start and answer a call (the
  // handshake) before startServer resolves; if it dies or hangs, everything stops and the reason (with
  // the engine's last stderr lines) is the error.
  const startLog: string[] = []
  const offStartLog = host.onEvent((e: ContractEvent) => {
    if (e.event === 'engine:log' && startLog.length < 200) startLog.push(e.payload.message)
  })
  try {
    await host.start()
    await host.engine.request('engine:info', undefined)
    offStartLog()
  } catch (e) {
    offStartLog()
    offEvents()
    wss.close()
    await new Promise<void>((r) => server.close(() => r()))
    await host.stop().catch(() => undefined)
    const st = host.engine.status
    // the engine's own error line (e.g. "Error [ERR_MODULE_NOT_FOUND]: Cannot find package …"), not only the stack's tail
    const cause = startLog.map((l) => l.trim()).find((l) => /^(\w*Error\b|Error:|\w+Error \[)/.test(l))
    throw new Error(`the engine did not start, so the interface is not served: ${st.reason ?? (e as Error).message}${cause && !(st.reason ?? '').includes(cause) ? ` — ${cause}` : ''}`)
  }

  const origin = `http://${SERVER_HOST}:${port}`
  let closing: Promise<void> | null = null
  return {
    url: `${origin}/?token=${token}`,
    port,
    token,
    origin,
    host,
    close: () =>
      (closing ??= (async () => {
        offEvents()
        for (const ws of sockets) ws.close(1001, 'server shutting down')
        wss.close()
        const closed = new Promise<void>((r) => server.close(() => r()))
        server.closeAllConnections()
        await closed
        await host.stop()
      })())
  }
}

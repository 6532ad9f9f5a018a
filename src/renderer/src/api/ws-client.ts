/**
 * Browser mode's transport: the contract's WindowApi over one WebSocket to `ird-studio serve`
 * (ws://<same host>/api?token=…), with the same calls, events and Result values as Electron IPC.
 *
 * Owns: the socket (opened on first use, reopened after a drop with a growing delay), correlation of
 * answers by id, and re-delivering pushed events to the page's listeners. When the server cannot be
 * reached (stopped, wrong token) `engine:status` listeners hear `stopped` with the reason; after a
 * reconnect they hear the server's status snapshot, so stores re-fetch. A page that never connected
 * (a wrong or stale token) stops retrying in the background after a few attempts and says so once.
 * Must not: be used by anything but src/renderer/src/api.ts, or hold app state.
 */
import { createWindowApi, type CallName, type Result, type SerializedError, type WindowApi } from '../../../shared/contract'

/** Wire format, both directions, JSON text frames. */
export type ClientMessage = { id: number; method: CallName; params?: unknown }
export type ServerMessage = { id: number | null; result: Result<unknown> } | { event: string; payload: unknown }

/**
 * The parts of the DOM this module uses, typed structurally: it also compiles (and runs in tests) where
 * the DOM library is absent.
 */
export interface SocketLike {
  onopen: ((e: unknown) => void) | null
  onmessage: ((e: { data: unknown }) => void) | null
  onclose: ((e: { code: number; reason: string }) => void) | null
  onerror: ((e: unknown) => void) | null
  send(data: string): void
}
export type SocketConstructor = new (url: string) => SocketLike
export interface LocationLike {
  protocol: string
  host: string
  search: string
}
export interface StorageLike {
  getItem(key: string): string | null
  setItem(key: string, value: string): void
}

export interface WebSocketApiOptions {
  /** ws://host:port/api?token=… */
  url: string
  /** Default globalThis.WebSocket (tests may pass another implementation). */
  WebSocketImpl?: SocketConstructor
  /** Per-call timeout; default 10 minutes (validating a large file takes a while). */
  timeoutMs?: number
  /**
   * Connection attempts before background retries stop when this page has never been connected (default 3):
   * the server served this page, so a refusal from the start means a wrong token or Origin, which retrying
   * every 5 s cannot fix (it only fills the console). Calls still try again when the user acts.
   */
  maxAttemptsNeverConnected?: number
}

const disconnected = (why: string): Result<never> => ({ ok: false, error: { name: 'ConnectionError', message: why, code: 'DISCONNECTED' } })

export function createWebSocketApi(opts: WebSocketApiOptions): WindowApi {
  const Impl = opts.WebSocketImpl ?? (globalThis as unknown as { WebSocket: SocketConstructor }).WebSocket
  const timeoutMs = opts.timeoutMs ?? 600_000
  const pending = new Map<number, { resolve(r: Result<unknown>): void; timer: ReturnType<typeof setTimeout> }>()
  const listeners = new Map<string, Set<(payload: unknown) => void>>()
  let open: Promise<SocketLike> | null = null
  let nextId = 1
  let retryMs = 250
  const maxAttemptsNeverConnected = opts.maxAttemptsNeverConnected ?? 3
  /** This page got a connection at least once; failed attempts since the page loaded without one. */
  let everOpened = false
  let failedNeverConnected = 0
  /** A failed connection was already reported as `engine:status` stopped (retries do not repeat it). */
  let announcedDown = false

  function settle(id: number, result: Result<unknown>): void {
    const p = pending.get(id)
    if (!p) return
    pending.delete(id)
    clearTimeout(p.timer)
    p.resolve(result)
  }

  /** The page cannot reach the engine: tell whoever shows its state, with the reason. */
  function announceStopped(reason: string): void {
    for (const l of listeners.get('engine:status') ?? []) {
      try {
        l({ state: 'stopped', reason })
      } catch (err) {
        console.error('listener for engine:status failed:', err)
      }
    }
  }

  function connect(): Promise<SocketLike> {
    if (open) return open
    open = new Promise<SocketLike>((resolve, reject) => {
      const ws = new Impl(opts.url)
      let opened = false
      // A failed connection fires error, then close: close says why.
      ws.onerror = () => undefined
      ws.onopen = () => {
        opened = true
        everOpened = true
        announcedDown = false
        retryMs = 250
        resolve(ws)
      }
      ws.onmessage = (e) => {
        let msg: ServerMessage
        try {
          msg = JSON.parse(String(e.data)) as ServerMessage
        } catch {
          return
        }
        if ('event' in msg) {
          for (const l of listeners.get(msg.event) ?? []) {
            try {
              l(msg.payload)
            } catch (err) {
              console.error(`listener for ${msg.event} failed:`, err)
            }
          }
        } else if (typeof msg.id === 'number') settle(msg.id, msg.result)
        else if (!msg.result.ok) console.warn(`server refused a message: ${msg.result.error.message}`)
      }
      ws.onclose = (e) => {
        const why = opened
          ? `the connection to the IRD Studio server closed (${e.code}${e.reason ? `: ${e.reason}` : ''}); is \`ird-studio serve\` still running?`
          : `cannot connect to the IRD Studio server at ${new URL(opts.url).host} (${e.code}${e.reason ? `: ${e.reason}` : ''}); check that \`ird-studio serve\` runs and that the page URL has its token`
        for (const id of [...pending.keys()]) settle(id, disconnected(why))
        // The page cannot reach the engine any more: tell whoever shows its state, with the reason.
        if (opened || !announcedDown) {
          announcedDown = true
          announceStopped(why)
        }
        open = null
        if (!opened) reject(new Error(why))
        else if (listeners.size > 0) {
          // Someone listens for events: come back when the server does.
          setTimeout(() => void connect().catch(() => undefined), retryMs)
          retryMs = Math.min(retryMs * 2, 5_000)
        }
      }
    })
    open.catch((err: Error) => {
      if (!everOpened && ++failedNeverConnected >= maxAttemptsNeverConnected) {
        if (failedNeverConnected === maxAttemptsNeverConnected) {
          const why = `${err.message}. Stopped retrying after ${failedNeverConnected} attempts: open the URL \`ird-studio serve\` printed, or reload this page once the server runs`
          console.warn(why)
          announceStopped(why)
        }
        return
      }
      if (listeners.size > 0) {
        setTimeout(() => void connect().catch(() => undefined), retryMs)
        retryMs = Math.min(retryMs * 2, 5_000)
      }
    })
    return open
  }

  function invoke(method: CallName, params: unknown): Promise<Result<unknown>> {
    return new Promise((resolve) => {
      const id = nextId++
      const timer = setTimeout(() => settle(id, { ok: false, error: { name: 'TimeoutError', message: `${method}: no answer from the server within ${timeoutMs} ms`, code: 'TIMEOUT' } }), timeoutMs)
      pending.set(id, { resolve, timer })
      connect().then(
        (ws) => {
          const message: ClientMessage = params === undefined ? { id, method } : { id, method, params }
          try {
            ws.send(JSON.stringify(message))
          } catch (e) {
            settle(id, disconnected(`${method}: could not send: ${(e as Error).message}`))
          }
        },
        (e: unknown) => settle(id, disconnected((e as Error).message))
      )
    })
  }

  function subscribe(event: string, listener: (payload: unknown) => void): () => void {
    if (!listeners.has(event)) listeners.set(event, new Set())
    listeners.get(event)!.add(listener)
    void connect().catch(() => undefined) // events flow once the socket is open
    return () => {
      const set = listeners.get(event)
      set?.delete(listener)
      // an empty set would keep `listeners.size` above 0 and the reconnect loop going for nobody
      if (set?.size === 0) listeners.delete(event)
    }
  }

  return createWindowApi(invoke, subscribe)
}

/** The socket URL for the page this script runs in: same host, token from ?token= (kept for reloads). */
export function serverApiUrl(loc: LocationLike, storage?: StorageLike): string {
  const fromQuery = new URLSearchParams(loc.search).get('token')
  if (fromQuery) storage?.setItem('ird-studio-token', fromQuery)
  const token = fromQuery ?? storage?.getItem('ird-studio-token') ?? ''
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:'
  return `${scheme}//${loc.host}/api?token=${encodeURIComponent(token)}`
}

export type { SerializedError }

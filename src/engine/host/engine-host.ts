/**
 * The parent side of the engine process: start it, call it, hear its events, stop it, notice when it dies.
 *
 * Owns: the process lifecycle (starting → ready → stopped | crashed, and start again), request/response
 * correlation by id with timeouts, forwarding events to listeners, graceful stop (a `shutdown` message,
 * then a kill after a timeout), and crash detection (an exit nobody asked for → `engine:status` crashed,
 * with the exit code or signal and the last lines the engine wrote to stderr).
 * The host is the authority on `engine:status`: the engine reports starting/ready, the host adds crashed
 * and stopped, and listeners only hear changes.
 * Must not: import electron (the Electron main injects a utilityProcess spawner; Node uses
 * child_process.fork), validate call arguments (main does that at the trust boundary and the engine again),
 * or let a late message from an old process touch the state of a new one.
 */
import { fork } from 'node:child_process'
import {
  parseEngineMessage,
  type CallParams,
  type CallResult,
  type ContractEvent,
  type EngineCallName,
  type EngineStatus,
  type ErrorCode,
  type HostToEngineMessage
} from '../../shared/contract'
import { CodedError, RemoteError, serializeError } from '../../shared/errors'

/** How a child ended: Node gives a code or a signal; Electron's utilityProcess gives a code only. */
export interface EngineExit {
  code: number | null
  signal: string | null
}

/** A started engine process, whichever API started it. */
export interface EngineChild {
  readonly pid: number | undefined
  /** Post a message; may throw if the channel is already closed. */
  send(message: HostToEngineMessage): void
  /** Forceful termination: the last resort after a graceful stop timed out. */
  kill(): void
  onMessage(listener: (message: unknown) => void): void
  /** Called exactly once, when the process has ended (also when it never started). */
  onExit(listener: (exit: EngineExit) => void): void
  /** Text the process wrote to stdout/stderr, where the spawner captures it. */
  onOutput?(listener: (stream: 'stdout' | 'stderr', text: string) => void): void
}

export type EngineSpawner = () => EngineChild

export interface ForkSpawnerOptions {
  /** The engine entry: out/main/engine-process.js when built, or src/engine/process.ts with tsx. */
  modulePath: string
  /** E.g. ['--import', 'tsx'] to run the TypeScript source. Default: none (not the parent's execArgv). */
  execArgv?: string[]
  env?: NodeJS.ProcessEnv
}

/** The default spawner: `child_process.fork` with stdout/stderr captured. */
export function forkSpawner(opts: ForkSpawnerOptions): EngineSpawner {
  return () => {
    const child = fork(opts.modulePath, [], {
      execArgv: opts.execArgv ?? [],
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json'
    })
    let exited = false
    const exitListeners: Array<(exit: EngineExit) => void> = []
    const finish = (exit: EngineExit): void => {
      if (exited) return
      exited = true
      for (const l of exitListeners) l(exit)
    }
    child.on('exit', (code, signal) => finish({ code, signal }))
    // 'error' without 'exit' means the process never started (e.g. ENOENT); report it as an exit.
    child.on('error', (e) => {
      if (child.pid === undefined) {
        child.stderr?.emit('data', Buffer.from(`failed to start: ${e.message}\n`))
        finish({ code: null, signal: null })
      }
    })
    return {
      get pid() {
        return child.pid
      },
      send: (message) => {
        child.send(message, (e) => {
          // An async send failure means the child is gone; its exit handler reports that.
          void e
        })
      },
      kill: () => {
        child.kill('SIGKILL')
      },
      onMessage: (listener) => child.on('message', listener),
      onExit: (listener) => exitListeners.push(listener),
      onOutput: (listener) => {
        child.stdout?.on('data', (d: Buffer) => listener('stdout', d.toString('utf8')))
        child.stderr?.on('data', (d: Buffer) => listener('stderr', d.toString('utf8')))
      }
    }
  }
}

export type EngineHostOptions = (
  | { spawn: EngineSpawner }
  | ForkSpawnerOptions
) & {
  /** Default timeout per call. A backend switch to CUDA can take a while, hence generous. */
  requestTimeoutMs?: number
  /** How long the engine may take from spawn to `ready` (tfjs-node-gpu loads CUDA libraries). */
  startTimeoutMs?: number
  /** How long a graceful stop waits before killing. */
  stopTimeoutMs?: number
}

interface Pending {
  resolve(value: unknown): void
  reject(error: Error): void
  timer: ReturnType<typeof setTimeout>
  method: string
}

/** Per child: a start may replace an old child, whose late messages and exit must then be ignored. */
interface Session {
  child: EngineChild
  ready: Promise<void>
  stopRequested: boolean
  exited: Promise<void>
  stderrTail: string[]
}

const STDERR_TAIL_LINES = 5

export class EngineHost {
  private readonly spawn: EngineSpawner
  private readonly requestTimeoutMs: number
  private readonly startTimeoutMs: number
  private readonly stopTimeoutMs: number
  private session: Session | null = null
  private statusValue: EngineStatus = { state: 'stopped', reason: 'not started' }
  private nextId = 1
  private readonly pending = new Map<number, Pending>()
  private readonly listeners = new Set<(event: ContractEvent) => void>()

  constructor(opts: EngineHostOptions) {
    this.spawn = 'spawn' in opts ? opts.spawn : forkSpawner(opts)
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 120_000
    this.startTimeoutMs = opts.startTimeoutMs ?? 120_000
    this.stopTimeoutMs = opts.stopTimeoutMs ?? 5_000
  }

  get status(): EngineStatus {
    return { ...this.statusValue }
  }

  /** The running engine's process id (undefined when none runs). */
  get pid(): number | undefined {
    return this.session?.child.pid
  }

  /** Listen to every event: the engine's own (`engine:log`, …) and the host's `engine:status`. */
  onEvent(listener: (event: ContractEvent) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /**
   * Start the engine; resolves once it is ready. Idempotent while starting or ready. Rejects (and the
   * status says crashed) if the process dies or does not become ready in time.
   */
  start(): Promise<void> {
    if (this.session && (this.statusValue.state === 'starting' || this.statusValue.state === 'ready')) {
      return this.session.ready
    }
    let markReady!: () => void
    let markFailed!: (e: Error) => void
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve
      markFailed = reject
    })
    ready.catch(() => undefined) // callers who do not await start() should not see an unhandled rejection
    let markExited!: () => void
    const exited = new Promise<void>((resolve) => (markExited = resolve))

    this.setStatus({ state: 'starting' })
    let child: EngineChild
    try {
      child = this.spawn()
    } catch (e) {
      const reason = `engine process could not be started: ${serializeError(e).message}`
      this.setStatus({ state: 'crashed', reason })
      return Promise.reject(new CodedError('ENGINE_NOT_RUNNING', reason))
    }
    const session: Session = { child, ready, stopRequested: false, exited, stderrTail: [] }
    this.session = session
    const current = (): boolean => this.session === session

    const startTimer = setTimeout(() => {
      if (!current() || this.statusValue.state !== 'starting') return
      const reason = `engine did not become ready within ${this.startTimeoutMs} ms`
      markFailed(new CodedError('ENGINE_NOT_RUNNING', reason))
      this.setStatus({ state: 'crashed', reason })
      this.failPending('ENGINE_EXITED', reason)
      session.stopRequested = true // its exit is expected now; the status already says why
      child.kill()
    }, this.startTimeoutMs)

    child.onOutput?.((stream, text) => {
      if (!current()) return
      const lines = text.split('\n').map((l) => l.trimEnd()).filter(Boolean)
      if (stream === 'stderr') session.stderrTail = [...session.stderrTail, ...lines.map((l) => l.trim())].slice(-STDERR_TAIL_LINES)
      const level = stream === 'stderr' ? 'warn' : 'info'
      for (const message of lines) this.emit({ event: 'engine:log', payload: { level, message, time: Date.now() } })
    })

    child.onMessage((raw) => {
      if (!current()) return
      let message
      try {
        message = parseEngineMessage(raw)
      } catch (e) {
        this.emit({ event: 'engine:log', payload: { level: 'warn', message: `host ignored a malformed engine message: ${serializeError(e).message}`, time: Date.now() } })
        return
      }
      if ('event' in message) {
        if (message.event === 'engine:status') {
          // Only starting/ready come from the engine; crashed/stopped are the host's call.
          if (message.payload.state === 'ready' && this.statusValue.state === 'starting') {
            clearTimeout(startTimer)
            this.setStatus({ state: 'ready' })
            markReady()
          }
          return
        }
        this.emit(message)
        return
      }
      const pending = this.pending.get(message.id)
      if (!pending) return // timed out earlier: the late answer has nobody to go to
      this.pending.delete(message.id)
      clearTimeout(pending.timer)
      if ('error' in message) pending.reject(new RemoteError(message.error))
      else pending.resolve(message.result)
    })

    child.onExit((exit) => {
      clearTimeout(startTimer)
      markExited()
      if (!current()) return
      this.session = null
      const how = describeExit(exit)
      if (session.stopRequested) {
        if (this.statusValue.state !== 'crashed') this.setStatus({ state: 'stopped', reason: 'stopped by the host' })
        this.failPending('ENGINE_EXITED', `engine stopped (${how})`)
        markFailed(new CodedError('ENGINE_NOT_RUNNING', 'engine was stopped before it became ready'))
        return
      }
      const tail = session.stderrTail.length ? `: ${session.stderrTail.join(' | ')}` : ''
      const reason = `engine process ${how}${tail}`
      const clean = exit.code === 0 && exit.signal === null
      this.setStatus({ state: clean ? 'stopped' : 'crashed', reason: clean ? `${reason} (unexpectedly)` : reason })
      this.failPending('ENGINE_EXITED', reason)
      markFailed(new CodedError('ENGINE_NOT_RUNNING', reason))
    })

    return ready
  }

  /** Call the engine. Waits while it is starting; rejects with a RemoteError carrying the engine's error. */
  async request<M extends EngineCallName>(
    method: M,
    params: CallParams<M>,
    opts: { timeoutMs?: number } = {}
  ): Promise<CallResult<M>> {
    const session = this.session
    if (!session || (this.statusValue.state !== 'starting' && this.statusValue.state !== 'ready')) {
      const why = this.statusValue.reason ? ` (${this.statusValue.reason})` : ''
      throw new CodedError('ENGINE_NOT_RUNNING', `the engine is ${this.statusValue.state}${why}; restart it`)
    }
    const timeoutMs = opts.timeoutMs ?? this.requestTimeoutMs
    const deadline = Date.now() + timeoutMs
    if (this.statusValue.state === 'starting') {
      await withTimeout(session.ready, timeoutMs, `${method}: the engine did not become ready within ${timeoutMs} ms`)
    }
    if (this.session !== session || session.stopRequested) {
      throw new CodedError('ENGINE_NOT_RUNNING', `${method}: the engine stopped before the call could be sent`)
    }
    const id = this.nextId++
    return new Promise<CallResult<M>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new CodedError('TIMEOUT', `${method}: no answer from the engine within ${timeoutMs} ms`, { method, timeoutMs }))
      }, Math.max(0, deadline - Date.now()))
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer, method })
      try {
        session.child.send({ id, method, params })
      } catch (e) {
        clearTimeout(timer)
        this.pending.delete(id)
        reject(new CodedError('ENGINE_NOT_RUNNING', `${method}: could not send to the engine: ${serializeError(e).message}`))
      }
    })
  }

  /**
   * Graceful stop: ask the engine to shut down, kill it if it has not exited after stopTimeoutMs.
   * Resolves once the process has exited. A no-op when nothing runs.
   */
  async stop(opts: { timeoutMs?: number } = {}): Promise<void> {
    const session = this.session
    if (!session) return
    session.stopRequested = true
    try {
      session.child.send({ type: 'shutdown' })
    } catch {
      session.child.kill() // channel already closed: nothing graceful left to do
    }
    const timeoutMs = opts.timeoutMs ?? this.stopTimeoutMs
    let timer: ReturnType<typeof setTimeout> | undefined
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        if (this.session === session) {
          this.emit({ event: 'engine:log', payload: { level: 'warn', message: `engine did not exit within ${timeoutMs} ms of shutdown; killing it`, time: Date.now() } })
          session.child.kill()
        }
        resolve()
      }, timeoutMs)
    })
    await Promise.race([session.exited, killed])
    await session.exited
    clearTimeout(timer)
  }

  /** Stop (if running) and start a fresh engine process. */
  async restart(): Promise<void> {
    await this.stop()
    await this.start()
  }

  private setStatus(status: EngineStatus): void {
    this.statusValue = status
    this.emit({ event: 'engine:status', payload: { ...status } })
  }

  private emit(event: ContractEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event)
      } catch (e) {
        // A broken listener must not break the host or the other listeners.
        console.error('engine event listener failed:', e)
      }
    }
  }

  private failPending(code: ErrorCode, message: string): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer)
      p.reject(new CodedError(code, `${p.method}: ${message}`))
      this.pending.delete(id)
    }
  }
}

export function describeExit(exit: EngineExit): string {
  if (exit.signal) return `was killed by signal ${exit.signal}`
  if (exit.code === null) return 'could not be started'
  return `exited with code ${exit.code}`
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CodedError('TIMEOUT', message)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

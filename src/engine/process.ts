/**
 * The engine process's entry: runs as an Electron utilityProcess in the app (process.parentPort) or as a
 * plain `child_process.fork` child elsewhere (process.send / 'message'), both behind one Transport.
 *
 * Owns: backend initialisation at start, answering the engine calls of the contract
 * (`{ id, method, params }` → `{ id, result }` | `{ id, error }`: backend, dataset preview/validate/stats,
 * model inspection, run estimate/start/stop, mask overlap), `engine:status` / `engine:log` events, the run
 * events (src/engine/host/run-calls.ts), and a clean exit (code 0) on a `shutdown` message or when the
 * parent goes away (a live run is cancelled first and records itself as cancelled).
 * Runs are written to $IRD_RUNS_DIR (the host sets it; default the app's runs folder, as the CLI).
 * Must not: import electron (it also runs under plain Node), let an error escape (every failure becomes a
 * serialised error or a log event), install a SIGTERM handler (the host's last resort is a kill), or block
 * the message loop with long work: future long jobs (Fisher, training) follow start / progress / done
 * events and cooperative cancel, not one long request.
 */
import * as tf from '@tensorflow/tfjs'
import { describeBackend, initBackend, type BackendInfo as EngineBackendInfo } from './backend'
import {
  isEngineCallName,
  parseHostMessage,
  validateParams,
  type BackendInfo,
  type CallParams,
  type CallResult,
  type EngineCallName,
  type EngineToHostMessage,
  type EventMap,
  type EventName,
  type LogLevel
} from '../shared/contract'
import { CodedError, serializeError } from '../shared/errors'
import { detectCall, previewCall, statsCall, validateCall } from './host/data-calls'
import { inspectModel } from './host/model-calls'
import { EngineRuns } from './host/run-calls'
import { defaultAppDataDir, defaultRunsDir } from './host/paths'

// ---------------------------------------------------------------------------------------------------------
// Transport: one adapter over Electron's parentPort and Node's fork IPC

interface Transport {
  readonly kind: 'utility-process' | 'child-process'
  send(message: EngineToHostMessage): void
  onMessage(listener: (message: unknown) => void): void
  /** Called when the parent can no longer be reached. */
  onDisconnect(listener: () => void): void
}

/** The part of Electron's ParentPort used here (typed locally: this file must not import electron). */
interface ParentPortLike {
  postMessage(message: unknown): void
  on(event: 'message', listener: (event: { data: unknown }) => void): unknown
}

function connect(): Transport {
  const parentPort = (process as unknown as { parentPort?: ParentPortLike }).parentPort
  if (parentPort) {
    return {
      kind: 'utility-process',
      send: (message) => parentPort.postMessage(message),
      onMessage: (listener) => parentPort.on('message', (event) => listener(event.data)),
      // ParentPort has no close event: Electron ends utility processes itself when the app exits.
      onDisconnect: () => undefined
    }
  }
  if (typeof process.send === 'function') {
    return {
      kind: 'child-process',
      send: (message) => {
        // A closed channel means the host is gone; 'disconnect' handles the exit.
        if (process.connected) process.send!(message, undefined, undefined, () => undefined)
      },
      onMessage: (listener) => process.on('message', listener),
      onDisconnect: (listener) => process.on('disconnect', listener)
    }
  }
  throw new Error('engine process needs a parent: start it with Electron utilityProcess.fork or child_process.fork')
}

// ---------------------------------------------------------------------------------------------------------
// Engine state and handlers

/** Compile-time check that the engine's BackendInfo and the contract's copy are the same shape. */
function toContract(info: EngineBackendInfo): BackendInfo {
  return info
}

class Engine {
  private backend: BackendInfo | null = null
  /** Why the backend failed to start, while `backend` is null. */
  private backendError: string | null = null
  private queue: Promise<unknown> = Promise.resolve()
  private inFlight = 0
  private shuttingDown = false
  private readonly runs = new EngineRuns(
    (e) => this.transport.send(e),
    () => defaultRunsDir(defaultAppDataDir()),
    () => this.backend?.name ?? 'none'
  )

  constructor(private readonly transport: Transport) {}

  emit<E extends EventName>(event: E, payload: EventMap[E]): void {
    this.transport.send({ event, payload } as EngineToHostMessage)
  }

  log(level: LogLevel, message: string): void {
    this.emit('engine:log', { level, message, time: Date.now() })
  }

  async start(): Promise<void> {
    this.emit('engine:status', { state: 'starting' })
    this.transport.onMessage((raw) => this.onMessage(raw))
    this.transport.onDisconnect(() => this.exit(0))
    // Backend changes and calls run one at a time: a call never sees a half-switched backend.
    await this.exclusive(async () => {
      try {
        this.backend = toContract(await initBackend())
        this.log('info', `backend: ${describeBackend(this.backend)}`)
      } catch (e) {
        // Still "ready": the process answers calls, engine:info explains, engine:setBackend can recover.
        this.backendError = serializeError(e).message
        this.log('error', `no backend is running: ${this.backendError}`)
      }
    })
    this.emit('engine:status', { state: 'ready' })
  }

  private exclusive<T>(job: () => Promise<T>): Promise<T> {
    const run = this.queue.then(job, job)
    this.queue = run.catch(() => undefined)
    return run
  }

  private onMessage(raw: unknown): void {
    let message
    try {
      message = parseHostMessage(raw)
    } catch (e) {
      this.log('warn', `ignored a malformed message from the host: ${serializeError(e).message}`)
      return
    }
    if ('type' in message) {
      void this.shutdown()
      return
    }
    const { id, method, params } = message
    if (this.shuttingDown) {
      this.transport.send({ id, error: serializeError(new CodedError('SHUTTING_DOWN', 'the engine is shutting down')) })
      return
    }
    this.inFlight++
    // Stopping a run never waits behind a long call (validating a large file).
    const work = method === 'runs:stop' ? this.call(method, params) : this.exclusive(() => this.call(method, params))
    work
      .then(
        (result) => this.transport.send({ id, result }),
        (e: unknown) => {
          const error = serializeError(e, 'INTERNAL')
          if (error.code === 'INTERNAL') this.log('error', `${method} failed: ${(e as Error)?.stack ?? error.message}`)
          this.transport.send({ id, error })
        }
      )
      .finally(() => this.inFlight--)
  }

  private async call(method: string, rawParams: unknown): Promise<unknown> {
    if (!isEngineCallName(method)) {
      throw new CodedError('UNKNOWN_METHOD', `the engine has no method "${method}"`, { method })
    }
    // Main validated this already; the engine checks again because it is also driven without main.
    const params = validateParams(method, rawParams)
    return (this.handlers[method] as (p: unknown) => Promise<unknown>)(params)
  }

  private readonly handlers: { [M in EngineCallName]: (params: CallParams<M>) => Promise<CallResult<M>> } = {
    'engine:info': async () => {
      if (this.backend) return this.backend
      throw new CodedError('BACKEND_UNAVAILABLE', `no backend is running: ${this.backendError}`)
    },
    'engine:setBackend': async ({ backend }) => {
      if (this.runs.activeRunId) {
        throw new CodedError('CONFLICT', `run ${this.runs.activeRunId} is running on ${this.backend?.name ?? 'this backend'}: stop it before switching backend`)
      }
      const before = tf.getBackend()
      try {
        this.backend = toContract(await initBackend({ force: backend }))
        this.backendError = null
      } catch (e) {
        // A failed switch must leave the previous backend active; tfjs may have moved, so put it back.
        if (this.backend && tf.getBackend() !== before) {
          await initBackend({ force: this.backend.forced ? this.backend.name : 'auto' }).catch(() => undefined)
        }
        throw new CodedError('BACKEND_UNAVAILABLE', serializeError(e).message, { backend })
      }
      this.log('info', `backend switched (${backend} requested): ${describeBackend(this.backend)}`)
      return this.backend
    },
    'datasets:preview': (p) => previewCall(p),
    'datasets:detect': (p) => detectCall(p),
    'datasets:validate': (p) => validateCall(p),
    'datasets:stats': (p) => statsCall(p),
    'models:inspect': async ({ path }) => inspectModel(path),
    'runs:estimate': (p) => this.runs.estimate(p),
    'runs:start': async ({ config }) => {
      if (!this.backend) throw new CodedError('BACKEND_UNAVAILABLE', `no backend is running: ${this.backendError}`)
      return this.runs.start(config)
    },
    'runs:resume': async ({ runId, restart }) => {
      if (!this.backend) throw new CodedError('BACKEND_UNAVAILABLE', `no backend is running: ${this.backendError}`)
      return this.runs.resume(runId, { restart })
    },
    'runs:stop': async ({ runId }) => this.runs.stop(runId),
    'runs:maskOverlap': async ({ runIds }) => this.runs.maskOverlap(runIds)
  }

  private async shutdown(): Promise<void> {
    if (this.shuttingDown) return
    this.shuttingDown = true
    // Let in-flight calls answer and a live run record itself as cancelled; the host kills the process if
    // this takes too long (and then marks the run failed).
    await this.runs.shutdown()
    while (this.inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 10))
    this.exit(0)
  }

  private exit(code: number): void {
    // Give queued IPC writes a turn to flush before the process ends.
    setImmediate(() => process.exit(code))
  }
}

// ---------------------------------------------------------------------------------------------------------
// Entry

const engine = new Engine(connect())
process.on('uncaughtException', (e) => engine.log('error', `uncaught exception: ${e.stack ?? e.message}`))
process.on('unhandledRejection', (e) => engine.log('error', `unhandled rejection: ${serializeError(e).message}`))
void engine.start()

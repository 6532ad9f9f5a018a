/**
 * The one typed contract for every process boundary: renderer ⇄ main (via the preload's `window.api`)
 * and main ⇄ engine process (plain messages).
 *
 * Owns: the names and payload types of request/response calls (`domain:verb`) and pushed events, the
 * serialisable error shape, runtime validators for every argument and event payload, and the engine's
 * wire messages. Adding a call: add it to CallMap and CALL_PARAMS (the compiler insists on both); then
 * either list it in ENGINE_CALL_NAMES and handle it in src/engine/process.ts, or give it a MainHandlers
 * entry in src/main/index.ts (the compiler insists); then a WindowApi method, implemented in the preload
 * (test/main/preload.test.ts fails until every call is reachable from window.api).
 * Must not: import node, electron or DOM APIs, or engine runtime code. Only plain, structured-clone/JSON
 * safe data crosses a boundary: no class instances, functions, Errors or typed arrays.
 */
import {
  ValidationError,
  array,
  boolean,
  isPlainObject,
  none,
  number,
  object,
  oneOf,
  optional,
  record,
  scalar,
  string,
  type Validator
} from './validate'

export { ValidationError } from './validate'

// ---------------------------------------------------------------------------------------------------------
// Domain types

/**
 * The backend names and BackendInfo mirror src/engine/backend.ts field for field. They are restated here
 * (not imported) because importing that module, even as `import type`, pulls tfjs and node typings into the
 * renderer's type check; test/shared/contract.test.ts asserts at compile time that both stay identical.
 */
export const BACKEND_NAMES = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const
export type BackendName = (typeof BACKEND_NAMES)[number]
export const BACKEND_CHOICES = ['auto', ...BACKEND_NAMES] as const
/** What a user may ask for: `auto` picks the fastest backend that works. */
export type BackendChoice = (typeof BACKEND_CHOICES)[number]

export interface BackendInfo {
  /** The backend that runs. */
  name: BackendName
  /** tfjs's own name for it (tf.getBackend()). */
  tfBackend: string
  /** True when the user forced it (option or IRD_BACKEND). */
  forced: boolean
  /** Each faster backend that was not used, and why. */
  skipped: Array<{ name: BackendName; reason: string }>
  /** Details: wasm SIMD/threads, tfjs version, GPU devices where known. */
  details: Record<string, string | number | boolean>
}

export interface AppVersion {
  app: string
  /** Absent when main runs outside Electron (tests, CLI). */
  electron?: string
  node: string
  tfjs: string
}

export const ENGINE_STATES = ['starting', 'ready', 'crashed', 'stopped'] as const
export type EngineState = (typeof ENGINE_STATES)[number]
export interface EngineStatus {
  state: EngineState
  /** Why it crashed or stopped ("killed by signal SIGKILL", "exited with code 1: …"). */
  reason?: string
}

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]
export interface EngineLog {
  level: LogLevel
  message: string
  /** Milliseconds since the epoch (Date.now()). */
  time: number
}

// ---------------------------------------------------------------------------------------------------------
// Errors

/** Error codes this app produces; other codes may arrive from libraries. */
export const ERROR_CODES = [
  'INVALID_ARGUMENT', // a validator rejected an argument; details.field names it
  'UNKNOWN_METHOD', // no such call
  'FORBIDDEN', // the sender is not the app's own page
  'BACKEND_UNAVAILABLE', // the requested TensorFlow.js backend cannot run here; message says why
  'ENGINE_NOT_RUNNING', // the engine process is stopped or crashed; restart it
  'ENGINE_EXITED', // the engine process ended while the call was in flight
  'SHUTTING_DOWN', // the engine is stopping and takes no new calls
  'TIMEOUT', // no answer in time; the call may still complete in the engine
  'INTERNAL' // a bug: the message and the engine log say more
] as const
export type ErrorCode = (typeof ERROR_CODES)[number]

/** How an error crosses a process boundary: plain data, never an Error instance. */
export interface SerializedError {
  name: string
  message: string
  code?: ErrorCode | (string & NonNullable<unknown>)
  /** JSON-safe context, e.g. `{ field: 'params.backend' }` for INVALID_ARGUMENT. */
  details?: Record<string, unknown>
}

/** What every renderer-facing call resolves to; api.ts in the renderer turns `ok: false` into a throw. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: SerializedError }

// ---------------------------------------------------------------------------------------------------------
// Calls (request → response)

export interface CallMap {
  /** Which backend runs in the engine and why each faster one was skipped. */
  'engine:info': { params: void; result: BackendInfo }
  /** Re-initialise the engine on another backend ('auto' = fastest that works). */
  'engine:setBackend': { params: { backend: BackendChoice }; result: BackendInfo }
  /** The engine process's state as main sees it (a snapshot; `engine:status` events follow). */
  'engine:getStatus': { params: void; result: EngineStatus }
  /** Stop the engine process (if running) and start a fresh one; resolves when it is ready. */
  'engine:restart': { params: void; result: EngineStatus }
  'app:version': { params: void; result: AppVersion }
}
export type CallName = keyof CallMap
export type CallParams<M extends CallName> = CallMap[M]['params']
export type CallResult<M extends CallName> = CallMap[M]['result']

/** One validator per call: the compiler rejects a call without one, or one producing the wrong type. */
export const CALL_PARAMS: { [M in CallName]: Validator<CallParams<M>> } = {
  'engine:info': none,
  'engine:setBackend': object({ backend: oneOf(BACKEND_CHOICES) }),
  'engine:getStatus': none,
  'engine:restart': none,
  'app:version': none
}
export const CALL_NAMES = Object.keys(CALL_PARAMS) as CallName[]

export function isCallName(value: unknown): value is CallName {
  return typeof value === 'string' && Object.hasOwn(CALL_PARAMS, value)
}

/** Checks a call's argument; throws ValidationError (code INVALID_ARGUMENT) naming the field (`params.backend`). */
export function validateParams<M extends CallName>(method: M, params: unknown): CallParams<M> {
  const validator = CALL_PARAMS[method] as Validator<CallParams<M>> | undefined
  if (!validator) throw new ValidationError('method', `one of ${CALL_NAMES.join(', ')}`, method)
  return validator(params, 'params')
}

/** The calls the engine process answers itself; main answers the others. */
export const ENGINE_CALL_NAMES = ['engine:info', 'engine:setBackend'] as const satisfies readonly CallName[]
export type EngineCallName = (typeof ENGINE_CALL_NAMES)[number]
export function isEngineCallName(value: unknown): value is EngineCallName {
  return typeof value === 'string' && (ENGINE_CALL_NAMES as readonly string[]).includes(value)
}

// ---------------------------------------------------------------------------------------------------------
// Events (pushed: engine → main → every window)

export interface EventMap {
  'engine:status': EngineStatus
  'engine:log': EngineLog
}
export type EventName = keyof EventMap

export const EVENT_PAYLOADS: { [E in EventName]: Validator<EventMap[E]> } = {
  'engine:status': object({ state: oneOf(ENGINE_STATES), reason: optional(string({ maxLength: 2_000 })) }),
  'engine:log': object({ level: oneOf(LOG_LEVELS), message: string({ maxLength: 20_000 }), time: number({ min: 0 }) })
}
export const EVENT_NAMES = Object.keys(EVENT_PAYLOADS) as EventName[]

export function isEventName(value: unknown): value is EventName {
  return typeof value === 'string' && Object.hasOwn(EVENT_PAYLOADS, value)
}

/** One event with its payload, as a discriminated union (`switch (e.event)` narrows `e.payload`). */
export type ContractEvent = { [E in EventName]: { event: E; payload: EventMap[E] } }[EventName]

// ---------------------------------------------------------------------------------------------------------
// Engine process wire messages (main/host ⇄ engine; child_process IPC or Electron's parentPort)

/** Host → engine: a call. */
export interface EngineRequestMessage {
  id: number
  method: string
  params?: unknown
}
/** Host → engine: finish in-flight calls, then exit with code 0. */
export interface EngineShutdownMessage {
  type: 'shutdown'
}
export type HostToEngineMessage = EngineRequestMessage | EngineShutdownMessage

/** Engine → host. A response carries `result` or `error`; an event carries `event` and `payload`. */
export type EngineResponseMessage = { id: number; result: unknown } | { id: number; error: SerializedError }
export type EngineToHostMessage = EngineResponseMessage | ContractEvent

const requestId = number({ integer: true, min: 0 })

const serializedError: Validator<SerializedError> = object({
  name: string({ maxLength: 200 }),
  message: string({ maxLength: 20_000 }),
  code: optional(string({ maxLength: 100 })),
  details: optional(record((v) => v))
})

/** Engine side: parse what the host sent. Throws ValidationError for anything else. */
export function parseHostMessage(raw: unknown): HostToEngineMessage {
  if (!isPlainObject(raw)) throw new ValidationError('message', 'an object', raw)
  if (raw.type === 'shutdown') return { type: 'shutdown' }
  return object({ id: requestId, method: string({ maxLength: 200 }), params: (v) => v })(raw, 'message')
}

/** Host side: parse what the engine sent. Throws ValidationError for anything else. */
export function parseEngineMessage(raw: unknown): EngineToHostMessage {
  if (!isPlainObject(raw)) throw new ValidationError('message', 'an object', raw)
  if ('event' in raw) {
    if (!isEventName(raw.event)) throw new ValidationError('message.event', `one of ${EVENT_NAMES.join(', ')}`, raw.event)
    const payload = EVENT_PAYLOADS[raw.event](raw.payload, 'message.payload')
    return { event: raw.event, payload } as ContractEvent
  }
  const id = requestId(raw.id, 'message.id')
  if ('error' in raw) return { id, error: serializedError(raw.error, 'message.error') }
  if ('result' in raw) return { id, result: raw.result }
  throw new ValidationError('message', 'a response ({ id, result } or { id, error }) or an event ({ event, payload })', raw)
}

// ---------------------------------------------------------------------------------------------------------
// The renderer's API (exposed by src/preload/index.ts as `window.api`)

/** One method per call; each resolves to a Result (errors cross contextBridge as plain data, not throws). */
export interface WindowApi {
  engine: {
    info(): Promise<Result<BackendInfo>>
    setBackend(backend: BackendChoice): Promise<Result<BackendInfo>>
    getStatus(): Promise<Result<EngineStatus>>
    restart(): Promise<Result<EngineStatus>>
  }
  app: {
    version(): Promise<Result<AppVersion>>
  }
  /** Subscribe to a pushed event; returns the unsubscribe function. */
  on<E extends EventName>(event: E, listener: (payload: EventMap[E]) => void): () => void
}

// Validators for the domain types, for callers that receive them from a less trusted side.
export const backendInfo: Validator<BackendInfo> = object({
  name: oneOf(BACKEND_NAMES),
  tfBackend: string({ maxLength: 100 }),
  forced: boolean,
  skipped: array(object({ name: oneOf(BACKEND_NAMES), reason: string({ maxLength: 2_000 }) }), { maxLength: BACKEND_NAMES.length }),
  details: record(scalar)
})

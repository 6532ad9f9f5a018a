/**
 * The one typed contract for every process boundary: renderer ⇄ main (the preload's `window.api` in the
 * app, a WebSocket in browser mode) and main ⇄ engine process (plain messages).
 *
 * Calls (request → Result):
 *   engine:  info, setBackend, getStatus, restart
 *   app:     version, info (mode, folders, what this shell can do), pickPath (Electron file dialogs)
 *   datasets: list, import ({path} | {name, content}), update, remove, preview, detect, validate, stats
 *   models:  list (embedded demo + added folders), inspect, add, remove
 *   runs:    defaults, estimate, start, resume, stop, list, get (snapshot), delete, compare, maskOverlap,
 *            validateConfig, saveConfig / loadConfig (Electron dialogs; browser: download/upload + validateConfig)
 * Events (pushed to every window / socket):
 *   engine:status, engine:log, engine:memory, run:started, run:progress (throttled ~10/s), run:phase,
 *   run:metric, run:fisher, run:finished (phase changes, metrics, Fisher statistics and results are never dropped)
 *
 * Owns: the names and payload types of request/response calls (`domain:verb`) and pushed events, the
 * serialisable error shape, runtime validators for every argument and event payload, the engine's wire
 * messages, and the one mapping from calls to `window.api` methods (createWindowApi). Adding a call: add it
 * to CallMap and CALL_PARAMS (the compiler insists on both); then either list it in ENGINE_CALL_NAMES and
 * handle it in src/engine/process.ts, or give it a host handler (src/engine/host/app-host.ts; the compiler
 * insists). `window.api.<domain>.<verb>(params)` follows from the name.
 * Stability: screens are built against this file; change it additively only (new calls, new optional fields).
 * Must not: import node, electron or DOM APIs, or engine runtime code. Only plain, structured-clone/JSON
 * safe data crosses a boundary: no class instances, functions, Errors or typed arrays.
 */
import {
  ValidationError,
  array,
  boolean,
  isPlainObject,
  json,
  none,
  number,
  object,
  oneOf,
  optional,
  record,
  scalar,
  string,
  type JsonValue,
  type Validator
} from './validate'
import {
  MAX_PATH_LENGTH,
  TASK_NAMES,
  dataSource,
  datasetId,
  datasetOptions,
  datasetRef,
  runConfig,
  runId,
  type CompareTables,
  type DataSource,
  type DatasetEntry,
  type DatasetOptions,
  type DatasetPreview,
  type DatasetRef,
  type DatasetReport,
  type DatasetStatistics,
  type DetectedTask,
  type FisherChartData,
  type MaskOverlapMatrix,
  type ModelEntry,
  type ModelInfo,
  type RunConfig,
  type RunEstimate,
  type RunFinished,
  type RunListEntry,
  type RunMetric,
  type RunPhase,
  type RunProgress,
  type RunSnapshot,
  type RunSummaryInfo,
  type TaskName
} from './domain'

export { ValidationError } from './validate'
export type { JsonValue } from './validate'
export * from './domain'

// ---------------------------------------------------------------------------------------------------------
// Domain types

/**
 * The backend names, in the engine's auto order (fastest first): the one list every process uses (the
 * engine's selection, the CLI's --backend choices, the interface's menus). BackendInfo is the engine's own
 * type (src/engine/backend.ts imports it from here; this module must not import the engine, which would
 * pull tfjs and node typings into the renderer's type check).
 */
export const BACKEND_NAMES = ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'] as const
export type BackendName = (typeof BACKEND_NAMES)[number]
export const BACKEND_CHOICES = ['auto', ...BACKEND_NAMES] as const
/** What a user may ask for: `auto` picks the fastest backend that works. */
export type BackendChoice = (typeof BACKEND_CHOICES)[number]

/** The WebGPU adapter Dawn found (GPUAdapterInfo and the limits that bound tensor sizes). */
export interface GpuAdapterInfo {
  vendor: string
  architecture: string
  device: string
  description: string
  /** A software rasteriser (lavapipe/llvmpipe, SwiftShader, WARP, or isFallbackAdapter): never picked unforced. */
  software: boolean
  /** Bytes. */
  maxBufferSize: number
  /** Bytes: the largest tensor one kernel may bind. */
  maxStorageBufferBindingSize: number
}

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
  /** The WebGPU adapter when one was found, whether webgpu runs (name 'webgpu') or was skipped. */
  adapter?: GpuAdapterInfo
}

/** Where the interface runs: the Electron app, or a browser talking to `ird-studio serve`. */
export type AppMode = 'electron' | 'browser'

export interface AppInfo {
  mode: AppMode
  /** The app data folder (datasets registry, uploads, models registry). */
  dataDir: string
  /** Where runs are written (shared with the CLI when IRD_RUNS_DIR / --runs point at the same folder). */
  runsDir: string
  /** Native open/save dialogs (app:pickPath, runs:saveConfig, runs:loadConfig): Electron only. */
  fileDialogs: boolean
  /** Largest dataset upload in characters (browser mode uploads file content). */
  maxUploadChars: number
  /** The embedded demo model folder, when this build has it. */
  demoModel: string | null
  /** The bundled demo data folder (SST-2 subset: train.tsv, dev.tsv), when present. */
  demoData: string | null
}

/** Engine memory samples the app keeps (and a window shows) for the live run: about 30 min at one per 2 s. */
export const MEMORY_HISTORY_POINTS = 900

export interface EngineMemory {
  /** Engine process memory (process.memoryUsage), bytes. */
  rss: number
  heapUsed: number
  heapTotal: number
  external: number
  arrayBuffers: number
  /** TensorFlow.js: bytes held by tensors and their count. */
  tfBytes: number
  tfTensors: number
  /** The machine's memory (os.totalmem / os.freemem), bytes. */
  systemTotal: number
  systemFree: number
  time: number
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
  'INTERNAL', // a bug: the message and the engine log say more
  'INVALID_INPUT', // the call was well-formed but its files/settings cannot be used (message says which and why)
  'NOT_FOUND', // no such dataset, model or run
  'CONFLICT', // not now: a run is already running, or the run to delete is still running
  'UNSUPPORTED', // this shell cannot do it (file dialogs in browser mode): details.alternative says what to do
  'INVALID_MESSAGE', // browser mode: a WebSocket message that is not JSON or not { id, method, params }
  'MESSAGE_TOO_LARGE', // browser mode: a WebSocket message larger than the limit for its call
  'UNAUTHORIZED', // browser mode: missing or wrong token
  'DISCONNECTED' // browser mode: the connection to `ird-studio serve` closed while the call was in flight
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
  /** Mode (electron | browser), folders, capabilities, demo model/data locations. */
  'app:info': { params: void; result: AppInfo }
  /** Electron: a native open dialog; null when cancelled. Browser mode: UNSUPPORTED. */
  'app:pickPath': { params: { kind: 'file' | 'folder'; title?: string; filters?: Array<{ name: string; extensions: string[] }> }; result: { path: string | null } }

  /** The dataset registry (app data folder), newest first. */
  'datasets:list': { params: void; result: DatasetEntry[] }
  /** Register a file by path, or store an uploaded file's content in the app data folder and register it. */
  'datasets:import': { params: { source: DataSource; name?: string; options?: DatasetOptions }; result: DatasetEntry }
  /** Save the reading options the user confirmed (mapping, task, drop bad rows) or a new display name. */
  'datasets:update': { params: { id: string; name?: string; options?: DatasetOptions }; result: DatasetEntry }
  /** Forget a dataset (its uploaded copy is deleted; a file registered by path is left alone). */
  'datasets:remove': { params: { id: string }; result: { removed: boolean } }
  /** The head of the file: layout, first rows, guessed mapping, label type and task, early problems. */
  'datasets:preview': { params: { ref: DatasetRef; rows?: number; options?: DatasetOptions }; result: DatasetPreview }
  /** Which GLUE task the file holds, or null. */
  'datasets:detect': { params: { ref: DatasetRef }; result: DetectedTask | null }
  /** Load and check the whole file: problems by file/line/column, usable or not, rows dropped if asked. */
  'datasets:validate': { params: { ref: DatasetRef; options?: DatasetOptions; against?: { ref: DatasetRef; options?: DatasetOptions } }; result: DatasetReport }
  /** Label distribution, length histogram (model tokens when modelDir is given), duplicates, train/dev overlap. */
  'datasets:stats': { params: { ref: DatasetRef; options?: DatasetOptions; dev?: { ref: DatasetRef; options?: DatasetOptions }; modelDir?: string; maxLength?: number }; result: DatasetStatistics }

  /** The embedded demo model (when present) and the folders the user added. */
  'models:list': { params: void; result: ModelEntry[] }
  /** Read a Hugging Face folder's config, tokenizer and weight headers (no weights are loaded). */
  'models:inspect': { params: { path: string }; result: ModelInfo }
  /** Remember a model folder (inspected first). */
  'models:add': { params: { path: string; name?: string }; result: ModelEntry }
  'models:remove': { params: { id: string }; result: { removed: boolean } }

  /** The defaults of `ird-studio run` for a task (paths empty). */
  'runs:defaults': { params: { task?: TaskName }; result: RunConfig }
  /** Budgets (k ⇄ keep ratio), Fisher cost in per-sample gradients, time and memory. measure: time this model on this engine. */
  'runs:estimate': { params: { config: RunConfig; k?: number; measure?: boolean }; result: RunEstimate }
  /** Start a run in the engine process; resolves once the run exists (input errors reject with INVALID_INPUT). */
  'runs:start': { params: { config: RunConfig }; result: { runId: string } }
  /** Continue a cancelled, failed or interrupted run from its last checkpoint, with its recorded settings and mask. */
  'runs:resume': { params: { runId: string; restart?: boolean }; result: { runId: string } }
  /** Cooperative cancel: the run stops at the next batch boundary and ends as cancelled. */
  'runs:stop': { params: { runId: string }; result: { stopping: boolean } }
  'runs:list': { params: void; result: RunListEntry[] }
  /** Snapshot of a run (config, status, milestone events, curve, metrics, Fisher statistics, results). */
  /** memory: the engine's samples since this run started, while it is live (a reloaded window keeps its chart). */
  'runs:get': { params: { runId: string }; result: RunSnapshot & { memory?: EngineMemory[] } }
  /** Delete a finished run's folder (a running run: CONFLICT). */
  'runs:delete': { params: { runId: string }; result: { deleted: boolean } }
  /** Comparison tables (all runs when runIds is absent): one row per run, or the GLUE pivot. */
  'runs:compare': { params: { runIds?: string[]; view?: 'runs' | 'glue' }; result: CompareTables }
  /** Pairwise overlap of the runs' saved masks. */
  'runs:maskOverlap': { params: { runIds: string[] }; result: MaskOverlapMatrix }
  /** Check a config from a file the user chose (any JSON): the config with problems listed, never a throw. */
  'runs:validateConfig': { params: { config: JsonValue }; result: { valid: boolean; config: RunConfig | null; problems: Array<{ field: string; message: string }> } }
  /** Electron: save a config with a save dialog. Browser mode: UNSUPPORTED (the page downloads it). */
  'runs:saveConfig': { params: { config: RunConfig; suggestedName?: string }; result: { path: string | null } }
  /** Electron: open a config with an open dialog (null when cancelled). Browser mode: UNSUPPORTED. */
  'runs:loadConfig': { params: void; result: { path: string | null; config: RunConfig | null; problems: Array<{ field: string; message: string }> } }
}
export type CallName = keyof CallMap
export type CallParams<M extends CallName> = CallMap[M]['params']
export type CallResult<M extends CallName> = CallMap[M]['result']

const idParam = object({ id: datasetId })
const refWithOptions = object({ ref: datasetRef, options: optional(datasetOptions) })
const modelPath = string({ maxLength: MAX_PATH_LENGTH, nonEmpty: true })

/** One validator per call: the compiler rejects a call without one, or one producing the wrong type. */
export const CALL_PARAMS: { [M in CallName]: Validator<CallParams<M>> } = {
  'engine:info': none,
  'engine:setBackend': object({ backend: oneOf(BACKEND_CHOICES) }),
  'engine:getStatus': none,
  'engine:restart': none,
  'app:version': none,
  'app:info': none,
  'app:pickPath': object({
    kind: oneOf(['file', 'folder'] as const),
    title: optional(string({ maxLength: 200 })),
    filters: optional(array(object({ name: string({ maxLength: 100 }), extensions: array(string({ maxLength: 20 }), { maxLength: 20 }) }), { maxLength: 20 }))
  }),
  'datasets:list': none,
  'datasets:import': object({ source: dataSource, name: optional(string({ maxLength: 200, nonEmpty: true })), options: optional(datasetOptions) }),
  'datasets:update': object({ id: datasetId, name: optional(string({ maxLength: 200, nonEmpty: true })), options: optional(datasetOptions) }),
  'datasets:remove': idParam,
  'datasets:preview': object({ ref: datasetRef, rows: optional(number({ integer: true, min: 1, max: 1_000 })), options: optional(datasetOptions) }),
  'datasets:detect': object({ ref: datasetRef }),
  'datasets:validate': object({ ref: datasetRef, options: optional(datasetOptions), against: optional(refWithOptions) }),
  'datasets:stats': object({
    ref: datasetRef,
    options: optional(datasetOptions),
    dev: optional(refWithOptions),
    modelDir: optional(modelPath),
    maxLength: optional(number({ integer: true, min: 8, max: 4_096 }))
  }),
  'models:list': none,
  'models:inspect': object({ path: modelPath }),
  'models:add': object({ path: modelPath, name: optional(string({ maxLength: 200, nonEmpty: true })) }),
  'models:remove': idParam,
  'runs:defaults': object({ task: optional(oneOf(TASK_NAMES)) }),
  'runs:estimate': object({ config: runConfig, k: optional(number({ integer: true, min: 1, max: 1e12 })), measure: optional(boolean) }),
  'runs:start': object({ config: runConfig }),
  'runs:resume': object({ runId, restart: optional(boolean) }),
  'runs:stop': object({ runId }),
  'runs:list': none,
  'runs:get': object({ runId }),
  'runs:delete': object({ runId }),
  'runs:compare': object({ runIds: optional(array(runId, { maxLength: 1_000 })), view: optional(oneOf(['runs', 'glue'] as const)) }),
  'runs:maskOverlap': object({ runIds: array(runId, { maxLength: 50 }) }),
  'runs:validateConfig': object({ config: json({ maxNodes: 10_000, maxStringLength: MAX_PATH_LENGTH }) }),
  'runs:saveConfig': object({ config: runConfig, suggestedName: optional(string({ maxLength: 200 })) }),
  'runs:loadConfig': none
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

/**
 * The calls the engine process answers. The host may answer some itself first (datasets calls resolve a
 * registered `{ id }` to its `{ path }` before they reach the engine); the rest it relays as they are.
 */
export const ENGINE_CALL_NAMES = [
  'engine:info',
  'engine:setBackend',
  'datasets:preview',
  'datasets:detect',
  'datasets:validate',
  'datasets:stats',
  'models:inspect',
  'runs:estimate',
  'runs:start',
  'runs:resume',
  'runs:stop',
  'runs:maskOverlap'
] as const satisfies readonly CallName[]
export type EngineCallName = (typeof ENGINE_CALL_NAMES)[number]
export function isEngineCallName(value: unknown): value is EngineCallName {
  return typeof value === 'string' && (ENGINE_CALL_NAMES as readonly string[]).includes(value)
}

// ---------------------------------------------------------------------------------------------------------
// Events (pushed: engine → main → every window)

export interface EventMap {
  'engine:status': EngineStatus
  'engine:log': EngineLog
  /** Engine process and machine memory, every few seconds while a run is live. */
  'engine:memory': EngineMemory
  'run:started': RunSummaryInfo
  /** Throttled (~10/s per run); the newest value wins, intermediate ones may be skipped. */
  'run:progress': RunProgress
  /** A milestone (load, select, selected, ird-round, eval, done…); never dropped. */
  'run:phase': RunPhase
  /** An evaluation (per epoch); never dropped. */
  'run:metric': RunMetric
  /** Fisher statistics: after each IRD round and once the mask is selected; never dropped. */
  'run:fisher': FisherChartData
  /** The run ended (completed, cancelled, failed with its reason — also when the engine crashed); never dropped. */
  'run:finished': RunFinished
}
export type EventName = keyof EventMap

const anyJson = json({ maxNodes: 500_000 })
/** Engine-produced payloads: the host checks shape and bounds; the engine is the only producer. */
function jsonObject<T>(required: string[]): Validator<T> {
  return (value, p) => {
    const v = anyJson(value, p)
    if (!isPlainObject(v)) throw new ValidationError(p, 'an object', value)
    for (const key of required) if (!Object.hasOwn(v, key)) throw new ValidationError(`${p}.${key}`, 'present', undefined)
    return v as T
  }
}

export const EVENT_PAYLOADS: { [E in EventName]: Validator<EventMap[E]> } = {
  'engine:status': object({ state: oneOf(ENGINE_STATES), reason: optional(string({ maxLength: 2_000 })) }),
  'engine:log': object({ level: oneOf(LOG_LEVELS), message: string({ maxLength: 20_000 }), time: number({ min: 0 }) }),
  'engine:memory': object({
    rss: number({ min: 0 }),
    heapUsed: number({ min: 0 }),
    heapTotal: number({ min: 0 }),
    external: number({ min: 0 }),
    arrayBuffers: number({ min: 0 }),
    tfBytes: number({ min: 0 }),
    tfTensors: number({ min: 0 }),
    systemTotal: number({ min: 0 }),
    systemFree: number({ min: 0 }),
    time: number({ min: 0 })
  }),
  'run:started': jsonObject<RunSummaryInfo>(['id', 'task', 'method', 'status', 'startedAt']),
  'run:progress': object({
    runId,
    phase: string({ maxLength: 100 }),
    done: number({ min: 0 }),
    total: number({ min: 0 }),
    elapsedMs: number({ min: 0 }),
    etaMs: optional(number({ min: 0 })),
    loss: optional(number()),
    lr: optional(number()),
    epoch: optional(number({ min: 0 })),
    round: optional(number({ min: 0 }))
  }),
  'run:phase': jsonObject<RunPhase>(['runId', 'phase', 'time']),
  'run:metric': jsonObject<RunMetric>(['runId', 'epoch', 'metrics']),
  'run:fisher': jsonObject<FisherChartData>(['runId', 'method', 'irdRounds']),
  'run:finished': object({
    runId,
    status: oneOf(['completed', 'cancelled', 'failed'] as const),
    reason: optional(string({ maxLength: 20_000 })),
    metrics: optional(record(number())),
    main: optional(number()),
    warnings: optional(array(string({ maxLength: 2_000 }), { maxLength: 20 }))
  })
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
// The renderer's API: `window.api` (preload) in the app, the same object over a WebSocket in browser mode

export type DomainOf<M extends string> = M extends `${infer D}:${string}` ? D : never
export type VerbOf<M extends string> = M extends `${string}:${infer V}` ? V : never
export type CallDomain = DomainOf<CallName>

/** A call as an api method: no argument for calls without params, else the params object. */
export type ApiMethod<M extends CallName> = [CallParams<M>] extends [void]
  ? () => Promise<Result<CallResult<M>>>
  : (params: CallParams<M>) => Promise<Result<CallResult<M>>>

/** `api.<domain>.<verb>(params)` for every call `domain:verb`. */
export type DomainApi<D extends CallDomain> = { [M in CallName as DomainOf<M> extends D ? VerbOf<M> : never]: ApiMethod<M> }

/** One method per call; each resolves to a Result (errors cross the boundary as plain data, not throws). */
export type WindowApi = { [D in CallDomain]: DomainApi<D> } & {
  /** Subscribe to a pushed event; returns the unsubscribe function. */
  on<E extends EventName>(event: E, listener: (payload: EventMap[E]) => void): () => void
}

export type Invoke = (method: CallName, params: unknown) => Promise<Result<unknown>>
export type Subscribe = (event: EventName, listener: (payload: unknown) => void) => () => void

/**
 * Builds the api object from a transport: Electron IPC in the preload, a WebSocket in browser mode. One
 * mapping for both, derived from CALL_NAMES, so no call can be missing from either.
 */
export function createWindowApi(invoke: Invoke, subscribe: Subscribe): WindowApi {
  const api: Record<string, unknown> = {}
  for (const method of CALL_NAMES) {
    const [domain, verb] = method.split(':') as [string, string]
    const target = (api[domain] ??= {}) as Record<string, (params?: unknown) => Promise<Result<unknown>>>
    target[verb] = (params?: unknown) => invoke(method, params)
  }
  api.on = (event: string, listener: (payload: unknown) => void): (() => void) => {
    if (!isEventName(event)) throw new TypeError(`api.on: unknown event "${String(event)}"`)
    if (typeof listener !== 'function') throw new TypeError('api.on: listener must be a function')
    return subscribe(event, listener)
  }
  return api as unknown as WindowApi
}

// Validators for the domain types, for callers that receive them from a less trusted side.
export const backendInfo: Validator<BackendInfo> = object({
  name: oneOf(BACKEND_NAMES),
  tfBackend: string({ maxLength: 100 }),
  forced: boolean,
  skipped: array(object({ name: oneOf(BACKEND_NAMES), reason: string({ maxLength: 2_000 }) }), { maxLength: BACKEND_NAMES.length }),
  details: record(scalar),
  adapter: optional(
    object({
      vendor: string({ maxLength: 500 }),
      architecture: string({ maxLength: 500 }),
      device: string({ maxLength: 500 }),
      description: string({ maxLength: 500 }),
      software: boolean,
      maxBufferSize: number({ min: 0 }),
      maxStorageBufferBindingSize: number({ min: 0 })
    })
  )
})

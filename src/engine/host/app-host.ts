/**
 * The app's process side without Electron: the engine process, the registries, the run store and the
 * event stream, behind the contract's calls. The Electron main (src/main/index.ts) and the browser-mode
 * server (src/server/server.ts) each wrap one AppHost, so both shells answer every call the same way.
 *
 * Owns: the handlers of every call that the host answers (app, datasets registry, models list, runs list /
 * snapshot / delete / compare / config) and the host side of engine calls (a registered dataset `{ id }`
 * becomes its `{ path }` and stored options before the engine sees it); which runs are live (from the
 * engine's run events), so that a window opening later gets a snapshot and then the events; and crash
 * recovery: when the engine process dies mid-run the run is marked failed with the reason, `run:finished`
 * is sent, and the next runs:start starts a fresh engine.
 * Must not: import electron or tfjs (it runs in Electron's main process and in the plain-Node server), or
 * run engine work here: loading data and models happens in the engine process.
 */
import { existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { gluePivot, renderTable, runsTable } from '../runs/compare'
import { RunStore, RunStoreError } from '../runs/store'
import { demoDataDir, demoModelDir } from '../resources'
import {
  MAX_UPLOAD_CHARS,
  MEMORY_HISTORY_POINTS,
  RUN_CONFIG_KEYS,
  defaultRunConfig,
  problemOf,
  runConfig,
  type AppInfo,
  type AppMode,
  type AppVersion,
  type CallParams,
  type CallResult,
  type ContractEvent,
  type DatasetOptions,
  type DatasetRef,
  type EngineCallName,
  type EngineMemory,
  type JsonValue,
  type ModelEntry,
  type RunConfig,
  type RunListEntry,
  type RunProgress
} from '../../shared/contract'
import { CodedError } from '../../shared/errors'
import { isPlainObject } from '../../shared/validate'
import type { EngineHost } from './engine-host'
import { inspectModel } from './model-calls'
import { DatasetRegistry, ModelRegistry } from './registry'
import { listRuns, runSnapshot } from './run-views'
import type { HostHandlers } from './call-router'

/** Native dialogs: Electron provides them; browser mode has none (the page downloads and uploads). */
export interface Dialogs {
  pickPath(p: CallParams<'app:pickPath'>): Promise<string | null>
  /** Save text with a save dialog; the chosen path, or null when cancelled. */
  saveText(suggestedName: string, text: string): Promise<string | null>
  /** Open a JSON file with an open dialog; null when cancelled. */
  openText(filters: Array<{ name: string; extensions: string[] }>): Promise<{ path: string; text: string } | null>
}

export interface AppHostOptions {
  mode: AppMode
  /** The app data folder: registries and uploads. */
  dataDir: string
  /** The runs folder, also given to the engine process as IRD_RUNS_DIR by whoever spawns it. */
  runsDir: string
  engine: EngineHost
  version(): AppVersion
  dialogs?: Dialogs
}

/** Fields that only a run's own config.json has: such a file is read for its RunConfig fields. */
const RUN_RECORD_MARKERS = ['trainSha256', 'rerun']

/** How long a stop waits for a live run to record itself as cancelled before the engine is killed. */
const STOP_WITH_RUN_MS = 30_000

export class AppHost {
  readonly engine: EngineHost
  readonly datasets: DatasetRegistry
  readonly models: ModelRegistry
  readonly store: RunStore
  private readonly live = new Map<string, RunProgress | undefined>()
  /** engine:memory samples since the oldest live run started, so a window opened mid-run gets the history. */
  private memory: EngineMemory[] = []
  private readonly listeners = new Set<(event: ContractEvent) => void>()
  readonly handlers: HostHandlers

  constructor(private readonly opts: AppHostOptions) {
    this.engine = opts.engine
    this.datasets = new DatasetRegistry(opts.dataDir)
    this.models = new ModelRegistry(opts.dataDir)
    this.store = new RunStore(opts.runsDir)
    this.engine.onEvent((e) => this.onEngineEvent(e))
    this.handlers = this.makeHandlers()
  }

  /** Every event for the windows / sockets: the engine's, and the host's own (a crashed run's end). */
  onEvent(listener: (event: ContractEvent) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Runs live in the engine now, with their last progress. */
  get liveRuns(): ReadonlyMap<string, RunProgress | undefined> {
    return this.live
  }

  start(): Promise<void> {
    return this.engine.start()
  }

  /** Stops the engine; a live run gets time to stop at a batch boundary and record itself as cancelled. */
  stop(): Promise<void> {
    return this.engine.stop({ timeoutMs: this.live.size ? STOP_WITH_RUN_MS : undefined })
  }

  private emit(event: ContractEvent): void {
    for (const l of this.listeners) {
      try {
        l(event)
      } catch (e) {
        console.error('event listener failed:', e)
      }
    }
  }

  private onEngineEvent(e: ContractEvent): void {
    switch (e.event) {
      case 'run:started':
        if (!this.live.size) this.memory = []
        this.live.set(e.payload.id, undefined)
        break
      case 'engine:memory':
        this.memory.push(e.payload)
        if (this.memory.length > MEMORY_HISTORY_POINTS) this.memory.splice(0, this.memory.length - MEMORY_HISTORY_POINTS)
        break
      case 'run:progress':
        if (this.live.has(e.payload.runId)) this.live.set(e.payload.runId, e.payload)
        break
      case 'run:finished':
        this.live.delete(e.payload.runId)
        break
      case 'engine:status':
        if (e.payload.state === 'crashed' || e.payload.state === 'stopped') {
          this.emit(e)
          this.failLiveRuns(e.payload.reason ?? e.payload.state)
          return
        }
        break
      default:
        break
    }
    this.emit(e)
  }

  /** The engine ended with runs still live: they can never finish; record why and tell the windows. */
  private failLiveRuns(why: string): void {
    for (const runId of [...this.live.keys()]) {
      this.live.delete(runId)
      const reason = `the engine process ended during the run (${why}); start the run again`
      try {
        const run = this.store.open(runId)
        const started = Date.parse(run.summary.startedAt)
        run.finish('failed', {}, reason)
        if (Number.isFinite(started)) {
          run.summary.elapsedMs = Date.now() - started
          run.writeSummary()
        }
      } catch (e) {
        console.error(`could not mark run ${runId} failed:`, e)
      }
      this.emit({ event: 'run:finished', payload: { runId, status: 'failed', reason } })
    }
  }

  private async ensureEngine(): Promise<void> {
    const state = this.engine.status.state
    if (state === 'crashed' || state === 'stopped') await this.engine.start()
  }

  private resolveRef(ref: DatasetRef, options?: DatasetOptions): { ref: { path: string }; options?: DatasetOptions; id?: string } {
    if ('path' in ref) return { ref, options }
    const entry = this.datasets.get(ref.id)
    if (!existsSync(entry.path)) throw new CodedError('INVALID_INPUT', `dataset "${entry.name}": its file ${entry.path} is gone; import it again`, { id: ref.id })
    const merged = { ...entry.options, ...options }
    return { ref: { path: entry.path }, options: Object.keys(merged).length ? merged : undefined, id: ref.id }
  }

  private runEntry(runId: string): RunListEntry {
    const entry = listRuns(this.store, this.live).find((r) => r.id === runId)
    if (!entry) throw new CodedError('NOT_FOUND', `no run "${runId}" in ${this.store.root}`, { runId })
    return entry
  }

  private modelEntry(id: string, name: string, path: string, kind: ModelEntry['kind'], addedAt?: string): ModelEntry {
    try {
      return { id, name, path, kind, ...(addedAt ? { addedAt } : {}), info: inspectModel(path) }
    } catch (e) {
      return { id, name, path, kind, ...(addedAt ? { addedAt } : {}), info: null, error: (e as Error).message }
    }
  }

  private request<M extends EngineCallName>(method: M, params: CallParams<M>): Promise<CallResult<M>> {
    return this.engine.request(method, params)
  }

  private makeHandlers(): HostHandlers {
    const o = this.opts
    const dialogsOnly = (what: string, alternative: string) =>
      new CodedError('UNSUPPORTED', `${what} needs the desktop app's file dialogs; in the browser ${alternative}`, { alternative })
    return {
      'engine:getStatus': async () => this.engine.status,
      'engine:restart': async () => {
        await this.engine.stop({ timeoutMs: this.live.size ? STOP_WITH_RUN_MS : undefined })
        await this.engine.start()
        return this.engine.status
      },
      'app:version': async () => o.version(),
      'app:info': async (): Promise<AppInfo> => ({
        mode: o.mode,
        dataDir: o.dataDir,
        runsDir: this.store.root,
        fileDialogs: !!o.dialogs,
        maxUploadChars: MAX_UPLOAD_CHARS,
        demoModel: demoModelDir(),
        demoData: demoDataDir()
      }),
      'app:pickPath': async (p) => {
        if (!o.dialogs) throw dialogsOnly('choosing a file', 'type the path, or upload the file')
        return { path: await o.dialogs.pickPath(p) }
      },

      'datasets:list': async () => this.datasets.list(),
      'datasets:import': async (p) => this.datasets.import(p.source, p.name, p.options),
      'datasets:update': async (p) => this.datasets.update(p.id, { name: p.name, options: p.options }),
      'datasets:remove': async ({ id }) => ({ removed: this.datasets.remove(id) }),
      'datasets:preview': async (p) => {
        const r = this.resolveRef(p.ref, p.options)
        return this.request('datasets:preview', { ref: r.ref, ...(p.rows ? { rows: p.rows } : {}), ...(r.options ? { options: r.options } : {}) })
      },
      'datasets:detect': async (p) => this.request('datasets:detect', { ref: this.resolveRef(p.ref).ref }),
      'datasets:validate': async (p) => {
        const r = this.resolveRef(p.ref, p.options)
        const a = p.against ? this.resolveRef(p.against.ref, p.against.options) : undefined
        const report = await this.request('datasets:validate', {
          ref: r.ref,
          ...(r.options ? { options: r.options } : {}),
          ...(a ? { against: { ref: a.ref, ...(a.options ? { options: a.options } : {}) } } : {})
        })
        if (r.id) {
          this.datasets.update(r.id, {
            lastReport: { usable: report.usable, rows: report.rows, errors: report.errors, warnings: report.warnings, verdict: report.verdict, checkedAt: new Date().toISOString() }
          })
        }
        return report
      },
      'datasets:stats': async (p) => {
        const r = this.resolveRef(p.ref, p.options)
        const d = p.dev ? this.resolveRef(p.dev.ref, p.dev.options) : undefined
        return this.request('datasets:stats', {
          ref: r.ref,
          ...(r.options ? { options: r.options } : {}),
          ...(d ? { dev: { ref: d.ref, ...(d.options ? { options: d.options } : {}) } } : {}),
          ...(p.modelDir ? { modelDir: p.modelDir } : {}),
          ...(p.maxLength ? { maxLength: p.maxLength } : {})
        })
      },

      'models:list': async () => {
        const out: ModelEntry[] = []
        const demo = demoModelDir()
        if (demo) out.push(this.modelEntry('demo', 'IRD demo BERT (embedded)', demo, 'demo'))
        for (const m of this.models.list()) out.push(this.modelEntry(m.id, m.name, m.path, 'user', m.addedAt))
        return out
      },
      // Reads headers only: answered here, so it works while the engine is busy or down.
      'models:inspect': async ({ path }) => inspectModel(path),
      'models:add': async ({ path, name }) => {
        const info = inspectModel(path)
        const record = this.models.add(info.path, name)
        return { id: record.id, name: record.name, path: record.path, kind: 'user', addedAt: record.addedAt, info }
      },
      'models:remove': async ({ id }) => ({ removed: this.models.remove(id) }),

      'runs:defaults': async ({ task }) => defaultRunConfig(task),
      'runs:start': async (p) => {
        await this.ensureEngine()
        return this.request('runs:start', p)
      },
      'runs:resume': async (p) => {
        if (this.live.has(p.runId)) throw new CodedError('CONFLICT', `run ${p.runId} is running already`, { runId: p.runId })
        await this.ensureEngine()
        return this.request('runs:resume', p)
      },
      'runs:list': async () => listRuns(this.store, this.live),
      'runs:get': async ({ runId }) => {
        const entry = this.runEntry(runId)
        const snap = runSnapshot(this.store.open(entry.id), entry)
        return this.live.has(entry.id) ? { ...snap, memory: [...this.memory] } : snap
      },
      'runs:delete': async ({ runId }) => {
        if (this.live.has(runId)) throw new CodedError('CONFLICT', `run ${runId} is running: stop it first, then delete it`, { runId })
        let dir: string
        try {
          dir = this.store.dir(runId)
        } catch (e) {
          throw new CodedError('INVALID_ARGUMENT', (e as RunStoreError).message, { field: 'params.runId' })
        }
        if (!existsSync(join(dir, 'summary.json'))) throw new CodedError('NOT_FOUND', `no run "${runId}" in ${this.store.root}`, { runId })
        rmSync(dir, { recursive: true, force: true })
        return { deleted: true }
      },
      'runs:compare': async ({ runIds, view }) => {
        let runs = this.store.list()
        if (runIds) {
          const missing = runIds.filter((id) => !runs.some((r) => r.id === id))
          if (missing.length) throw new CodedError('NOT_FOUND', `no run ${missing.map((m) => `"${m}"`).join(', ')} in ${this.store.root}`, { runIds: missing })
          runs = runIds.map((id) => runs.find((r) => r.id === id)!)
        }
        const table = view === 'glue' ? gluePivot(runs) : runsTable(runs)
        return { header: table.header, rows: table.rows, markdown: renderTable(table, 'markdown'), csv: renderTable(table, 'csv'), latex: renderTable(table, 'latex') }
      },
      'runs:validateConfig': async ({ config }) => validateConfigJson(config),
      'runs:saveConfig': async ({ config, suggestedName }) => {
        if (!o.dialogs) throw dialogsOnly('saving a config', 'the page downloads it as a JSON file')
        const name = (suggestedName ?? config.name ?? 'run-config').replace(/[^A-Za-z0-9._-]+/g, '-')
        return { path: await o.dialogs.saveText(name.endsWith('.json') ? name : `${name}.json`, JSON.stringify(config, null, 2) + '\n') }
      },
      'runs:loadConfig': async () => {
        if (!o.dialogs) throw dialogsOnly('opening a config', 'upload the JSON file and check it with runs:validateConfig')
        const chosen = await o.dialogs.openText([{ name: 'Run config', extensions: ['json'] }])
        if (!chosen) return { path: null, config: null, problems: [] }
        let parsed: unknown
        try {
          parsed = JSON.parse(chosen.text)
        } catch (e) {
          return { path: chosen.path, config: null, problems: [{ field: 'config', message: `${chosen.path} is not JSON: ${(e as Error).message}` }] }
        }
        const checked = validateConfigJson(parsed as JsonValue)
        return { path: chosen.path, config: checked.config, problems: checked.problems }
      }
    }
  }
}

/** A config from a file: checked field by field; a run's own config.json is accepted (its record fields dropped). */
export function validateConfigJson(value: JsonValue): { valid: boolean; config: RunConfig | null; problems: Array<{ field: string; message: string }> } {
  let candidate: unknown = value
  if (isPlainObject(value) && RUN_RECORD_MARKERS.some((k) => Object.hasOwn(value, k))) {
    // A run's record: keep what configures a run (hashes, reports and estimates describe the old one).
    const keys: readonly string[] = RUN_CONFIG_KEYS
    candidate = Object.fromEntries(Object.entries(value).filter(([k]) => keys.includes(k)))
  }
  try {
    return { valid: true, config: runConfig(candidate, 'config'), problems: [] }
  } catch (e) {
    return { valid: false, config: null, problems: [problemOf(e)] }
  }
}

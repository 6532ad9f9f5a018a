/**
 * The run store: one folder per run under a runs directory, readable by people and other tools.
 *
 *   <runs>/<id>/config.json      everything needed to re-run it (written once, atomically)
 *   <runs>/<id>/status.json      running | completed | cancelled | failed (+ reason), pid, times (atomic)
 *   <runs>/<id>/summary.json     what the run index shows: task, method, budgets, metrics, status (atomic)
 *   <runs>/<id>/events.jsonl     append-only event log (phase, step, loss, lr, metric, elapsed, ETA)
 *   <runs>/<id>/results.json     final results; written last, atomically, before status "completed"
 *   <runs>/<id>/…                mask/, fisher-stats.json, predictions-dev.jsonl, delta.safetensors
 *
 * Crash safety: every file except the event log is replaced atomically, so a killed process never leaves
 * a half-written file that reads as complete; the log's last line may be cut, and readers skip it. A run
 * whose status says "running" but whose process is gone is reported as failed ("interrupted"), with the
 * step of its last checkpoint when it has one (`ird-studio resume` continues from there; jobs/checkpoint.ts).
 * The index scans run folders and reads each small summary.json: no shared index file to corrupt, and
 * hundreds of runs list in milliseconds.
 * Must not: run anything, or write outside its runs directory (run ids are checked).
 */
import { appendFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { basename, join, resolve } from 'node:path'
import { writeFileAtomic, writeJsonAtomic } from '../io/atomic'
import { confinePath, ConfinementError } from '../io/confine'
import { ensureDir, fsWriteError, isFsError } from '../io/writable'
import { inspectCheckpoints } from '../jobs/checkpoint'

/** A status as status.json records it. */
export type WrittenStatus = 'running' | 'completed' | 'cancelled' | 'failed'
/** What the run index shows: a written status, or "damaged" when the run's own files cannot be read. */
export type RunStatus = WrittenStatus | 'damaged'

export interface StatusFile {
  status: WrittenStatus
  reason?: string
  pid: number
  startedAt: string
  updatedAt: string
  endedAt?: string
  /** How often the run was resumed, and when last. */
  resumes?: number
  resumedAt?: string
  /** The host whose process `pid` is (a runs folder shared between machines: a pid means nothing elsewhere). */
  host?: string
  /** The Slurm job (array job_task) that wrote this status, when it ran under Slurm. */
  slurmJob?: string
}

/** The Slurm job of this process ("<array job>_<task>" for an array task), or undefined outside Slurm. */
export function currentSlurmJob(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.SLURM_ARRAY_JOB_ID && env.SLURM_ARRAY_TASK_ID) return `${env.SLURM_ARRAY_JOB_ID}_${env.SLURM_ARRAY_TASK_ID}`
  return env.SLURM_JOB_ID || undefined
}

/** Who writes a status now: this host and, under Slurm, the job. */
function owner(): Pick<StatusFile, 'host' | 'slurmJob'> {
  const slurmJob = currentSlurmJob()
  return { host: hostname(), ...(slurmJob ? { slurmJob } : {}) }
}

/**
 * A "running" status whose process is gone. Only a process on this host can be checked: a run written by
 * another machine sharing the runs folder counts as running (its own host, or Slurm, knows better).
 */
function processGone(st: StatusFile): boolean {
  if (st.host && st.host !== hostname()) return false
  return !pidAlive(st.pid)
}

/** What the run index shows for each run. */
export interface RunSummary {
  id: string
  name?: string
  task: string
  method: string
  status: RunStatus
  reason?: string
  model: string
  keepRatio?: number
  k?: number
  trainable?: number
  nSamples?: number
  seed: number
  backend?: string
  startedAt: string
  endedAt?: string
  elapsedMs?: number
  /** Final dev metrics (task metric names → value) and the task's main score. */
  metrics?: Record<string, number>
  main?: number
  bestEpoch?: number
  /** Things the user should know about the result (e.g. dev predictions that are a constant). */
  warnings?: string[]
}

export interface RunEvent {
  time: string
  elapsedMs: number
  phase: string
  [key: string]: unknown
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

export class RunStoreError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'RunStoreError'
  }
}

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 24) || 'run'
}

/**
 * Read a run's JSON file: the value, or why it cannot be used (missing, empty, truncated or not JSON, not
 * an object), as the listing says it.
 */
function readRunJson(path: string): { value: Record<string, unknown> } | { missing: true } | { fault: string } {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return { missing: true }
    return { fault: `${basename(path)} cannot be read (${code ?? (e as Error).message})` }
  }
  if (text.length === 0) return { fault: `${basename(path)} is empty (0 bytes)` }
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch (e) {
    return { fault: `${basename(path)} is not valid JSON (${Buffer.byteLength(text)} bytes; truncated or overwritten: ${(e as Error).message})` }
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return { fault: `${basename(path)} holds ${Array.isArray(v) ? 'an array' : JSON.stringify(v)?.slice(0, 40)}, not a JSON object` }
  return { value: v as Record<string, unknown> }
}

const STATUSES: readonly string[] = ['running', 'completed', 'cancelled', 'failed']

/**
 * One run folder as the index shows it. A folder that holds a run's files but whose summary.json or
 * status.json cannot be read is listed as "damaged" with the reason (never dropped); a folder with none
 * of a run's files (or a temp folder of an atomic write) is not a run: null.
 */
function listEntry(store: RunStore, name: string): RunSummary | null {
  if (name.includes('.tmp-')) return null
  let dir: string
  const damaged = (reason: string, s?: Record<string, unknown>): RunSummary => {
    const str = (k: string) => (s && typeof s[k] === 'string' ? (s[k] as string) : undefined)
    let startedAt = str('startedAt')
    if (!startedAt) {
      try {
        startedAt = lstatSync(join(store.root, name)).mtime.toISOString()
      } catch {
        startedAt = new Date(0).toISOString()
      }
    }
    return {
      id: name,
      ...(str('name') ? { name: str('name') } : {}),
      task: str('task') ?? 'unknown',
      method: str('method') ?? 'unknown',
      model: str('model') ?? 'unknown',
      seed: s && typeof s.seed === 'number' ? s.seed : -1,
      startedAt,
      status: 'damaged',
      reason: `${reason}; the run's other files are untouched`
    }
  }
  try {
    dir = store.dir(name)
  } catch (e) {
    return damaged((e as Error).message)
  }
  let st
  try {
    st = statSync(dir)
  } catch {
    return null
  }
  if (!st.isDirectory()) return null
  for (const f of ['summary.json', 'status.json']) {
    try {
      confinePath(dir, join(dir, f), { what: `run ${name}'s folder` })
    } catch (e) {
      return damaged((e as Error).message)
    }
  }
  // Looked at before the summary is read: a new run's files arrive together in one rename (RunStore.create),
  // so once config.json or status.json is seen, a missing summary is damage, not a run being started.
  const hasRunFiles = existsSync(join(dir, 'config.json')) || existsSync(join(dir, 'status.json'))
  const summary = readRunJson(join(dir, 'summary.json'))
  if ('missing' in summary) {
    // a run's folder without its summary: damaged; any other folder (a run's claimed, still empty folder) is not a run
    if (hasRunFiles) return damaged('summary.json is missing (deleted, or the run never finished starting)')
    return null
  }
  if ('fault' in summary) return damaged(summary.fault)
  const s = summary.value
  const lacks = ['task', 'method', 'startedAt'].filter((k) => typeof s[k] !== 'string')
  if (lacks.length) return damaged(`summary.json lacks ${lacks.map((k) => `"${k}"`).join(', ')}`, s)
  const out = { ...(s as unknown as RunSummary), id: name }
  const status = readRunJson(join(dir, 'status.json'))
  if ('fault' in status) return damaged(status.fault, s)
  if ('value' in status) {
    const sv = status.value as unknown as StatusFile
    if (!STATUSES.includes(sv.status)) return damaged(`status.json says ${JSON.stringify(sv.status)?.slice(0, 40)}, not one of ${STATUSES.join(', ')}`, s)
    out.status = sv.status
    out.reason = sv.reason
    if (sv.status === 'running' && processGone(sv)) {
      out.status = 'failed'
      out.reason = interruptedReason(dir, sv.pid)
    } else if (sv.status === 'cancelled' || sv.status === 'failed') {
      // a stopped run resumes from its checkpoint: damage there is said here too
      const { damaged } = inspectCheckpoints(dir, { verify: false })
      if (damaged.length) out.reason = `${sv.reason ?? sv.status}; damaged checkpoint: ${damaged.map((d) => d.message).join('; ')}`
    }
  }
  return out
}

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T
  } catch {
    return undefined
  }
}

/** confinePath with the store's error type. */
function confined(root: string, p: string, what: string): string {
  try {
    return confinePath(root, p, { what })
  } catch (e) {
    if (e instanceof ConfinementError) throw new RunStoreError(e.message)
    throw e
  }
}

function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export class RunStore {
  readonly root: string

  constructor(root: string) {
    this.root = resolve(root)
  }

  /**
   * A run folder path; refuses ids that could escape the runs directory, and a run folder that is a
   * symbolic link leading outside it (the runs directory itself may be a link).
   */
  dir(id: string): string {
    if (!ID_RE.test(id) || id.includes('..')) throw new RunStoreError(`invalid run id "${id}": use letters, digits, '.', '_' and '-'`)
    return confined(this.root, join(this.root, id), 'the runs folder')
  }

  /**
   * Create a new run folder with its config; status "running". All or nothing: when a file cannot be
   * written (a full disk, a read-only folder), the half-made folder is removed and a FsWriteError names
   * the cause, so no run is left behind that says "running" with only a config.json.
   */
  create(opts: { task: string; method: string; config: Record<string, unknown>; summary: Omit<RunSummary, 'id' | 'status' | 'startedAt'>; name?: string }): Run {
    ensureDir(this.root)
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-')
    // A random suffix keeps ids of runs started in the same second apart; mkdir (not recursive) fails on
    // an existing folder, so a collision takes a new suffix instead of sharing a folder.
    let id = ''
    let dir = ''
    for (let attempt = 0; ; attempt++) {
      id = `${stamp}-${slug(opts.task)}-${slug(opts.method)}-${randomBytes(3).toString('hex')}`
      dir = this.dir(id)
      try {
        mkdirSync(dir)
        break
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 20) throw isFsError(e) ? fsWriteError(e, dir, 'create the run folder') : e
      }
    }
    // The run's first files are written in a staging folder (a .tmp- name the index skips) and moved over
    // the empty folder claimed above in one rename: a listing by another process (a Slurm array task on a
    // shared runs folder) sees nothing or a whole running run, never a config.json without its summary.
    const staging = `${dir}.tmp-${randomBytes(4).toString('hex')}`
    const run = new Run(id, dir)
    try {
      mkdirSync(staging)
      const first = new Run(id, staging)
      writeJsonAtomic(join(staging, 'config.json'), opts.config)
      const now = new Date().toISOString()
      first.summary = run.summary = { ...opts.summary, id, name: opts.name, status: 'running', startedAt: now }
      first.writeStatus({ status: 'running', pid: process.pid, startedAt: now, updatedAt: now, ...owner() })
      first.writeSummary()
      try {
        renameSync(staging, dir) // POSIX: replaces the empty claimed folder atomically
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code
        if (code !== 'EPERM' && code !== 'EEXIST' && code !== 'ENOTEMPTY' && code !== 'EACCES') throw e
        rmdirSync(dir) // Windows will not rename onto a folder: give up the claim, then move in
        renameSync(staging, dir)
      }
    } catch (e) {
      rmSync(staging, { recursive: true, force: true })
      rmSync(dir, { recursive: true, force: true })
      if (isFsError(e)) throw fsWriteError(e, dir, 'start the run in')
      throw e
    }
    return run
  }

  /**
   * Every run, newest first; a run whose process died while "running" is reported as failed, and a run
   * whose summary.json or status.json is missing, truncated or not JSON as "damaged" with the reason.
   */
  list(): RunSummary[] {
    if (!existsSync(this.root)) return []
    const out: RunSummary[] = []
    for (const name of readdirSync(this.root)) {
      if (!ID_RE.test(name)) continue
      const entry = listEntry(this, name)
      if (entry) out.push(entry)
    }
    return out.sort((a, b) => (a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : a.id < b.id ? 1 : -1))
  }

  /** Find runs by id or unique id prefix. */
  resolve(idOrPrefix: string): string {
    const dir = this.dir(idOrPrefix)
    if (existsSync(join(dir, 'summary.json'))) return idOrPrefix
    const matches = existsSync(this.root) ? readdirSync(this.root).filter((n) => n.startsWith(idOrPrefix) && ID_RE.test(n)) : []
    if (matches.length === 1) return matches[0]
    if (matches.length === 0) throw new RunStoreError(`no run "${idOrPrefix}" in ${this.root} (see \`ird-studio list --runs ${this.root}\`)`)
    throw new RunStoreError(`run id prefix "${idOrPrefix}" is ambiguous: ${matches.slice(0, 5).join(', ')}${matches.length > 5 ? ', …' : ''}`)
  }

  open(idOrPrefix: string): Run {
    const id = this.resolve(idOrPrefix)
    const run = new Run(id, this.dir(id))
    const read = readRunJson(join(run.dir, 'summary.json'))
    if (!('value' in read)) throw new RunStoreError(`run ${id} is damaged: ${'fault' in read ? read.fault : 'summary.json is missing'} (in ${run.dir})`)
    const summary = read.value as unknown as RunSummary
    run.summary = summary
    const status = readJson<StatusFile>(join(run.dir, 'status.json'))
    if (status) {
      run.summary.status = status.status
      run.summary.reason = status.reason
      if (status.status === 'running' && processGone(status)) {
        run.summary.status = 'failed'
        run.summary.reason = interruptedReason(run.dir, status.pid)
      }
    }
    return run
  }

  /** The current status file of a run, as written (null when missing or unreadable). */
  status(idOrPrefix: string): StatusFile | null {
    return readJson<StatusFile>(join(this.dir(this.resolve(idOrPrefix)), 'status.json')) ?? null
  }

  /**
   * For a host whose engine process died (crash, out of memory, kill): mark the runs that process had
   * "running" as failed with `reason` (or reason(id)). Runs of other processes are not touched. Returns
   * their ids.
   */
  failRunsOf(pid: number, reason: string | ((id: string) => string)): string[] {
    if (!existsSync(this.root)) return []
    const failed: string[] = []
    for (const name of readdirSync(this.root)) {
      if (!ID_RE.test(name)) continue
      const dir = join(this.root, name)
      const st = readJson<StatusFile>(join(dir, 'status.json'))
      const summary = readJson<RunSummary>(join(dir, 'summary.json'))
      if (!st || !summary || st.status !== 'running' || st.pid !== pid) continue
      const now = new Date().toISOString()
      const why = typeof reason === 'string' ? reason : reason(name)
      const run = new Run(name, dir)
      run.summary = { ...summary, status: 'failed', reason: why, endedAt: now }
      run.writeSummary()
      run.writeStatus({ ...st, status: 'failed', reason: why, updatedAt: now, endedAt: now })
      failed.push(name)
    }
    return failed
  }

  /**
   * Mark a stopped run as running again in this process (resume). Refuses a completed run and a run whose
   * process is still alive.
   */
  reopen(idOrPrefix: string): Run {
    const run = this.open(idOrPrefix)
    const prev = readJson<StatusFile>(join(run.dir, 'status.json'))
    if (prev?.status === 'completed') throw new RunStoreError(`run ${run.id} is already completed: nothing to resume`)
    if (prev?.status === 'running' && !(prev.pid === process.pid && (!prev.host || prev.host === hostname()))) {
      const me = currentSlurmJob()
      // a requeued Slurm task is the same job (same array job and task id): its earlier process is gone
      const requeued = me !== undefined && prev.slurmJob === me
      if (!requeued && prev.host && prev.host !== hostname()) {
        throw new RunStoreError(`run ${run.id} is marked running on host ${prev.host} (pid ${prev.pid}${prev.slurmJob ? `, Slurm job ${prev.slurmJob}` : ''}): this machine cannot tell whether it still runs; stop it there${prev.slurmJob ? ' (scancel)' : ''}, or resume it on ${prev.host}`)
      }
      if (!requeued && pidAlive(prev.pid)) throw new RunStoreError(`run ${run.id} is still running (pid ${prev.pid}); stop it before resuming`)
    }
    const now = new Date().toISOString()
    const resumes = (prev?.resumes ?? 0) + 1
    Object.assign(run.summary, { status: 'running', reason: undefined, endedAt: undefined, elapsedMs: undefined })
    run.writeSummary()
    run.writeStatus({ status: 'running', pid: process.pid, startedAt: prev?.startedAt ?? run.summary.startedAt, updatedAt: now, resumes, resumedAt: now, ...owner() })
    return run
  }
}

/** Why a run whose process vanished stopped, and whether it can continue (checkpoints checked cheaply: sizes and manifests). */
function interruptedReason(dir: string, pid: number): string {
  const { usable, damaged } = inspectCheckpoints(dir, { verify: false })
  const ck = usable[0]?.info
  const hurt = damaged.length ? `; damaged checkpoint: ${damaged.map((d) => d.message).join('; ')}` : ''
  const tail = ck
    ? `${hurt}; \`ird-studio resume ${basename(dir)}\` continues from its checkpoint at step ${ck.step}${ck.totalSteps ? ` of ${ck.totalSteps}` : ''}`
    : damaged.length
      ? `${hurt}; no good checkpoint is left: \`ird-studio resume ${basename(dir)} --restart\` starts training over`
      : `; \`ird-studio resume ${basename(dir)}\` starts it again${existsSync(join(dir, 'mask', 'mask.json')) ? ' from its saved mask' : ''}`
  return `interrupted: the process (pid ${pid}) ended without finishing the run (killed, crashed or out of memory)${tail}`
}

export class Run {
  summary!: RunSummary
  private readonly started = Date.now()

  constructor(
    readonly id: string,
    readonly dir: string
  ) {}

  /** A file of the run; refuses names and links that lead outside the run folder. */
  path(file: string): string {
    if (file.includes('..') || file.startsWith('/') || file.includes('\\')) throw new RunStoreError(`invalid file name "${file}" inside a run folder`)
    return confined(this.dir, join(this.dir, file), `run ${this.id}'s folder`)
  }

  writeStatus(s: StatusFile): void {
    writeJsonAtomic(this.path('status.json'), s)
  }

  writeSummary(): void {
    writeJsonAtomic(this.path('summary.json'), this.summary)
  }

  /** Append one event to events.jsonl (one write call per line). */
  event(phase: string, fields: Record<string, unknown> = {}): RunEvent {
    const e: RunEvent = { time: new Date().toISOString(), elapsedMs: Date.now() - this.started, phase, ...fields }
    // appending follows links: the path is confined first
    appendFileSync(this.path('events.jsonl'), JSON.stringify(e) + '\n')
    return e
  }

  writeJson(file: string, value: unknown): void {
    writeJsonAtomic(this.path(file), value)
  }

  writeText(file: string, text: string): void {
    writeFileAtomic(this.path(file), text)
  }

  readJson<T>(file: string): T | undefined {
    return readJson<T>(this.path(file))
  }

  /** Events in order; a cut last line (the process died mid-append) is skipped. */
  events(): RunEvent[] {
    const p = this.path('events.jsonl')
    if (!existsSync(p)) return []
    const out: RunEvent[] = []
    for (const line of readFileSync(p, 'utf8').split('\n')) {
      if (!line) continue
      try {
        out.push(JSON.parse(line) as RunEvent)
      } catch {
        /* a partial trailing line */
      }
    }
    return out
  }

  /** Mark the run finished. Results must already be on disk for "completed". */
  finish(status: Exclude<WrittenStatus, 'running'>, fields: Partial<RunSummary> = {}, reason?: string): void {
    if (status === 'completed' && !existsSync(join(this.dir, 'results.json'))) {
      throw new RunStoreError(`run ${this.id}: refusing to mark completed without results.json`)
    }
    const now = new Date().toISOString()
    const prev = readJson<StatusFile>(join(this.dir, 'status.json'))
    Object.assign(this.summary, fields, { status, reason, endedAt: now, elapsedMs: Date.now() - this.started })
    this.writeSummary()
    this.writeStatus({ status, reason, pid: process.pid, startedAt: prev?.startedAt ?? this.summary.startedAt, updatedAt: now, endedAt: now, resumes: prev?.resumes, resumedAt: prev?.resumedAt, ...owner() })
  }

  sizeBytes(): number {
    let n = 0
    for (const f of readdirSync(this.dir)) n += statSync(join(this.dir, f)).size
    return n
  }
}

/**
 * A study grid on Slurm: one `sbatch --array` job with one cell per array task (each task runs the same
 * CLI on its cell: `ird-studio study --config C --cell KEY`), and a report job that depends on the array
 * (`--dependency=afterany:<id>`). Slurm does the placement, queueing and accounting; this module writes
 * the batch scripts, estimates per-task resources from the engine's own estimates, records each
 * submission, and joins Slurm's view (squeue; scontrol for recently ended jobs; sacct when accounting is
 * on) with the runs folder for `study --status`.
 *
 * Files, under <outDir>/slurm/<submission id>/: array.sh, report.sh, submission.json (what was submitted:
 * cells by array index, job ids, resources, the sbatch lines), logs/<array job>_<task>.out.
 *
 * Preemption: with requeue, tasks get `#SBATCH --requeue` and `#SBATCH --signal=B:USR1@<s>`. The batch
 * shell runs the CLI in the background and forwards SIGTERM (scancel, preemption) and SIGHUP to it: the
 * cell checkpoints and exits 143, its run "cancelled". USR1 (the time limit is <s> seconds away) is
 * forwarded as SIGTERM too, and then the task requeues itself (`scontrol requeue`), because Slurm does not
 * requeue a task that hits its time limit. A restarted task (SLURM_RESTART_COUNT > 0, or any later task of
 * the cell) finds the cell's cancelled or interrupted run and resumes it from its checkpoint, bit for bit.
 * Must not: decide what a cell computes (run.ts), or run cells itself.
 */
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, isAbsolute } from 'node:path'
import { writeFileAtomic, writeJsonAtomic } from '../io/atomic'
import { estimateMemory } from '../jobs/memory'
import type { RunJobConfig } from '../jobs/run-job'
import { countParameters, type BertConfig } from '../model/config'
import type { RunStore, RunSummary } from '../runs/store'
import type { StudyCell, StudyConfig, StudySlurmConfig } from './config'
import { readState, settingsHash, type StudyState } from './run'

export class SlurmError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SlurmError'
  }
}

/** Options of one submission: the config's "slurm" section with the command line's flags over it. */
export interface SlurmOptions extends StudySlurmConfig {
  /** Backend the nodes use (passed to the cell command). */
  backend: string
  /** Seconds before the time limit at which a task is told to checkpoint (with requeue). Default 120. */
  signalSeconds?: number
}

export interface CellResources {
  cpus: number
  memMb: number
  timeMinutes: number
  /** How the numbers were found (shown in --dry-run and recorded). */
  basis: string
}

/**
 * Per-task resources for cells: the engine's memory estimate (jobs/memory.ts) for the heaviest cell × 1.5
 * + 768 MiB for Node.js, TensorFlow.js and data; time from a floating-point count of the Fisher passes,
 * training and evaluation at a conservative 1 GFLOP/s per core (the wasm backend measures 10-20 on this
 * project's machines), × 2, at least 10 minutes. `over` values win.
 */
export function estimateResources(cells: Array<{ job: RunJobConfig; trainRows: number; devRows: number }>, model: BertConfig, over: Pick<StudySlurmConfig, 'cpus' | 'memMb' | 'timeMinutes'>): CellResources {
  const cpus = over.cpus ?? Math.max(1, Math.min(4, cells[0]?.job.workers || 2))
  let mem = 0
  let seconds = 0
  const P = countParameters(model)
  const embed = (model.vocab_size + model.max_position_embeddings + model.type_vocab_size) * model.hidden_size
  for (const { job, trainRows, devRows } of cells) {
    const est = estimateMemory({ config: model, method: job.method, keepRatio: job.keepRatio, batchSize: job.batchSize, maxLength: job.maxLength, fisherBatchSize: job.fisher.batchSize, workers: Math.max(job.workers, cpus), backend: job.backend }, null)
    mem = Math.max(mem, est.peakBytes)
    const rows = job.maxTrainExamples !== null ? Math.min(trainRows, job.maxTrainExamples) : trainRows
    const fwdBwd = 6 * (P - embed) * job.maxLength + 4 * model.num_hidden_layers * job.maxLength * job.maxLength * model.hidden_size * 3
    const n = Math.min(job.nSamples, rows)
    const fisherSamples = job.method === 'fish' ? n : job.method === 'ird' ? 4 * Math.min(rows, Math.ceil(job.ird.poolFactor * n)) : 0
    const flops = fwdBwd * (fisherSamples + job.epochs * rows) + (fwdBwd / 3) * job.epochs * devRows
    seconds = Math.max(seconds, flops / (1e9 * cpus))
  }
  const memMb = over.memMb ?? Math.ceil((mem * 1.5) / 2 ** 20 + 768)
  const timeMinutes = over.timeMinutes ?? Math.max(10, Math.ceil((2 * seconds + 120) / 60))
  const basis = [
    over.cpus !== undefined ? `cpus ${cpus} (given)` : `cpus ${cpus} (the cells' worker threads, at most 4)`,
    over.memMb !== undefined ? `memory ${memMb} MB (given)` : `memory ${memMb} MB = 1.5 × the engine's peak estimate ${(mem / 2 ** 20).toFixed(0)} MiB + 768 MiB for Node.js/TensorFlow.js`,
    over.timeMinutes !== undefined ? `time ${timeMinutes} min (given)` : `time ${timeMinutes} min = 2 × ${Math.ceil(seconds)} s (Fisher + training + dev evaluation at 1 GFLOP/s per core) + 2 min start-up, at least 10 min`
  ].join('; ')
  return { cpus, memMb, timeMinutes, basis }
}

/** Minutes as Slurm's D-HH:MM:SS. */
export function slurmTime(minutes: number): string {
  const d = Math.floor(minutes / 1440)
  const h = Math.floor((minutes % 1440) / 60)
  const m = minutes % 60
  const two = (x: number) => String(x).padStart(2, '0')
  return `${d ? `${d}-` : ''}${two(h)}:${two(m)}:00`
}

/** A word for a POSIX shell, single-quoted. */
export function shq(s: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`
}

export interface SubmissionCell {
  index: number
  key: string
  settingsHash: string
}

export interface Submission {
  version: 1
  id: string
  study: string
  createdAt: string
  dryRun: boolean
  /** This submission's folder, here and as the nodes see it. */
  dir: string
  nodeDir: string
  cells: SubmissionCell[]
  resources: CellResources
  options: SlurmOptions
  arrayScript: string
  reportScript: string
  sbatch: { array: string[]; report: string[] }
  arrayJobId?: string
  reportJobId?: string
  submittedAt?: string
}

export function slurmDir(cfg: Pick<StudyConfig, 'outDir'>): string {
  return join(cfg.outDir, 'slurm')
}

/** Every submission of the study, oldest first (dry runs included). */
export function readSubmissions(cfg: Pick<StudyConfig, 'outDir'>): Submission[] {
  const dir = slurmDir(cfg)
  if (!existsSync(dir)) return []
  const out: Submission[] = []
  for (const name of readdirSync(dir).sort()) {
    const f = join(dir, name, 'submission.json')
    if (!existsSync(f)) continue
    try {
      out.push(JSON.parse(readFileSync(f, 'utf8')) as Submission)
    } catch {
      // a submission being written (atomically, so only a foreign file): skip it
    }
  }
  return out
}

export interface ScriptInput {
  cfg: StudyConfig
  configFile: string
  cells: SubmissionCell[]
  resources: CellResources
  options: SlurmOptions
  /** The CLI as the nodes start it (words). */
  nodeCommand: string[]
  /** The node's view of the submission folder. */
  nodeDir: string
  /** Array throttle etc. are on the sbatch line; the report file as the nodes see it. */
  nodeReport: string
}

function commonHeader(o: SlurmOptions): string[] {
  const L: string[] = []
  if (o.partition) L.push(`#SBATCH --partition=${o.partition}`)
  if (o.account) L.push(`#SBATCH --account=${o.account}`)
  if (o.qos) L.push(`#SBATCH --qos=${o.qos}`)
  return L
}

function nodeFlags(o: SlurmOptions, configFile: string): string[] {
  return [
    '--config', o.nodeConfig ?? configFile,
    ...(o.nodeOutDir ? ['--node-out-dir', o.nodeOutDir] : []),
    ...(o.nodeModel ? ['--node-model', o.nodeModel] : []),
    ...(o.nodeGlueDir ? ['--node-glue-dir', o.nodeGlueDir] : [])
  ]
}

const FORWARD = `
# run the cell in the background so that this shell can forward signals to it: SIGTERM (scancel,
# preemption) and SIGHUP stop it at the next batch with a checkpoint; USR1 (sent --signal seconds before
# the time limit) does the same and then requeues this task, which resumes from that checkpoint
"\${CMD[@]}" &
CHILD=$!
REQUEUE_SELF=0
trap 'kill -TERM "$CHILD" 2>/dev/null' TERM HUP
trap 'echo "ird-studio: time limit near: checkpointing, then requeueing this task" >&2; REQUEUE_SELF=1; kill -TERM "$CHILD" 2>/dev/null' USR1
RC=0
while :; do
  wait "$CHILD"; RC=$?
  kill -0 "$CHILD" 2>/dev/null || break   # wait returns early when a trapped signal arrives
done
if [ "$REQUEUE_SELF" = 1 ]; then
  scontrol requeue "\${SLURM_ARRAY_JOB_ID}_\${SLURM_ARRAY_TASK_ID}" || echo "ird-studio: scontrol requeue failed; resubmit the study to continue" >&2
fi
exit "$RC"
`

/** The array job's batch script: one cell per array index. */
export function arrayScript(x: ScriptInput): string {
  const o = x.options
  const r = x.resources
  const L = [
    '#!/bin/bash',
    `# ird-studio study "${x.cfg.name}": ${x.cells.length} cell${x.cells.length === 1 ? '' : 's'}, one per array task (written by \`ird-studio study --slurm\`)`,
    `#SBATCH --job-name=ird-${x.cfg.name}`,
    `#SBATCH --cpus-per-task=${r.cpus}`,
    `#SBATCH --mem=${r.memMb}M`,
    `#SBATCH --time=${slurmTime(r.timeMinutes)}`,
    `#SBATCH --output=${x.nodeDir}/logs/%A_%a.out`,
    '#SBATCH --open-mode=append',
    ...commonHeader(o),
    ...(o.requeue ? ['#SBATCH --requeue', `#SBATCH --signal=B:USR1@${o.signalSeconds ?? 120}`] : ['#SBATCH --no-requeue']),
    ...(o.sbatch ?? []).map((l) => (l.startsWith('#SBATCH') ? l : `#SBATCH ${l}`)),
    '',
    'set -u',
    ...(o.preamble?.length ? ['# preamble (study config / --preamble)', ...o.preamble] : []),
    '',
    'case "${SLURM_ARRAY_TASK_ID:-}" in',
    ...x.cells.map((c) => `  ${c.index}) CELL=${shq(c.key)} ;;`),
    '  *) echo "ird-studio: array task ${SLURM_ARRAY_TASK_ID:-?} has no cell in this submission" >&2; exit 2 ;;',
    'esac',
    `echo "ird-studio: cell $CELL (array task \${SLURM_ARRAY_JOB_ID:-?}_\${SLURM_ARRAY_TASK_ID}, restart \${SLURM_RESTART_COUNT:-0}) on $(hostname)" >&2`,
    `CMD=(${[...x.nodeCommand, 'study', ...nodeFlags(o, x.configFile), '--cell', '__CELL__', '--backend', o.backend].map((w) => (w === '__CELL__' ? '"$CELL"' : shq(w))).join(' ')})`,
    FORWARD
  ]
  return L.join('\n')
}

/** The report job: rebuilds the report once the array has ended, whatever its tasks' outcome. */
export function reportScript(x: ScriptInput, submissionNodeFile: string): string {
  const o = x.options
  return [
    '#!/bin/bash',
    `# ird-studio study "${x.cfg.name}": the report, after the array (written by \`ird-studio study --slurm\`)`,
    `#SBATCH --job-name=ird-${x.cfg.name}-report`,
    '#SBATCH --cpus-per-task=1',
    '#SBATCH --mem=1024M',
    '#SBATCH --time=00:30:00',
    `#SBATCH --output=${x.nodeDir}/logs/report_%j.out`,
    ...commonHeader(o),
    ...(o.sbatch ?? []).map((l) => (l.startsWith('#SBATCH') ? l : `#SBATCH ${l}`)),
    '',
    'set -u',
    ...(o.preamble?.length ? ['# preamble (study config / --preamble)', ...o.preamble] : []),
    `exec ${[...x.nodeCommand, 'study', ...nodeFlags(o, x.configFile), '--report-only', '--report', x.nodeReport, '--finalize', submissionNodeFile].map(shq).join(' ')}`,
    ''
  ].join('\n')
}

/** Map a path under outDir to the nodes' view (nodeOutDir), or keep it. */
export function nodePath(cfg: Pick<StudyConfig, 'outDir'>, o: Pick<StudySlurmConfig, 'nodeOutDir'>, p: string): string {
  if (!o.nodeOutDir) return p
  const rel = relative(cfg.outDir, p)
  if (rel.startsWith('..') || isAbsolute(rel)) return p
  return join(o.nodeOutDir, rel)
}

/** A new submission folder with its scripts and record (not yet submitted). */
export function prepareSubmission(x: Omit<ScriptInput, 'nodeDir' | 'nodeReport'> & { report: string; dryRun: boolean }): Submission {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-')
  const id = `${stamp}-${randomBytes(3).toString('hex')}`
  const dir = join(slurmDir(x.cfg), id)
  mkdirSync(join(dir, 'logs'), { recursive: true })
  const nodeDir = nodePath(x.cfg, x.options, dir)
  const input: ScriptInput = { ...x, nodeDir, nodeReport: nodePath(x.cfg, x.options, x.report) }
  const arrayFile = join(dir, 'array.sh')
  const reportFile = join(dir, 'report.sh')
  writeFileAtomic(arrayFile, arrayScript(input))
  writeFileAtomic(reportFile, reportScript(input, join(nodeDir, 'submission.json')))
  const indices = x.cells.map((c) => c.index)
  const arraySpec = `${compactRanges(indices)}${x.options.throttle ? `%${x.options.throttle}` : ''}`
  const sub: Submission = {
    version: 1,
    id,
    study: x.cfg.name,
    createdAt: new Date().toISOString(),
    dryRun: x.dryRun,
    dir,
    nodeDir,
    cells: x.cells,
    resources: x.resources,
    options: x.options,
    arrayScript: arrayFile,
    reportScript: reportFile,
    sbatch: { array: ['sbatch', '--parsable', `--array=${arraySpec}`, arrayFile], report: ['sbatch', '--parsable', '--dependency=afterany:<array job id>', reportFile] }
  }
  writeJsonAtomic(join(dir, 'submission.json'), sub)
  return sub
}

/** 0,1,2,5,7,8 → "0-2,5,7-8". */
export function compactRanges(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b)
  const out: string[] = []
  for (let i = 0; i < s.length; ) {
    let j = i
    while (j + 1 < s.length && s[j + 1] === s[j] + 1) j++
    out.push(i === j ? `${s[i]}` : `${s[i]}-${s[j]}`)
    i = j + 1
  }
  return out.join(',')
}

/** Where a Slurm command is, or a SlurmError that says nothing was submitted. */
export function findSlurmCommand(name: string, env: NodeJS.ProcessEnv = process.env): string {
  for (const dir of (env.PATH ?? '').split(':')) {
    if (!dir) continue
    const p = join(dir, name)
    try {
      if (statSync(p).isFile()) return p
    } catch {
      // not here
    }
  }
  throw new SlurmError(`${name} is not on PATH (${env.PATH ?? 'PATH is empty'}): run this on a machine with the Slurm client commands (sbatch, squeue, scontrol), e.g. the cluster's login node, or \`module load slurm\` first. Nothing was submitted`)
}

function run(cmd: string, args: string[]): { ok: boolean; out: string; err: string } {
  try {
    const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 })
    return { ok: true, out, err: '' }
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string; message: string }
    return { ok: false, out: x.stdout ?? '', err: (x.stderr || x.message).trim() }
  }
}

/**
 * Submit a prepared submission: `sbatch --test-only` first (a bad partition, account, QoS or resource
 * request is refused with Slurm's words and nothing submitted), then the array, then the report job that
 * depends on it; if the report job cannot be submitted, the array is cancelled again.
 */
export function submit(sub: Submission): Submission {
  const sbatch = findSlurmCommand('sbatch')
  const arrayArgs = sub.sbatch.array.slice(1)
  const test = run(sbatch, ['--test-only', ...arrayArgs.filter((a) => a !== '--parsable')])
  if (!test.ok) throw new SlurmError(`sbatch refused the array job: ${test.err.replace(/^sbatch: error: /gm, '')}. Nothing was submitted (the scripts are in ${sub.dir})`)
  const a = run(sbatch, arrayArgs)
  if (!a.ok) throw new SlurmError(`sbatch refused the array job: ${a.err}. Nothing was submitted`)
  const arrayJobId = a.out.trim().split(';')[0]
  if (!/^\d+$/.test(arrayJobId)) throw new SlurmError(`sbatch answered "${a.out.trim()}", not a job id`)
  const reportArgs = ['--parsable', `--dependency=afterany:${arrayJobId}`, sub.reportScript]
  const r = run(sbatch, reportArgs)
  if (!r.ok) {
    const scancel = (() => {
      try {
        return findSlurmCommand('scancel')
      } catch {
        return null
      }
    })()
    if (scancel) run(scancel, [arrayJobId])
    throw new SlurmError(`sbatch refused the report job: ${r.err}. The array job ${arrayJobId} was cancelled again: nothing is left submitted`)
  }
  const done: Submission = { ...sub, dryRun: false, arrayJobId, reportJobId: r.out.trim().split(';')[0], submittedAt: new Date().toISOString(), sbatch: { array: sub.sbatch.array, report: ['sbatch', ...reportArgs] } }
  writeJsonAtomic(join(sub.dir, 'submission.json'), done)
  return done
}

/** What Slurm says about one job (array task) now. */
export interface SlurmJobState {
  jobId: string
  state: string
  reason?: string
  source: 'squeue' | 'scontrol' | 'sacct'
}

/**
 * Slurm's view of the given array jobs: squeue for pending and running tasks; scontrol for tasks that
 * ended less than MinJobAge ago; sacct when accounting (slurmdbd) is on. Keyed by "<array job>_<task>".
 */
export function slurmStates(arrayJobIds: string[]): { states: Map<string, SlurmJobState>; notes: string[] } {
  const states = new Map<string, SlurmJobState>()
  const notes: string[] = []
  if (!arrayJobIds.length) return { states, notes }
  let squeue: string
  try {
    squeue = findSlurmCommand('squeue')
  } catch {
    return { states, notes: ['squeue is not on PATH: the states below come from the runs folder and the submission records only'] }
  }
  const ids = arrayJobIds.join(',')
  const sacct = (() => {
    try {
      return findSlurmCommand('sacct')
    } catch {
      return null
    }
  })()
  if (sacct) {
    const a = run(sacct, ['-n', '-P', '-X', '-j', ids, '-o', 'JobID,State,Reason'])
    if (a.ok) {
      for (const line of a.out.split('\n')) {
        const [jobId, state, reason] = line.split('|')
        if (jobId && /_\d+$/.test(jobId)) states.set(jobId, { jobId, state: state.split(' ')[0], reason: reason || undefined, source: 'sacct' })
      }
    } else notes.push(`sacct is not usable here (${a.err.split('\n')[0]}): ended tasks are judged by scontrol (for about MinJobAge after they end) and the runs folder`)
  } else notes.push('sacct is not on PATH: ended tasks are judged by scontrol and the runs folder')
  const scontrol = (() => {
    try {
      return findSlurmCommand('scontrol')
    } catch {
      return null
    }
  })()
  if (scontrol) {
    for (const id of arrayJobIds) {
      const s = run(scontrol, ['show', 'job', '-o', id])
      if (!s.ok) continue
      for (const line of s.out.split('\n')) {
        const job = /ArrayJobId=(\d+) ArrayTaskId=(\d+)\b/.exec(line)
        const st = /JobState=(\S+)/.exec(line)
        if (!job || !st) continue
        const key = `${job[1]}_${job[2]}`
        if (!states.has(key)) states.set(key, { jobId: key, state: st[1], reason: /Reason=(\S+)/.exec(line)?.[1], source: 'scontrol' })
      }
    }
  }
  const q = run(squeue, ['-h', '-r', '-j', ids, '-o', '%i|%T|%r'])
  if (q.ok) {
    for (const line of q.out.split('\n')) {
      const [jobId, state, reason] = line.trim().split('|')
      if (jobId && /_\d+$/.test(jobId)) states.set(jobId, { jobId, state, reason: reason && reason !== 'None' ? reason : undefined, source: 'squeue' })
    }
  } else notes.push(`squeue failed: ${q.err.split('\n')[0]}`)
  return { states, notes }
}

export interface CellStatusRow {
  key: string
  status: 'done' | 'running' | 'queued' | 'failed' | 'cancelled' | 'not submitted'
  slurmJob?: string
  slurmState?: string
  runId?: string
  detail?: string
}

/**
 * Per cell: the runs folder's word (completed with the same settings = done) joined with Slurm's view of
 * the cell's latest submitted array task.
 */
export function cellStatuses(cfg: StudyConfig, cells: StudyCell[], hashes: Map<string, string>, store: RunStore, subs: Submission[], slurm: Map<string, SlurmJobState>): CellStatusRow[] {
  const state: StudyState = readState(cfg)
  const runs = new Map<string, RunSummary>(store.list().map((r) => [r.id, r]))
  const latest = new Map<string, { sub: Submission; index: number }>()
  for (const s of subs) if (!s.dryRun && s.arrayJobId) for (const c of s.cells) latest.set(c.key, { sub: s, index: c.index })
  return cells.map((cell) => {
    const o = state.cells[cell.key]
    const run = o ? runs.get(o.runId) : undefined
    const l = latest.get(cell.key)
    const slurmJob = l ? `${l.sub.arrayJobId}_${l.index}` : undefined
    const js = slurmJob ? slurm.get(slurmJob) : undefined
    const base = { key: cell.key, ...(slurmJob ? { slurmJob } : {}), ...(js ? { slurmState: js.state } : {}), ...(o?.runId ? { runId: o.runId } : {}) }
    if (o && o.status === 'completed' && o.settingsHash === hashes.get(cell.key) && run?.status === 'completed') return { ...base, status: 'done' as const, detail: run.main !== undefined ? `score ${(100 * run.main).toFixed(2)}` : undefined }
    if (js && /^(PENDING|REQUEUED|REQUEUE_HOLD|REQUEUE_FED|CONFIGURING|SUSPENDED|RESV_DEL_HOLD)$/.test(js.state)) return { ...base, status: 'queued' as const, detail: js.reason }
    if (js && /^(RUNNING|COMPLETING|STAGE_OUT|SIGNALING)$/.test(js.state)) {
      const live = [...runs.values()].filter((r) => r.name === `study:${cfg.name}:${cell.key}` && r.status === 'running').sort((a, b) => (a.startedAt < b.startedAt ? 1 : -1))[0]
      return { ...base, status: 'running' as const, ...(live ? { runId: live.id } : {}) }
    }
    if (o && o.status !== 'completed') return { ...base, status: o.status === 'cancelled' ? ('cancelled' as const) : ('failed' as const), detail: o.reason }
    if (js) return { ...base, status: js.state === 'COMPLETED' ? ('failed' as const) : js.state.startsWith('CANCELLED') ? ('cancelled' as const) : ('failed' as const), detail: js.state === 'COMPLETED' ? 'the task ended without a result in the runs folder' : `Slurm: ${js.state}${js.reason ? ` (${js.reason})` : ''}` }
    if (l) return { ...base, status: 'failed' as const, detail: 'Slurm no longer knows the task (ended longer ago than MinJobAge, no accounting) and the runs folder has no result for it' }
    return { ...base, status: 'not submitted' as const }
  })
}

/** The cells a submission should (re)submit: those without a completed run with the same settings. */
export function incompleteCells(cfg: StudyConfig, cells: StudyCell[], jobs: Map<string, RunJobConfig>, store: RunStore): StudyCell[] {
  const state = readState(cfg)
  const runs = new Map(store.list().map((r) => [r.id, r]))
  return cells.filter((c) => {
    const o = state.cells[c.key]
    return !(o && o.status === 'completed' && o.settingsHash === settingsHash(jobs.get(c.key)!) && runs.get(o.runId)?.status === 'completed')
  })
}

/** Cells of a submission still queued or running in Slurm (a resubmission must not submit them twice). */
export function activeCells(subs: Submission[], slurm: Map<string, SlurmJobState>): Map<string, string> {
  const out = new Map<string, string>()
  for (const s of subs) {
    if (s.dryRun || !s.arrayJobId) continue
    for (const c of s.cells) {
      const js = slurm.get(`${s.arrayJobId}_${c.index}`)
      if (js && !/^(COMPLETED|FAILED|CANCELLED|TIMEOUT|OUT_OF_MEMORY|NODE_FAIL|PREEMPTED|BOOT_FAIL|DEADLINE)/.test(js.state)) out.set(c.key, `${s.arrayJobId}_${c.index}`)
    }
  }
  return out
}


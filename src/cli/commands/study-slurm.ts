/**
 * The Slurm side of `ird-studio study`: `--slurm` (submit the grid as one array job + a dependent report
 * job; `--dry-run` writes the scripts and prints the sbatch lines), `--status` (per cell queued / running /
 * done / failed with the Slurm job id), and what the batch scripts run on the nodes: `--cell KEY` (one
 * cell; resumes the cell's cancelled or interrupted run from its checkpoint) and `--finalize FILE` (with
 * --report-only: cells of a submission that ended without a result are recorded as failed).
 * Must not: hold Slurm logic (src/engine/study/slurm.ts).
 */
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { resumeJob, runJob, JobInputError, type RunJobConfig } from '../../engine/jobs/run-job'
import { parseBertConfig } from '../../engine/model/config'
import { getTask } from '../../engine/data'
import { RunStore, RunStoreError } from '../../engine/runs/store'
import { checkSbatchLine, checkSlurmName, expandCells, type StudyCell, type StudyConfig } from '../../engine/study/config'
import { cellJobConfig, readState, settingsHash, writeCellOutcome, type CellOutcome } from '../../engine/study/run'
import { activeCells, cellStatuses, estimateResources, findSlurmCommand, incompleteCells, prepareSubmission, readSubmissions, slurmStates, submit, SlurmError, type SlurmOptions, type Submission } from '../../engine/study/slurm'
import type { FlagSpec, Flags } from '../args'
import { CliError } from '../common'
import { cancelExitCode, jobHooks, startBackend } from '../job-support'
import type { Progress } from '../progress'

export const SLURM_FLAGS: Record<string, FlagSpec> = {
  slurm: { type: 'bool', help: 'submit the grid to Slurm: one array job (one cell per task) and a report job after it; only cells not complete with the same settings' },
  'dry-run': { type: 'bool', help: 'with --slurm: write the batch scripts and print the sbatch lines, submit nothing' },
  status: { type: 'bool', help: 'per cell: queued / running / done / failed, with the Slurm job id (squeue/scontrol/sacct joined with the runs folder)' },
  partition: { type: 'string', help: 'Slurm partition (overrides the config\'s slurm.partition)', metavar: 'NAME' },
  account: { type: 'string', help: 'Slurm account', metavar: 'NAME' },
  qos: { type: 'string', help: 'Slurm QoS', metavar: 'NAME' },
  throttle: { type: 'int', help: 'at most N array tasks at once (--array=…%N)', min: 1 },
  sbatch: { type: 'string', help: 'extra sbatch options for every task, ";"-separated (e.g. "--gres=gpu:1; --constraint=avx2")', metavar: 'OPTS' },
  preamble: { type: 'string', help: 'shell line(s) run on the node before the cell (e.g. "module load nodejs/20")', metavar: 'SH' },
  cpus: { type: 'int', help: 'CPUs per task (default: the cells\' worker threads, at most 4)', min: 1, max: 4096 },
  mem: { type: 'int', help: 'memory per task in MB (default: 1.5 × the engine\'s estimate + 768)', min: 64 },
  time: { type: 'int', help: 'time limit per task in minutes (default: 2 × the engine\'s estimate, at least 10)', min: 1 },
  requeue: { type: 'bool', help: 'preemptible tasks: #SBATCH --requeue; a stopped task checkpoints and its restart resumes bit for bit' },
  'node-out-dir': { type: 'string', help: 'the study\'s outDir (runs, state) as the nodes see it', metavar: 'DIR' },
  'node-model': { type: 'string', help: 'the model folder as the nodes see it', metavar: 'DIR' },
  'node-glue-dir': { type: 'string', help: 'the GLUE data folder as the nodes see it', metavar: 'DIR' },
  'node-config': { type: 'string', help: 'this config file as the nodes see it (default: its path here)', metavar: 'FILE' },
  'node-command': { type: 'string', help: 'how the nodes start ird-studio (default: this Node.js and this checkout\'s bin/ird-studio.js)', metavar: 'CMD' },
  cell: { type: 'string', help: 'internal (the batch script): run one cell by key, resuming its stopped run', metavar: 'KEY' },
  finalize: { type: 'string', help: 'internal (the report job): record cells of this submission that ended without a result as failed', metavar: 'FILE' }
}

/** The config as the nodes see it: --node-model, --node-glue-dir, --node-out-dir replace its paths. */
export function applyNodePaths(cfg: StudyConfig, flags: Flags): StudyConfig {
  return {
    ...cfg,
    ...(flags['node-model'] ? { model: String(flags['node-model']) } : {}),
    ...(flags['node-glue-dir'] ? { glueDir: String(flags['node-glue-dir']) } : {}),
    ...(flags['node-out-dir'] ? { outDir: String(flags['node-out-dir']) } : {})
  }
}

function slurmOptions(cfg: StudyConfig, flags: Flags): SlurmOptions {
  const c = cfg.slurm ?? {}
  const o: SlurmOptions = { ...c, backend: String(flags.backend ?? 'auto') }
  for (const k of ['partition', 'account', 'qos'] as const) {
    if (flags[k] === undefined) continue
    const bad = checkSlurmName(`--${k}`, String(flags[k]))
    if (bad) throw new CliError(bad, 2)
    o[k] = String(flags[k])
  }
  if (flags.throttle !== undefined) o.throttle = Number(flags.throttle)
  if (flags.sbatch !== undefined) {
    const lines = String(flags.sbatch).split(';').map((l) => l.trim()).filter(Boolean)
    for (const l of lines) {
      const bad = checkSbatchLine(l)
      if (bad) throw new CliError(`--sbatch: ${bad}`, 2)
    }
    o.sbatch = [...(c.sbatch ?? []), ...lines]
  }
  if (flags.preamble !== undefined) {
    if (/[\n\r\0]/.test(String(flags.preamble))) throw new CliError('--preamble must be one line (separate commands with ";")', 2)
    o.preamble = [...(c.preamble ?? []), String(flags.preamble)]
  }
  if (flags.cpus !== undefined) o.cpus = Number(flags.cpus)
  if (flags.mem !== undefined) o.memMb = Number(flags.mem)
  if (flags.time !== undefined) o.timeMinutes = Number(flags.time)
  if (flags.requeue) o.requeue = true
  for (const [flag, key] of [['node-out-dir', 'nodeOutDir'], ['node-model', 'nodeModel'], ['node-glue-dir', 'nodeGlueDir'], ['node-config', 'nodeConfig']] as const) {
    if (flags[flag] === undefined) continue
    const p = String(flags[flag])
    if (!p.startsWith('/')) throw new CliError(`--${flag} ${p}: give an absolute path (as the nodes see it)`, 2)
    o[key] = p
  }
  if (flags['node-command'] !== undefined) o.nodeCommand = String(flags['node-command'])
  return o
}

/** This process's own CLI, as the nodes would start it from the same checkout. */
function defaultNodeCommand(): string[] {
  return [process.execPath, resolve(process.argv[1] ?? 'bin/ird-studio.js')]
}

function dataRows(file: string): number {
  // lines minus the header: an upper bound good enough for a time estimate
  const text = readFileSync(file, 'utf8')
  let n = 0
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) n++
  return Math.max(0, n - 1)
}

function cellJobs(cfg: StudyConfig, cells: StudyCell[], modelDir: string, backend: string): Map<string, RunJobConfig> {
  const jobs = new Map<string, RunJobConfig>()
  for (const c of cells) {
    try {
      jobs.set(c.key, cellJobConfig(cfg, c, modelDir, backend))
    } catch (e) {
      throw new CliError(`study ${cfg.name}, cell ${c.key}: ${(e as Error).message}`)
    }
  }
  return jobs
}

/** `study --slurm [--dry-run]`. */
export async function submitStudy(cfg: StudyConfig, configFile: string, modelDir: string, flags: Flags, progress: Progress): Promise<number> {
  const o = slurmOptions(cfg, flags)
  // the paths the nodes will use, where this machine can check them (node paths it cannot see)
  if (!o.nodeModel && (!existsSync(modelDir) || !statSync(modelDir).isDirectory() || !existsSync(join(modelDir, 'config.json')))) {
    throw new CliError(`${configFile}: "model" ${modelDir} is not a model folder (no ${join(modelDir, 'config.json')}); fix the path, or give --node-model if only the nodes see it. Nothing was submitted`)
  }
  const cells = expandCells(cfg).filter((c) => !flags.only || c.key.includes(String(flags.only)))
  if (!cells.length) throw new CliError(`no cell of ${configFile} matches --only ${String(flags.only)}`, 2)
  let jobs: Map<string, RunJobConfig>
  if (o.nodeGlueDir && !existsSync(cfg.glueDir)) {
    // only the nodes see the data: settings come from the config alone
    jobs = cellJobs({ ...cfg, glueDir: '/' }, cells, modelDir, o.backend)
  } else {
    try {
      jobs = cellJobs(cfg, cells, modelDir, o.backend)
    } catch (e) {
      throw new CliError(`${configFile}: ${(e as Error).message.replace(/^study [^,]+, /, '')} ("glueDir" is ${cfg.glueDir}). Nothing was submitted`)
    }
  }
  const store = new RunStore(join(cfg.outDir, 'runs'))
  const subs = readSubmissions(cfg)
  const todo = incompleteCells(cfg, cells, jobs, store)
  const { states, notes } = slurmStates(subs.filter((s) => s.arrayJobId).map((s) => s.arrayJobId!))
  const active = activeCells(subs, states)
  const pending = todo.filter((c) => !active.has(c.key))
  if (active.size) progress.log(`${[...active.keys()].filter((k) => todo.some((c) => c.key === k)).length} cell(s) are still queued or running in Slurm and are not submitted again (${[...active.values()].slice(0, 4).join(', ')}${active.size > 4 ? ', …' : ''})`)
  for (const n of notes) progress.log(`note: ${n}`)
  progress.log(`study ${cfg.name}: ${cells.length} cells, ${cells.length - todo.length} complete with the same settings, ${pending.length} to submit`)
  if (!pending.length) {
    process.stdout.write(`nothing to submit: every cell is complete${active.size ? ' or still in the queue' : ''} (\`ird-studio study --config ${configFile} --status\`)\n`)
    return 0
  }
  // resources from the engine's estimates: the model's config (weights are not read)
  let resources
  try {
    const first = jobs.get(pending[0].key)!
    const modelConfigFile = join(o.nodeModel && !existsSync(join(modelDir, 'config.json')) ? o.nodeModel : modelDir, 'config.json')
    const model = parseBertConfig(JSON.parse(readFileSync(modelConfigFile, 'utf8')), { file: modelConfigFile, numLabels: getTask(first.task).numLabels })
    const rows = new Map<string, { train: number; dev: number }>()
    const rowsOf = (job: RunJobConfig) => {
      let r = rows.get(job.task)
      if (!r) {
        r = existsSync(job.trainFile) ? { train: dataRows(job.trainFile), dev: job.devFile && existsSync(job.devFile) ? dataRows(job.devFile) : 0 } : { train: job.maxTrainExamples ?? 100_000, dev: 10_000 }
        rows.set(job.task, r)
      }
      return r
    }
    resources = estimateResources(pending.map((c) => { const job = jobs.get(c.key)!; const r = rowsOf(job); return { job, trainRows: r.train, devRows: r.dev } }), model, { cpus: o.cpus, memMb: o.memMb, timeMinutes: o.timeMinutes })
  } catch (e) {
    if (e instanceof CliError) throw e
    throw new CliError(`cannot estimate the tasks' resources: ${(e as Error).message}; give --cpus, --mem and --time`)
  }
  if (!flags['dry-run']) {
    try {
      findSlurmCommand('sbatch')
    } catch (e) {
      throw new CliError((e as Error).message)
    }
  }
  const sub = prepareSubmission({
    cfg,
    configFile,
    cells: pending.map((c, i) => ({ index: i, key: c.key, settingsHash: settingsHash(jobs.get(c.key)!) })),
    resources,
    options: o,
    nodeCommand: o.nodeCommand ? o.nodeCommand.split(/\s+/).filter(Boolean) : defaultNodeCommand(),
    report: resolve(String(flags.report ?? join(cfg.outDir, 'results.md'))),
    dryRun: Boolean(flags['dry-run'])
  })
  progress.log(`resources per task: ${resources.basis}`)
  if (flags['dry-run']) {
    process.stdout.write(`${sub.sbatch.array.join(' ')}\n${sub.sbatch.report.join(' ')}\n`)
    progress.log(`dry run: scripts written to ${sub.dir} (array.sh, report.sh, submission.json); nothing submitted`)
    return 0
  }
  let done: Submission
  try {
    done = submit(sub)
  } catch (e) {
    // nothing was submitted: no record of a submission is left either
    rmSync(sub.dir, { recursive: true, force: true })
    if (e instanceof SlurmError) throw new CliError(e.message.replace(/ \(the scripts are in [^)]*\)/, ''))
    throw e
  }
  process.stdout.write(`submitted study ${cfg.name}: array job ${done.arrayJobId} (${pending.length} cell${pending.length === 1 ? '' : 's'}, tasks 0-${pending.length - 1}${o.throttle ? `, at most ${o.throttle} at once` : ''}), report job ${done.reportJobId} after it; \`ird-studio study --config ${configFile} --status\` shows progress; record ${join(sub.dir, 'submission.json')}\n`)
  return 0
}

/** `study --status`. */
export function studyStatus(cfg: StudyConfig, configFile: string, modelDir: string, flags: Flags): number {
  const cells = expandCells(cfg).filter((c) => !flags.only || c.key.includes(String(flags.only)))
  const hashes = new Map<string, string>()
  for (const c of cells) {
    try {
      hashes.set(c.key, settingsHash(cellJobConfig(cfg, c, modelDir, 'wasm')))
    } catch {
      hashes.set(c.key, settingsHash(cellJobConfig({ ...cfg, glueDir: '/' }, c, modelDir, 'wasm')))
    }
  }
  const store = new RunStore(join(cfg.outDir, 'runs'))
  const subs = readSubmissions(cfg)
  const { states, notes } = slurmStates(subs.filter((s) => s.arrayJobId).map((s) => s.arrayJobId!))
  const rows = cellStatuses(cfg, cells, hashes, store, subs, states)
  if (flags.json) {
    process.stdout.write(JSON.stringify({ study: cfg.name, cells: rows, notes }, null, 2) + '\n')
    return 0
  }
  const w = (s: string | undefined, n: number) => (s ?? '–').padEnd(n)
  const kw = Math.max(4, ...rows.map((r) => r.key.length))
  const lines = [`${w('cell', kw)}  ${w('status', 13)}  ${w('slurm job', 12)}  ${w('slurm state', 12)}  ${w('run', 34)}  detail`]
  for (const r of rows) lines.push(`${w(r.key, kw)}  ${w(r.status, 13)}  ${w(r.slurmJob, 12)}  ${w(r.slurmState, 12)}  ${w(r.runId, 34)}  ${r.detail ?? ''}`.trimEnd())
  const count = (s: string) => rows.filter((r) => r.status === s).length
  lines.push('', `${rows.length} cells: ${count('done')} done, ${count('running')} running, ${count('queued')} queued, ${count('failed')} failed, ${count('cancelled')} cancelled, ${count('not submitted')} not submitted`)
  for (const n of notes) lines.push(`note: ${n}`)
  const last = [...subs].reverse().find((s) => s.arrayJobId)
  if (last) lines.push(`latest submission ${last.id}: array job ${last.arrayJobId}, report job ${last.reportJobId} (${last.submittedAt})`)
  process.stdout.write(lines.join('\n') + '\n')
  return 0
}

/** `study --cell KEY` (on a node): run the cell, or resume its stopped run; skip it when it is complete. */
export async function runCell(cfg: StudyConfig, modelDir: string, key: string, flags: Flags, progress: Progress): Promise<number> {
  const cell = expandCells(cfg).find((c) => c.key === key)
  if (!cell) throw new CliError(`study ${cfg.name} has no cell "${key}" (cells look like ${expandCells(cfg)[0]?.key ?? 'sst2/fish/k0.005/n1024/s0'})`, 2)
  const backend = await startBackend(flags, progress)
  const store = new RunStore(join(cfg.outDir, 'runs'))
  let job: RunJobConfig
  try {
    job = cellJobConfig(cfg, cell, modelDir, backend)
  } catch (e) {
    throw new CliError(`cell ${key}: ${(e as Error).message}`)
  }
  const hash = settingsHash(job)
  const prev = readState(cfg).cells[key]
  const runs = store.list()
  if (prev?.status === 'completed' && prev.settingsHash === hash && runs.find((r) => r.id === prev.runId)?.status === 'completed') {
    progress.log(`cell ${key}: already complete (run ${prev.runId}); nothing to do`)
    return 0
  }
  // an earlier, stopped run of this cell with the same settings (a requeued or resubmitted task): resume it
  const sameSettings = (id: string) => {
    const c = store.open(id).readJson<Record<string, unknown>>('config.json')
    if (!c) return false
    const picked = Object.fromEntries(Object.keys(job).map((k) => [k, c[k]])) as unknown as RunJobConfig
    return settingsHash(picked) === hash
  }
  const stopped = runs
    .filter((r) => r.name === job.name && r.status !== 'completed' && !(r.status === 'running' && !process.env.SLURM_RESTART_COUNT))
    .filter((r) => sameSettings(r.id))
  const hooks = jobHooks(progress, Boolean(flags.json))
  const started = Date.now()
  let res
  try {
    if (stopped.length) {
      const target = stopped[0]
      progress.log(`cell ${key}: resuming its run ${target.id} (${target.status}${process.env.SLURM_RESTART_COUNT ? `; Slurm restart ${process.env.SLURM_RESTART_COUNT}` : ''})`)
      res = await resumeJob(store, target.id, hooks, { backend })
    } else {
      progress.log(`cell ${key}: starting`)
      res = await runJob(job, store, hooks)
    }
  } catch (e) {
    if (e instanceof JobInputError || e instanceof RunStoreError) {
      writeCellOutcome(cfg, { key, runId: '', status: 'failed', reason: e.message, settingsHash: hash, finishedAt: new Date().toISOString() })
      throw new CliError(e.message)
    }
    throw e
  }
  progress.end()
  const summary = store.open(res.run.id).summary
  const outcome: CellOutcome = {
    key,
    runId: res.run.id,
    status: res.status,
    ...(res.reason ? { reason: res.reason } : {}),
    settingsHash: hash,
    ...(summary.main !== undefined ? { main: summary.main } : {}),
    elapsedMs: summary.elapsedMs ?? Date.now() - started,
    finishedAt: new Date().toISOString()
  }
  writeCellOutcome(cfg, outcome)
  progress.log(`cell ${key}: ${res.status}${res.reason ? ` (${res.reason})` : ''}; run ${res.run.id}`)
  if (res.status === 'cancelled') return cancelExitCode()
  return res.status === 'completed' ? 0 : 1
}

/** `--finalize FILE` (the report job): cells of that submission with no result since it was submitted failed. */
export function finalizeSubmission(cfg: StudyConfig, file: string, progress: Progress): void {
  let sub: Submission
  try {
    sub = JSON.parse(readFileSync(file, 'utf8')) as Submission
  } catch (e) {
    throw new CliError(`--finalize ${file}: not a readable submission record (${(e as Error).message})`)
  }
  const state = readState(cfg)
  const store = new RunStore(join(cfg.outDir, 'runs'))
  const runs = store.list()
  const { states } = sub.arrayJobId ? slurmStates([sub.arrayJobId]) : { states: new Map() }
  for (const c of sub.cells) {
    const o = state.cells[c.key]
    if (o && sub.submittedAt && o.finishedAt >= sub.submittedAt) continue
    const task = `${sub.arrayJobId}_${c.index}`
    const js = states.get(task)
    const run = runs.find((r) => r.name === `study:${cfg.name}:${c.key}` && (!sub.submittedAt || r.startedAt >= sub.submittedAt))
    const reason = `Slurm task ${task} ended without recording a result${js ? ` (Slurm: ${js.state}${js.reason ? `, ${js.reason}` : ''})` : ''}${run ? `; its run ${run.id} is ${run.status}` : ''}; see ${join(sub.nodeDir, 'logs', `${task}.out`)}`
    writeCellOutcome(cfg, { key: c.key, runId: run?.id ?? '', status: 'failed', reason, settingsHash: c.settingsHash, finishedAt: new Date().toISOString() })
    progress.log(`cell ${c.key}: failed: ${reason}`)
  }
}

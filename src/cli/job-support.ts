/**
 * What every command that runs engine work shares: backend start-up with its report, Ctrl-C
 * cancellation (first press cancels at the next batch boundary, second exits), and the job hooks that
 * turn engine events into a progress bar, readable milestone lines, or JSON lines.
 */
import { describeBackend, initBackend, type BackendName } from '../engine/backend'
import type { JobHooks } from '../engine/jobs/run-job'
import type { IrdRound } from '../engine/selection'
import type { Flags } from './args'
import { CliError, loadTaskData } from './common'
import type { Progress } from './progress'

/**
 * Cancellation. Ctrl-C (SIGINT), SIGTERM (scancel, Slurm preemption or time limit with --signal, systemd,
 * `docker stop`) and SIGHUP (the terminal closed) all ask work to stop at the next batch boundary: training
 * saves a checkpoint, the run is kept as "cancelled" and `ird-studio resume` continues it bit for bit.
 * A second Ctrl-C exits at once; a repeated SIGTERM or SIGHUP does not (Slurm signals the batch shell and
 * the job's processes alike, so one stop can arrive twice; SIGKILL follows anyway if the process overstays).
 * The exit code after a cancelled command is 128 + the signal's number: 130 (SIGINT), 143 (SIGTERM), 129
 * (SIGHUP), as a shell reports a process killed by that signal.
 */
export type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP'
const SIGNAL_NUMBER: Record<StopSignal, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 }
let cancelSignal: StopSignal | null = null
let installedInt = false
let installedTermHup = false

export function isCancelRequested(): boolean {
  return cancelSignal !== null
}

/** The exit code of a command that stopped because it was cancelled: 128 + the first stop signal (130 if none). */
export function cancelExitCode(): number {
  return 128 + SIGNAL_NUMBER[cancelSignal ?? 'SIGINT']
}

/** Ask running work to stop as if `signal` had arrived (the handlers call this; tests and hosts may too). */
export function requestCancel(signal: StopSignal, progress?: Progress): void {
  if (cancelSignal === null) {
    cancelSignal = signal
    const how = signal === 'SIGINT' ? ' (Ctrl-C again to quit at once)' : ''
    safeLog(progress, `${signal === 'SIGINT' ? 'Ctrl-C' : signal}: cancelling at the next batch boundary${how}…`)
    return
  }
  if (signal === 'SIGINT' && cancelSignal === 'SIGINT') process.exit(130)
  safeLog(progress, `${signal}: already cancelling at the next batch boundary`)
}

function safeLog(progress: Progress | undefined, message: string): void {
  try {
    progress?.log(message)
  } catch {
    // the terminal may be gone (SIGHUP): cancelling matters more than saying so
  }
}

/**
 * Install the SIGINT handler and, for commands that stop at cancellation points (`termHup`), the SIGTERM
 * and SIGHUP handlers, once per process. Other commands keep the default: SIGTERM and SIGHUP end them at
 * once (a command that never asks isCancelRequested() would otherwise ignore them).
 */
export function installStopSignals(progress: Progress, termHup = true): void {
  if (!installedInt) {
    installedInt = true
    process.on('SIGINT', () => requestCancel('SIGINT', progress))
  }
  if (termHup && !installedTermHup) {
    installedTermHup = true
    process.on('SIGTERM', () => requestCancel('SIGTERM', progress))
    process.on('SIGHUP', () => {
      // a closed terminal makes writes to it fail (EIO/EPIPE): never let that kill the process mid-checkpoint
      process.stderr.on('error', () => {})
      process.stdout.on('error', () => {})
      requestCancel('SIGHUP', progress)
    })
  }
}

export async function startBackend(flags: Flags, progress: Progress): Promise<string> {
  try {
    // unset: initBackend reads IRD_BACKEND, else auto
    const info = await initBackend({ force: flags.backend === undefined ? undefined : (flags.backend as BackendName | 'auto') })
    const text = describeBackend(info)
    progress.log(`backend: ${text}`)
    return info.name
  } catch (e) {
    throw new CliError((e as Error).message)
  }
}

const pct = (x: unknown) => (typeof x === 'number' ? `${(100 * x).toFixed(1)} %` : '–')

/** One readable line for the job's milestone events; progress events (done/total) draw the bar. */
export function describeJobEvent(e: Record<string, unknown>): string | null {
  switch (e.phase) {
    case 'ird-round': {
      const r = e.round as IrdRound
      return `IRD round ${r.round}: samples ${r.samplesBefore} → ${r.samplesAfter} (score mass kept ${pct(r.sampleMassKept)}), parameters ${r.paramsBefore} → ${r.paramsAfter} (Fisher mass kept ${pct(r.paramMassKept)}), overlap with FISH ${pct(r.fishOverlap.fractionOfFish)}${r.cut ? ', cut to the budgets' : ''}`
    }
    case 'selected':
      return `mask: k = ${e.k}, ${e.trainable} trainable entries (${pct(e.effectiveRatio)} of the model), ${e.gradientEvaluations} per-sample gradients${(e.notes as string[] | undefined)?.length ? `; ${(e.notes as string[]).join('; ')}` : ''}`
    case 'eval': {
      const m = Object.entries((e.metrics as Record<string, number>) ?? {}).map(([k, v]) => `${k} ${(100 * v).toFixed(2)}`).join(', ')
      return `epoch ${e.epoch}/${e.epochs}: dev ${m || `loss ${Number(e.evalLoss).toFixed(4)}`}`
    }
    case 'warning':
      return `warning: ${String(e.message)}`
    case 'select':
    case 'load':
    case 'memory':
    case 'resume-point':
      return String(e.message ?? e.phase)
    default:
      return null
  }
}

export function jobHooks(progress: Progress, json: boolean): JobHooks {
  return {
    loadData: (file, task, split, labelNames, columns) => loadTaskData(file, task, split, labelNames, columns),
    onEvent: (e) => {
      if (json || e.total !== undefined) return progress.update(e)
      const line = describeJobEvent(e)
      if (line) progress.log(line)
    },
    shouldCancel: () => cancelSignal !== null,
    cancelReason: () => (cancelSignal === null ? undefined : cancelSignal === 'SIGINT' ? 'by the user (Ctrl-C)' : `by ${cancelSignal}${process.env.SLURM_JOB_ID ? ` (Slurm job ${process.env.SLURM_JOB_ID})` : ''}`)
  }
}


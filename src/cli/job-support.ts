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

/** Cancellation: the first Ctrl-C asks work to stop at the next batch boundary, the second exits at once. */
let cancelRequested = false
export function isCancelRequested(): boolean {
  return cancelRequested
}

export function installSigint(progress: Progress): void {
  process.on('SIGINT', () => {
    if (cancelRequested) process.exit(130)
    cancelRequested = true
    progress.log('cancelling at the next batch boundary (Ctrl-C again to quit at once)…')
  })
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
    shouldCancel: () => cancelRequested
  }
}


/**
 * `ird-studio resume <run-id>`: continue a stopped run — cancelled with Ctrl-C, failed, or killed (listed as
 * "interrupted") — from its last checkpoint, with the settings and mask recorded in the run, to the result
 * the uninterrupted run would have reached (same backend and worker count: bit for bit).
 * Must not: hold engine logic (jobs/run-job.ts resumeJob does the work).
 */
import { JobInputError, resumeJob } from '../../engine/jobs/run-job'
import { planResume } from '../../engine/jobs/checkpoint'
import { RunStore } from '../../engine/runs/store'
import { getTask, type TaskName } from '../../engine/data'
import { BACKEND_FLAG, RUNS_FLAG, runsDirOf, type CommandTable } from '../command'
import { CliError, requireWritable } from '../common'
import { cancelExitCode, jobHooks, startBackend } from '../job-support'

export const resumeCommands: CommandTable = {
  resume: {
    summary: 'continue a cancelled, failed or interrupted run from its last checkpoint (ird-studio resume <run-id>)',
    positional: '[<run-id>]',
    flags: {
      run: { type: 'string', help: 'the run to continue (id or unique prefix; may be given without --run)', metavar: 'ID' },
      runs: RUNS_FLAG,
      backend: BACKEND_FLAG,
      json: { type: 'bool', help: 'stream events as JSON lines on stdout instead of a progress bar' },
      restart: { type: 'bool', help: "start training over from step 0 (keeps the saved mask; removes the run's checkpoints): for a run whose checkpoints are damaged" }
    },
    async run(flags, progress, positional) {
      if (positional.length > 1) throw new CliError(`resume takes one run id, got ${positional.length}: ${positional.join(' ')}`, 2)
      if (positional.length === 1) {
        if (flags.run !== undefined) throw new CliError('give the run either as an argument or with --run, not both', 2)
        flags.run = positional[0]
      }
      if (typeof flags.run !== 'string' || !flags.run) throw new CliError('give the run to resume: ird-studio resume <run-id> (see `ird-studio list`)', 2)
      const store = new RunStore(runsDirOf(flags))
      const run = store.open(flags.run)
      const status = store.status(run.id)
      if (status?.status === 'completed') throw new CliError(`run ${run.id} is already completed: nothing to resume`)
      // the run folder takes checkpoints, events and results: a read-only or full disk is said now
      requireWritable('run', run.dir, 'folder', { createParents: false })
      // Checkpoints are verified before anything starts: damage is named, never replaced by step 0 in silence.
      const plan = planResume(run.dir, run.id, { restart: Boolean(flags.restart) })
      if (plan.kind === 'refuse') throw new CliError(plan.message)
      const ck = plan.use
      progress.log(ck && !plan.damaged.length ? `resuming run ${run.id} from its checkpoint at step ${ck.step} of ${ck.totalSteps} (epoch ${Math.min(ck.epoch, ck.epochs)} of ${ck.epochs})` : `resuming run ${run.id}: ${plan.message}`)
      const backend = await startBackend(flags, progress)
      let res
      try {
        res = await resumeJob(store, run.id, jobHooks(progress, Boolean(flags.json)), { backend, restart: Boolean(flags.restart) })
      } catch (e) {
        if (e instanceof JobInputError) throw new CliError(e.message)
        throw e
      }
      progress.end()
      if (res.status === 'cancelled') {
        process.stderr.write(`run ${res.run.id} cancelled again; \`ird-studio resume ${res.run.id}\` continues it\n`)
        return cancelExitCode()
      }
      if (res.status === 'failed') throw new CliError(`run ${res.run.id} failed: ${res.reason}`)
      const s = res.run.summary
      const metrics = Object.entries(s.metrics ?? {}).map(([k, v]) => `${k} ${(100 * v).toFixed(2)}`).join(', ')
      if (!flags.json) {
        process.stdout.write(`run ${res.run.id} completed (resumed from step ${res.resumedFromStep ?? 0}${res.maskReused ? ', saved mask reused' : ''}): ${getTask(s.task as TaskName).displayName} dev ${metrics || '(no dev set)'}; ${res.run.dir}\n`)
      }
      return 0
    }
  }
}

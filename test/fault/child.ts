/**
 * A real tiny run in a child process, for the fault-injection test: `node --import tsx child.ts <json>`
 * with { mode: 'run' | 'resume', runs, cfg | runId }; IRD_FAULT decides where it dies. Prints the job's
 * result as one JSON line on stdout.
 */
import { initBackend } from '../../src/engine/backend'
import { loadDataset } from '../../src/engine/data'
import { runJob, resumeJob, type JobHooks, type RunJobConfig } from '../../src/engine/jobs/run-job'
import { RunStore } from '../../src/engine/runs/store'

const arg = JSON.parse(process.argv[2]) as { mode: 'run' | 'resume'; runs: string; cfg?: RunJobConfig; runId?: string; backend?: 'wasm' | 'cpu' }
await initBackend({ force: arg.backend ?? 'wasm' })
const hooks: JobHooks = {
  loadData: (file, task, split, labelNames) => loadDataset(file, { task, split, labelNames }),
  onEvent: (e) => {
    if (e.phase === 'train' && typeof e.done === 'number') process.stdout.write(`${JSON.stringify({ step: e.done })}\n`)
  }
}
const store = new RunStore(arg.runs)
const r = arg.mode === 'run' ? await runJob(arg.cfg!, store, hooks) : await resumeJob(store, arg.runId!, hooks, { backend: arg.backend ?? 'wasm' })
process.stdout.write(`${JSON.stringify({ result: { id: r.run.id, status: r.status, reason: r.reason, resumedFromStep: r.resumedFromStep, maskReused: r.maskReused } })}\n`)

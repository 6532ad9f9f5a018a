/**
 * Fault injection for crash-safety tests: named points in the job (Fisher, selection, mask write,
 * training steps, checkpoint writes, result writes) where a test process can make the engine die or fail
 * on purpose, so that every way a run can stop is exercised with a real run.
 *
 *   IRD_FAULT=<point>[@<n>|@*][:<mode>]     e.g. IRD_FAULT=batch@3   IRD_FAULT=checkpoint-swap@2:oom
 *
 * The n-th time (default the first; * = every time) the process reaches <point>, mode `kill` (default)
 * sends itself SIGKILL — no cleanup, no exit handlers, as a crash or the OOM killer —, mode `oom` throws
 * the RangeError V8 throws when an ArrayBuffer cannot be allocated, mode `heap` fills the JavaScript heap
 * until V8 aborts the process (a real fatal out-of-memory: run it with a small --max-old-space-size),
 * and mode `sleep<ms>` blocks for that
 * long (so that a test can kill a tiny run at a chosen moment from outside). Several specs may be given,
 * comma-separated.
 * Without IRD_FAULT every point is a no-op (one environment lookup).
 * Must not: be reached by anything but the job's own code paths, or do anything unless IRD_FAULT names it.
 */

const counts = new Map<string, number>()

export const FAULT_POINTS = [
  'fisher', // a Fisher / selection progress event
  'mask-write', // between mask.safetensors and mask.json
  'selected', // after the mask and fisher-stats.json are written
  'batch', // before a training or dev batch (the trainer's cancellation check)
  'checkpoint-state', // checkpoint: state file written, manifest not yet
  'checkpoint-manifest', // checkpoint: new folder complete, not yet in place
  'checkpoint-swap', // checkpoint: old folder moved aside, new one not yet renamed in
  'predictions', // before predictions-dev.jsonl
  'delta', // before delta.safetensors
  'results', // before results.json
  'finish' // results.json written, status not yet "completed"
] as const
export type FaultPoint = (typeof FAULT_POINTS)[number]

export function faultPoint(point: FaultPoint): void {
  const spec = process.env.IRD_FAULT
  if (!spec) return
  const n = (counts.get(point) ?? 0) + 1
  counts.set(point, n)
  for (const part of spec.split(',')) {
    const m = /^([a-z-]+)(?:@(\d+|\*))?(?::(kill|oom|heap|sleep(\d+)))?$/.exec(part.trim())
    if (!m || m[1] !== point || (m[2] !== '*' && Number(m[2] ?? 1) !== n)) continue
    if (m[3] === 'oom') throw new RangeError(`Array buffer allocation failed (IRD_FAULT=${part.trim()})`)
    if (m[3] === 'heap') {
      const hog: number[][] = []
      for (;;) hog.push(Array.from({ length: 1 << 16 }, (_, i) => i + hog.length))
    }
    if (m[4] !== undefined) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(m[4]))
      continue
    }
    process.kill(process.pid, 'SIGKILL')
  }
}

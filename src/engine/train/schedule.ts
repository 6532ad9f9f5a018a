/**
 * Learning-rate schedule: Hugging Face's get_linear_schedule_with_warmup (a torch LambdaLR).
 *   factor(t) = t / max(1, W)                         for t < W
 *             = max(0, (N − t) / max(1, N − W))       otherwise
 * where t is the 0-based optimizer step, W the warm-up steps, N the total steps. Step t uses
 * lr · factor(t): with warm-up the first step has lr 0 (as in HF); without, the first step has the full lr
 * and the last (t = N − 1) lr / N; factor(N) = 0 is the value after the last step.
 * Must not: hold state (the trainer asks for the step it is about to take).
 */

/** HF TrainingArguments.get_warmup_steps: warmupSteps if > 0, else ceil(totalSteps · warmupRatio). */
export function resolveWarmupSteps(totalSteps: number, opts: { warmupSteps?: number; warmupRatio?: number }): number {
  const steps = opts.warmupSteps ?? 0
  const ratio = opts.warmupRatio ?? 0
  if (!(Number.isInteger(steps) && steps >= 0)) throw new RangeError(`warmupSteps must be a non-negative integer, got ${steps}`)
  if (!(ratio >= 0 && ratio <= 1)) throw new RangeError(`warmupRatio must be in [0, 1], got ${ratio}`)
  return steps > 0 ? steps : Math.ceil(totalSteps * ratio)
}

export function linearScheduleFactor(step: number, totalSteps: number, warmupSteps: number): number {
  if (step < warmupSteps) return step / Math.max(1, warmupSteps)
  return Math.max(0, (totalSteps - step) / Math.max(1, totalSteps - warmupSteps))
}

/** lr for 0-based optimizer step `step`. */
export function linearScheduleLr(baseLr: number, step: number, totalSteps: number, warmupSteps: number): number {
  return baseLr * linearScheduleFactor(step, totalSteps, warmupSteps)
}

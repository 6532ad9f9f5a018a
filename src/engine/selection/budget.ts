/**
 * The parameter budget (ALGORITHMS.md, FISH step 3): k = floor(total_params × keep_ratio) − |H|, where
 * total_params counts every parameter, head included, and k is the number of entries of θ (everything but
 * the head) that a FISH/IRD/random mask makes trainable on top of the whole head.
 * Owns: the arithmetic and the refusals. Must not: pick parameters.
 */
import { numel, type ParamSpec } from '../model/config'

export interface Budget {
  keepRatio: number
  /** Every parameter, head included. */
  totalParams: number
  /** |H|: classifier.weight + classifier.bias. */
  headSize: number
  /** |θ| = totalParams − headSize. */
  thetaSize: number
  /** Entries of θ to select. */
  k: number
}

export class BudgetError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'BudgetError'
  }
}

/** The smallest ratio with at least 3 significant digits (rounded up) for which floor(total · r) ≥ need. */
function minimumRatio(total: number, need: number): number {
  const raw = need / total
  const digits = Math.max(0, 3 - Math.floor(Math.log10(raw)) - 1)
  const step = 10 ** -digits
  let r = Math.ceil(raw / step) * step
  while (Math.floor(total * r) < need) r += step
  return Number(r.toFixed(digits))
}

export function computeBudget(spec: readonly ParamSpec[], keepRatio: number): Budget {
  let totalParams = 0
  let headSize = 0
  for (const s of spec) {
    const n = numel(s.shape)
    totalParams += n
    if (s.head) headSize += n
  }
  const thetaSize = totalParams - headSize
  if (typeof keepRatio !== 'number' || !Number.isFinite(keepRatio) || keepRatio <= 0) {
    throw new BudgetError(`keep_ratio must be a number in (0, 1], found ${String(keepRatio)}`)
  }
  const k = Math.floor(totalParams * keepRatio) - headSize
  if (k <= 0) {
    const min = minimumRatio(totalParams, headSize + 1)
    throw new BudgetError(
      `keep_ratio ${keepRatio} is too small for this model: floor(${totalParams} total parameters × ${keepRatio}) = ${Math.floor(totalParams * keepRatio)} ` +
        `does not exceed the classification head (|H| = ${headSize}, always trainable), so k = ${k} ≤ 0 parameters would be selected. ` +
        `The smallest keep_ratio that works is ${min} (k = ${Math.floor(totalParams * min) - headSize}).`
    )
  }
  if (k > thetaSize) {
    throw new BudgetError(
      `keep_ratio ${keepRatio} asks for k = ${k} parameters, more than the ${thetaSize} non-head parameters the model has; keep_ratio must be at most 1 (1 makes everything trainable, as the "full" method does)`
    )
  }
  return { keepRatio, totalParams, headSize, thetaSize, k }
}

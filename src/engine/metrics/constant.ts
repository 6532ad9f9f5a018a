/**
 * Does a run's dev output carry information? A classifier that gives one class to (almost) every dev row,
 * or a regressor whose outputs barely vary, scores what a constant predictor scores: the majority-class
 * accuracy, a Matthews correlation of 0, a correlation computed from noise. Sparse fine-tuning with a small
 * budget often ends there, and a table of such scores invites comparisons that mean nothing. This says so.
 * Owns: the measure and its thresholds. Must not: read files or know about runs.
 */
import { CONSTANT_PREDICTIONS_PHRASE } from '../../shared/domain'

/** One class for at least this share of the dev rows. */
export const CONSTANT_TOP_CLASS_SHARE = 0.98
/** Regression: std of the predictions below this fraction of the labels' std. */
export const CONSTANT_SPREAD = 0.05

export interface PredictionShape {
  /** Classification: the most frequent predicted class and its share of the rows. */
  topClass?: number
  topClassShare?: number
  /** Regression: population std of the predictions / that of the labels (absent without labels). */
  predictionSpread?: number
  /** The output is (almost) constant. */
  constant: boolean
}

function pstd(xs: readonly number[]): number {
  let m = 0
  for (const x of xs) m += x
  m /= xs.length
  let v = 0
  for (const x of xs) v += (x - m) ** 2
  return Math.sqrt(v / xs.length)
}

/** null when there is nothing to judge (no rows; regression without labels or with constant labels). */
export function predictionShape(predictions: readonly number[], labels: ReadonlyArray<number | null | undefined>, regression: boolean): PredictionShape | null {
  if (!predictions.length) return null
  if (!regression) {
    const counts = new Map<number, number>()
    for (const p of predictions) counts.set(p, (counts.get(p) ?? 0) + 1)
    let topClass = predictions[0]
    for (const [c, n] of counts) if (n > counts.get(topClass)! || (n === counts.get(topClass)! && c < topClass)) topClass = c
    const topClassShare = counts.get(topClass)! / predictions.length
    return { topClass, topClassShare, constant: topClassShare >= CONSTANT_TOP_CLASS_SHARE }
  }
  const ls = labels.length === predictions.length && labels.every((l) => typeof l === 'number' && Number.isFinite(l)) ? pstd(labels as number[]) : NaN
  if (!(ls > 0)) return null
  const predictionSpread = pstd(predictions) / ls
  return { predictionSpread, constant: predictionSpread < CONSTANT_SPREAD }
}

/** The sentence a user reads next to such a run's score (labelNames: the task's classes). */
export function constantWarning(shape: PredictionShape, labelNames?: readonly string[]): string | undefined {
  if (!shape.constant) return undefined
  if (shape.topClassShare !== undefined) {
    const name = labelNames?.[shape.topClass!] ?? String(shape.topClass)
    return `predicts class "${name}" for ${(100 * shape.topClassShare).toFixed(1)} % of the dev rows: the score is (about) that of a constant predictor, so this run ${CONSTANT_PREDICTIONS_PHRASE}; try more epochs, a higher learning rate or a larger keep ratio`
  }
  return `its dev predictions barely vary (spread ${(100 * shape.predictionSpread!).toFixed(1)} % of the labels'): the correlation is computed from (near-)constant output, so this run ${CONSTANT_PREDICTIONS_PHRASE}; try more epochs, a higher learning rate or a larger keep ratio`
}

/**
 * Input checks shared by the metric functions: every metric refuses bad input with an error that names the
 * argument and the first offending index, instead of returning a plausible-looking NaN or 0.
 * Owns: MetricInputError and the array checks. Must not: compute metrics or coerce values (a float where a
 * class label belongs is an error, not something to round).
 */

export type Numbers = ArrayLike<number>

/** Thrown for any invalid metric input; the message starts with the function and names the argument. */
export class MetricInputError extends Error {
  override name = 'MetricInputError'
}

function describe(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return 'an array'
  return typeof v
}

function checkLength(fn: string, name: string, a: unknown): number {
  if (a === null || typeof a !== 'object' || typeof (a as { length?: unknown }).length !== 'number') {
    throw new MetricInputError(`${fn}: ${name} must be an array or typed array of numbers, got ${describe(a)}`)
  }
  const n = (a as ArrayLike<unknown>).length
  if (n === 0) throw new MetricInputError(`${fn}: ${name} is empty`)
  return n
}

function checkValues(fn: string, name: string, arr: ArrayLike<unknown>, labels: boolean): void {
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i]
    if (typeof v !== 'number') {
      // The usual cause is a [N, C] logits array where class indices belong.
      const hint = labels ? ' (for logits [N, C] use argmax first)' : ''
      throw new MetricInputError(`${fn}: ${name}[${i}] is ${describe(v)}, not a number${hint}`)
    }
    if (Number.isNaN(v)) throw new MetricInputError(`${fn}: ${name}[${i}] is NaN`)
    if (!Number.isFinite(v)) throw new MetricInputError(`${fn}: ${name}[${i}] is ${v}`)
    if (labels && !Number.isInteger(v)) {
      throw new MetricInputError(`${fn}: ${name}[${i}] = ${v} is not an integer class label (for logits use argmax first)`)
    }
  }
}

/** Throws unless `a` is a non-empty array-like of finite numbers (integers when `labels`). Returns its length. */
export function checkArray(fn: string, name: string, a: unknown, labels: boolean): number {
  const n = checkLength(fn, name, a)
  checkValues(fn, name, a as ArrayLike<unknown>, labels)
  return n
}

/** Checks both arrays (as checkArray) and that their lengths match. Returns the common length. */
export function checkPair(fn: string, aName: string, a: unknown, bName: string, b: unknown, labels: boolean): number {
  // Lengths first: a mismatch is the likelier mistake and is cheaper to report than a bad element.
  const n = checkLength(fn, aName, a)
  const m = checkLength(fn, bName, b)
  if (n !== m) throw new MetricInputError(`${fn}: ${aName} and ${bName} have different lengths (${n} vs ${m})`)
  checkValues(fn, aName, a as ArrayLike<unknown>, labels)
  checkValues(fn, bName, b as ArrayLike<unknown>, labels)
  return n
}

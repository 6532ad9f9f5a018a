/**
 * Non-finite numbers (NaN, +Inf, −Inf) where the engine needs finite ones: model weights at load,
 * training losses and gradient norms, Fisher values and scores, logits. One fast pass over a typed array
 * (`v - v` is 0 for every finite v and NaN for NaN and ±Inf), and the error every such refusal throws.
 * Must not: print, or decide what to do (callers name the tensor, step or batch and stop their work).
 */

export class NonFiniteError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'NonFiniteError'
  }
}

/** Index of the first NaN or ±Inf in `a`, or −1 when every value is finite. */
export function firstNonFinite(a: ArrayLike<number>): number {
  for (let i = 0, n = a.length; i < n; i++) {
    const v = a[i]
    if (v - v !== 0) return i
  }
  return -1
}

/** How many of `a`'s values are NaN or ±Inf (for messages; only called once one was found). */
export function countNonFinite(a: ArrayLike<number>): number {
  let c = 0
  for (let i = 0, n = a.length; i < n; i++) {
    const v = a[i]
    if (v - v !== 0) c++
  }
  return c
}

/** "NaN", "Infinity" or "-Infinity" as a person reads it. */
export function nonFiniteName(v: number): string {
  return Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf'
}

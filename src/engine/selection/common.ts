/** Small helpers shared by the selection methods. Must not: select anything by itself. */
import { numel, type ParamSpec } from '../model/config'
import type { ParamMask } from '../mask/mask'

/** Non-head parameter names in spec order: the tensor order of every tie-break. */
export function thetaNames(spec: readonly ParamSpec[]): string[] {
  return spec.filter((s) => !s.head).map((s) => s.name)
}

/** All of θ, as a mask. */
export function thetaRange(spec: readonly ParamSpec[]): ParamMask {
  return new Map(thetaNames(spec).map((n) => [n, 'all' as const]))
}

/** A range as FisherAccumulator wants it: which tensors, and 0/1 bytes for the partly covered ones. */
export function accumulatorRange(range: ParamMask, spec: readonly ParamSpec[]): { params: (name: string) => boolean; scoreRange: Map<string, Uint8Array> } {
  const scoreRange = new Map<string, Uint8Array>()
  for (const s of spec) {
    const e = range.get(s.name)
    if (!e || e === 'all') continue
    const d = new Uint8Array(numel(s.shape))
    for (let i = 0; i < e.length; i++) d[e[i]] = 1
    scoreRange.set(s.name, d)
  }
  return { params: (name) => range.has(name), scoreRange }
}

export function checkInteger(name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new RangeError(`${name} must be an integer ≥ ${min}, found ${String(v)}`)
  return v
}

export function checkFraction(name: string, v: unknown): number {
  if (typeof v !== 'number' || !(v > 0 && v < 1)) throw new RangeError(`${name} must be a number strictly between 0 and 1, found ${String(v)}`)
  return v
}

/**
 * Parameter masks: which entries of which parameter may change during fine-tuning.
 *
 * A ParamMask maps a Hugging Face parameter name to its trainable entries: a sorted Int32Array of
 * distinct flat indices into the tensor in Hugging Face layout (row-major, Linear weights [out, in]), or
 * 'all' for a fully trainable tensor. A name that is absent has no trainable entry.
 *
 * Owns: the mask type and set arithmetic on it (count, union, intersection, overlap, dense view).
 * Must not: choose entries (selection/ does that), touch tensors or files (io.ts does files).
 */
import type { ParamSpec } from '../model/config'
import { numel } from '../model/config'

export type MaskEntry = Int32Array | 'all'
export type ParamMask = Map<string, MaskEntry>

/** Parameter sizes by name, from a spec list. */
export type SizeOf = (name: string) => number

export function sizesFromSpec(spec: readonly ParamSpec[]): SizeOf {
  const m = new Map(spec.map((s) => [s.name, numel(s.shape)]))
  return (name) => {
    const n = m.get(name)
    if (n === undefined) throw new Error(`mask names "${name}", which is not a parameter of this model`)
    return n
  }
}

function entryCount(e: MaskEntry, size: number): number {
  return e === 'all' ? size : e.length
}

/** Number of trainable entries. */
export function maskCount(mask: ParamMask, spec: readonly ParamSpec[]): number {
  const size = sizesFromSpec(spec)
  let n = 0
  for (const [name, e] of mask) n += entryCount(e, size(name))
  return n
}

/** Trainable entries per parameter (every parameter of the spec, 0 when absent). */
export function maskCountsPerTensor(mask: ParamMask, spec: readonly ParamSpec[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const s of spec) {
    const e = mask.get(s.name)
    out[s.name] = e ? entryCount(e, numel(s.shape)) : 0
  }
  return out
}

/** The classification head (classifier.weight, classifier.bias), fully trainable. */
export function headParams(spec: readonly ParamSpec[]): ParamMask {
  const m: ParamMask = new Map()
  for (const s of spec) if (s.head) m.set(s.name, 'all')
  return m
}

/** Every parameter fully trainable. */
export function fullMask(spec: readonly ParamSpec[]): ParamMask {
  return new Map(spec.map((s) => [s.name, 'all' as const]))
}

/** Number of head entries |H|. */
export function headSize(spec: readonly ParamSpec[]): number {
  let n = 0
  for (const s of spec) if (s.head) n += numel(s.shape)
  return n
}

function allIndices(size: number): Int32Array {
  const a = new Int32Array(size)
  for (let i = 0; i < size; i++) a[i] = i
  return a
}

function mergeSorted(a: Int32Array, b: Int32Array): Int32Array {
  const out = new Int32Array(a.length + b.length)
  let i = 0
  let j = 0
  let n = 0
  while (i < a.length && j < b.length) {
    if (a[i] < b[j]) out[n++] = a[i++]
    else if (a[i] > b[j]) out[n++] = b[j++]
    else {
      out[n++] = a[i++]
      j++
    }
  }
  while (i < a.length) out[n++] = a[i++]
  while (j < b.length) out[n++] = b[j++]
  return out.slice(0, n)
}

function intersectSize(a: Int32Array, b: Int32Array): number {
  let i = 0
  let j = 0
  let n = 0
  while (i < a.length && j < b.length) {
    if (a[i] < b[j]) i++
    else if (a[i] > b[j]) j++
    else {
      n++
      i++
      j++
    }
  }
  return n
}

/**
 * The canonical form: entries covering the whole tensor become 'all', empty entries disappear, names
 * follow spec order. Two masks with the same trainable set have the same canonical form.
 */
export function compactMask(mask: ParamMask, spec: readonly ParamSpec[]): ParamMask {
  const out: ParamMask = new Map()
  const size = sizesFromSpec(spec)
  for (const name of mask.keys()) size(name) // unknown names fail here
  for (const s of spec) {
    const e = mask.get(s.name)
    if (!e) continue
    if (e === 'all' || e.length === numel(s.shape)) out.set(s.name, 'all')
    else if (e.length > 0) out.set(s.name, e)
  }
  return out
}

/** A ∪ B, canonical form. */
export function maskUnion(a: ParamMask, b: ParamMask, spec: readonly ParamSpec[]): ParamMask {
  const size = sizesFromSpec(spec)
  const out: ParamMask = new Map()
  for (const s of spec) {
    const x = a.get(s.name)
    const y = b.get(s.name)
    if (!x && !y) continue
    if (x === 'all' || y === 'all') out.set(s.name, 'all')
    else if (x && y) out.set(s.name, mergeSorted(x, y))
    else out.set(s.name, (x ?? y)!)
  }
  for (const name of [...a.keys(), ...b.keys()]) size(name)
  return compactMask(out, spec)
}

/** |A ∩ B|. */
export function maskIntersectionCount(a: ParamMask, b: ParamMask, spec: readonly ParamSpec[]): number {
  const size = sizesFromSpec(spec)
  let n = 0
  for (const [name, x] of a) {
    const y = b.get(name)
    if (!y) continue
    if (x === 'all') n += entryCount(y, size(name))
    else if (y === 'all') n += x.length
    else n += intersectSize(x, y)
  }
  return n
}

export interface MaskOverlap {
  /** |A ∩ B| */
  intersection: number
  sizeA: number
  sizeB: number
  /** |A ∩ B| / |A| (0 when A is empty) */
  fractionOfA: number
  /** |A ∩ B| / |A ∪ B| (1 when both are empty) */
  jaccard: number
}

export function maskOverlap(a: ParamMask, b: ParamMask, spec: readonly ParamSpec[]): MaskOverlap {
  const intersection = maskIntersectionCount(a, b, spec)
  const sizeA = maskCount(a, spec)
  const sizeB = maskCount(b, spec)
  const union = sizeA + sizeB - intersection
  return { intersection, sizeA, sizeB, fractionOfA: sizeA ? intersection / sizeA : 0, jaccard: union ? intersection / union : 1 }
}

/** Drop the head parameters (θ part of a mask). */
export function withoutHead(mask: ParamMask, spec: readonly ParamSpec[]): ParamMask {
  const head = new Set(spec.filter((s) => s.head).map((s) => s.name))
  return new Map([...mask].filter(([name]) => !head.has(name)))
}

/** One parameter's mask as 0/1 bytes over the tensor (Hugging Face layout). */
export function maskToDense(mask: ParamMask, name: string, spec: readonly ParamSpec[]): Uint8Array {
  const n = sizesFromSpec(spec)(name)
  const out = new Uint8Array(n)
  const e = mask.get(name)
  if (e === 'all') out.fill(1)
  else if (e) for (let i = 0; i < e.length; i++) out[e[i]] = 1
  return out
}

/** Flat indices of a parameter's trainable entries (materialises 'all'). */
export function maskIndices(mask: ParamMask, name: string, spec: readonly ParamSpec[]): Int32Array {
  const e = mask.get(name)
  if (!e) return new Int32Array(0)
  return e === 'all' ? allIndices(sizesFromSpec(spec)(name)) : e
}

/** Sorted distinct flat indices of the set bytes of a 0/1 array. */
export function denseToIndices(dense: ArrayLike<number>): Int32Array {
  let n = 0
  for (let i = 0; i < dense.length; i++) if (dense[i]) n++
  const out = new Int32Array(n)
  n = 0
  for (let i = 0; i < dense.length; i++) if (dense[i]) out[n++] = i
  return out
}

/**
 * Null when every name is a parameter and every index list is sorted, distinct and in range;
 * otherwise what is wrong.
 */
export function checkMask(mask: ParamMask, spec: readonly ParamSpec[]): string | null {
  const sizes = new Map(spec.map((s) => [s.name, numel(s.shape)]))
  for (const [name, e] of mask) {
    const n = sizes.get(name)
    if (n === undefined) return `"${name}" is not a parameter of this model`
    if (e === 'all') continue
    if (!(e instanceof Int32Array)) return `"${name}": entry must be an Int32Array of flat indices or 'all'`
    for (let i = 0; i < e.length; i++) {
      if (e[i] < 0 || e[i] >= n) return `"${name}": index ${e[i]} at position ${i} is outside [0, ${n})`
      if (i > 0 && e[i] <= e[i - 1]) return `"${name}": indices must be sorted and distinct, but ${e[i - 1]} is followed by ${e[i]} at position ${i}`
    }
  }
  return null
}

/** Same trainable set. */
export function maskEquals(a: ParamMask, b: ParamMask, spec: readonly ParamSpec[]): boolean {
  const x = compactMask(a, spec)
  const y = compactMask(b, spec)
  if (x.size !== y.size) return false
  for (const [name, e] of x) {
    const f = y.get(name)
    if (!f) return false
    if (e === 'all' || f === 'all') {
      if (e !== f) return false
      continue
    }
    if (e.length !== f.length) return false
    for (let i = 0; i < e.length; i++) if (e[i] !== f[i]) return false
  }
  return true
}

/**
 * Sparse deltas: what masked fine-tuning changed, as the trained values of the masked entries per
 * tensor. applyDelta(base, computeDelta(base, model, mask)) reproduces the trained weights bit for bit:
 * the delta stores replacement values (not differences, which float32 addition would round) and copies
 * them as raw bits (NaN payloads and −0 included).
 * Must not: read or write files (the format on disk belongs to io).
 */
import type { BertForSequenceClassification } from '../model/bert'
import { numel, type StateDict } from '../model/config'
import type { TrainMask } from './masked-params'

export interface DeltaEntry {
  shape: number[]
  /** Sorted flat indices (HF layout) of the stored entries, or 'all' (values is then the whole tensor). */
  indices: Int32Array | 'all'
  /** Trained values of those entries. */
  values: Float32Array
}
export type SparseDelta = Map<string, DeltaEntry>

function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length)
}

/**
 * The masked entries of the trained model. With verify (default true), also checks that every entry
 * outside the mask is bit-identical to the base, so that base + delta really is the trained model; a
 * difference throws, naming the tensor and the first differing index.
 */
export async function computeDelta(
  base: StateDict,
  model: BertForSequenceClassification,
  mask: TrainMask,
  opts: { verify?: boolean } = {}
): Promise<SparseDelta> {
  const verify = opts.verify ?? true
  const delta: SparseDelta = new Map()
  for (const s of model.spec) {
    const entry = mask.get(s.name)
    const b = base.get(s.name)
    if (!b) throw new Error(`base weights lack "${s.name}"`)
    if (b.data.length !== numel(s.shape)) throw new Error(`base weight "${s.name}" has ${b.data.length} entries, expected ${numel(s.shape)}`)
    if (entry === undefined && !verify) continue
    if (entry !== undefined && entry !== 'all' && entry.length === 0 && !verify) continue
    const trained = (await model.param(s.name).data()) as Float32Array
    const tb = bits(trained)
    if (entry === 'all') {
      delta.set(s.name, { shape: [...s.shape], indices: 'all', values: new Float32Array(new Uint32Array(tb).buffer) })
      continue
    }
    const idx = entry ?? new Int32Array(0)
    if (verify) {
      const bb = bits(b.data)
      let j = 0
      for (let i = 0; i < tb.length; i++) {
        if (j < idx.length && idx[j] === i) {
          j++
          continue
        }
        if (tb[i] !== bb[i]) {
          throw new Error(`"${s.name}" differs from the base at flat index ${i}, which the mask does not cover (base ${b.data[i]}, trained ${trained[i]})`)
        }
      }
    }
    if (idx.length === 0) continue
    const out = new Uint32Array(idx.length)
    for (let j = 0; j < idx.length; j++) out[j] = tb[idx[j]]
    delta.set(s.name, { shape: [...s.shape], indices: Int32Array.from(idx), values: new Float32Array(out.buffer) })
  }
  return delta
}

/** base + delta: a new state dict (the base is not modified; every tensor is copied bit for bit). */
export function applyDelta(base: StateDict, delta: SparseDelta): StateDict {
  const out: StateDict = new Map()
  for (const [name, t] of base) out.set(name, { shape: [...t.shape], data: t.data.slice() })
  for (const [name, d] of delta) {
    const t = out.get(name)
    if (!t) throw new Error(`delta names "${name}", which the base weights lack`)
    if (t.shape.length !== d.shape.length || t.shape.some((x, i) => x !== d.shape[i])) {
      throw new Error(`delta for "${name}" has shape [${d.shape.join(', ')}], the base [${t.shape.join(', ')}]`)
    }
    const dst = bits(t.data)
    const src = bits(d.values)
    if (d.indices === 'all') {
      if (src.length !== dst.length) throw new Error(`delta for "${name}" holds ${src.length} values, the tensor ${dst.length}`)
      dst.set(src)
      continue
    }
    if (d.indices.length !== src.length) throw new Error(`delta for "${name}": ${d.indices.length} indices but ${src.length} values`)
    for (let j = 0; j < src.length; j++) {
      const i = d.indices[j]
      if (!(i >= 0 && i < dst.length)) throw new Error(`delta index ${i} for "${name}" is out of range (${dst.length} entries)`)
      dst[i] = src[j]
    }
  }
  return out
}

/** Number of stored values of a delta. */
export function deltaSize(delta: SparseDelta): number {
  let n = 0
  for (const d of delta.values()) n += d.values.length
  return n
}

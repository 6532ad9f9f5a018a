/**
 * Training and evaluation batches: encode examples once, then per epoch a seeded shuffle, optional
 * length bucketing, and dynamic padding (each batch padded to its longest row, or to maxLength).
 * Must not: touch tensors or the model.
 */
import type { Example } from '../data/types'
import type { BertBatch } from '../model/bert'
import type { BertTokenizer } from '../tokenizer'
import { Rng } from '../util/rng'

/** One tokenised example: ids of [CLS] a [SEP] (b [SEP]) already truncated. */
export interface EncodedExample {
  inputIds: ArrayLike<number>
  /** Default: all 0. */
  tokenTypeIds?: ArrayLike<number>
  /** Class index, or the float target for a regression head. Required for training and for dev metrics. */
  label?: number
  id?: string
}

/** Pre-encoded examples, or raw examples with the tokenizer that encodes them. */
export type TrainData = EncodedExample[] | { tokenizer: BertTokenizer; examples: Example[] }

export interface EncodedSet {
  rows: Array<{ ids: Int32Array; types: Int32Array }>
  labels: Array<number | undefined>
  ids: string[]
  padId: number
}

export function encodeData(data: TrainData, opts: { maxLength: number; padId: number; what: string }): EncodedSet {
  const rows: EncodedSet['rows'] = []
  const labels: EncodedSet['labels'] = []
  const ids: string[] = []
  if (Array.isArray(data)) {
    data.forEach((e, i) => {
      const n = e.inputIds.length
      if (n === 0) throw new Error(`${opts.what} example ${e.id ?? i} has no tokens`)
      if (n > opts.maxLength) throw new Error(`${opts.what} example ${e.id ?? i} has ${n} tokens, more than maxLength ${opts.maxLength}`)
      if (e.tokenTypeIds && e.tokenTypeIds.length !== n) {
        throw new Error(`${opts.what} example ${e.id ?? i}: ${e.tokenTypeIds.length} token type ids for ${n} tokens`)
      }
      rows.push({ ids: Int32Array.from(e.inputIds), types: e.tokenTypeIds ? Int32Array.from(e.tokenTypeIds) : new Int32Array(n) })
      labels.push(e.label)
      ids.push(e.id ?? String(i))
    })
    return { rows, labels, ids, padId: opts.padId }
  }
  const { tokenizer, examples } = data
  for (const e of examples) {
    const enc = tokenizer.encode(e.textA, e.textB, { maxLength: opts.maxLength })
    rows.push({ ids: Int32Array.from(enc.inputIds), types: Int32Array.from(enc.tokenTypeIds) })
    labels.push(e.label)
    ids.push(e.id)
  }
  return { rows, labels, ids, padId: tokenizer.padId }
}

/** Pad rows[order] into one batch: to the longest row ('longest') or to a fixed length. */
export function collate(set: EncodedSet, order: ArrayLike<number>, padTo: 'longest' | number): BertBatch {
  const B = order.length
  let T = 0
  if (padTo === 'longest') for (let i = 0; i < B; i++) T = Math.max(T, set.rows[order[i]].ids.length)
  else T = padTo
  const inputIds = new Int32Array(B * T)
  if (set.padId !== 0) inputIds.fill(set.padId)
  const tokenTypeIds = new Int32Array(B * T)
  const attentionMask = new Int32Array(B * T)
  for (let b = 0; b < B; b++) {
    const r = set.rows[order[b]]
    inputIds.set(r.ids, b * T)
    tokenTypeIds.set(r.types, b * T)
    attentionMask.fill(1, b * T, b * T + r.ids.length)
  }
  return { inputIds, tokenTypeIds, attentionMask, batchSize: B, seqLen: T }
}

/**
 * The batches of one epoch, as lists of row indices. Shuffled with `rng`; with bucketing, the shuffled
 * rows are cut into chunks of 50 batches, each chunk sorted by length and cut into batches, and the batch
 * order shuffled again (rows of similar length share a batch, so dynamic padding pads less).
 */
export function epochBatches(lengths: ArrayLike<number>, batchSize: number, rng: Rng | null, bucket: boolean): Int32Array[] {
  const n = lengths.length
  const order = Int32Array.from({ length: n }, (_, i) => i)
  if (rng) rng.shuffle(order)
  const batches: Int32Array[] = []
  if (!bucket) {
    for (let i = 0; i < n; i += batchSize) batches.push(order.slice(i, i + batchSize))
    return batches
  }
  const chunk = batchSize * 50
  for (let c = 0; c < n; c += chunk) {
    const part = Array.from(order.subarray(c, c + chunk)).sort((a, b) => lengths[b] - lengths[a] || a - b)
    for (let i = 0; i < part.length; i += batchSize) batches.push(Int32Array.from(part.slice(i, i + batchSize)))
  }
  if (rng) rng.shuffle(batches)
  return batches
}

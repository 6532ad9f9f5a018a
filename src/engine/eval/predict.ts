/**
 * Batched inference over a dataset: length-bucketed batches (sorted by token count, each padded to its
 * own longest row) so short GLUE sentences cost what they are, results returned in the input order.
 * Must not: compute metrics (metrics/ does) or read files.
 */
import type { BertForSequenceClassification } from '../model/bert'
import type { BertTokenizer, Encoded } from '../tokenizer'
import { lengthBuckets } from '../selection/fisher-pass'

export interface PredictOptions {
  batchSize?: number
  maxLength?: number
  onProgress?: (done: number, total: number) => void
  shouldCancel?: () => boolean
}

export interface TextRow {
  textA: string
  textB?: string | null
}

/** Tokenise rows; returns encodings in input order. */
export function encodeRows(tokenizer: BertTokenizer, rows: readonly TextRow[], maxLength: number): Encoded[] {
  return rows.map((r) => tokenizer.encode(r.textA, r.textB ?? null, { maxLength }))
}

/**
 * Logits [N, num_labels] (row-major, input order) for every row. Returns null when cancelled.
 */
export async function predictLogits(
  model: BertForSequenceClassification,
  tokenizer: BertTokenizer,
  rows: readonly TextRow[],
  opts: PredictOptions = {}
): Promise<Float32Array | null> {
  const batchSize = opts.batchSize ?? 32
  const maxLength = opts.maxLength ?? 128
  const C = model.config.num_labels
  const enc = encodeRows(tokenizer, rows, maxLength)
  const out = new Float32Array(rows.length * C)
  let done = 0
  for (const idx of lengthBuckets(enc, enc.map((_, i) => i), batchSize)) {
    if (opts.shouldCancel?.()) return null
    const batch = tokenizer.pad(idx.map((i) => enc[i]))
    const logits = model.logits(batch)
    const v = await logits.data()
    logits.dispose()
    idx.forEach((row, j) => out.set(v.subarray(j * C, (j + 1) * C), row * C))
    done += idx.length
    opts.onProgress?.(done, rows.length)
    await new Promise((r) => setImmediate(r)) // let Ctrl-C and IPC through
  }
  return out
}

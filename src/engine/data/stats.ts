/**
 * Dataset statistics for the UI and for choosing max sequence length: size, label distribution (per
 * class, or a histogram of regression targets), token length distribution, duplicates, train/dev
 * overlap. Owns: the numbers. Must not: tokenize (the caller passes `lengthOf`, normally the model's
 * tokenizer; without it lengths are whitespace tokens and say so) or modify the dataset.
 */
import type { Dataset } from './types'
import { textKey } from './validate'

export interface Histogram {
  /** bins + 1 edges; bin i counts values in [edges[i], edges[i+1]) (the last bin includes its right edge). */
  edges: number[]
  counts: number[]
}

export interface Distribution {
  count: number
  min: number
  max: number
  mean: number
  median: number
  p95: number
  histogram: Histogram
}

export interface LabelCount {
  index: number
  name: string
  count: number
  fraction: number
}

export interface DatasetStats {
  size: number
  hasLabels: boolean
  isRegression: boolean
  /** Classification: one entry per label name, in index order (zero counts included). */
  labels?: LabelCount[]
  /** Regression: the targets' distribution. */
  targets?: Distribution
  /** Rows without a label in a labelled set. */
  unlabelled: number
  /** Lengths of textA (+ textB) per row, in `lengthUnit`. */
  lengths: Distribution
  lengthUnit: 'caller' | 'whitespace tokens'
  /** Rows whose text(s) repeat an earlier row's (whitespace-collapsed). */
  duplicates: number
}

export type LengthOf = (textA: string, textB?: string) => number

/** Counts whitespace-separated tokens of both texts: a stand-in when no tokenizer is at hand. */
export const whitespaceTokens: LengthOf = (a, b) => {
  const count = (s: string) => {
    let n = 0
    let inWord = false
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i)
      const space = c === 32 || (c >= 9 && c <= 13)
      if (!space && !inWord) n++
      inWord = !space
    }
    return n
  }
  return count(a) + (b === undefined ? 0 : count(b))
}

/** 1, 2, 5, 10, 20, 50… : a bin width a person can read. */
function niceStep(range: number, maxBins: number): number {
  const raw = range / maxBins
  const p = 10 ** Math.floor(Math.log10(raw))
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p
  return 10 * p
}

export function histogram(values: ArrayLike<number>, opts: { maxBins?: number; integer?: boolean; range?: [number, number] } = {}): Histogram {
  const maxBins = opts.maxBins ?? 30
  if (values.length === 0) return { edges: [], counts: [] }
  let lo = opts.range?.[0] ?? Infinity
  let hi = opts.range?.[1] ?? -Infinity
  if (!opts.range) {
    for (let i = 0; i < values.length; i++) {
      if (values[i] < lo) lo = values[i]
      if (values[i] > hi) hi = values[i]
    }
  }
  let step = hi > lo ? niceStep(hi - lo, maxBins) : 1
  if (opts.integer) step = Math.max(1, Math.ceil(step))
  const start = Math.floor(lo / step) * step
  // Integer bins are [k, k + step) with the maximum in a bin of its own; real-valued ones close the last bin.
  const bins = opts.integer ? Math.floor((hi - start) / step) + 1 : Math.max(1, Math.ceil((hi - start) / step))
  const edges = Array.from({ length: bins + 1 }, (_, i) => +(start + i * step).toPrecision(12))
  const counts = new Array<number>(bins).fill(0)
  for (let i = 0; i < values.length; i++) {
    let b = Math.floor((values[i] - start) / step)
    if (b >= bins) b = bins - 1
    if (b < 0) b = 0
    counts[b]++
  }
  return { edges, counts }
}

/** Nearest-rank quantile of sorted values. */
function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[i]
}

export function distribution(values: number[], opts: { integer?: boolean; range?: [number, number] } = {}): Distribution {
  const sorted = Float64Array.from(values).sort()
  const n = sorted.length
  let sum = 0
  for (let i = 0; i < n; i++) sum += sorted[i]
  const median = n === 0 ? NaN : n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
  return {
    count: n, min: n ? sorted[0] : NaN, max: n ? sorted[n - 1] : NaN, mean: n ? sum / n : NaN,
    median, p95: quantile(sorted, 0.95), histogram: histogram(sorted, opts)
  }
}

export function datasetStats(ds: Dataset, lengthOf?: LengthOf): DatasetStats {
  const len = lengthOf ?? whitespaceTokens
  const lengths = ds.examples.map((e) => len(e.textA, e.textB))
  let unlabelled = 0
  let labels: LabelCount[] | undefined
  let targets: Distribution | undefined
  if (ds.hasLabels && ds.isRegression) {
    const ys: number[] = []
    for (const e of ds.examples) if (e.label === undefined) unlabelled++; else ys.push(e.label)
    targets = distribution(ys)
  } else if (ds.hasLabels) {
    const names = ds.labelNames ?? []
    const counts = new Array<number>(names.length).fill(0)
    for (const e of ds.examples) {
      if (e.label === undefined || counts[e.label] === undefined) unlabelled++
      else counts[e.label]++
    }
    const labelled = ds.examples.length - unlabelled
    labels = names.map((name, index) => ({ index, name, count: counts[index], fraction: labelled ? counts[index] / labelled : 0 }))
  }
  const seen = new Set<string>()
  let duplicates = 0
  for (const e of ds.examples) {
    const k = textKey(e)
    if (seen.has(k)) duplicates++
    else seen.add(k)
  }
  return {
    size: ds.examples.length, hasLabels: ds.hasLabels, isRegression: ds.isRegression, labels, targets, unlabelled,
    lengths: distribution(lengths, { integer: true }), lengthUnit: lengthOf ? 'caller' : 'whitespace tokens', duplicates
  }
}

/** How many rows of `dev` have the same text(s) as some row of `train` (whitespace-collapsed). */
export function overlap(train: Dataset, dev: Dataset): number {
  const keys = new Set<string>()
  for (const e of train.examples) keys.add(textKey(e))
  let n = 0
  for (const e of dev.examples) if (keys.has(textKey(e))) n++
  return n
}

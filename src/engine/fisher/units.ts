/**
 * The pieces of the parallel Fisher pass that the parent and the workers share: how model weights and
 * score ranges travel (one SharedArrayBuffer each, sent once), what one work unit computes, how a unit's
 * result is encoded for the trip back, and the ordered reduction that makes the total independent of
 * the number of workers.
 *
 * A unit is a fixed run of consecutive batches (fixed by the caller, never by the worker count). Its
 * float32 contribution comes from a fresh FisherAccumulator over exactly those batches, so it is the same
 * whichever worker (or the parent itself) computes it. The parent adds unit contributions in unit order,
 * in float32 (JS adds in float64 and rounds to float32 on store, which for a sum of two float32 values
 * is exactly IEEE float32 addition): a fixed summation order, so 0, 1, 2 or N workers give bit-identical
 * totals.
 * Must not: start workers or know about scheduling (parallel.ts), or touch files.
 */
import type { BertBatch, BertForSequenceClassification } from '../model/bert'
import { bertParameterSpec, numel, type BertConfig, type StateDict } from '../model/config'
import { FisherAccumulator, type FisherPower, type FisherVariant } from './accumulator'

/** One batch of work: a tokenised batch, its labels and optional sample weights w_i. */
export interface FisherWorkBatch {
  batch: BertBatch
  labels: number[]
  sampleWeights?: Float32Array
}

/** What every unit computes (the same for all units of one pass). */
export interface FisherUnitSettings {
  variant: FisherVariant
  power: FisherPower
  scores: boolean
  /** Names of the parameters that get Fisher values (absent: every non-head parameter). */
  params?: string[]
  /** Per-sample score range: name → 0/1 mask over the tensor (absent name: whole tensor). */
  scoreRange?: Map<string, Uint8Array>
}

// ---------------------------------------------------------------------------------------------------------
// Tensors in one SharedArrayBuffer (weights: float32; score ranges: uint8)

export interface PackedEntry {
  name: string
  shape: number[]
  /** Offset in elements of the packed array's type. */
  offset: number
  length: number
}

export interface PackedTensors<B extends 'f32' | 'u8'> {
  kind: B
  buffer: SharedArrayBuffer
  entries: PackedEntry[]
}

/** Copy the weights into one SharedArrayBuffer (checked against the config's parameter layout). */
export function packState(config: BertConfig, state: StateDict): PackedTensors<'f32'> {
  const spec = bertParameterSpec(config)
  const entries: PackedEntry[] = []
  let total = 0
  const problems: string[] = []
  for (const s of spec) {
    const t = state.get(s.name)
    if (!t) problems.push(`missing "${s.name}"`)
    else if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i]) || t.data.length !== numel(s.shape)) {
      problems.push(`"${s.name}" has shape [${t.shape.join(', ')}] (${t.data.length} values), expected [${s.shape.join(', ')}]`)
    }
    entries.push({ name: s.name, shape: [...s.shape], offset: total, length: numel(s.shape) })
    total += numel(s.shape)
  }
  if (problems.length) throw new Error(`model weights do not match the config: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? `; … ${problems.length - 5} more` : ''}`)
  const buffer = new SharedArrayBuffer(total * 4)
  const all = new Float32Array(buffer)
  for (const e of entries) all.set(state.get(e.name)!.data, e.offset)
  return { kind: 'f32', buffer, entries }
}

/** Views on a packed state (no copy). */
export function unpackState(packed: PackedTensors<'f32'>): StateDict {
  const out: StateDict = new Map()
  for (const e of packed.entries) out.set(e.name, { shape: e.shape, data: new Float32Array(packed.buffer, e.offset * 4, e.length) })
  return out
}

export function packMasks(masks: Map<string, Uint8Array>): PackedTensors<'u8'> {
  const entries: PackedEntry[] = []
  let total = 0
  for (const [name, m] of masks) {
    entries.push({ name, shape: [m.length], offset: total, length: m.length })
    total += m.length
  }
  const buffer = new SharedArrayBuffer(Math.max(1, total))
  const all = new Uint8Array(buffer)
  for (const e of entries) all.set(masks.get(e.name)!, e.offset)
  return { kind: 'u8', buffer, entries }
}

export function unpackMasks(packed: PackedTensors<'u8'>): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>()
  for (const e of packed.entries) out.set(e.name, new Uint8Array(packed.buffer, e.offset, e.length))
  return out
}

// ---------------------------------------------------------------------------------------------------------
// Units

export interface UnitRange {
  unit: number
  /** Index of the unit's first batch in the caller's batch list. */
  firstBatch: number
  batchCount: number
  /** Samples in the unit (sum of batch sizes). */
  samples: number
  /** Index of the unit's first sample in the pass (per-sample scores go there). */
  firstSample: number
}

/** Split batches into fixed units of `unitBatches` consecutive batches (the last one may be shorter). */
export function makeUnits(batches: ReadonlyArray<{ batch: BertBatch }>, unitBatches: number): UnitRange[] {
  const units: UnitRange[] = []
  let sample = 0
  for (let first = 0; first < batches.length; first += unitBatches) {
    const count = Math.min(unitBatches, batches.length - first)
    let samples = 0
    for (let k = 0; k < count; k++) samples += batches[first + k].batch.batchSize
    units.push({ unit: units.length, firstBatch: first, batchCount: count, samples, firstSample: sample })
    sample += samples
  }
  return units
}

/** A unit's float32 contribution, as it travels back to the parent. */
export interface UnitResult {
  unit: number
  /** Samples with w_i > 0 (FisherAccumulator.samples). */
  samples: number
  /** Per-sample scores, in batch order (empty unless scores were asked for). */
  scores: Float64Array
  /** Whole tensors. */
  dense: Array<{ name: string; data: Float32Array }>
  /**
   * Embedding tables, where a unit touches few rows: only the rows that hold a non-zero value. Adding
   * the omitted zeros would not change a float32 sum, so this is exact.
   */
  rows: Array<{ name: string; width: number; rows: Int32Array; data: Float32Array }>
}

/** An error inside a unit, naming the batch (index in the caller's list) that failed. */
export class UnitError extends Error {
  constructor(
    message: string,
    readonly batch: number
  ) {
    super(message)
    this.name = 'UnitError'
  }
}

function ownsBuffer(a: Float32Array): boolean {
  return a.buffer instanceof ArrayBuffer && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength
}

/** Encode an embedding table sparsely when at most half its rows hold a non-zero value. */
function encodeRows(name: string, data: Float32Array, shape: readonly number[]): UnitResult['rows'][number] | null {
  const [R, H] = shape
  const touched: number[] = []
  for (let r = 0; r < R; r++) {
    const base = r * H
    for (let h = 0; h < H; h++) {
      if (data[base + h] !== 0) {
        touched.push(r)
        break
      }
    }
    if (touched.length * 2 > R) return null
  }
  const rows = Int32Array.from(touched)
  const out = new Float32Array(rows.length * H)
  for (let k = 0; k < rows.length; k++) out.set(data.subarray(rows[k] * H, rows[k] * H + H), k * H)
  return { name, width: H, rows, data: out }
}

/**
 * Compute one unit: a fresh FisherAccumulator over the unit's batches. `batches` are the unit's own
 * batches; `firstBatch` is the index of the first one in the caller's list (for error messages).
 */
export async function computeUnit(
  model: BertForSequenceClassification,
  unit: number,
  firstBatch: number,
  batches: FisherWorkBatch[],
  settings: FisherUnitSettings
): Promise<UnitResult> {
  const acc = new FisherAccumulator(model)
  const wanted = settings.params ? new Set(settings.params) : null
  const parts: Float64Array[] = []
  try {
    for (let k = 0; k < batches.length; k++) {
      const { batch, labels, sampleWeights } = batches[k]
      try {
        parts.push(
          await acc.addBatch(batch, labels, {
            variant: settings.variant,
            power: settings.power,
            params: wanted ? (n) => wanted.has(n) : undefined,
            sampleWeights,
            scoreRange: settings.scoreRange,
            scores: settings.scores
          })
        )
      } catch (e) {
        throw new UnitError(e instanceof Error ? e.message : String(e), firstBatch + k)
      }
    }
    let n = 0
    for (const p of parts) n += p.length
    const scores = new Float64Array(n)
    let off = 0
    for (const p of parts) {
      scores.set(p, off)
      off += p.length
    }
    const result: UnitResult = { unit, samples: acc.samples, scores, dense: [], rows: [] }
    const shapes = new Map(model.spec.map((s) => [s.name, s.shape]))
    for (const [name, data] of await acc.result()) {
      const shape = shapes.get(name)!
      const sparse = name.endsWith('embeddings.weight') && shape.length === 2 ? encodeRows(name, data, shape) : null
      if (sparse) result.rows.push(sparse)
      // copy unless this array alone owns its buffer (it may be a view the accumulator reuses)
      else result.dense.push({ name, data: ownsBuffer(data) ? data : data.slice() })
    }
    return result
  } finally {
    acc.dispose()
  }
}

/** The buffers a unit result can hand over without a copy (postMessage transfer list). */
export function transferList(r: UnitResult): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>()
  const add = (a: Float32Array | Float64Array | Int32Array) => {
    if (a.buffer instanceof ArrayBuffer && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength) out.add(a.buffer)
  }
  add(r.scores)
  for (const d of r.dense) add(d.data)
  for (const d of r.rows) {
    add(d.rows)
    add(d.data)
  }
  return [...out]
}

// ---------------------------------------------------------------------------------------------------------
// Ordered reduction

/**
 * Adds unit results in unit order, whatever order they arrive in; out-of-order results wait in a
 * buffer. F is one float32 array per parameter (the first unit's array is adopted, not copied).
 */
export class OrderedReducer {
  readonly fisher = new Map<string, Float32Array>()
  readonly scores: Float64Array
  samples = 0
  /** The most results that ever waited at once for an older unit (for tests and memory reports). */
  peakBuffered = 0
  private nextUnit = 0
  private readonly waiting = new Map<number, UnitResult>()
  private readonly sizes: Map<string, number>

  constructor(
    config: BertConfig,
    private readonly units: UnitRange[],
    scores: boolean
  ) {
    this.sizes = new Map(bertParameterSpec(config).map((s) => [s.name, numel(s.shape)]))
    const total = units.reduce((n, u) => n + u.samples, 0)
    this.scores = new Float64Array(scores ? total : 0)
  }

  /** Index of the oldest unit not yet added. */
  get next(): number {
    return this.nextUnit
  }

  get buffered(): number {
    return this.waiting.size
  }

  get done(): boolean {
    return this.nextUnit === this.units.length
  }

  add(r: UnitResult): void {
    if (r.unit < this.nextUnit || this.waiting.has(r.unit) || r.unit >= this.units.length) throw new Error(`unit ${r.unit} arrived twice or out of range`)
    this.waiting.set(r.unit, r)
    for (let w = this.waiting.get(this.nextUnit); w; w = this.waiting.get(this.nextUnit)) {
      this.waiting.delete(this.nextUnit)
      this.apply(w)
      this.nextUnit++
    }
    this.peakBuffered = Math.max(this.peakBuffered, this.waiting.size)
  }

  private target(name: string): Float32Array {
    let acc = this.fisher.get(name)
    if (!acc) {
      const n = this.sizes.get(name)
      if (n === undefined) throw new Error(`unit result names an unknown parameter "${name}"`)
      acc = new Float32Array(n)
      this.fisher.set(name, acc)
    }
    return acc
  }

  private apply(r: UnitResult): void {
    const u = this.units[r.unit]
    if (this.scores.length) {
      if (r.scores.length !== u.samples) throw new Error(`unit ${r.unit} returned ${r.scores.length} scores for ${u.samples} samples`)
      this.scores.set(r.scores, u.firstSample)
    }
    this.samples += r.samples
    for (const { name, data } of r.dense) {
      const acc = this.fisher.get(name)
      if (!acc) {
        if (data.length !== this.sizes.get(name)) throw new Error(`unit result for "${name}" has ${data.length} values, expected ${this.sizes.get(name)}`)
        this.fisher.set(name, data) // 0 + x = x in float32: adopting the first array changes nothing
        continue
      }
      for (let i = 0; i < acc.length; i++) acc[i] += data[i]
    }
    for (const { name, width, rows, data } of r.rows) {
      const acc = this.target(name)
      for (let k = 0; k < rows.length; k++) {
        const base = rows[k] * width
        const off = k * width
        for (let h = 0; h < width; h++) acc[base + h] += data[off + h]
      }
    }
  }

  /** F in the parameter order of the config (like FisherAccumulator.result()). */
  result(config: BertConfig): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>()
    for (const s of bertParameterSpec(config)) {
      const f = this.fisher.get(s.name)
      if (f) out.set(s.name, f)
    }
    return out
  }
}

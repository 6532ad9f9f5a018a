/**
 * The trainer's resumable state: everything train() needs to continue a run so that it ends bit for bit
 * where the uninterrupted run ends — the trained values of the masked entries (a sparse delta over the
 * base weights), the AdamW moments and step, the position (epoch, batches done, optimizer steps), both
 * RNG states and the current epoch's data order, the per-epoch summaries, the best epoch so far, and the
 * running sums the epoch summary needs. The learning-rate schedule has no state of its own: it is a
 * function of the step, which is stored.
 *
 * A fingerprint of the settings that decide the trajectory (data, batch size, epochs, seed, schedule,
 * mask layout, worker count) is stored with it; resuming with different settings is refused with the
 * first difference named.
 * Must not: read or write files (jobs/checkpoint.ts stores it in a run folder).
 */
import type { EpochSummary, EvalResult } from './trainer'

export const TRAIN_CHECKPOINT_VERSION = 1

export interface TrainFingerprint {
  /** Training rows and an FNV-1a hash of their token ids, token types and labels (in order). */
  trainRows: number
  trainHash: string
  devRows: number
  batchSize: number
  epochs: number
  totalSteps: number
  warmupSteps: number
  lr: number
  seed: number
  maxLength: number
  padding: 'longest' | 'max_length'
  bucketByLength: boolean
  maxGradNorm: number
  weightDecay: number
  beta1: number
  beta2: number
  eps: number
  /** Data-parallel workers (0/1 = one thread): with dropout on, the result depends on it. */
  workers: number
  /** Trainable tensors in optimizer order with their trainable entry counts. */
  slots: Array<[string, number]>
}

/** Where a checkpoint stands: `batch` batches of epoch `epoch` (1-based) are done; batch 0 = the epoch has not started. */
export interface TrainPosition {
  step: number
  epoch: number
  batch: number
}

export interface TrainCheckpoint extends TrainPosition {
  version: typeof TRAIN_CHECKPOINT_VERSION
  fingerprint: TrainFingerprint
  /** Shuffle RNG: after drawing `order` when batch > 0, before the epoch's shuffle when batch = 0. */
  shuffleRng: [number, number, number, number]
  dropoutRng: [number, number, number, number]
  /** The current epoch's batches (row indices), flattened, and their sizes; null when batch = 0. */
  order: Int32Array | null
  batchSizes: number[] | null
  /** Sums over the current epoch's completed steps (mean training loss of the epoch). */
  epochLoss: number
  epochSteps: number
  /** Completed epochs, with their dev results (predictions included: the run's result lists them). */
  summaries: EpochSummary[]
  best: EvalResult | null
  /** Slot names with their flat indices (null = the whole tensor), the trained values, AdamW state. */
  slots: Array<{ name: string; shape: number[]; indices: Int32Array | null }>
  values: Float32Array[]
  adam: { step: number; m: Float32Array[]; v: Float32Array[] }
  /** restoreBest: the best epoch's values. */
  bestValues: Float32Array[] | null
  /** For ETA and throughput only (never for results). */
  timing: { trainMs: number; evalMs: number; evalRuns: number; samplesDone: number }
}

/** When train() calls `save`. Every mode also saves on a cooperative cancel unless onCancel is false. */
export interface CheckpointPolicy {
  /** Every N optimizer steps; 0 or absent = not by steps. */
  everySteps?: number
  /** Also after any step that ends more than this many ms after the last save (or the start); 0 or absent = not by time. */
  everyMs?: number
  /** After each epoch (after its dev evaluation); default true. */
  atEpochEnd?: boolean
  /** When the run is cancelled at a batch boundary; default true. */
  onCancel?: boolean
  /**
   * Persist the checkpoint. Its arrays are live views of the trainer's state, valid until the returned
   * promise settles (training waits for it); a throw stops training with that error.
   */
  save(ckpt: TrainCheckpoint): void | Promise<void>
}

/** FNV-1a over 32-bit words, as 8 hex digits (a cheap guard against resuming on other data). */
export function fnv1a(words: Iterable<number>, h = 0x811c9dc5): number {
  for (const w of words) {
    for (let s = 0; s < 32; s += 8) {
      h ^= (w >>> s) & 0xff
      h = Math.imul(h, 0x01000193) >>> 0
    }
  }
  return h >>> 0
}

/** The first setting that differs between a checkpoint and this run, as a readable message; null when they agree. */
export function fingerprintMismatch(saved: TrainFingerprint, now: TrainFingerprint): string | null {
  for (const key of Object.keys(now) as Array<keyof TrainFingerprint>) {
    const a = JSON.stringify(saved[key])
    const b = JSON.stringify(now[key])
    if (a !== b) {
      const short = (s: string) => (s.length > 80 ? `${s.slice(0, 77)}…` : s)
      return `the checkpoint was made with ${key} = ${short(a ?? 'undefined')}, this run has ${short(b)}`
    }
  }
  return null
}

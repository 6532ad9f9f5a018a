/**
 * Training checkpoints in a run folder, crash-safe:
 *
 *   <run>/checkpoint/state.safetensors   per trainable tensor: <name>.delta_indices (I32; absent = whole
 *                                         tensor) and <name>.delta_values (F32) — the same sparse-delta
 *                                         layout as delta.safetensors — plus <name>.adam_m, <name>.adam_v
 *                                         (F32) and, with restoreBest, <name>.best_values; train.order (I32)
 *   <run>/checkpoint/checkpoint.json     the manifest, written last: position (step, epoch, batch), RNG
 *                                         states, batch sizes, epoch sums, summaries, fingerprint, and
 *                                         the state file's size and SHA-256
 *
 * A new checkpoint is written completely into `checkpoint.tmp-*` (state file, then manifest, each
 * fsynced), and only then swapped in: the old folder is renamed aside, the new one renamed into place, the
 * old one removed. A process killed at any moment leaves at least one complete checkpoint — under
 * `checkpoint/` or, in the instant between the two renames, beside it — and loading picks the newest
 * folder whose manifest parses and whose state file matches its recorded size and hash. Non-finite
 * numbers and −0 in the manifest are tagged, so the JSON round trip is exact.
 * Must not: decide when to save (the trainer's CheckpointPolicy does), or touch anything in the run folder
 * but checkpoint folders.
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fsyncDir, writeFileAtomic } from '../io/atomic'
import { readSafetensors, serializeSafetensors, type TensorInput } from '../io/safetensors'
import { TRAIN_CHECKPOINT_VERSION, type TrainCheckpoint } from '../train/checkpoint'
import { faultPoint } from './fault'

export const CHECKPOINT_DIR = 'checkpoint'
export const CHECKPOINT_MANIFEST = 'checkpoint.json'
export const CHECKPOINT_STATE = 'state.safetensors'
const FORMAT = 'ird-studio-checkpoint'

interface Manifest {
  format: typeof FORMAT
  version: number
  createdAt: string
  step: number
  epoch: number
  batch: number
  totalSteps: number
  epochs: number
  fingerprint: TrainCheckpoint['fingerprint']
  shuffleRng: TrainCheckpoint['shuffleRng']
  dropoutRng: TrainCheckpoint['dropoutRng']
  batchSizes: number[] | null
  epochLoss: number
  epochSteps: number
  summaries: TrainCheckpoint['summaries']
  best: TrainCheckpoint['best']
  slots: Array<{ name: string; shape: number[]; whole: boolean }>
  adamStep: number
  hasBest: boolean
  timing: TrainCheckpoint['timing']
  state: { file: string; bytes: number; sha256: string }
}

/** Summary of a stored checkpoint (what `list` and resume messages show). */
export interface CheckpointInfo {
  dir: string
  step: number
  epoch: number
  batch: number
  totalSteps: number
  epochs: number
  createdAt: string
}

// ---- exact JSON for floats: NaN, ±Infinity and −0 survive the round trip
const TAG = '__float__'
function replacer(_k: string, v: unknown): unknown {
  if (typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0))) return { [TAG]: Object.is(v, -0) ? '-0' : String(v) }
  return v
}
function reviver(_k: string, v: unknown): unknown {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const keys = Object.keys(v)
    if (keys.length === 1 && keys[0] === TAG) return Number((v as Record<string, string>)[TAG])
  }
  return v
}

/** Save a checkpoint into `<runDir>/checkpoint/`, replacing the previous one only once the new one is complete. */
export function saveCheckpoint(runDir: string, ck: TrainCheckpoint): CheckpointInfo {
  const tensors = new Map<string, TensorInput>()
  ck.slots.forEach((s, i) => {
    const n = ck.values[i].length
    if (s.indices) tensors.set(`${s.name}.delta_indices`, { dtype: 'I32', shape: [n], data: s.indices })
    tensors.set(`${s.name}.delta_values`, { dtype: 'F32', shape: [n], data: ck.values[i] })
    tensors.set(`${s.name}.adam_m`, { dtype: 'F32', shape: [n], data: ck.adam.m[i] })
    tensors.set(`${s.name}.adam_v`, { dtype: 'F32', shape: [n], data: ck.adam.v[i] })
    if (ck.bestValues) tensors.set(`${s.name}.best_values`, { dtype: 'F32', shape: [n], data: ck.bestValues[i] })
  })
  if (ck.order) tensors.set('train.order', { dtype: 'I32', shape: [ck.order.length], data: ck.order })
  const { chunks, byteLength } = serializeSafetensors(tensors, { format: 'pt', kind: FORMAT, step: String(ck.step) }, CHECKPOINT_STATE)
  const hash = createHash('sha256')
  for (const c of chunks) hash.update(c)
  const manifest: Manifest = {
    format: FORMAT,
    version: TRAIN_CHECKPOINT_VERSION,
    createdAt: new Date().toISOString(),
    step: ck.step,
    epoch: ck.epoch,
    batch: ck.batch,
    totalSteps: ck.fingerprint.totalSteps,
    epochs: ck.fingerprint.epochs,
    fingerprint: ck.fingerprint,
    shuffleRng: ck.shuffleRng,
    dropoutRng: ck.dropoutRng,
    batchSizes: ck.batchSizes,
    epochLoss: ck.epochLoss,
    epochSteps: ck.epochSteps,
    summaries: ck.summaries,
    best: ck.best,
    slots: ck.slots.map((s) => ({ name: s.name, shape: s.shape, whole: s.indices === null })),
    adamStep: ck.adam.step,
    hasBest: ck.bestValues !== null,
    timing: ck.timing,
    state: { file: CHECKPOINT_STATE, bytes: byteLength, sha256: hash.digest('hex') }
  }
  const suffix = `${process.pid}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e9).toString(36)}`
  const tmp = join(runDir, `${CHECKPOINT_DIR}.tmp-${suffix}`)
  const target = join(runDir, CHECKPOINT_DIR)
  mkdirSync(tmp)
  try {
    writeFileAtomic(join(tmp, CHECKPOINT_STATE), chunks)
    faultPoint('checkpoint-state')
    writeFileAtomic(join(tmp, CHECKPOINT_MANIFEST), JSON.stringify(manifest, replacer) + '\n')
    fsyncDir(tmp)
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true })
    throw e
  }
  faultPoint('checkpoint-manifest')
  let aside: string | null = null
  if (existsSync(target)) {
    aside = join(runDir, `${CHECKPOINT_DIR}.old.tmp-${suffix}`)
    renameSync(target, aside)
  }
  faultPoint('checkpoint-swap')
  renameSync(tmp, target)
  fsyncDir(runDir)
  // the new checkpoint is in place: everything older (this save's old folder, leftovers of killed saves) goes
  for (const name of readdirSync(runDir)) {
    if (name.startsWith(`${CHECKPOINT_DIR}.tmp-`) || name.startsWith(`${CHECKPOINT_DIR}.old.tmp-`)) rmSync(join(runDir, name), { recursive: true, force: true })
  }
  if (aside) rmSync(aside, { recursive: true, force: true })
  return { dir: target, step: ck.step, epoch: ck.epoch, batch: ck.batch, totalSteps: manifest.totalSteps, epochs: manifest.epochs, createdAt: manifest.createdAt }
}

function readManifest(dir: string): Manifest | null {
  try {
    const m = JSON.parse(readFileSync(join(dir, CHECKPOINT_MANIFEST), 'utf8'), reviver) as Manifest
    if (m.format !== FORMAT || typeof m.step !== 'number' || !m.state) return null
    return m
  } catch {
    return null
  }
}

/** Checkpoint folders of a run (the current one and leftovers beside it), newest complete first. */
function candidates(runDir: string): Array<{ dir: string; manifest: Manifest }> {
  if (!existsSync(runDir)) return []
  const out: Array<{ dir: string; manifest: Manifest; rank: number }> = []
  for (const name of readdirSync(runDir)) {
    const rank = name === CHECKPOINT_DIR ? 2 : name.startsWith(`${CHECKPOINT_DIR}.tmp-`) ? 1 : name.startsWith(`${CHECKPOINT_DIR}.old.tmp-`) ? 0 : -1
    if (rank < 0) continue
    const dir = join(runDir, name)
    if (!statSync(dir).isDirectory()) continue
    const manifest = readManifest(dir)
    if (!manifest) continue
    const file = join(dir, manifest.state.file)
    if (!existsSync(file) || statSync(file).size !== manifest.state.bytes) continue
    out.push({ dir, manifest, rank })
  }
  return out.sort((a, b) => b.manifest.step - a.manifest.step || b.rank - a.rank)
}

/** The newest complete checkpoint's position, without reading its state (cheap; for listings). */
export function checkpointInfo(runDir: string): CheckpointInfo | null {
  const c = candidates(runDir)[0]
  if (!c) return null
  const m = c.manifest
  return { dir: c.dir, step: m.step, epoch: m.epoch, batch: m.batch, totalSteps: m.totalSteps, epochs: m.epochs, createdAt: m.createdAt }
}

/**
 * The newest complete checkpoint of a run (state hash verified), or null when there is none. A folder
 * that fails verification is skipped in favour of an older complete one.
 */
export function loadCheckpoint(runDir: string): { checkpoint: TrainCheckpoint; info: CheckpointInfo } | null {
  for (const { dir, manifest: m } of candidates(runDir)) {
    const file = join(dir, m.state.file)
    const bytes = readFileSync(file)
    if (createHash('sha256').update(bytes).digest('hex') !== m.state.sha256) continue
    const { tensors } = readSafetensors(file)
    const f32 = (key: string): Float32Array => {
      const t = tensors.get(key)
      if (!t || t.dtype !== 'F32') throw new Error(`checkpoint ${file} lacks the F32 tensor "${key}"`)
      return t.data as Float32Array
    }
    const slots = m.slots.map((s) => {
      const idx = tensors.get(`${s.name}.delta_indices`)
      if (!s.whole && (!idx || idx.dtype !== 'I32')) throw new Error(`checkpoint ${file} lacks "${s.name}.delta_indices"`)
      return { name: s.name, shape: s.shape, indices: s.whole ? null : (idx!.data as Int32Array) }
    })
    const order = tensors.get('train.order')
    const checkpoint: TrainCheckpoint = {
      version: m.version as typeof TRAIN_CHECKPOINT_VERSION,
      fingerprint: m.fingerprint,
      step: m.step,
      epoch: m.epoch,
      batch: m.batch,
      shuffleRng: m.shuffleRng,
      dropoutRng: m.dropoutRng,
      order: order ? (order.data as Int32Array) : null,
      batchSizes: m.batchSizes,
      epochLoss: m.epochLoss,
      epochSteps: m.epochSteps,
      summaries: m.summaries,
      best: m.best,
      slots,
      values: m.slots.map((s) => f32(`${s.name}.delta_values`)),
      adam: { step: m.adamStep, m: m.slots.map((s) => f32(`${s.name}.adam_m`)), v: m.slots.map((s) => f32(`${s.name}.adam_v`)) },
      bestValues: m.hasBest ? m.slots.map((s) => f32(`${s.name}.best_values`)) : null,
      timing: m.timing
    }
    return { checkpoint, info: { dir, step: m.step, epoch: m.epoch, batch: m.batch, totalSteps: m.totalSteps, epochs: m.epochs, createdAt: m.createdAt } }
  }
  return null
}

/** Remove every checkpoint folder of a run (after it completed: the delta holds the result). */
export function removeCheckpoints(runDir: string): void {
  if (!existsSync(runDir)) return
  for (const name of readdirSync(runDir)) {
    if (name === CHECKPOINT_DIR || name.startsWith(`${CHECKPOINT_DIR}.tmp-`) || name.startsWith(`${CHECKPOINT_DIR}.old.tmp-`)) {
      rmSync(join(runDir, name), { recursive: true, force: true })
    }
  }
}

/**
 * Training checkpoints in a run folder, crash-safe:
 *
 *   <run>/checkpoint/state.safetensors   per trainable tensor: <name>.delta_indices (I32; absent = whole
 *                                         tensor) and <name>.delta_values (F32) — the same sparse-delta
 *                                         layout as delta.safetensors — plus <name>.adam_m, <name>.adam_v
 *                                         (F32) and, with restoreBest, <name>.best_values; train.order (I32)
 *   <run>/checkpoint/checkpoint.json     the manifest: position (step, epoch, batch), RNG states, batch
 *                                         sizes, epoch sums, summaries, fingerprint, and the state file's
 *                                         size and SHA-256
 *   <run>/checkpoint/SHA256SUMS          written last: the SHA-256 of checkpoint.json and of the state
 *                                         file (`sha256sum -c SHA256SUMS` checks them by hand)
 *   <run>/checkpoint.prev/               the previous checkpoint, kept as the fallback
 *
 * A new checkpoint is written completely into `checkpoint.tmp-*` (state file, manifest, checksums, each
 * fsynced), and only then rotated in: the previous fallback is renamed aside, the current checkpoint
 * becomes `checkpoint.prev`, the new one is renamed into place, the old fallback removed. A process killed
 * at any moment leaves at least one complete checkpoint — the last two are kept — and loading picks the
 * newest folder whose every file matches its recorded size and checksum.
 *
 * Damage is said out loud: `inspectCheckpoints` names each damaged file and its fault (missing,
 * truncated, checksum mismatch, bad JSON), and `planResume` decides what `resume` does — continue from
 * the newest good checkpoint (falling back to the previous one, saying why), start from step 0 only when
 * no checkpoint was ever recorded, or refuse (the caller's `restart` flag starts over explicitly). A
 * checkpoint the event log records but whose folder is gone is damage too, never "step 0".
 * Non-finite numbers and −0 in the manifest are tagged, so the JSON round trip is exact.
 * Must not: decide when to save (the trainer's CheckpointPolicy does), or write anything in the run folder
 * but checkpoint folders (it reads events.jsonl to know which checkpoints were recorded).
 */
import { createHash } from 'node:crypto'
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fsyncDir, writeFileAtomic } from '../io/atomic'
import { readSafetensors, serializeSafetensors, type TensorInput } from '../io/safetensors'
import { TRAIN_CHECKPOINT_VERSION, type TrainCheckpoint } from '../train/checkpoint'
import { faultPoint } from './fault'

export const CHECKPOINT_DIR = 'checkpoint'
export const CHECKPOINT_PREV = 'checkpoint.prev'
export const CHECKPOINT_MANIFEST = 'checkpoint.json'
export const CHECKPOINT_STATE = 'state.safetensors'
export const CHECKPOINT_SUMS = 'SHA256SUMS'
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
  /** Present since checksums of every file are recorded (SHA256SUMS); absent in older checkpoints. */
  integrity?: typeof CHECKPOINT_SUMS
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
    state: { file: CHECKPOINT_STATE, bytes: byteLength, sha256: hash.digest('hex') },
    integrity: CHECKPOINT_SUMS
  }
  const manifestText = JSON.stringify(manifest, replacer) + '\n'
  const suffix = `${process.pid}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e9).toString(36)}`
  const tmp = join(runDir, `${CHECKPOINT_DIR}.tmp-${suffix}`)
  const target = join(runDir, CHECKPOINT_DIR)
  const prev = join(runDir, CHECKPOINT_PREV)
  mkdirSync(tmp)
  try {
    writeFileAtomic(join(tmp, CHECKPOINT_STATE), chunks)
    faultPoint('checkpoint-state')
    writeFileAtomic(join(tmp, CHECKPOINT_MANIFEST), manifestText)
    writeFileAtomic(join(tmp, CHECKPOINT_SUMS), `${sha256Hex(Buffer.from(manifestText, 'utf8'))}  ${CHECKPOINT_MANIFEST}\n${manifest.state.sha256}  ${CHECKPOINT_STATE}\n`)
    fsyncDir(tmp)
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true })
    throw e
  }
  faultPoint('checkpoint-manifest')
  // rotate: the current checkpoint becomes the fallback, the old fallback goes aside (removed below);
  // with no current checkpoint (removed as damaged) the fallback stays
  let aside: string | null = null
  if (existsSync(target)) {
    if (existsSync(prev)) {
      aside = join(runDir, `${CHECKPOINT_DIR}.old.tmp-${suffix}`)
      renameSync(prev, aside)
    }
    renameSync(target, prev)
  }
  faultPoint('checkpoint-swap')
  renameSync(tmp, target)
  fsyncDir(runDir)
  // the new checkpoint is in place: leftovers of this save and of killed saves go
  for (const name of readdirSync(runDir)) {
    if (name.startsWith(`${CHECKPOINT_DIR}.tmp-`) || name.startsWith(`${CHECKPOINT_DIR}.old.tmp-`)) rmSync(join(runDir, name), { recursive: true, force: true })
  }
  if (aside) rmSync(aside, { recursive: true, force: true })
  return { dir: target, step: ck.step, epoch: ck.epoch, batch: ck.batch, totalSteps: manifest.totalSteps, epochs: manifest.epochs, createdAt: manifest.createdAt }
}

const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/** The fault a checkpoint file has. */
export type CheckpointFault = 'missing' | 'truncated' | 'size mismatch' | 'checksum mismatch' | 'bad JSON' | 'not a checkpoint'

export interface CheckpointDamage {
  /** The checkpoint folder's name in the run folder (checkpoint, checkpoint.prev). */
  folder: string
  /** The damaged file, relative to the run folder (checkpoint/state.safetensors). */
  file: string
  fault: CheckpointFault
  /** One line: the file, the fault and the numbers. */
  message: string
}

interface Candidate {
  dir: string
  name: string
  manifest: Manifest
  rank: number
}

function sizeOf(path: string): number | null {
  try {
    const st = statSync(path)
    return st.isFile() ? st.size : null
  } catch {
    return null
  }
}

/**
 * Check one checkpoint folder: every file present, of its recorded size and checksum (the state file's
 * hash only with `verify`: it can be large), the manifest valid. Returns the manifest, or the damage.
 */
function checkFolder(runDir: string, name: string, verify: boolean): { manifest: Manifest } | { damage: CheckpointDamage } {
  const dir = join(runDir, name)
  const damage = (file: string, fault: CheckpointFault, detail: string) => ({ damage: { folder: name, file: `${name}/${file}`, fault, message: `${name}/${file}: ${fault}${detail ? ` (${detail})` : ''}` } })
  let text: Buffer
  try {
    text = readFileSync(join(dir, CHECKPOINT_MANIFEST))
  } catch {
    return damage(CHECKPOINT_MANIFEST, 'missing', 'the checkpoint has no manifest')
  }
  // the recorded checksums, when this checkpoint has them
  let sums: Map<string, string> | null = null
  try {
    const lines = readFileSync(join(dir, CHECKPOINT_SUMS), 'utf8').split('\n').filter(Boolean)
    sums = new Map()
    for (const line of lines) {
      const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line)
      if (!m) return damage(CHECKPOINT_SUMS, 'bad JSON', `line ${JSON.stringify(line.slice(0, 80))} is not "<sha256>  <file>"`)
      sums.set(m[2], m[1])
    }
  } catch {
    sums = null
  }
  const manifestSum = sums?.get(CHECKPOINT_MANIFEST)
  const manifestOk = manifestSum === undefined || manifestSum === sha256Hex(text)
  let m: Manifest
  try {
    m = JSON.parse(text.toString('utf8'), reviver) as Manifest
  } catch (e) {
    return damage(CHECKPOINT_MANIFEST, 'bad JSON', `${text.length} bytes${manifestOk ? '' : ', checksum mismatch'}: ${(e as Error).message}; truncated or overwritten`)
  }
  if (!manifestOk) return damage(CHECKPOINT_MANIFEST, 'checksum mismatch', `SHA-256 ${sha256Hex(text).slice(0, 16)}…, ${CHECKPOINT_SUMS} records ${manifestSum!.slice(0, 16)}…`)
  if (m === null || typeof m !== 'object' || m.format !== FORMAT || typeof m.step !== 'number' || !m.state || typeof m.state.file !== 'string' || typeof m.state.bytes !== 'number') {
    return damage(CHECKPOINT_MANIFEST, 'not a checkpoint', `not an ${FORMAT} manifest`)
  }
  if (m.integrity === CHECKPOINT_SUMS && sums === null) return damage(CHECKPOINT_SUMS, 'missing', 'the checksums of this checkpoint are gone')
  const stateFile = m.state.file
  if (stateFile.includes('/') || stateFile.includes('\\') || stateFile.startsWith('.')) return damage(CHECKPOINT_MANIFEST, 'not a checkpoint', `state file name ${JSON.stringify(stateFile)}`)
  const size = sizeOf(join(dir, stateFile))
  if (size === null) return damage(stateFile, 'missing', `the checkpoint's state (${m.state.bytes} bytes) is gone`)
  if (size < m.state.bytes) return damage(stateFile, 'truncated', `${size} of ${m.state.bytes} bytes`)
  if (size !== m.state.bytes) return damage(stateFile, 'size mismatch', `${size} bytes, ${m.state.bytes} recorded`)
  if (verify) {
    const got = sha256Hex(readFileSync(join(dir, stateFile)))
    const want = sums?.get(stateFile) ?? m.state.sha256
    if (got !== want || got !== m.state.sha256) return damage(stateFile, 'checksum mismatch', `SHA-256 ${got.slice(0, 16)}…, recorded ${want.slice(0, 16)}…`)
  }
  return { manifest: m }
}

export interface CheckpointInspection {
  /** Good checkpoints, newest first. */
  usable: Array<{ dir: string; name: string; info: CheckpointInfo }>
  /** Damage found in `checkpoint/` and `checkpoint.prev/` (leftovers of interrupted saves are not damage). */
  damaged: CheckpointDamage[]
}

/**
 * Every checkpoint folder of a run, checked: the current one, the previous one, and complete leftovers
 * of a save killed between its renames. With `verify` (resume) the state files are hashed too; without
 * (listings) only their sizes and the manifests' checksums are checked.
 */
export function inspectCheckpoints(runDir: string, opts: { verify?: boolean } = {}): CheckpointInspection {
  const verify = opts.verify ?? true
  const out: Candidate[] = []
  const damaged: CheckpointDamage[] = []
  if (!existsSync(runDir)) return { usable: [], damaged }
  for (const name of readdirSync(runDir)) {
    const rank = name === CHECKPOINT_DIR ? 3 : name === CHECKPOINT_PREV ? 2 : name.startsWith(`${CHECKPOINT_DIR}.tmp-`) ? 1 : name.startsWith(`${CHECKPOINT_DIR}.old.tmp-`) ? 0 : -1
    if (rank < 0) continue
    const dir = join(runDir, name)
    const main = rank >= 2
    if (lstatSync(dir).isSymbolicLink()) {
      // a checkpoint is a folder of the run, never read through a link
      if (main) damaged.push({ folder: name, file: name, fault: 'not a checkpoint', message: `${name}: a symbolic link, not a folder of the run` })
      continue
    }
    if (!statSync(dir).isDirectory()) {
      if (main) damaged.push({ folder: name, file: name, fault: 'not a checkpoint', message: `${name}: not a folder` })
      continue
    }
    const r = checkFolder(runDir, name, verify)
    if ('damage' in r) {
      // an interrupted save's folder is incomplete by design; only the kept checkpoints count as damaged
      if (main) damaged.push(r.damage)
      continue
    }
    out.push({ dir, name, manifest: r.manifest, rank })
  }
  out.sort((a, b) => b.manifest.step - a.manifest.step || b.rank - a.rank)
  damaged.sort((a, b) => (a.folder === CHECKPOINT_DIR ? -1 : b.folder === CHECKPOINT_DIR ? 1 : 0))
  return {
    usable: out.map(({ dir, name, manifest: m }) => ({ dir, name, info: { dir, step: m.step, epoch: m.epoch, batch: m.batch, totalSteps: m.totalSteps, epochs: m.epochs, createdAt: m.createdAt } })),
    damaged
  }
}

/** The last checkpoint step the run's event log records since its last restart, or null. */
export function recordedCheckpointStep(runDir: string): number | null {
  let text: string
  try {
    text = readFileSync(join(runDir, 'events.jsonl'), 'utf8')
  } catch {
    return null
  }
  let step: number | null = null
  for (const line of text.split('\n')) {
    if (!line.includes('"phase"')) continue
    let e: { phase?: unknown; step?: unknown; restart?: unknown }
    try {
      e = JSON.parse(line) as typeof e
    } catch {
      continue
    }
    if (e.phase === 'checkpoint' && typeof e.step === 'number') step = e.step
    else if (e.phase === 'resume-point' && e.restart === true) step = null
  }
  return step
}

/** What `resume` will do with a run's checkpoints. */
export interface ResumePlan {
  /** checkpoint: continue from `use`; fresh: no checkpoint was ever recorded; restart: asked to start over; refuse: damaged, nothing good left. */
  kind: 'checkpoint' | 'fresh' | 'restart' | 'refuse'
  use: CheckpointInfo | null
  /** The folder `use` lives in (checkpoint, checkpoint.prev, or a complete leftover). */
  folder: string | null
  damaged: CheckpointDamage[]
  /** One paragraph for the user: what was found and what happens. */
  message: string
}

/**
 * Decide how to resume the run in `runDir` (id `runId` for the advice). Never answers "step 0" when a
 * checkpoint was recorded or a damaged one is found, unless `restart` asks for it.
 */
export function planResume(runDir: string, runId: string, opts: { restart?: boolean } = {}): ResumePlan {
  const { usable, damaged } = inspectCheckpoints(runDir, { verify: true })
  const hurt = damaged.map((d) => d.message).join('; ')
  const restartHint = `\`ird-studio resume ${runId} --restart\` starts training over from step 0 (the saved mask is kept)`
  if (opts.restart) {
    const had = usable.length || damaged.length ? ` (its checkpoints are removed${hurt ? `; damaged: ${hurt}` : ''})` : ''
    return { kind: 'restart', use: null, folder: null, damaged, message: `starting training over from step 0, as asked with --restart${had}` }
  }
  const best = usable[0]
  if (best) {
    const at = `the checkpoint at step ${best.info.step} of ${best.info.totalSteps} (epoch ${Math.min(best.info.epoch, best.info.epochs)} of ${best.info.epochs})`
    if (!damaged.length) return { kind: 'checkpoint', use: best.info, folder: best.name, damaged, message: `continuing from ${at}` }
    if (best.name === CHECKPOINT_DIR) return { kind: 'checkpoint', use: best.info, folder: best.name, damaged, message: `continuing from ${at}; the fallback checkpoint is damaged and is removed (${hurt})` }
    return { kind: 'checkpoint', use: best.info, folder: best.name, damaged, message: `damaged checkpoint: ${hurt}; falling back to ${best.name === CHECKPOINT_PREV ? 'the previous good checkpoint' : 'a good checkpoint'} (${best.name}/), ${at}; the damaged one is removed` }
  }
  if (damaged.length) {
    return { kind: 'refuse', use: null, folder: null, damaged, message: `cannot resume run ${runId}: damaged checkpoint: ${hurt}; no good checkpoint is left to fall back to. ${restartHint}` }
  }
  const recorded = recordedCheckpointStep(runDir)
  if (recorded !== null) {
    return {
      kind: 'refuse',
      use: null,
      folder: null,
      damaged: [{ folder: CHECKPOINT_DIR, file: CHECKPOINT_DIR, fault: 'missing', message: `${CHECKPOINT_DIR}/: missing (the event log records a checkpoint at step ${recorded}, but no checkpoint folder is left)` }],
      message: `cannot resume run ${runId}: its event log records a checkpoint at step ${recorded}, but no checkpoint folder is left (deleted?). ${restartHint}`
    }
  }
  return { kind: 'fresh', use: null, folder: null, damaged, message: 'no checkpoint was saved before the run stopped: training starts from step 0' }
}

/** The newest good checkpoint's position, without hashing its state (cheap; for listings). */
export function checkpointInfo(runDir: string): CheckpointInfo | null {
  return inspectCheckpoints(runDir, { verify: false }).usable[0]?.info ?? null
}

/**
 * Load the checkpoint in `folder` of the run (verified again: size and SHA-256 of every file). Throws
 * CheckpointDamagedError naming the file and the fault.
 */
export function loadCheckpointFrom(runDir: string, folder: string): { checkpoint: TrainCheckpoint; info: CheckpointInfo } {
  const r = checkFolder(runDir, folder, false)
  if ('damage' in r) throw new CheckpointDamagedError(r.damage)
  const m = r.manifest
  const dir = join(runDir, folder)
  const file = join(dir, m.state.file)
  const bytes = readFileSync(file)
  const got = sha256Hex(bytes)
  if (got !== m.state.sha256) {
    throw new CheckpointDamagedError({ folder, file: `${folder}/${m.state.file}`, fault: 'checksum mismatch', message: `${folder}/${m.state.file}: checksum mismatch (SHA-256 ${got.slice(0, 16)}…, recorded ${m.state.sha256.slice(0, 16)}…)` })
  }
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

export class CheckpointDamagedError extends Error {
  constructor(readonly damage: CheckpointDamage) {
    super(`damaged checkpoint: ${damage.message}`)
    this.name = 'CheckpointDamagedError'
  }
}

/**
 * The newest good checkpoint of a run (every file verified), or null when there is none. A damaged one
 * is passed over in favour of an older good one; `planResume` says so to the user.
 */
export function loadCheckpoint(runDir: string): { checkpoint: TrainCheckpoint; info: CheckpointInfo } | null {
  const best = inspectCheckpoints(runDir, { verify: true }).usable[0]
  return best ? loadCheckpointFrom(runDir, best.name) : null
}

/**
 * Remove the kept checkpoint folders a plan found damaged (resume does, once it has said so and chosen a
 * good one), so that the next save does not keep a damaged folder as the fallback.
 */
export function removeDamaged(runDir: string, plan: ResumePlan): void {
  for (const folder of new Set(plan.damaged.map((d) => d.folder))) {
    if (folder !== CHECKPOINT_DIR && folder !== CHECKPOINT_PREV) continue
    if (folder === plan.folder) continue
    rmSync(join(runDir, folder), { recursive: true, force: true })
  }
}

/** Remove every checkpoint folder of a run (after it completed: the delta holds the result). */
export function removeCheckpoints(runDir: string): void {
  if (!existsSync(runDir)) return
  for (const name of readdirSync(runDir)) {
    if (name === CHECKPOINT_DIR || name === CHECKPOINT_PREV || name.startsWith(`${CHECKPOINT_DIR}.tmp-`) || name.startsWith(`${CHECKPOINT_DIR}.old.tmp-`)) {
      rmSync(join(runDir, name), { recursive: true, force: true })
    }
  }
}

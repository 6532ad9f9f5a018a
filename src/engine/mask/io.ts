/**
 * The mask artefact: `mask.safetensors` (the trainable entries, keyed by Hugging Face parameter names)
 * plus `mask.json` (how the mask was made: method, budgets, settings, seed, data, samples, statistics).
 *
 * mask.safetensors lists every parameter of the model, each in the smaller of two encodings:
 *   - `dense_u8`:    U8, shape = the parameter's shape, 1 = trainable          (numel bytes)
 *   - `indices_i32`: I32, 1-D, sorted distinct flat indices (HF layout)          (4 · count bytes)
 * `indices_i32` is used when 4 · count < numel, so an untrainable parameter is an empty I32 tensor and a
 * fully trainable one is dense ones. `__metadata__` holds format "pt", the per-tensor encodings (JSON map),
 * method, keep_ratio, k, seed, dataset_sha256 and a digest of the mask content that mask.json repeats,
 * so that a mask.json left beside another mask.safetensors is detected.
 * Python: `m = safe_open(path, "pt")`, then `enc = json.loads(m.metadata()["encoding"])`.
 *
 * Owns: the two files' layout, writing them atomically, reading and validating them against a config.
 * Must not: select masks, or accept a file whose names or shapes do not fit the model.
 */
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { bertParameterSpec, numel, type BertConfig } from '../model/config'
import { writeJsonAtomic } from '../io/atomic'
import { ensureDir } from '../io/writable'
import { readSafetensors, writeSafetensors, type TensorInput } from '../io/safetensors'
import { parseJsonStrict } from '../io/strict-json'
import { checkMask, compactMask, denseToIndices, headSize, maskCount, type ParamMask } from './mask'

export const MASK_FILE = 'mask.safetensors'
export const MASK_SIDECAR_FILE = 'mask.json'
export const MASK_FORMAT = 'ird-studio-mask'
export const MASK_FORMAT_VERSION = 1

export type MaskEncoding = 'dense_u8' | 'indices_i32'

/** What the caller knows about how the mask was made; saveMask adds counts, digest and encodings. */
export interface MaskSidecarInput {
  method: string
  seed?: number | null
  /** SHA-256 of the training data file the samples came from. */
  datasetSha256?: string | null
  datasetName?: string | null
  datasetRows?: number | null
  keepRatio?: number | null
  /** Parameter budget over θ (head excluded). */
  k?: number | null
  /** Sample budget n (FISH/IRD). */
  nSamples?: number | null
  /** Resolved method settings (Fisher variant/power, IRD factors, batch size, ...). */
  settings?: Record<string, unknown>
  selectedSampleIds?: string[]
  gradientEvaluations?: number
  /** JSON-serialisable statistics (selection/stats.ts). */
  stats?: unknown
  notes?: string[]
}

export interface MaskSidecar {
  format: typeof MASK_FORMAT
  version: number
  method: string
  createdAt: string
  seed: number | null
  dataset: { sha256: string | null; name: string | null; rows: number | null }
  budgets: {
    keepRatio: number | null
    k: number | null
    headSize: number
    totalParams: number
    /** |θ| = totalParams − headSize */
    thetaSize: number
    /** Trainable entries, head included. */
    maskCount: number
    nSamples: number | null
  }
  settings: Record<string, unknown>
  selectedSampleIds: string[]
  gradientEvaluations: number | null
  stats: unknown
  notes: string[]
  model: { hidden_size: number; num_hidden_layers: number; vocab_size: number; num_labels: number; intermediate_size: number; max_position_embeddings: number; type_vocab_size: number }
  encodings: Record<string, MaskEncoding>
  /** sha256 over the mask content (see maskDigest); also in mask.safetensors' metadata. */
  digest: string
}

export class MaskFileError extends Error {
  constructor(
    message: string,
    readonly file: string
  ) {
    super(`${file}: ${message}`)
    this.name = 'MaskFileError'
  }
}

/**
 * Content digest of a mask, independent of the file encoding: sha256 over, per parameter in spec order
 * that has entries, `name`, a NUL, then "all" or the little-endian int32 indices, then a NUL.
 */
export function maskDigest(mask: ParamMask, config: BertConfig): string {
  const spec = bertParameterSpec(config)
  const m = compactMask(mask, spec)
  const h = createHash('sha256')
  for (const s of spec) {
    const e = m.get(s.name)
    if (!e) continue
    h.update(s.name)
    h.update('\0')
    if (e === 'all') h.update('all')
    else h.update(new Uint8Array(e.buffer, e.byteOffset, e.byteLength))
    h.update('\0')
  }
  return h.digest('hex')
}

/** The encoding saveMask picks for a parameter of `size` entries with `count` trainable. */
export function chooseEncoding(count: number, size: number): MaskEncoding {
  return 4 * count < size ? 'indices_i32' : 'dense_u8'
}

/** Write mask.safetensors and mask.json into `dir` (created if missing), each atomically. Returns the sidecar written. */
export function saveMask(dir: string, mask: ParamMask, input: MaskSidecarInput, config: BertConfig): MaskSidecar {
  const spec = bertParameterSpec(config)
  const problem = checkMask(mask, spec)
  if (problem) throw new Error(`cannot save mask: ${problem}`)
  const m = compactMask(mask, spec)
  const target = resolve(dir)
  // ensureDir, not mkdir -p: a read-only or forbidden parent is named as such (Node's recursive mkdir says ENOENT)
  ensureDir(target)

  const tensors = new Map<string, TensorInput>()
  const encodings: Record<string, MaskEncoding> = {}
  for (const s of spec) {
    const size = numel(s.shape)
    const e = m.get(s.name)
    const count = e === undefined ? 0 : e === 'all' ? size : e.length
    const enc = chooseEncoding(count, size)
    encodings[s.name] = enc
    if (enc === 'indices_i32') {
      tensors.set(s.name, { dtype: 'I32', shape: [count], data: e && e !== 'all' ? e : new Int32Array(0) })
    } else {
      const dense = new Uint8Array(size)
      if (e === 'all') dense.fill(1)
      else if (e) for (let i = 0; i < e.length; i++) dense[e[i]] = 1
      tensors.set(s.name, { dtype: 'U8', shape: [...s.shape], data: dense })
    }
  }
  const digest = maskDigest(m, config)
  const totalParams = spec.reduce((a, s) => a + numel(s.shape), 0)
  const hs = headSize(spec)
  const sidecar: MaskSidecar = {
    format: MASK_FORMAT,
    version: MASK_FORMAT_VERSION,
    method: input.method,
    createdAt: new Date().toISOString(),
    seed: input.seed ?? null,
    dataset: { sha256: input.datasetSha256 ?? null, name: input.datasetName ?? null, rows: input.datasetRows ?? null },
    budgets: {
      keepRatio: input.keepRatio ?? null,
      k: input.k ?? null,
      headSize: hs,
      totalParams,
      thetaSize: totalParams - hs,
      maskCount: maskCount(m, spec),
      nSamples: input.nSamples ?? null
    },
    settings: input.settings ?? {},
    selectedSampleIds: input.selectedSampleIds ?? [],
    gradientEvaluations: input.gradientEvaluations ?? null,
    stats: input.stats ?? null,
    notes: input.notes ?? [],
    model: {
      hidden_size: config.hidden_size,
      num_hidden_layers: config.num_hidden_layers,
      vocab_size: config.vocab_size,
      num_labels: config.num_labels,
      intermediate_size: config.intermediate_size,
      max_position_embeddings: config.max_position_embeddings,
      type_vocab_size: config.type_vocab_size
    },
    encodings,
    digest
  }
  const metadata: Record<string, string> = {
    format: 'pt',
    ird_studio_mask: String(MASK_FORMAT_VERSION),
    encoding: JSON.stringify(encodings),
    method: input.method,
    keep_ratio: String(input.keepRatio ?? ''),
    k: String(input.k ?? ''),
    seed: String(input.seed ?? ''),
    dataset_sha256: input.datasetSha256 ?? '',
    head_size: String(hs),
    total_params: String(totalParams),
    mask_count: String(sidecar.budgets.maskCount),
    digest
  }
  writeSafetensors(join(target, MASK_FILE), tensors, metadata)
  writeJsonAtomic(join(target, MASK_SIDECAR_FILE), sidecar)
  return sidecar
}

export interface LoadedMask {
  mask: ParamMask
  sidecar: MaskSidecar
  metadata: Record<string, string>
}

/** Read mask.safetensors and mask.json from `dir`, checking every name, shape and index against `config`. */
export function loadMask(dir: string, config: BertConfig): LoadedMask {
  const target = resolve(dir)
  const file = join(target, MASK_FILE)
  const sideFile = join(target, MASK_SIDECAR_FILE)
  if (!existsSync(file)) throw new MaskFileError(`not found (a mask folder holds ${MASK_FILE} and ${MASK_SIDECAR_FILE})`, file)
  if (!existsSync(sideFile)) throw new MaskFileError(`not found (a mask folder holds ${MASK_FILE} and ${MASK_SIDECAR_FILE})`, sideFile)
  const { tensors, metadata } = readSafetensors(file)
  const meta = metadata ?? {}
  let encodings: Record<string, unknown> = {}
  if (meta.encoding !== undefined) {
    try {
      encodings = JSON.parse(meta.encoding) as Record<string, unknown>
    } catch {
      throw new MaskFileError('__metadata__.encoding is not a JSON object', file)
    }
    if (encodings === null || typeof encodings !== 'object' || Array.isArray(encodings)) throw new MaskFileError('__metadata__.encoding is not a JSON object', file)
  }
  const spec = bertParameterSpec(config)
  const known = new Set(spec.map((s) => s.name))
  const unknown = [...tensors.keys()].filter((n) => !known.has(n))
  if (unknown.length) {
    throw new MaskFileError(
      `names ${unknown.length} tensor(s) that are not parameters of this model (${config.num_hidden_layers} layers, hidden ${config.hidden_size}): ${unknown.slice(0, 5).map((n) => `"${n}"`).join(', ')}${unknown.length > 5 ? ', …' : ''}; the mask was made for another model`,
      file
    )
  }
  const mask: ParamMask = new Map()
  const missing: string[] = []
  for (const s of spec) {
    const t = tensors.get(s.name)
    if (!t) {
      missing.push(s.name)
      continue
    }
    const size = numel(s.shape)
    const enc = encodings[s.name]
    const dense = t.dtype === 'U8' || t.dtype === 'BOOL'
    if (enc !== undefined && enc !== (dense ? 'dense_u8' : 'indices_i32')) {
      throw new MaskFileError(`tensor "${s.name}" is ${t.dtype} but __metadata__.encoding says ${JSON.stringify(enc)}`, file)
    }
    if (dense) {
      if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i])) {
        throw new MaskFileError(`tensor "${s.name}" (dense ${t.dtype}) has shape [${t.shape.join(', ')}], but the parameter has shape [${s.shape.join(', ')}]`, file)
      }
      const d = t.data as Uint8Array
      for (let i = 0; i < d.length; i++) {
        if (d[i] > 1) throw new MaskFileError(`tensor "${s.name}" (dense ${t.dtype}) holds ${d[i]} at flat index ${i}; a dense mask holds only 0 and 1`, file)
      }
      const idx = denseToIndices(d)
      if (idx.length === size) mask.set(s.name, 'all')
      else if (idx.length) mask.set(s.name, idx)
    } else if (t.dtype === 'I32') {
      if (t.shape.length !== 1) throw new MaskFileError(`tensor "${s.name}" (I32 indices) must be 1-D, found shape [${t.shape.join(', ')}]`, file)
      const idx = t.data as Int32Array
      for (let i = 0; i < idx.length; i++) {
        if (idx[i] < 0 || idx[i] >= size) {
          throw new MaskFileError(`tensor "${s.name}": index ${idx[i]} at position ${i} is outside the parameter's ${size} entries (shape [${s.shape.join(', ')}])`, file)
        }
        if (i > 0 && idx[i] <= idx[i - 1]) throw new MaskFileError(`tensor "${s.name}": indices must be sorted and distinct, but ${idx[i - 1]} is followed by ${idx[i]} at position ${i}`, file)
      }
      if (idx.length === size) mask.set(s.name, 'all')
      else if (idx.length) mask.set(s.name, idx)
    } else {
      throw new MaskFileError(`tensor "${s.name}" has dtype ${t.dtype}; a mask tensor is U8 (dense 0/1) or I32 (flat indices)`, file)
    }
  }
  if (missing.length) {
    throw new MaskFileError(
      `lacks ${missing.length} parameter(s) of this model: ${missing.slice(0, 5).map((n) => `"${n}"`).join(', ')}${missing.length > 5 ? ', …' : ''} (every parameter is listed; an untrainable one as an empty I32 tensor); the mask was made for another model`,
      file
    )
  }
  // parseJsonStrict's errors already name the file, line and column
  const raw: unknown = parseJsonStrict(readFileSync(sideFile, 'utf8'), sideFile)
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new MaskFileError('must hold a JSON object', sideFile)
  const sidecar = raw as MaskSidecar
  if (sidecar.format !== MASK_FORMAT) throw new MaskFileError(`"format" is ${JSON.stringify(sidecar.format)}, expected "${MASK_FORMAT}"`, sideFile)
  if (typeof sidecar.version !== 'number' || sidecar.version > MASK_FORMAT_VERSION) {
    throw new MaskFileError(`"version" ${JSON.stringify(sidecar.version)} is not supported (this build reads up to ${MASK_FORMAT_VERSION})`, sideFile)
  }
  if (typeof sidecar.method !== 'string') throw new MaskFileError('"method" must be a string', sideFile)
  const digest = maskDigest(mask, config)
  if (meta.digest !== undefined && meta.digest !== digest) {
    throw new MaskFileError(`content does not match its own __metadata__.digest (${meta.digest.slice(0, 12)}… vs ${digest.slice(0, 12)}…): the file is damaged`, file)
  }
  if (sidecar.digest !== digest) {
    throw new MaskFileError(`belongs to another mask: its digest ${String(sidecar.digest).slice(0, 12)}… differs from ${MASK_FILE}'s ${digest.slice(0, 12)}…`, sideFile)
  }
  return { mask, sidecar, metadata: meta }
}

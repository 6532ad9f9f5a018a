/**
 * Hugging Face model folders for BERT: config.json + model.safetensors (or shards + index) +
 * tokenizer files, in and out.
 *
 * Owns: mapping whatever BERT-family checkpoint a user brings (BertModel, BertForPreTraining,
 * BertForMaskedLM, BertForSequenceClassification; old TF-converted LayerNorm.gamma/beta names;
 * float32/float16/bfloat16) onto exactly bertParameterSpec(config), saying what it renamed, ignored
 * and initialised; and writing a folder Hugging Face's from_pretrained reads back, atomically.
 * Must not: read pickles (pytorch_model.bin runs arbitrary code when unpickled), touch tf tensors,
 * or change a folder it only reads.
 */
import { existsSync, readFileSync, statSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import { bertParameterSpec, ConfigError, configToJson, numel, parseBertConfig, type BertConfig, type ParamSpec, type StateDict } from '../model/config'
import { Rng } from '../util/rng'
import { writeFileAtomic, writeFolderAtomicSync, writeJsonAtomic } from './atomic'
import { ITEM_SIZE, readSafetensorsHeader, readTensors, toFloat32, writeSafetensors, type SafetensorsHeader, type TensorInput } from './safetensors'
import { JsonError, parseJsonStrict } from './strict-json'
import { countNonFinite, firstNonFinite, nonFiniteName } from '../util/non-finite'

export type SaveDtype = 'F32' | 'F16' | 'BF16'
export const SAVE_DTYPES: readonly SaveDtype[] = ['F32', 'F16', 'BF16']

export const WEIGHTS_FILE = 'model.safetensors'
export const WEIGHTS_INDEX_FILE = 'model.safetensors.index.json'
/** Hugging Face's own default is 5 GB; 2 GB keeps every shard below 32-bit size limits of older tools. */
export const DEFAULT_SHARD_BYTES = 2_000_000_000

/** Tokenizer files copied along with a model, keyed by the field of VocabFiles that points at them. */
export const TOKENIZER_FILES = {
  vocabTxt: 'vocab.txt',
  tokenizerConfig: 'tokenizer_config.json',
  specialTokensMap: 'special_tokens_map.json',
  tokenizerJson: 'tokenizer.json',
  addedTokens: 'added_tokens.json'
} as const
export type VocabFiles = { -readonly [K in keyof typeof TOKENIZER_FILES]?: string }

export interface LoadReport {
  /** config.json's architectures[0], else guessed from the tensor names. */
  sourceArchitecture: string
  /** Dtype as stored, per loaded parameter (canonical name), so that saving can write the same back. */
  sourceDtypes: Record<string, string>
  /** Parameters created fresh (classifier, pooler), initialised like Hugging Face from the seeded Rng. */
  initialized: string[]
  /** Checkpoint tensors not used (source names): pre-training heads, buffers, a replaced classifier, unknown names. */
  ignored: string[]
  /** The part of `ignored` that is not a known BERT head or buffer: worth a warning in the UI. */
  unexpected: string[]
  /** [source name, canonical name] for tensors whose name was changed. */
  renamed: Array<[string, string]>
  /** Files read (absolute paths). */
  files: string[]
}

export interface LoadedModel {
  dir: string
  config: BertConfig
  /** Exactly bertParameterSpec(config): names, order and shapes; float32. */
  state: StateDict
  report: LoadReport
  /** Tokenizer files present in the folder (absolute paths). */
  vocabFiles: VocabFiles
}

export interface LoadOptions {
  /** Number of labels wanted; a checkpoint classifier with another size is replaced by a fresh one. */
  numLabels?: number
  /** Seed for the parameters that have to be initialised. Default 0. */
  seed?: number
}

export class ModelFolderError extends Error {
  constructor(
    message: string,
    readonly dir: string,
    readonly file?: string,
    readonly tensor?: string
  ) {
    super(message)
    this.name = 'ModelFolderError'
  }
}

const CONVERT_PT =
  `python -c "import torch; from safetensors.torch import save_file; sd = torch.load('pytorch_model.bin', map_location='cpu'); ` +
  `save_file({k: v.clone().contiguous() for k, v in sd.items()}, 'model.safetensors', metadata={'format': 'pt'})"`
const CONVERT_HF = `python -c "from transformers import AutoModel; AutoModel.from_pretrained('.').save_pretrained('.', safe_serialization=True)"`

function listPreview(names: string[], max = 5, sep = ', '): string {
  const head = names.slice(0, max).join(sep)
  return names.length > max ? `${head} … and ${names.length - max} more` : head
}

function shapeStr(s: readonly number[]): string {
  return `[${s.join(', ')}]`
}

function readJsonFile(dir: string, file: string): unknown {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    throw new ModelFolderError(`${file}: cannot read (${(e as Error).message})`, dir, file)
  }
  try {
    return parseJsonStrict(text, file)
  } catch (e) {
    if (e instanceof JsonError) throw new ModelFolderError(e.message, dir, file)
    throw e
  }
}

// ------------------------------------------------------------------ finding the weights

interface WeightSource {
  /** Source tensor name → the header of the file that holds it. */
  location: Map<string, SafetensorsHeader>
  files: string[]
}

function unsupportedWeights(dir: string): never {
  const has = (f: string) => existsSync(join(dir, f))
  if (has('pytorch_model.bin') || has('pytorch_model.bin.index.json')) {
    const sharded = has('pytorch_model.bin.index.json')
    throw new ModelFolderError(
      `${dir}: only PyTorch pickle weights (${sharded ? 'pytorch_model.bin.index.json + shards' : 'pytorch_model.bin'}) were found. ` +
        `IRD Studio reads safetensors only (unpickling a .bin file can run arbitrary code). Convert once, in that folder, with Python:\n` +
        (sharded ? '' : `  ${CONVERT_PT}\nor, with transformers installed:\n`) +
        `  ${CONVERT_HF}\n` +
        `(any model can be re-saved with save_pretrained(dir, safe_serialization=True)).`,
      dir
    )
  }
  if (has('tf_model.h5') || has('flax_model.msgpack') || has('model.ckpt.index')) {
    throw new ModelFolderError(
      `${dir}: only TensorFlow or Flax weights were found; IRD Studio reads safetensors. Convert with transformers: ` +
        `BertModel.from_pretrained(dir, from_tf=True /* or from_flax=True */).save_pretrained(dir, safe_serialization=True)`,
      dir
    )
  }
  throw new ModelFolderError(`${dir}: no weights found: expected ${WEIGHTS_FILE} or ${WEIGHTS_INDEX_FILE} next to config.json`, dir)
}

function findWeights(dir: string): WeightSource {
  const single = join(dir, WEIGHTS_FILE)
  // Hugging Face also prefers the single file when both exist.
  if (existsSync(single)) {
    const h = readSafetensorsHeader(single)
    return { location: new Map([...h.tensors.keys()].map((k) => [k, h])), files: [single] }
  }
  const indexFile = join(dir, WEIGHTS_INDEX_FILE)
  if (!existsSync(indexFile)) unsupportedWeights(dir)
  const index = readJsonFile(dir, indexFile) as Record<string, unknown> | null
  const wm = index && typeof index === 'object' ? index.weight_map : undefined
  if (!wm || typeof wm !== 'object' || Array.isArray(wm)) {
    throw new ModelFolderError(`${indexFile}: "weight_map" must be an object {tensor name: shard file}`, dir, indexFile)
  }
  const byShard = new Map<string, string[]>()
  for (const [tensor, shard] of Object.entries(wm as Record<string, unknown>)) {
    // A shard name is a plain file name in this folder: anything else could read outside it.
    if (typeof shard !== 'string' || shard === '' || shard !== basename(shard) || shard === '.' || shard === '..' || shard.includes('\\')) {
      throw new ModelFolderError(`${indexFile}: weight_map["${tensor}"] must be a file name in the model folder, found ${JSON.stringify(shard)}`, dir, indexFile, tensor)
    }
    if (!byShard.has(shard)) byShard.set(shard, [])
    byShard.get(shard)!.push(tensor)
  }
  const missingShards = [...byShard.keys()].filter((s) => !existsSync(join(dir, s)))
  if (missingShards.length) {
    throw new ModelFolderError(
      `${indexFile}: ${missingShards.length} shard file(s) listed in weight_map are missing from ${dir}: ${listPreview(missingShards)} (download the complete model)`,
      dir,
      indexFile
    )
  }
  const location = new Map<string, SafetensorsHeader>()
  const files = [indexFile]
  for (const [shard, tensors] of byShard) {
    const h = readSafetensorsHeader(join(dir, shard))
    files.push(h.file)
    const absent = tensors.filter((t) => !h.tensors.has(t))
    if (absent.length) {
      throw new ModelFolderError(
        `${h.file}: ${absent.length} tensor(s) that ${WEIGHTS_INDEX_FILE} places in this shard are not in it: ${listPreview(absent)} (the index and the shards do not match; re-download or re-save the model)`,
        dir,
        h.file,
        absent[0]
      )
    }
    const unlisted = [...h.tensors.keys()].filter((t) => (wm as Record<string, unknown>)[t] !== shard)
    if (unlisted.length) {
      throw new ModelFolderError(
        `${h.file}: holds ${unlisted.length} tensor(s) that ${WEIGHTS_INDEX_FILE} does not map to this shard: ${listPreview(unlisted)} (the index and the shards do not match; re-download or re-save the model)`,
        dir,
        h.file,
        unlisted[0]
      )
    }
    for (const t of tensors) location.set(t, h)
  }
  return { location, files }
}

// ------------------------------------------------------------------ names

type Mapped = { kind: 'param'; name: string } | { kind: 'ignore'; known: boolean }

/** Where a checkpoint tensor goes in BertForSequenceClassification, given the canonical names. */
function mapName(src: string, canonical: Set<string>): Mapped {
  // Buffers, not parameters (older transformers saved position_ids).
  if (/(^|\.)(position_ids|token_type_ids)$/.test(src)) return { kind: 'ignore', known: true }
  // Pre-training heads (masked-LM, next-sentence): not part of a sequence classifier.
  if (src.startsWith('cls.')) return { kind: 'ignore', known: true }
  let name = src.replace(/\.gamma$/, '.weight').replace(/\.beta$/, '.bias')
  if (/^(embeddings|encoder|pooler)\./.test(name)) name = `bert.${name}`
  return canonical.has(name) ? { kind: 'param', name } : { kind: 'ignore', known: false }
}

function guessArchitecture(names: string[]): string {
  if (names.some((n) => n.startsWith('classifier.'))) return 'BertForSequenceClassification'
  if (names.some((n) => n.startsWith('cls.seq_relationship.'))) return 'BertForPreTraining'
  if (names.some((n) => n.startsWith('cls.predictions.'))) return 'BertForMaskedLM'
  return 'BertModel'
}

/** Parameters that Hugging Face itself creates fresh when a checkpoint lacks them. */
const INITIALISABLE = new Set(['bert.pooler.dense.weight', 'bert.pooler.dense.bias', 'classifier.weight', 'classifier.bias'])

/** Like transformers' BertPreTrainedModel._init_weights for Linear layers: weight ~ N(0, range), bias 0. */
function initLinear(spec: ParamSpec, cfg: BertConfig, rng: Rng): Float32Array {
  const data = new Float32Array(numel(spec.shape))
  if (spec.kind === 'linear_weight') for (let i = 0; i < data.length; i++) data[i] = cfg.initializer_range * rng.normal()
  return data
}

// ------------------------------------------------------------------ load

/**
 * Load a Hugging Face BERT folder as a BertForSequenceClassification state dict (float32), mapping
 * names and initialising a missing (or, with opts.numLabels, a differently sized) classifier and a
 * missing pooler. Reads only; throws ModelFolderError/SafetensorsError/ConfigError naming the file
 * and tensor.
 */
export function loadModelFolder(dirPath: string, opts: LoadOptions = {}): LoadedModel {
  const dir = resolve(dirPath)
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ModelFolderError(`${dir}: model folder not found`, dir)
  const configFile = join(dir, 'config.json')
  if (!existsSync(configFile)) {
    throw new ModelFolderError(
      `${configFile}: not found. A Hugging Face model folder needs config.json next to the weights (it gives hidden_size, num_hidden_layers, …); copy it from where the weights came from.`,
      dir,
      configFile
    )
  }
  const rawConfig = readJsonFile(dir, configFile)
  let config: BertConfig
  try {
    config = parseBertConfig(rawConfig, { file: configFile, numLabels: opts.numLabels })
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${configFile}: ${e.message}`, e.field, configFile)
    throw e
  }

  const weights = findWeights(dir)
  const sourceNames = [...weights.location.keys()]
  const specs = bertParameterSpec(config)
  const canonical = new Set(specs.map((s) => s.name))
  const found = new Map<string, string>() // canonical → source name
  const renamed: Array<[string, string]> = []
  const ignored: string[] = []
  const unexpected: string[] = []
  for (const src of sourceNames) {
    const m = mapName(src, canonical)
    if (m.kind === 'ignore') {
      ignored.push(src)
      if (!m.known) unexpected.push(src)
      continue
    }
    const prev = found.get(m.name)
    if (prev !== undefined) {
      throw new ModelFolderError(
        `${dir}: tensors "${prev}" and "${src}" both map to parameter "${m.name}"; the checkpoint is ambiguous (keep only one of them)`,
        dir,
        weights.location.get(src)!.file,
        m.name
      )
    }
    found.set(m.name, src)
    if (m.name !== src) renamed.push([src, m.name])
  }

  const rawArch = (rawConfig as Record<string, unknown>).architectures
  const sourceArchitecture = Array.isArray(rawArch) && typeof rawArch[0] === 'string' ? rawArch[0] : guessArchitecture(sourceNames)

  // config.json's own num_labels must describe its own classifier, even when the caller will replace it.
  const ownLabels = (rawConfig as Record<string, unknown>).num_labels
  const ownHead = found.get('classifier.weight')
  if (typeof ownLabels === 'number' && ownHead !== undefined) {
    const rows = weights.location.get(ownHead)!.tensors.get(ownHead)!.shape[0]
    if (rows !== ownLabels) {
      throw new ModelFolderError(
        `${dir}: config.json says num_labels = ${ownLabels}, but the classifier "${ownHead}" in ${basename(weights.location.get(ownHead)!.file)} has ${rows} output${rows === 1 ? '' : 's'}: the config and the weights disagree. Set num_labels to ${rows} (or remove the classifier to train a new one).`,
        dir,
        weights.location.get(ownHead)!.file,
        'classifier.weight'
      )
    }
  }

  // A classifier trained for another number of labels is replaced only when the caller asked for a
  // label count; otherwise a size mismatch means config.json and weights disagree.
  if (opts.numLabels !== undefined) {
    const relabel = ['classifier.weight', 'classifier.bias'].some((n) => {
      const src = found.get(n)
      return src !== undefined && weights.location.get(src)!.tensors.get(src)!.shape[0] !== config.num_labels
    })
    if (relabel) {
      for (const n of ['classifier.weight', 'classifier.bias']) {
        const src = found.get(n)
        if (src !== undefined) {
          ignored.push(src)
          found.delete(n)
        }
      }
    }
  }

  const missing: string[] = []
  const problems: string[] = []
  const toInit: ParamSpec[] = []
  for (const spec of specs) {
    const src = found.get(spec.name)
    if (src === undefined) {
      if (INITIALISABLE.has(spec.name)) toInit.push(spec)
      else missing.push(spec.name)
      continue
    }
    const e = weights.location.get(src)!.tensors.get(src)!
    const where = `${basename(weights.location.get(src)!.file)}: "${src}"${src !== spec.name ? ` (→ ${spec.name})` : ''}`
    if (e.shape.length !== spec.shape.length || e.shape.some((d, i) => d !== spec.shape[i])) {
      const hint = spec.head ? ` (config.json says num_labels=${config.num_labels}; pass numLabels to replace the classifier)` : ''
      problems.push(`${where} has shape ${shapeStr(e.shape)}, expected ${shapeStr(spec.shape)}${hint}`)
    } else if (!['F32', 'F16', 'BF16', 'F64'].includes(e.dtype)) {
      problems.push(`${where} is stored as ${e.dtype}; parameters must be F32, F16, BF16 or F64`)
    }
  }
  if (found.size === 0) {
    throw new ModelFolderError(
      `${dir}: none of the ${sourceNames.length} tensors is a BERT parameter (names like ${listPreview(sourceNames, 3)}); is this a BERT checkpoint?`,
      dir
    )
  }
  if (missing.length || problems.length) {
    const parts: string[] = []
    if (missing.length) {
      parts.push(
        `the weights lack ${missing.length} of the ${specs.length} parameters config.json describes ` +
          `(num_hidden_layers ${config.num_hidden_layers}, hidden_size ${config.hidden_size}): ${listPreview(missing)}`
      )
    }
    if (problems.length) parts.push(`${problems.length} tensor(s) do not fit config.json: ${listPreview(problems, 4, '; ')}`)
    throw new ModelFolderError(`${dir}: ${parts.join('; ')}. Check that config.json belongs to these weights.`, dir, undefined, missing[0])
  }

  const rng = new Rng(opts.seed ?? 0)
  const initialised = new Map<string, Float32Array>()
  for (const spec of toInit) initialised.set(spec.name, initLinear(spec, config, rng))

  const state: StateDict = new Map()
  const sourceDtypes: Record<string, string> = {}
  for (const spec of specs) {
    const src = found.get(spec.name)
    let data: Float32Array
    if (src === undefined) data = initialised.get(spec.name)!
    else {
      // One tensor at a time, so that a float16 checkpoint never sits in memory twice over.
      const header = weights.location.get(src)!
      const t = readTensors(header, [src]).get(src)!
      sourceDtypes[spec.name] = t.dtype
      data = toFloat32(t)
      // NaN or ±Inf weights make every prediction NaN (written as null) and every metric fail: refuse now
      const bad = firstNonFinite(data)
      if (bad >= 0) {
        const file = header.file
        throw new ModelFolderError(
          `${file}: tensor "${src}"${src !== spec.name ? ` (→ ${spec.name})` : ''} holds ${countNonFinite(data)} non-finite value(s) of ${data.length} (the first, ${nonFiniteName(data[bad])}, at flat index ${bad}): the weights are damaged or come from a diverged training; use another checkpoint`,
          dir,
          file,
          spec.name
        )
      }
    }
    state.set(spec.name, { shape: [...spec.shape], data })
  }

  const vocabFiles: VocabFiles = {}
  for (const [key, f] of Object.entries(TOKENIZER_FILES) as Array<[keyof VocabFiles, string]>) {
    if (existsSync(join(dir, f))) vocabFiles[key] = join(dir, f)
  }
  return {
    dir,
    config,
    state,
    report: {
      sourceArchitecture,
      sourceDtypes,
      initialized: toInit.map((s) => s.name),
      ignored,
      unexpected,
      renamed,
      files: [configFile, ...weights.files]
    },
    vocabFiles
  }
}

// ------------------------------------------------------------------ save

export interface SaveOptions {
  config: BertConfig
  state: StateDict
  /** Storage dtype for every tensor. Default: each tensor's dtype in `sourceDtypes`, else the dominant one there, else F32. */
  dtype?: SaveDtype
  /** LoadReport.sourceDtypes of the checkpoint the state came from. */
  sourceDtypes?: Record<string, string>
  /** A folder to copy tokenizer files from (whichever of TOKENIZER_FILES it has). */
  vocab?: string
  /** Largest shard in tensor bytes; more than that is split like Hugging Face does. Default 2 GB. */
  shardBytes?: number
  /** Replace an existing non-empty folder (as a whole: files not written here are gone). Default false. */
  overwrite?: boolean
}

export interface SaveResult {
  dir: string
  /** Files written, relative to dir. */
  files: string[]
  /** Sum of tensor bytes (the index's metadata.total_size). */
  totalSize: number
  dtypes: Record<string, SaveDtype>
}

const TORCH_DTYPE: Record<SaveDtype, string> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' }

function asSaveDtype(d: string | undefined): SaveDtype | undefined {
  if (d === 'F32' || d === 'F16' || d === 'BF16') return d
  if (d === 'F64') return 'F32'
  return undefined
}

function chooseDtypes(specs: ParamSpec[], opts: SaveOptions, dir: string): Record<string, SaveDtype> {
  if (opts.dtype !== undefined && !SAVE_DTYPES.includes(opts.dtype)) {
    throw new ModelFolderError(`${dir}: cannot save as dtype ${JSON.stringify(opts.dtype)} (choose ${SAVE_DTYPES.join(', ')})`, dir)
  }
  const counts = new Map<SaveDtype, number>()
  for (const d of Object.values(opts.sourceDtypes ?? {})) {
    const s = asSaveDtype(d)
    if (s) counts.set(s, (counts.get(s) ?? 0) + 1)
  }
  let dominant: SaveDtype = 'F32'
  let best = 0
  for (const [d, c] of counts) if (c > best) [dominant, best] = [d, c]
  const out: Record<string, SaveDtype> = {}
  for (const s of specs) out[s.name] = opts.dtype ?? asSaveDtype(opts.sourceDtypes?.[s.name]) ?? dominant
  return out
}

function checkState(specs: ParamSpec[], state: StateDict, dir: string): void {
  const problems: string[] = []
  const missing = specs.filter((s) => !state.has(s.name)).map((s) => s.name)
  if (missing.length) problems.push(`${missing.length} parameter(s) missing: ${listPreview(missing)}`)
  const known = new Set(specs.map((s) => s.name))
  const extra = [...state.keys()].filter((k) => !known.has(k))
  if (extra.length) problems.push(`${extra.length} name(s) that are not BERT parameters for this config: ${listPreview(extra)}`)
  for (const s of specs) {
    const t = state.get(s.name)
    if (!t) continue
    if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i])) {
      problems.push(`"${s.name}" has shape ${shapeStr(t.shape)}, expected ${shapeStr(s.shape)}`)
    } else if (!(t.data instanceof Float32Array) || t.data.length !== numel(s.shape)) {
      problems.push(`"${s.name}" data must be a Float32Array of ${numel(s.shape)} values`)
    }
  }
  if (problems.length) throw new ModelFolderError(`cannot save ${dir}: the state does not match the config: ${problems.slice(0, 6).join('; ')}`, dir)
}

/**
 * Write a Hugging Face BertForSequenceClassification folder: config.json, model.safetensors (or
 * model-0000i-of-0000N.safetensors + model.safetensors.index.json), tokenizer files. The folder
 * appears all at once; on any error nothing under `dir` changes.
 */
export function saveModelFolder(dirPath: string, opts: SaveOptions): SaveResult {
  const dir = resolve(dirPath)
  const specs = bertParameterSpec(opts.config)
  checkState(specs, opts.state, dir)
  const dtypes = chooseDtypes(specs, opts, dir)
  const shardBytes = opts.shardBytes ?? DEFAULT_SHARD_BYTES
  if (!Number.isSafeInteger(shardBytes) || shardBytes < 1) {
    throw new ModelFolderError(`cannot save ${dir}: shardBytes must be a positive integer, found ${opts.shardBytes}`, dir)
  }
  let vocabSources: Array<[string, string]> = []
  if (opts.vocab !== undefined) {
    const src = resolve(opts.vocab)
    vocabSources = Object.values(TOKENIZER_FILES)
      .filter((f) => existsSync(join(src, f)))
      .map((f) => [f, join(src, f)])
    if (!vocabSources.length) {
      throw new ModelFolderError(`cannot save ${dir}: no tokenizer files (${Object.values(TOKENIZER_FILES).join(', ')}) in ${src} to copy`, dir)
    }
  }

  // Shards in parameter order, a new one whenever the next tensor would overflow the current one
  // (a tensor larger than shardBytes gets a shard of its own), as transformers does.
  const shards: ParamSpec[][] = [[]]
  let current = 0
  let totalSize = 0
  for (const s of specs) {
    const bytes = numel(s.shape) * ITEM_SIZE[dtypes[s.name]]
    if (shards[shards.length - 1].length && current + bytes > shardBytes) {
      shards.push([])
      current = 0
    }
    shards[shards.length - 1].push(s)
    current += bytes
    totalSize += bytes
  }
  const pad = (i: number) => String(i).padStart(5, '0')
  const shardName = (i: number) => (shards.length === 1 ? WEIGHTS_FILE : `model-${pad(i + 1)}-of-${pad(shards.length)}.safetensors`)

  const counts = new Map<SaveDtype, number>()
  for (const d of Object.values(dtypes)) counts.set(d, (counts.get(d) ?? 0) + 1)
  const mainDtype = [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0]
  const configJson = configToJson(opts.config)
  // transformers records the weights' dtype here (as "dtype" since v4.56); keep it truthful.
  configJson.torch_dtype = TORCH_DTYPE[mainDtype]
  if ('dtype' in configJson) configJson.dtype = TORCH_DTYPE[mainDtype]

  const files: string[] = ['config.json']
  writeFolderAtomicSync(
    dir,
    (tmp) => {
      writeJsonAtomic(join(tmp, 'config.json'), configJson)
      const weightMap: Record<string, string> = {}
      shards.forEach((shard, i) => {
        const tensors = new Map<string, TensorInput>()
        for (const s of shard) {
          tensors.set(s.name, { dtype: dtypes[s.name], shape: s.shape, data: opts.state.get(s.name)!.data })
          weightMap[s.name] = shardName(i)
        }
        writeSafetensors(join(tmp, shardName(i)), tensors, { format: 'pt' })
        files.push(shardName(i))
      })
      if (shards.length > 1) {
        writeJsonAtomic(join(tmp, WEIGHTS_INDEX_FILE), { metadata: { total_size: totalSize }, weight_map: weightMap })
        files.push(WEIGHTS_INDEX_FILE)
      }
      for (const [name, src] of vocabSources) {
        writeFileAtomic(join(tmp, name), readFileSync(src))
        files.push(name)
      }
    },
    { overwrite: opts.overwrite }
  )
  return { dir, files, totalSize, dtypes }
}

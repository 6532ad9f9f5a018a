/**
 * Sharded FISH Fisher: the Fisher sums F = Σ_i f_i of the drawn samples, computed in N pieces (e.g. a
 * Slurm array, one shard per task) and combined into bit for bit the F that one piece gives — so the
 * mask is identical for N = 1, 2, 3, …
 *
 * Why not "each shard sums its slice, then add the shards": float32 addition is not associative, so
 * (u0 + u1) + (u2 + u3) and ((u0 + u1) + u2) + u3 differ in the last bits, and a top-k on F can change.
 * The summation order is fixed instead, independent of N:
 *   1. The drawn sample positions (ascending, as FISH draws them) are cut into fixed blocks of
 *      `blockSamples` consecutive samples. A block's F is computed on its own (length-bucketed batches of
 *      the block's samples, units added in batch order: fisher/parallel.ts semantics, so any worker count
 *      gives the same bits).
 *   2. Blocks are added along one canonical pairwise tree: node (level l, index m) covers blocks
 *      [m·2^l, (m+1)·2^l); its value is left child + right child in float32 (a child with no blocks is
 *      absent: the node is the other child). The root is F.
 *   3. Shard i of N owns the contiguous blocks [⌊(i−1)·B/N⌋, ⌊i·B/N⌋) and stores the values of the
 *      maximal tree nodes inside its range (at most 2·log2 B of them; N = 1 stores the root alone). The
 *      combiner computes every other node from its children exactly as a single process does. Every node
 *      is therefore the same float32 sum whatever N is.
 *
 * This is for FISH (one Fisher pass over a uniform random draw). IRD cannot be sharded like this: each of
 * its rounds scores samples and parameters with the previous round's ranges, so its passes depend on
 * each other (sharding one IRD round's pass would need the same scheme per round, a barrier between rounds).
 * Must not: read or write CLI flags; it reads and writes shard files (safetensors + JSON metadata) only.
 */
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { basename } from 'node:path'
import { readSafetensors, writeSafetensors, type TensorInput } from '../io/safetensors'
import type { BertForSequenceClassification } from '../model/bert'
import { bertParameterSpec, type BertConfig, type StateDict } from '../model/config'
import { lengthBuckets, makeBatch, SelectionCancelled, type EncodedSample } from '../selection/fisher-pass'
import { computeFisherParallel, createFisherPool, FisherCancelledError, type FisherPool } from './parallel'
import type { FisherPower, FisherVariant } from './accumulator'

export const FISHER_SHARD_FORMAT = 'ird-studio-fisher-shard'
export const FISHER_SHARD_VERSION = 1
/** Default samples per block: small enough for several shards at FISH's usual budgets, large enough to batch well. */
export const DEFAULT_BLOCK_SAMPLES = 64

export type FisherMap = Map<string, Float32Array>

/** A tree node: level l, index m (covers blocks [m·2^l, (m+1)·2^l) ∩ [0, B)). */
export interface TreeNode {
  level: number
  index: number
}

export class FisherShardError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'FisherShardError'
  }
}

export function blockCount(nSamples: number, blockSamples: number): number {
  return Math.ceil(nSamples / blockSamples)
}

/** Blocks [a, b) of shard `index` (1-based) of `count`; refuses more shards than blocks. */
export function shardBlockRange(blocks: number, index: number, count: number): [number, number] {
  if (!Number.isInteger(count) || count < 1) throw new FisherShardError(`the shard count must be a positive integer, got ${count}`)
  if (!Number.isInteger(index) || index < 1 || index > count) throw new FisherShardError(`shard ${index}/${count}: the index must be 1 … ${count}`)
  if (count > blocks) throw new FisherShardError(`${count} shards for ${blocks} block${blocks === 1 ? '' : 's'} of samples: every shard needs at least one block (use at most ${blocks} shards, or smaller --block-samples)`)
  return [Math.floor(((index - 1) * blocks) / count), Math.floor((index * blocks) / count)]
}

function levels(blocks: number): number {
  let l = 0
  while (1 << l < blocks) l++
  return l
}

/** The maximal tree nodes whose blocks (∩ [0, B)) lie inside [a, b), left to right. */
export function coverNodes(a: number, b: number, blocks: number): TreeNode[] {
  const out: TreeNode[] = []
  const visit = (level: number, index: number) => {
    const lo = index << level
    const hi = Math.min((index + 1) << level, blocks)
    if (lo >= blocks || hi <= a || lo >= b) return
    if (lo >= a && hi <= b) {
      out.push({ level, index })
      return
    }
    visit(level - 1, 2 * index)
    visit(level - 1, 2 * index + 1)
  }
  visit(levels(blocks), 0)
  return out
}

/** left + right in float32, entry by entry (left first); a tensor missing on one side is the other side. */
function addNodes(left: FisherMap, right: FisherMap, ownLeft: boolean): FisherMap {
  const out: FisherMap = ownLeft ? left : new Map([...left].map(([k, v]) => [k, new Float32Array(v)]))
  for (const [name, r] of right) {
    const l = out.get(name)
    if (!l) {
      out.set(name, new Float32Array(r))
      continue
    }
    if (l.length !== r.length) throw new FisherShardError(`Fisher tensor "${name}" has ${l.length} values in one part and ${r.length} in another`)
    for (let i = 0; i < l.length; i++) l[i] += r[i]
  }
  return out
}

/**
 * The value of node (level, index), from `known` node values where given, else from its children;
 * `leaf(m)` gives block m's F when it is neither known nor covered by a known node.
 */
function nodeValue(level: number, index: number, blocks: number, known: Map<string, FisherMap>, leaf: (m: number) => Promise<FisherMap>): Promise<{ value: FisherMap; owned: boolean }> {
  return (async () => {
    const k = known.get(`${level}.${index}`)
    if (k) return { value: k, owned: false }
    if (level === 0) return { value: await leaf(index), owned: true }
    const left = await nodeValue(level - 1, 2 * index, blocks, known, leaf)
    if (((2 * index + 1) << (level - 1)) >= blocks) return left
    const right = await nodeValue(level - 1, 2 * index + 1, blocks, known, leaf)
    return { value: addNodes(left.value, right.value, left.owned), owned: true }
  })()
}

export interface ShardSettings {
  task: string
  seed: number
  maxLength: number
  maxTrain: number | null
  fisher: { variant: FisherVariant; power: FisherPower }
  batchSize: number
  blockSamples: number
  nSamples: number
}

export interface ShardMeta {
  format: typeof FISHER_SHARD_FORMAT
  version: number
  shard: { index: number; count: number }
  blocks: number
  blockRange: [number, number]
  /** Positions in the drawn sample list [start, end) this shard covers. */
  sampleRange: [number, number]
  /** Ids of this shard's samples, in order. */
  sampleIds: string[]
  /** SHA-256 of every drawn sample id (NUL-joined): the same draw in every shard. */
  allSampleIdsSha256: string
  model: { dir: string; sha256: string }
  data: { file: string; sha256: string; rows: number }
  settings: ShardSettings
  nodes: TreeNode[]
  gradientEvaluations: number
  backend: string
  createdAt: string
}

export interface FisherShard {
  file: string
  meta: ShardMeta
  nodes: Map<string, FisherMap>
}

/** SHA-256 over a model's weights (spec order: name, shape, float32 bytes), head included. */
export function stateSha256(config: BertConfig, state: StateDict): string {
  const h = createHash('sha256')
  for (const s of bertParameterSpec(config)) {
    const t = state.get(s.name)
    if (!t) continue
    h.update(`${s.name}\0${t.shape.join('x')}\0`)
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength))
  }
  return h.digest('hex')
}

export function idsSha256(ids: readonly string[]): string {
  return createHash('sha256').update(ids.join('\0')).digest('hex')
}

export interface ComputeShardOptions {
  model: BertForSequenceClassification
  /** The encoded training samples and the drawn positions (ascending), as FISH uses them. */
  samples: readonly EncodedSample[]
  positions: readonly number[]
  shard: { index: number; count: number }
  blockSamples: number
  batchSize: number
  fisher: { variant: FisherVariant; power: FisherPower }
  /** Fisher worker threads (0 = in this thread); the result does not depend on it. */
  workers: number
  onProgress?(done: number, total: number): void
  shouldCancel?(): boolean
}

/** The tree-node values of one shard (see the file comment). */
export async function computeShardNodes(opts: ComputeShardOptions): Promise<{ nodes: Map<string, FisherMap>; cover: TreeNode[]; blocks: number; blockRange: [number, number]; sampleRange: [number, number]; gradientEvaluations: number }> {
  const n = opts.positions.length
  if (!Number.isInteger(opts.blockSamples) || opts.blockSamples < 1) throw new FisherShardError(`block size must be a positive integer, got ${opts.blockSamples}`)
  const blocks = blockCount(n, opts.blockSamples)
  const blockRange = shardBlockRange(blocks, opts.shard.index, opts.shard.count)
  const sampleRange: [number, number] = [blockRange[0] * opts.blockSamples, Math.min(n, blockRange[1] * opts.blockSamples)]
  const total = sampleRange[1] - sampleRange[0]
  const params = opts.model.spec.filter((s) => !s.head).map((s) => s.name)
  const model = opts.model
  let pool: FisherPool | null = null
  let done = 0
  const perSample = opts.fisher.variant === 'expect' ? model.config.num_labels : 1
  const leaf = async (m: number): Promise<FisherMap> => {
    if (opts.shouldCancel?.()) throw new SelectionCancelled()
    const pos = opts.positions.slice(m * opts.blockSamples, Math.min(n, (m + 1) * opts.blockSamples))
    const batches = lengthBuckets(opts.samples, pos, opts.batchSize).map((b) => ({
      batch: makeBatch(opts.samples, b, model.config.pad_token_id),
      labels: b.map((p) => {
        const y = opts.samples[p].label
        if (typeof y !== 'number' || !Number.isFinite(y)) throw new Error(`sample "${opts.samples[p].id}" has no usable label (${String(y)})`)
        return y
      })
    }))
    const run = {
      batches,
      fisher: { variant: opts.fisher.variant, power: opts.fisher.power, params },
      unitBatches: 1,
      shouldCancel: opts.shouldCancel,
      onProgress: (d: number) => opts.onProgress?.(done + d, total)
    }
    try {
      const r = pool ? await pool.run(run) : await computeFisherParallel({ config: model.config, state: model.toState(), workers: 0, ...run })
      done += pos.length
      opts.onProgress?.(done, total)
      return r.fisher
    } catch (e) {
      if (e instanceof FisherCancelledError) throw new SelectionCancelled()
      throw e
    }
  }
  const cover = coverNodes(blockRange[0], blockRange[1], blocks)
  const nodes = new Map<string, FisherMap>()
  try {
    if (opts.workers > 0) pool = await createFisherPool({ config: model.config, state: model.toState(), workers: Math.min(opts.workers, Math.ceil(Math.min(opts.blockSamples, total) / opts.batchSize)) })
    opts.onProgress?.(0, total)
    for (const c of cover) nodes.set(`${c.level}.${c.index}`, (await nodeValue(c.level, c.index, blocks, new Map(), leaf)).value)
  } finally {
    await pool?.close()
  }
  return { nodes, cover, blocks, blockRange, sampleRange, gradientEvaluations: total * perSample }
}

/** Write one shard file (atomically): tensors `n<level>.<index>/<parameter>`, metadata["shard"] = JSON. */
export function writeFisherShard(path: string, meta: ShardMeta, nodes: Map<string, FisherMap>): number {
  const tensors = new Map<string, TensorInput>()
  for (const { level, index } of meta.nodes) {
    const v = nodes.get(`${level}.${index}`)
    if (!v) throw new Error(`writeFisherShard: node ${level}.${index} has no value`)
    for (const [name, data] of v) tensors.set(`n${level}.${index}/${name}`, { dtype: 'F32', shape: [data.length], data })
  }
  return writeSafetensors(path, tensors, { format: FISHER_SHARD_FORMAT, shard: JSON.stringify(meta) })
}

/** Read a shard file; refuses anything that is not one, naming the file. */
export function readFisherShard(path: string): FisherShard {
  const name = basename(path)
  if (!existsSync(path)) throw new FisherShardError(`${path}: no such Fisher shard file`)
  let file
  try {
    file = readSafetensors(path)
  } catch (e) {
    throw new FisherShardError(`${path}: not a readable safetensors file (${(e as Error).message})`)
  }
  if (file.metadata?.format !== FISHER_SHARD_FORMAT || typeof file.metadata.shard !== 'string') {
    throw new FisherShardError(`${path}: not a Fisher shard (its metadata has no "format": "${FISHER_SHARD_FORMAT}"; make shards with \`ird-studio fisher --shard i/N\`)`)
  }
  let meta: ShardMeta
  try {
    meta = JSON.parse(file.metadata.shard) as ShardMeta
  } catch {
    throw new FisherShardError(`${path}: its shard metadata is not valid JSON (damaged file?)`)
  }
  if (meta.version !== FISHER_SHARD_VERSION) throw new FisherShardError(`${path}: shard format version ${meta.version}, this build reads version ${FISHER_SHARD_VERSION}`)
  const nodes = new Map<string, FisherMap>()
  for (const nd of meta.nodes ?? []) nodes.set(`${nd.level}.${nd.index}`, new Map())
  for (const [tname, t] of file.tensors) {
    const m = /^n(\d+)\.(\d+)\/(.+)$/.exec(tname)
    const node = m && nodes.get(`${m[1]}.${m[2]}`)
    if (!m || !node) throw new FisherShardError(`${path}: tensor "${tname}" belongs to no node the metadata lists (damaged or edited file?)`)
    if (t.dtype !== 'F32') throw new FisherShardError(`${path}: tensor "${tname}" is ${t.dtype}, expected F32`)
    node.set(m[3], t.data as Float32Array)
  }
  for (const [k, v] of nodes) if (!v.size) throw new FisherShardError(`${path} (${name}): node ${k} has no tensors (damaged file?)`)
  return { file: path, meta, nodes }
}

/** What must agree between shards of one Fisher: everything but the shard's own place. */
function identity(m: ShardMeta): Record<string, unknown> {
  return {
    'model weights (SHA-256)': m.model.sha256,
    'training data (SHA-256)': m.data.sha256,
    'training examples used': m.data.rows,
    'drawn samples (SHA-256 of their ids)': m.allSampleIdsSha256,
    blocks: m.blocks,
    settings: m.settings
  }
}

/**
 * Check that `shards` are the N pieces of one Fisher (same model, data, draw and settings; shard
 * indices 1 … N each exactly once), naming the file at fault. Returns them sorted by index.
 */
export function checkShardSet(shards: FisherShard[]): FisherShard[] {
  if (!shards.length) throw new FisherShardError('no Fisher shard files given')
  const first = shards[0]
  const want = identity(first.meta)
  for (const s of shards.slice(1)) {
    const got = identity(s.meta)
    for (const k of Object.keys(want)) {
      if (JSON.stringify(got[k]) !== JSON.stringify(want[k])) {
        throw new FisherShardError(`${s.file} does not belong with ${first.file}: its ${k} differ${k === 'settings' ? ` (${JSON.stringify(got[k])} vs ${JSON.stringify(want[k])})` : ` (${String(got[k]).slice(0, 16)}… vs ${String(want[k]).slice(0, 16)}…)`}; all shards must come from the same model, data and settings`)
      }
    }
    if (s.meta.shard.count !== first.meta.shard.count) {
      throw new FisherShardError(`${s.file} is shard ${s.meta.shard.index}/${s.meta.shard.count}, but ${first.file} is shard ${first.meta.shard.index}/${first.meta.shard.count}: give the N shards of one split`)
    }
  }
  const N = first.meta.shard.count
  const byIndex = new Map<number, FisherShard>()
  for (const s of shards) {
    const prev = byIndex.get(s.meta.shard.index)
    if (prev) throw new FisherShardError(`${s.file} and ${prev.file} are both shard ${s.meta.shard.index}/${N}: their samples overlap; give each shard once`)
    byIndex.set(s.meta.shard.index, s)
    const expect = shardBlockRange(s.meta.blocks, s.meta.shard.index, N)
    if (s.meta.blockRange[0] !== expect[0] || s.meta.blockRange[1] !== expect[1]) throw new FisherShardError(`${s.file}: shard ${s.meta.shard.index}/${N} covers blocks ${s.meta.blockRange.join('–')}, expected ${expect.join('–')} (damaged or edited file?)`)
  }
  const missing = Array.from({ length: N }, (_, i) => i + 1).filter((i) => !byIndex.has(i))
  if (missing.length) throw new FisherShardError(`shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${N}`).join(', ')} missing (given: ${shards.map((s) => `${basename(s.file)} = ${s.meta.shard.index}/${N}`).join(', ')}): samples ${missing.map((i) => { const r = shardBlockRange(first.meta.blocks, i, N); return `${r[0] * first.meta.settings.blockSamples}–${Math.min(first.meta.settings.nSamples, r[1] * first.meta.settings.blockSamples) - 1}` }).join(', ')} have no Fisher`)
  return [...byIndex.values()].sort((a, b) => a.meta.shard.index - b.meta.shard.index)
}

/** F from a checked shard set: the canonical tree's root, bit-identical for every N. */
export async function combineShards(shards: FisherShard[]): Promise<FisherMap> {
  const sorted = checkShardSet(shards)
  const blocks = sorted[0].meta.blocks
  const known = new Map<string, FisherMap>()
  for (const s of sorted) for (const [k, v] of s.nodes) known.set(k, v)
  const root = await nodeValue(levels(blocks), 0, blocks, known, async (m) => {
    throw new FisherShardError(`block ${m} is in no shard (damaged or edited shard files?)`)
  })
  return root.value
}

/** Tiny models and a trivially separable synthetic task for the trainer tests. */
import { makeConfig, numel, type BertConfig, type StateDict } from '../../../src/engine/model/config'
import { initState } from '../../../src/engine/model/init'
import type { EncodedExample } from '../../../src/engine/train/batches'
import type { TrainMask } from '../../../src/engine/train/masked-params'
import { Rng } from '../../../src/engine/util/rng'

export function tinyConfig(over: Partial<Omit<BertConfig, 'extra'>> = {}): BertConfig {
  return makeConfig({
    vocab_size: 40,
    hidden_size: 16,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    intermediate_size: 32,
    max_position_embeddings: 24,
    type_vocab_size: 2,
    num_labels: 2,
    ...over
  })
}

export function tinyState(cfg: BertConfig, seed = 1): StateDict {
  return initState(cfg, seed)
}

/**
 * [CLS]=1 … [SEP]=2 with filler tokens 10..39 and one signal token: 5 for class 0, 6 for class 1
 * (class = label). Lengths 4..maxLen.
 */
export function separable(n: number, seed: number, maxLen = 12, numLabels = 2): EncodedExample[] {
  const rng = new Rng(seed)
  const out: EncodedExample[] = []
  for (let i = 0; i < n; i++) {
    const label = rng.int(numLabels)
    const len = 4 + rng.int(maxLen - 3)
    const ids = [1]
    for (let t = 1; t < len - 1; t++) ids.push(10 + rng.int(30))
    ids[1 + rng.int(len - 2)] = 5 + label
    ids.push(2)
    out.push({ inputIds: ids, label, id: `ex${i}` })
  }
  return out
}

/** Random sparse mask: a fraction of entries of some tensors, whole word-embedding rows, the head 'all'. */
export function randomMask(cfg: BertConfig, state: StateDict, seed: number, frac = 0.05): TrainMask {
  const rng = new Rng(seed)
  const mask: TrainMask = new Map()
  for (const [name, t] of state) {
    const n = numel(t.shape)
    if (name.startsWith('classifier.')) {
      mask.set(name, 'all')
      continue
    }
    if (name === 'bert.embeddings.word_embeddings.weight') {
      // rows 5, 6 (signal tokens), 11 (filler) and 3 (never in the data), plus a few scattered entries
      const H = cfg.hidden_size
      const set = new Set<number>()
      for (const r of [3, 5, 6, 11]) for (let h = 0; h < H; h++) set.add(r * H + h)
      for (const j of rng.sample(n, 7)) set.add(j)
      mask.set(name, Int32Array.from([...set]).sort())
      continue
    }
    if (/attention\.self\.key|pooler\.dense\.weight|position_embeddings/.test(name)) continue // frozen tensors
    const k = Math.max(1, Math.round(n * frac))
    mask.set(name, Int32Array.from(rng.sample(n, k)).sort())
  }
  return mask
}

export function bitsEqual(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length)
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length)
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false
  return true
}

export function cloneState(s: StateDict): StateDict {
  return new Map([...s].map(([k, v]) => [k, { shape: [...v.shape], data: v.data.slice() }]))
}

/**
 * Fresh weights for a BertForSequenceClassification, initialised as Hugging Face does
 * (`_init_weights`): Linear and Embedding weights ~ N(0, initializer_range), biases 0, LayerNorm
 * weight 1 and bias 0, the padding row of the word embeddings 0. Seeded.
 * Must not: allocate tensors (returns host memory).
 */
import { bertParameterSpec, numel, type BertConfig, type StateDict } from './config'
import { Rng } from '../util/rng'

export function initParameter(cfg: BertConfig, name: string, shape: number[], rng: Rng): Float32Array {
  const data = new Float32Array(numel(shape))
  if (name.endsWith('LayerNorm.weight')) data.fill(1)
  else if (name.endsWith('.bias') || name.endsWith('LayerNorm.bias')) data.fill(0)
  else {
    const std = cfg.initializer_range
    for (let i = 0; i < data.length; i++) data[i] = std * rng.normal()
    if (name === 'bert.embeddings.word_embeddings.weight') {
      const H = shape[1]
      data.fill(0, cfg.pad_token_id * H, (cfg.pad_token_id + 1) * H)
    }
  }
  return data
}

export function initState(cfg: BertConfig, seed: number): StateDict {
  const rng = new Rng(seed)
  const state: StateDict = new Map()
  for (const s of bertParameterSpec(cfg)) state.set(s.name, { shape: [...s.shape], data: initParameter(cfg, s.name, s.shape, rng) })
  return state
}

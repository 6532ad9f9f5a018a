/**
 * A one-layer, 16-wide BERT model folder with random weights and the real bert-base-uncased vocab (the
 * tokenizer files written beside it): small enough for CLI and host tests to train in seconds.
 */
import { copyFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { makeConfig, type BertConfig } from '../../src/engine/model/config'
import { initState } from '../../src/engine/model/init'
import { saveModelFolder } from '../../src/engine/io/model-folder'
import { BertTokenizer } from '../../src/engine/tokenizer'
import { VOCAB_FILE } from './shared-data'

export function tinyModelConfig(maxPositions = 128): BertConfig {
  return makeConfig({ hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: maxPositions })
}

/** Writes the model to `modelDir` and its vocab folder to `vocabDir` (default `<modelDir>-vocab`). */
export function writeTinyModel(modelDir: string, opts: { vocabDir?: string; maxPositions?: number; seed?: number } = {}): BertConfig {
  const vocab = opts.vocabDir ?? `${modelDir}-vocab`
  mkdirSync(vocab, { recursive: true })
  copyFileSync(VOCAB_FILE, join(vocab, 'vocab.txt'))
  BertTokenizer.fromFolder(vocab).saveToFolder(vocab)
  const cfg = tinyModelConfig(opts.maxPositions)
  saveModelFolder(modelDir, { config: cfg, state: initState(cfg, opts.seed ?? 3), vocab })
  return cfg
}

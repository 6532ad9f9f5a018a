/**
 * Benchmark model sizes (Google's BERT miniatures). The PyTorch peer is measured in the same run
 * (peer.ts, side-by-side.ts), never taken from a table.
 */
import { makeConfig, type BertConfig } from '../model/config'

export interface BenchModel {
  name: 'tiny' | 'mini' | 'small' | 'base'
  layers: number
  hidden: number
}

export const BENCH_MODELS: BenchModel[] = [
  { name: 'tiny', layers: 2, hidden: 128 },
  { name: 'mini', layers: 4, hidden: 256 },
  { name: 'small', layers: 4, hidden: 512 },
  { name: 'base', layers: 12, hidden: 768 }
]

/** Google's BERT miniatures: heads = hidden / 64, intermediate = 4 × hidden, uncased vocab. */
export function benchConfig(m: BenchModel, numLabels = 2): BertConfig {
  return makeConfig({
    num_hidden_layers: m.layers,
    hidden_size: m.hidden,
    num_attention_heads: Math.max(1, m.hidden / 64),
    intermediate_size: 4 * m.hidden,
    num_labels: numLabels
  })
}

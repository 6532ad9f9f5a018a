/**
 * Benchmark model sizes and the PyTorch peer's figures they are compared with.
 * The PyTorch numbers are from ../shared/docs/PLATFORM.md: Hugging Face BertForSequenceClassification,
 * PyTorch 1.13 CPU (Debian), 2 threads, sequence length 128, on this project's 2-core machines.
 */
import { makeConfig, type BertConfig } from '../model/config'

export interface BenchModel {
  name: 'tiny' | 'mini' | 'small' | 'base'
  layers: number
  hidden: number
  /** PyTorch: Fisher samples/s with the FISH reference's batch-1 loop. */
  torchFisherPerSec: number
  /** PyTorch: dense training samples/s at batch 16. */
  torchTrainPerSec: number
}

export const BENCH_MODELS: BenchModel[] = [
  { name: 'tiny', layers: 2, hidden: 128, torchFisherPerSec: 73, torchTrainPerSec: 98 },
  { name: 'mini', layers: 4, hidden: 256, torchFisherPerSec: 11.3, torchTrainPerSec: 21 },
  { name: 'small', layers: 4, hidden: 512, torchFisherPerSec: 3.1, torchTrainPerSec: 10.5 },
  { name: 'base', layers: 12, hidden: 768, torchFisherPerSec: 0.73, torchTrainPerSec: 2.5 }
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

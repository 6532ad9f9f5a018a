/**
 * A completed run made without training (fast, no backend): a tiny base model folder, a mask with IRD
 * statistics, a sparse delta that changes the masked entries, results, events; as runJob leaves them.
 */
import { copyFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { getTask, type TaskName } from '../../../src/engine/data'
import { saveModelFolder } from '../../../src/engine/io/model-folder'
import { writeSafetensors } from '../../../src/engine/io/safetensors'
import { saveMask, type ParamMask } from '../../../src/engine/mask'
import { bertParameterSpec, makeConfig, numel, type BertConfig } from '../../../src/engine/model/config'
import { initState } from '../../../src/engine/model/init'
import { deltaToTensors } from '../../../src/engine/runs/run-model'
import { RunStore, type Run } from '../../../src/engine/runs/store'
import type { SparseDelta } from '../../../src/engine/train'
import { BertTokenizer } from '../../../src/engine/tokenizer'
import { Rng } from '../../../src/engine/util/rng'
import { VOCAB_FILE } from '../../helpers/shared-data'

export function tinyConfig(numLabels: number): BertConfig {
  return makeConfig({ hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 64, num_labels: numLabels, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 })
}

/** A base model folder (random weights, the bert-base-uncased vocab). */
export function makeBaseModel(dir: string, numLabels: number, seed = 1): BertConfig {
  const vocab = `${dir}-vocab`
  mkdirSync(vocab, { recursive: true })
  copyFileSync(VOCAB_FILE, join(vocab, 'vocab.txt'))
  BertTokenizer.fromFolder(vocab).saveToFolder(vocab)
  const cfg = tinyConfig(numLabels)
  saveModelFolder(dir, { config: cfg, state: initState(cfg, seed), vocab })
  return cfg
}

export interface FakeRun {
  run: Run
  config: BertConfig
  mask: ParamMask
  delta: SparseDelta
}

/** A completed IRD run of `task` over the model folder `modelDir` (made with makeBaseModel). */
export function makeCompletedRun(store: RunStore, modelDir: string, task: TaskName, opts: { name?: string; seed?: number } = {}): FakeRun {
  const spec = getTask(task)
  const config = tinyConfig(spec.numLabels)
  const seed = opts.seed ?? 7
  const rng = new Rng(seed)
  const params = bertParameterSpec(config)
  const mask: ParamMask = new Map()
  const delta: SparseDelta = new Map()
  for (const p of params) {
    const n = numel(p.shape)
    if (p.head) {
      mask.set(p.name, 'all')
      const values = new Float32Array(n)
      for (let i = 0; i < n; i++) values[i] = rng.normal()
      delta.set(p.name, { shape: [...p.shape], indices: 'all', values })
      continue
    }
    // every 37th entry of the weights: sparse, in every tensor
    const idx: number[] = []
    for (let i = (seed + p.layer + 40) % 37; i < n; i += 37) idx.push(i)
    if (!idx.length) continue
    const indices = Int32Array.from(idx)
    mask.set(p.name, indices)
    delta.set(p.name, { shape: [...p.shape], indices, values: Float32Array.from(idx, () => 0.5 * rng.normal()) })
  }
  const trainFile = `/data/${spec.dir}/train.tsv`
  const run = store.create({
    task,
    method: 'ird',
    name: opts.name,
    config: { modelDir, task, seed, method: 'ird', keepRatio: 0.05, nSamples: 4, trainFile, trainSha256: 'ab'.repeat(32), devFile: undefined },
    summary: { task, method: 'ird', model: modelDir, keepRatio: 0.05, nSamples: 4, seed }
  })
  run.event('select', { message: 'selecting the ird mask' })
  const rounds = [{ round: 1, samplesBefore: 16, samplesAfter: 8, paramsBefore: 1000, paramsAfter: 500, cut: false }, { round: 2, samplesBefore: 8, samplesAfter: 4, paramsBefore: 500, paramsAfter: 250, cut: true }]
  saveMask(
    run.path('mask'),
    mask,
    {
      method: 'ird',
      seed,
      datasetSha256: 'ab'.repeat(32),
      datasetName: `${spec.displayName} train`,
      datasetRows: 100,
      keepRatio: 0.05,
      k: 250,
      nSamples: 4,
      selectedSampleIds: ['3', '17', '42', '99'],
      gradientEvaluations: 40,
      stats: { selectedPerTensor: {}, sampleScores: { scope: 'pool', ids: ['3', '17', '42', '99', '5'], scores: [5, 4, 3, 2, 1] }, ird: { poolSize: 16, rounds, stopReason: 'budgets reached' } }
    },
    config
  )
  for (const r of rounds) run.event('ird-round', { round: r })
  writeSafetensors(run.path('delta.safetensors'), deltaToTensors(delta), { format: 'pt', kind: 'ird-studio-sparse-delta', base_model: modelDir, method: 'ird', seed: String(seed) })
  run.writeJson('results.json', { task, method: 'ird', final: { metrics: { accuracy: 0.75 }, main: 0.75 } })
  run.finish('completed', { metrics: spec.isRegression ? { pearson: 0.5, spearmanr: 0.4 } : { accuracy: 0.75 }, main: 0.75, k: 250, trainable: 300 })
  return { run, config, mask, delta }
}

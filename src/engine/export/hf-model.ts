/**
 * A run's fine-tuned model as a Hugging Face folder that `BertForSequenceClassification.from_pretrained`
 * loads: config.json (architectures, id2label/label2id, problem_type), vocab.txt + tokenizer_config.json
 * + special_tokens_map.json, and model.safetensors — or model-0000i-of-0000N.safetensors shards with
 * model.safetensors.index.json when the weights exceed `shardBytes`.
 *
 * Owns: turning a run (base model + sparse delta) into that folder, with the task's label names.
 * Must not: change the run, or write anywhere but the chosen folder (atomically, via saveModelFolder).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getTask, GLUE_CLASS_NAMES } from '../data'
import { DEFAULT_SHARD_BYTES, saveModelFolder, type SaveDtype, type SaveResult } from '../io/model-folder'
import type { BertConfig } from '../model/config'
import { loadRunModel } from '../runs/run-model'
import type { RunStore } from '../runs/store'
import { BertTokenizer } from '../tokenizer'
import { resolveExportPath } from './paths'

export interface HfExportOptions {
  /** Largest shard in tensor bytes; above it the weights are sharded. Default 2 GB (model-folder.ts). */
  shardBytes?: number
  /** Storage dtype. Default F32 (the trained weights as computed). */
  dtype?: SaveDtype
  /** Replace an existing non-empty folder. Default false. */
  overwrite?: boolean
  /** The output path must lie inside this folder (the app's export folder). */
  within?: string
}

export interface HfExportResult extends SaveResult {
  runId: string
  task: string
  labels: string[] | null
}

/**
 * config with the classes' names (id2label/label2id), as transformers writes them: the GLUE task's
 * readable names (SST-2 negative/positive, MNLI contradiction/entailment/neutral in the data's index
 * order), the label values found in the training data when they are not the task's, and a regression
 * head (num_labels 1, problem_type regression) for STS-B.
 */
export function withTaskLabels(config: BertConfig, task: string, runId: string, dataLabelNames?: string[]): BertConfig {
  const spec = getTask(task)
  const extra: Record<string, unknown> = { ...config.extra }
  delete extra.problem_type
  if (spec.isRegression) {
    extra.id2label = { 0: 'LABEL_0' }
    extra.label2id = { LABEL_0: 0 }
    extra.problem_type = 'regression'
  } else {
    const raw = dataLabelNames ?? spec.labelNames ?? Array.from({ length: spec.numLabels }, (_, i) => `LABEL_${i}`)
    const isTasks = spec.labelNames !== undefined && raw.length === spec.labelNames.length && raw.every((n, i) => n === spec.labelNames![i])
    const labels = isTasks ? (GLUE_CLASS_NAMES[spec.name] ?? raw) : raw
    if (labels.length !== config.num_labels) throw new Error(`run ${runId}: ${labels.length} class names (${labels.join(', ')}) for a ${config.num_labels}-output classifier`)
    if (new Set(labels).size !== labels.length) throw new Error(`run ${runId}: the class names ${labels.join(', ')} repeat, so label2id would lose one`)
    extra.id2label = Object.fromEntries(labels.map((n, i) => [String(i), n]))
    extra.label2id = Object.fromEntries(labels.map((n, i) => [n, i]))
    extra.problem_type = 'single_label_classification'
  }
  extra.finetuning_task = spec.name
  extra.ird_studio = { run: runId, task: spec.name }
  return { ...config, extra }
}

/** The class names a run recorded (results.json labelNames), if any. */
function runLabelNames(runDir: string): string[] | undefined {
  try {
    const r = JSON.parse(readFileSync(join(runDir, 'results.json'), 'utf8')) as { labelNames?: unknown }
    return Array.isArray(r.labelNames) && r.labelNames.every((n) => typeof n === 'string') ? (r.labelNames as string[]) : undefined
  } catch {
    return undefined
  }
}

/** Write the fine-tuned model of run `runId` to the folder `out`. Needs no backend (pure host math). */
export function exportHfModel(store: RunStore, runId: string, out: string, opts: HfExportOptions = {}): HfExportResult {
  const target = resolveExportPath(out, opts.within)
  const run = store.open(runId)
  const rm = loadRunModel(run)
  const config = withTaskLabels(rm.config, rm.task, run.id, runLabelNames(run.dir))
  // Regenerated from the base model's tokenizer, so vocab.txt and tokenizer_config.json are always there.
  const vocab = mkdtempSync(join(tmpdir(), 'ird-hf-tok-'))
  try {
    BertTokenizer.fromFolder(rm.modelDir).saveToFolder(vocab)
    const res = saveModelFolder(target, {
      config,
      state: rm.state,
      dtype: opts.dtype ?? 'F32',
      vocab,
      shardBytes: opts.shardBytes ?? DEFAULT_SHARD_BYTES,
      overwrite: opts.overwrite
    })
    const spec = getTask(rm.task)
    return { ...res, runId: run.id, task: rm.task, labels: spec.isRegression ? null : Object.values(config.extra.id2label as Record<string, string>) }
  } finally {
    rmSync(vocab, { recursive: true, force: true })
  }
}

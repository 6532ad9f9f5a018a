/**
 * One fine-tuning run end to end — validate inputs, select the mask (FISH, IRD, random, BitFit, full),
 * train only the masked entries, evaluate on dev — recorded in the run store as it goes.
 *
 * Everything that can be checked before work starts is checked before the run folder exists (task,
 * files, model folder, label count, data validity, budgets), so bad input leaves no run behind. Once
 * running, the run ends as completed (results written first), cancelled (at a batch boundary) or failed
 * (with the reason); a killed process is reported as interrupted by the store.
 * Must not: print or exit (the CLI and the app's engine process present events and errors).
 */
import { resolve } from 'node:path'
import type { Dataset, Example, TaskName } from '../data'
import { getTask } from '../data'
import { loadModelFolder, type LoadedModel } from '../io/model-folder'
import { writeSafetensors } from '../io/safetensors'
import { deltaToTensors } from '../runs/run-model'
import { loadMask, maskCount, saveMask, type LoadedMask, type ParamMask } from '../mask'
import { bertParameterSpec, countParameters, type BertConfig } from '../model/config'
import type { GlueTask } from '../metrics'
import { BertForSequenceClassification } from '../model/bert'
import { computeBudget } from '../selection/budget'
import { selectMask, SelectionCancelled, toSidecarInput, type SelectMaskOptions, type SelectionMethod } from '../selection'
import { BertTokenizer } from '../tokenizer'
import { computeDelta, train } from '../train'
import { Rng } from '../util/rng'
import type { Run, RunStore } from '../runs/store'

export interface RunJobConfig {
  name?: string
  modelDir: string
  task: TaskName
  trainFile: string
  devFile?: string
  method: SelectionMethod
  keepRatio: number
  nSamples: number
  /** True when the user chose nSamples (then larger than the data is an error, not a cap). */
  nSamplesExplicit?: boolean
  seed: number
  maxLength: number
  batchSize: number
  epochs: number
  lr: number
  warmupRatio: number
  weightDecay: number
  maxGradNorm: number
  fisher: { variant: 'label' | 'expect'; power: 'square' | 'absolute'; batchSize: number }
  ird: { poolFactor: number; alphaS: number; alphaP: number; maxRounds: number | null }
  /** Use at most this many training examples (seeded subset); null = all. */
  maxTrainExamples: number | null
  /** Worker threads for Fisher passes and data-parallel training (0 = the engine's own thread). */
  workers: number
  /** Train with a saved mask (a folder with mask.safetensors + mask.json) instead of selecting one. */
  maskDir?: string
  backend: string
}

export type JobEvent = { phase: string; done?: number; total?: number; message?: string; [k: string]: unknown }

export interface JobHooks {
  /** Loads data files (the CLI passes its loader that turns problems into messages). */
  loadData(file: string, task: TaskName, split: 'train' | 'dev', labelNames?: string[]): Promise<Dataset>
  onEvent?(e: JobEvent): void
  shouldCancel?(): boolean
}

export class JobInputError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'JobInputError'
  }
}

export interface JobResult {
  run: Run
  status: 'completed' | 'cancelled' | 'failed'
  reason?: string
}

/** A model folder and its tokenizer, checked against each other; errors are JobInputErrors. */
export function openModelFolder(dir: string, task: TaskName, seed: number): { loaded: LoadedModel; tokenizer: BertTokenizer } {
  let loaded: LoadedModel
  let tokenizer: BertTokenizer
  try {
    loaded = loadModelFolder(dir, { numLabels: getTask(task).numLabels, seed })
    tokenizer = BertTokenizer.fromFolder(dir)
  } catch (e) {
    throw new JobInputError((e as Error).message)
  }
  if (tokenizer.vocabSize > loaded.config.vocab_size) {
    throw new JobInputError(`model/tokenizer mismatch in ${dir}: the vocabulary has ${tokenizer.vocabSize} tokens but config.json says vocab_size ${loaded.config.vocab_size}`)
  }
  return { loaded, tokenizer }
}

/** The training examples a job uses: all, or with --max-train a seeded subset kept in file order. */
export function trainSubset(examples: readonly Example[], cfg: Pick<RunJobConfig, 'maxTrainExamples' | 'seed'>): Example[] {
  if (cfg.maxTrainExamples === null || examples.length <= cfg.maxTrainExamples) return [...examples]
  const idx = new Rng(cfg.seed ^ 0x5eed).sample(examples.length, cfg.maxTrainExamples).sort((a, b) => a - b)
  return idx.map((i) => examples[i])
}

/** Checks that need no work: sequence length, sample budget against the data, parameter budget. */
export function checkSelectionInputs(cfg: RunJobConfig, config: BertConfig, examples: number): void {
  if (cfg.maxLength > config.max_position_embeddings) {
    throw new JobInputError(`--max-length ${cfg.maxLength} exceeds the model's max_position_embeddings ${config.max_position_embeddings}`)
  }
  if (cfg.maskDir) return
  if ((cfg.method === 'fish' || cfg.method === 'ird') && cfg.nSamplesExplicit && cfg.nSamples > examples) {
    throw new JobInputError(`--samples ${cfg.nSamples} is larger than the training data (${examples} examples${cfg.maxTrainExamples !== null ? ` after --max-train ${cfg.maxTrainExamples}` : ''})`)
  }
  if (cfg.method === 'fish' || cfg.method === 'ird' || cfg.method === 'random') {
    try {
      computeBudget(bertParameterSpec(config), cfg.keepRatio)
    } catch (e) {
      throw new JobInputError((e as Error).message)
    }
  }
}

/** selectMask's options for a job's settings. */
export function selectionOptions(
  cfg: RunJobConfig,
  model: BertForSequenceClassification,
  tokenizer: BertTokenizer,
  examples: readonly Example[],
  datasetSha256: string,
  hooks: Pick<SelectMaskOptions, 'onProgress' | 'onIrdRound' | 'shouldCancel'>
): SelectMaskOptions {
  return {
    method: cfg.method,
    model,
    examples,
    tokenizer,
    maxLength: cfg.maxLength,
    keepRatio: cfg.keepRatio,
    nSamples: Math.min(cfg.nSamples, examples.length),
    seed: cfg.seed,
    fisher: { variant: cfg.fisher.variant, power: cfg.fisher.power },
    ird: { poolFactor: cfg.ird.poolFactor, alphaS: cfg.ird.alphaS, alphaP: cfg.ird.alphaP, maxRounds: cfg.ird.maxRounds ?? undefined },
    batchSize: cfg.fisher.batchSize,
    workers: cfg.workers,
    datasetSha256,
    ...hooks
  }
}

export async function runJob(cfg: RunJobConfig, store: RunStore, hooks: JobHooks): Promise<JobResult> {
  const emit = (e: JobEvent) => hooks.onEvent?.(e)
  // ---- everything checkable before the run exists
  emit({ phase: 'load', message: 'reading model and data' })
  const { loaded, tokenizer } = openModelFolder(cfg.modelDir, cfg.task, cfg.seed)
  const trainSet = await hooks.loadData(cfg.trainFile, cfg.task, 'train')
  if (!trainSet.hasLabels) throw new JobInputError(`${cfg.trainFile} has no labels: training data needs them`)
  const devSet = cfg.devFile ? await hooks.loadData(cfg.devFile, cfg.task, 'dev', trainSet.labelNames) : undefined
  if (devSet && !devSet.hasLabels) throw new JobInputError(`${cfg.devFile} has no labels: evaluation data needs them`)
  const examples = trainSubset(trainSet.examples, cfg)
  const needsSamples = cfg.method === 'fish' || cfg.method === 'ird'
  checkSelectionInputs(cfg, loaded.config, examples.length)
  let reused: LoadedMask | undefined
  if (cfg.maskDir) {
    try {
      reused = loadMask(cfg.maskDir, loaded.config)
    } catch (e) {
      throw new JobInputError(`--mask ${cfg.maskDir}: ${(e as Error).message}`)
    }
  }
  const model = BertForSequenceClassification.fromState(loaded.config, loaded.state)

  // ---- the run
  const run = store.create({
    task: cfg.task,
    method: reused ? reused.sidecar.method : cfg.method,
    name: cfg.name,
    config: {
      ...cfg,
      modelDir: resolve(cfg.modelDir),
      trainFile: resolve(cfg.trainFile),
      devFile: cfg.devFile ? resolve(cfg.devFile) : undefined,
      trainSha256: trainSet.sha256,
      devSha256: devSet?.sha256,
      trainExamples: examples.length,
      modelReport: { architecture: loaded.report.sourceArchitecture, initialized: loaded.report.initialized, ignored: loaded.report.ignored },
      rerun: `ird-studio run --model ${cfg.modelDir} --task ${cfg.task} --data ${cfg.trainFile}${cfg.devFile ? ` --dev ${cfg.devFile}` : ''} --method ${cfg.method} --keep-ratio ${cfg.keepRatio} --samples ${cfg.nSamples} --seed ${cfg.seed}`
    },
    summary: {
      task: cfg.task,
      method: cfg.method,
      model: cfg.modelDir,
      keepRatio: cfg.method === 'bitfit' || cfg.method === 'full' ? undefined : cfg.keepRatio,
      nSamples: needsSamples ? Math.min(cfg.nSamples, examples.length) : undefined,
      seed: cfg.seed,
      backend: cfg.backend
    }
  })
  const log = (phase: string, fields: Record<string, unknown>) => {
    run.event(phase, fields)
    emit({ phase, ...fields })
  }
  try {
    let trainMask: ParamMask
    if (reused) {
      trainMask = reused.mask
      const count = maskCount(reused.mask, model.spec)
      run.writeJson('mask-source.json', { maskDir: resolve(cfg.maskDir!), sidecar: reused.sidecar })
      Object.assign(run.summary, { method: reused.sidecar.method, k: reused.sidecar.budgets.k ?? undefined, trainable: count, keepRatio: reused.sidecar.budgets.keepRatio ?? undefined, nSamples: reused.sidecar.budgets.nSamples ?? undefined })
      run.writeSummary()
      const notes = [`mask reused from ${resolve(cfg.maskDir!)}`]
      if (reused.sidecar.dataset.sha256 && reused.sidecar.dataset.sha256 !== trainSet.sha256) {
        notes.push(`the mask was selected on other data (SHA-256 ${reused.sidecar.dataset.sha256.slice(0, 12)}…, this file ${trainSet.sha256.slice(0, 12)}…)`)
      }
      log('selected', { k: reused.sidecar.budgets.k, trainable: count, effectiveRatio: count / countParameters(loaded.config), gradientEvaluations: 0, notes })
    } else {
      log('select', { message: `selecting the ${cfg.method} mask`, runId: run.id })
      const selection = await selectMask(
        selectionOptions(cfg, model, tokenizer, examples, trainSet.sha256, {
          shouldCancel: hooks.shouldCancel,
          onProgress: (p) => emit({ phase: p.phase, done: p.done, total: p.total, round: p.round }),
          onIrdRound: (r) => log('ird-round', { round: r })
        })
      )
      saveMask(run.path('mask'), selection.mask, toSidecarInput(selection, { datasetName: trainSet.name, datasetRows: examples.length }), loaded.config)
      run.writeJson('fisher-stats.json', selection.stats)
      Object.assign(run.summary, { k: selection.k, trainable: selection.maskCount })
      run.writeSummary()
      log('selected', { k: selection.k, trainable: selection.maskCount, effectiveRatio: selection.effectiveRatio, gradientEvaluations: selection.gradientEvaluations, notes: selection.notes })
      trainMask = selection.mask
    }

    const result = await train({
      model,
      mask: trainMask,
      train: { tokenizer, examples },
      dev: devSet ? { tokenizer, examples: devSet.examples } : undefined,
      task: cfg.task as GlueTask,
      epochs: cfg.epochs,
      batchSize: cfg.batchSize,
      lr: cfg.lr,
      warmupRatio: cfg.warmupRatio,
      weightDecay: cfg.weightDecay,
      maxGradNorm: cfg.maxGradNorm,
      seed: cfg.seed,
      maxLength: cfg.maxLength,
      bucketByLength: true,
      workers: cfg.workers,
      shouldCancel: hooks.shouldCancel,
      onEvent: (e) => {
        const fields = { ...e } as Record<string, unknown>
        if (e.type === 'step') {
          emit({ phase: 'train', done: e.step, total: e.totalSteps, loss: e.loss, lr: e.lr, epoch: e.epoch, etaMs: e.etaMs })
          run.event('train', fields)
        } else if (e.type === 'eval') log('eval', fields)
        else run.event(`train-${e.type}`, fields) // phase changes and the trainer's own 'done'
      }
    })
    if (result.status === 'cancelled') {
      run.finish('cancelled', {}, 'cancelled by the user')
      return { run, status: 'cancelled' }
    }
    if (devSet && result.final) {
      const lines = result.devIds.map((id, i) => JSON.stringify({ id, prediction: result.final!.predictions[i], label: devSet.examples[i]?.label }))
      run.writeText('predictions-dev.jsonl', lines.join('\n') + '\n')
    }
    const delta = computeDelta(loaded.state, model, trainMask)
    writeSafetensors(run.path('delta.safetensors'), deltaToTensors(delta), {
      format: 'pt',
      kind: 'ird-studio-sparse-delta',
      base_model: resolve(cfg.modelDir),
      method: cfg.method,
      seed: String(cfg.seed)
    })
    const { predictions: _p, ...final } = result.final ?? { predictions: [] }
    const best = result.best ? { ...result.best, predictions: undefined } : null
    run.writeJson('results.json', {
      task: cfg.task,
      method: cfg.method,
      final: result.final ? final : null,
      best,
      epochs: result.epochs.map((e) => ({ ...e, eval: e.eval ? { ...e.eval, predictions: undefined } : null })),
      steps: result.steps,
      trainableEntries: result.trainableEntries,
      optimizerStateBytes: result.optimizerStateBytes,
      selection: { k: run.summary.k, maskCount: run.summary.trainable, reusedMask: cfg.maskDir ? resolve(cfg.maskDir) : undefined },
      elapsedMs: result.elapsedMs,
      stepsPerSec: result.stepsPerSec
    })
    run.finish('completed', {
      metrics: result.final?.metrics as Record<string, number> | undefined,
      main: result.final?.main ?? undefined,
      bestEpoch: result.best?.epoch
    })
    log('done', { status: 'completed', metrics: result.final?.metrics, main: result.final?.main })
    return { run, status: 'completed' }
  } catch (e) {
    if (e instanceof SelectionCancelled) {
      run.finish('cancelled', {}, 'cancelled by the user during mask selection')
      return { run, status: 'cancelled' }
    }
    const reason = (e as Error).message
    run.finish('failed', {}, reason)
    return { run, status: 'failed', reason }
  } finally {
    model.dispose()
  }
}


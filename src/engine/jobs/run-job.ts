/**
 * One fine-tuning run end to end — validate inputs, select the mask (FISH, IRD, random, BitFit, full),
 * train only the masked entries, evaluate on dev — recorded in the run store as it goes.
 *
 * Everything that can be checked before work starts is checked before the run folder exists (task,
 * files, model folder, label count, data validity, budgets, a memory estimate against this machine), so
 * bad input leaves no run behind. Once running, the run ends as completed (results written first),
 * cancelled (at a batch boundary) or failed (with the reason; out of memory with advice); a killed
 * process is reported as interrupted by the store.
 * Resumable: training saves checkpoints into the run folder (jobs/checkpoint.ts) every
 * `checkpointEvery` steps, after each epoch and on cancel; resumeJob continues a stopped, cancelled,
 * failed or killed run from its last checkpoint with its recorded settings and its saved mask (selection
 * is not recomputed), reaching bit for bit the result of the uninterrupted run on the same backend.
 * Fault points (jobs/fault.ts) let tests kill the process at every stage.
 * Must not: print or exit (the CLI and the app's engine process present events and errors).
 */
import { existsSync } from 'node:fs'
import { freemem, totalmem } from 'node:os'
import { resolve } from 'node:path'
import type { ColumnMapping, Dataset, Example, TaskName } from '../data'
import { getTask } from '../data'
import { constantWarning, predictionShape, type PredictionShape } from '../metrics/constant'
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
import { RunStoreError, type Run, type RunStore } from '../runs/store'
import { loadCheckpointFrom, planResume, removeCheckpoints, removeDamaged, saveCheckpoint, type ResumePlan } from './checkpoint'
import { faultPoint } from './fault'
import { describeEstimate, estimateMemory, failureReason, type MemoryEstimate } from './memory'

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
  /** Which columns of the data files hold what (the CLI's --columns); unset = read from the header. */
  columns?: ColumnMapping
  backend: string
  /** Save a training checkpoint every N optimizer steps (also after each epoch and on cancel); 0 = epoch ends only. Default DEFAULT_CHECKPOINT_EVERY. */
  checkpointEvery?: number
  /** Also save one when this many minutes passed since the last (slow steps); 0 = not by time. Default DEFAULT_CHECKPOINT_MINUTES. */
  checkpointMinutes?: number
}

export const DEFAULT_CHECKPOINT_EVERY = 50
export const DEFAULT_CHECKPOINT_MINUTES = 10

export type JobEvent = { phase: string; done?: number; total?: number; message?: string; [k: string]: unknown }

export interface JobHooks {
  /** Loads data files (the CLI passes its loader that turns problems into messages). */
  loadData(file: string, task: TaskName, split: 'train' | 'dev', labelNames?: string[], columns?: ColumnMapping): Promise<Dataset>
  onEvent?(e: JobEvent): void
  shouldCancel?(): boolean
  /** Why the job was cancelled, for the run's reason (e.g. "by SIGTERM"); default "by the user". */
  cancelReason?(): string | undefined
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
  /** resumeJob: the optimizer step training continued from (0 = from the start). */
  resumedFromStep?: number
  /** resumeJob: the run's saved mask was used (selection not recomputed). */
  maskReused?: boolean
}

/** The memory estimate of a job's settings on this machine (os total/free memory). */
export function jobMemoryEstimate(cfg: RunJobConfig, config: BertConfig): MemoryEstimate {
  return estimateMemory(
    {
      config,
      method: cfg.method,
      keepRatio: cfg.keepRatio,
      batchSize: cfg.batchSize,
      maxLength: cfg.maxLength,
      fisherBatchSize: cfg.fisher.batchSize,
      workers: cfg.workers,
      backend: cfg.backend
    },
    { totalBytes: totalmem(), freeBytes: freemem() }
  )
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

interface Prepared {
  loaded: LoadedModel
  tokenizer: BertTokenizer
  trainSet: Dataset
  devSet?: Dataset
  examples: Example[]
  reused?: LoadedMask
  estimate: MemoryEstimate
}

/** Everything a job checks and loads before its run folder exists (or before a resumed run is reopened). */
async function prepare(cfg: RunJobConfig, hooks: JobHooks): Promise<Prepared> {
  const emit = (e: JobEvent) => hooks.onEvent?.(e)
  emit({ phase: 'load', message: 'reading model and data' })
  const { loaded, tokenizer } = openModelFolder(cfg.modelDir, cfg.task, cfg.seed)
  const trainSet = await hooks.loadData(cfg.trainFile, cfg.task, 'train', undefined, cfg.columns)
  if (!trainSet.hasLabels) throw new JobInputError(`${cfg.trainFile} has no labels: training data needs them`)
  const devSet = cfg.devFile ? await hooks.loadData(cfg.devFile, cfg.task, 'dev', trainSet.labelNames, cfg.columns) : undefined
  if (devSet && !devSet.hasLabels) throw new JobInputError(`${cfg.devFile} has no labels: evaluation data needs them`)
  const examples = trainSubset(trainSet.examples, cfg)
  checkSelectionInputs(cfg, loaded.config, examples.length)
  let reused: LoadedMask | undefined
  if (cfg.maskDir) {
    try {
      reused = loadMask(cfg.maskDir, loaded.config)
    } catch (e) {
      throw new JobInputError(`--mask ${cfg.maskDir}: ${(e as Error).message}`)
    }
  }
  const estimate = jobMemoryEstimate(cfg, loaded.config)
  emit({ phase: 'memory', message: describeEstimate(estimate), estimate })
  if (estimate.warning) emit({ phase: 'memory', message: `warning: ${estimate.warning}; to need less: ${estimate.advice.join(', ')}`, warning: estimate.warning })
  return { loaded, tokenizer, trainSet, devSet, examples, reused, estimate }
}

export async function runJob(cfg: RunJobConfig, store: RunStore, hooks: JobHooks): Promise<JobResult> {
  const prep = await prepare(cfg, hooks)
  const { loaded, trainSet, devSet, examples, reused } = prep
  const needsSamples = cfg.method === 'fish' || cfg.method === 'ird'
  const run = store.create({
    task: cfg.task,
    method: reused ? reused.sidecar.method : cfg.method,
    name: cfg.name,
    config: {
      ...cfg,
      modelDir: resolve(cfg.modelDir),
      trainFile: resolve(cfg.trainFile),
      devFile: cfg.devFile ? resolve(cfg.devFile) : undefined,
      maskDir: cfg.maskDir ? resolve(cfg.maskDir) : undefined,
      checkpointEvery: cfg.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY,
      checkpointMinutes: cfg.checkpointMinutes ?? DEFAULT_CHECKPOINT_MINUTES,
      trainSha256: trainSet.sha256,
      devSha256: devSet?.sha256,
      trainExamples: examples.length,
      modelReport: { architecture: loaded.report.sourceArchitecture, initialized: loaded.report.initialized, ignored: loaded.report.ignored },
      memoryEstimate: { peakBytes: prep.estimate.peakBytes, verdict: prep.estimate.verdict },
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
  if (prep.estimate.warning) run.event('memory-warning', { warning: prep.estimate.warning, peakBytes: prep.estimate.peakBytes, advice: prep.estimate.advice })
  return execute(cfg, prep, run, hooks, { resumeFromCheckpoint: false })
}

/** What resumeJob reads from a run's config.json: the job settings plus the data fingerprints. */
type StoredConfig = RunJobConfig & { trainSha256?: string; devSha256?: string }

/**
 * Continue a stopped run (cancelled, failed, or killed: the store reports it as interrupted) from its last
 * checkpoint, with the settings recorded in its config.json. The run's saved mask is reused (selection is
 * not repeated). Checkpoints are verified first (jobs/checkpoint.ts planResume): a damaged one is named
 * and the previous good one used; when none is good, or the event log records a checkpoint whose folder
 * is gone, the resume is refused (JobInputError) unless `restart` starts training over from step 0. Only a
 * run that never saved a checkpoint starts from step 0 on its own. The data files must still hold what
 * they held (SHA-256 checked). `backend` is the backend running now: another backend than the run's may
 * differ in the last bits, which the run's events note.
 */
export async function resumeJob(store: RunStore, idOrPrefix: string, hooks: JobHooks, opts: { backend: string; restart?: boolean }): Promise<JobResult> {
  const probe = store.open(idOrPrefix)
  const saved = probe.readJson<StoredConfig>('config.json')
  if (!saved || typeof saved.modelDir !== 'string' || typeof saved.trainFile !== 'string') throw new RunStoreError(`run ${probe.id} has no readable config.json: it cannot be resumed`)
  const st = store.status(probe.id)
  if (st?.status === 'completed') throw new RunStoreError(`run ${probe.id} is already completed: nothing to resume`)
  // Damage is found before anything is loaded or the run is touched.
  const plan = planResume(probe.dir, probe.id, { restart: opts.restart })
  if (plan.kind === 'refuse') throw new JobInputError(plan.message)
  const cfg: RunJobConfig = { ...saved, backend: opts.backend }
  const prep = await prepare(cfg, hooks)
  if (saved.trainSha256 && prep.trainSet.sha256 !== saved.trainSha256) {
    throw new JobInputError(`${cfg.trainFile} changed since run ${probe.id} started (SHA-256 ${prep.trainSet.sha256.slice(0, 12)}…, recorded ${saved.trainSha256.slice(0, 12)}…): it cannot be resumed on other data`)
  }
  if (saved.devSha256 && prep.devSet && prep.devSet.sha256 !== saved.devSha256) {
    throw new JobInputError(`${cfg.devFile} changed since run ${probe.id} started: it cannot be resumed with another dev set`)
  }
  const run = store.reopen(probe.id)
  const notes: string[] = []
  if (saved.backend !== opts.backend) notes.push(`the run started on ${saved.backend} and continues on ${opts.backend}: results may differ from an uninterrupted run in the last bits`)
  run.event('resume', { pid: process.pid, backend: opts.backend, notes })
  if (plan.kind === 'restart') removeCheckpoints(run.dir)
  // said in the resume-point event; a damaged folder must not become the next save's fallback
  if (plan.kind === 'checkpoint') removeDamaged(run.dir, plan)
  return execute(cfg, prep, run, hooks, { resumeFromCheckpoint: true, notes, plan })
}

async function execute(cfg: RunJobConfig, prep: Prepared, run: Run, hooks: JobHooks, mode: { resumeFromCheckpoint: boolean; notes?: string[]; plan?: ResumePlan }): Promise<JobResult> {
  const emit = (e: JobEvent) => hooks.onEvent?.(e)
  const { loaded, tokenizer, trainSet, devSet, examples, reused } = prep
  const model = BertForSequenceClassification.fromState(loaded.config, loaded.state)
  const log = (phase: string, fields: Record<string, unknown>) => {
    run.event(phase, fields)
    emit({ phase, ...fields })
  }
  let maskReused = false
  let resumedFromStep = 0
  try {
    let trainMask: ParamMask
    const ownMask = mode.resumeFromCheckpoint && !reused && existsSync(run.path('mask/mask.json')) && existsSync(run.path('mask/mask.safetensors')) ? loadMask(run.path('mask'), loaded.config) : null
    if (reused) {
      trainMask = reused.mask
      const count = maskCount(reused.mask, model.spec)
      if (mode.resumeFromCheckpoint) {
        const source = run.readJson<{ sidecar?: { digest?: string } }>('mask-source.json')
        if (source?.sidecar?.digest && source.sidecar.digest !== reused.sidecar.digest) throw new Error(`the mask folder ${resolve(cfg.maskDir!)} changed since the run started (digest ${reused.sidecar.digest.slice(0, 12)}…, recorded ${source.sidecar.digest.slice(0, 12)}…)`)
      }
      run.writeJson('mask-source.json', { maskDir: resolve(cfg.maskDir!), sidecar: reused.sidecar })
      Object.assign(run.summary, { method: reused.sidecar.method, k: reused.sidecar.budgets.k ?? undefined, trainable: count, keepRatio: reused.sidecar.budgets.keepRatio ?? undefined, nSamples: reused.sidecar.budgets.nSamples ?? undefined })
      run.writeSummary()
      const notes = [`mask reused from ${resolve(cfg.maskDir!)}`]
      if (reused.sidecar.dataset.sha256 && reused.sidecar.dataset.sha256 !== trainSet.sha256) {
        notes.push(`the mask was selected on other data (SHA-256 ${reused.sidecar.dataset.sha256.slice(0, 12)}…, this file ${trainSet.sha256.slice(0, 12)}…)`)
      }
      log('selected', { k: reused.sidecar.budgets.k, trainable: count, effectiveRatio: count / countParameters(loaded.config), gradientEvaluations: 0, notes })
    } else if (ownMask) {
      // resume: the mask this run already selected and saved; Fisher and selection are not repeated
      maskReused = true
      trainMask = ownMask.mask
      const count = maskCount(ownMask.mask, model.spec)
      if (!existsSync(run.path('fisher-stats.json')) && ownMask.sidecar.stats) run.writeJson('fisher-stats.json', ownMask.sidecar.stats)
      Object.assign(run.summary, { k: ownMask.sidecar.budgets.k ?? undefined, trainable: count })
      run.writeSummary()
      log('selected', { k: ownMask.sidecar.budgets.k, trainable: count, effectiveRatio: count / countParameters(loaded.config), gradientEvaluations: 0, reused: true, notes: ['mask reused from this run\'s saved selection (not recomputed)'] })
    } else {
      log('select', { message: `selecting the ${cfg.method} mask`, runId: run.id })
      const selection = await selectMask(
        selectionOptions(cfg, model, tokenizer, examples, trainSet.sha256, {
          shouldCancel: hooks.shouldCancel,
          onProgress: (p) => {
            faultPoint('fisher')
            emit({ phase: p.phase, done: p.done, total: p.total, round: p.round })
          },
          onIrdRound: (r) => log('ird-round', { round: r })
        })
      )
      faultPoint('mask-write')
      saveMask(run.path('mask'), selection.mask, toSidecarInput(selection, { datasetName: trainSet.name, datasetRows: examples.length }), loaded.config)
      run.writeJson('fisher-stats.json', selection.stats)
      Object.assign(run.summary, { k: selection.k, trainable: selection.maskCount })
      run.writeSummary()
      faultPoint('selected')
      log('selected', { k: selection.k, trainable: selection.maskCount, effectiveRatio: selection.effectiveRatio, gradientEvaluations: selection.gradientEvaluations, notes: selection.notes })
      trainMask = selection.mask
    }

    const plan = mode.resumeFromCheckpoint ? mode.plan : undefined
    const ck = plan?.folder ? loadCheckpointFrom(run.dir, plan.folder) : null
    if (plan) {
      resumedFromStep = ck?.info.step ?? 0
      log('resume-point', {
        step: resumedFromStep,
        totalSteps: ck?.info.totalSteps,
        epoch: ck?.info.epoch,
        message: plan.message,
        ...(plan.kind === 'restart' ? { restart: true } : {}),
        ...(plan.damaged.length ? { damaged: plan.damaged.map((d) => d.message) } : {}),
        notes: mode.notes
      })
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
      resume: ck?.checkpoint,
      checkpoint: {
        everySteps: cfg.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY,
        everyMs: 60_000 * (cfg.checkpointMinutes ?? DEFAULT_CHECKPOINT_MINUTES),
        save: (c) => {
          saveCheckpoint(run.dir, c)
        }
      },
      shouldCancel: () => {
        faultPoint('batch')
        return hooks.shouldCancel?.() === true
      },
      onEvent: (e) => {
        const fields = { ...e } as Record<string, unknown>
        if (e.type === 'step') {
          emit({ phase: 'train', done: e.step, total: e.totalSteps, loss: e.loss, lr: e.lr, epoch: e.epoch, etaMs: e.etaMs })
          run.event('train', fields)
        } else if (e.type === 'eval') log('eval', fields)
        else if (e.type === 'checkpoint') log('checkpoint', { step: e.step, totalSteps: e.totalSteps, epoch: e.epoch })
        else run.event(`train-${e.type}`, fields) // phase changes and the trainer's own 'done'
      }
    })
    if (result.status === 'cancelled') {
      run.finish('cancelled', {}, `cancelled ${hooks.cancelReason?.() ?? 'by the user'} at step ${result.steps} of ${result.totalSteps}; \`ird-studio resume ${run.id}\` continues from there`)
      return { run, status: 'cancelled', resumedFromStep, maskReused }
    }
    faultPoint('predictions')
    let shape: PredictionShape | null = null
    const warnings: string[] = []
    if (devSet && result.final) {
      const lines = result.devIds.map((id, i) => JSON.stringify({ id, prediction: result.final!.predictions[i], label: devSet.examples[i]?.label }))
      run.writeText('predictions-dev.jsonl', lines.join('\n') + '\n')
      shape = predictionShape(result.final.predictions, devSet.examples.map((e) => e.label), getTask(cfg.task).isRegression)
      const w = shape && constantWarning(shape, devSet.labelNames ?? trainSet.labelNames)
      if (w) {
        warnings.push(w)
        log('warning', { message: `dev: ${w}` })
      }
    }
    faultPoint('delta')
    const delta = await computeDelta(loaded.state, model, trainMask)
    writeSafetensors(run.path('delta.safetensors'), deltaToTensors(delta), {
      format: 'pt',
      kind: 'ird-studio-sparse-delta',
      base_model: resolve(cfg.modelDir),
      method: cfg.method,
      seed: String(cfg.seed)
    })
    const { predictions: _p, ...final } = result.final ?? { predictions: [] }
    const best = result.best ? { ...result.best, predictions: undefined } : null
    faultPoint('results')
    run.writeJson('results.json', {
      task: cfg.task,
      method: cfg.method,
      // class index i is labelNames[i]: what the head's logits mean (exports name the classes by it)
      ...(trainSet.labelNames ? { labelNames: trainSet.labelNames } : {}),
      final: result.final ? final : null,
      best,
      epochs: result.epochs.map((e) => ({ ...e, eval: e.eval ? { ...e.eval, predictions: undefined } : null })),
      steps: result.steps,
      trainableEntries: result.trainableEntries,
      optimizerStateBytes: result.optimizerStateBytes,
      selection: { k: run.summary.k, maskCount: run.summary.trainable, reusedMask: cfg.maskDir ? resolve(cfg.maskDir) : undefined },
      elapsedMs: result.elapsedMs,
      stepsPerSec: result.stepsPerSec,
      ...(shape ? { devPredictionShape: shape } : {}),
      ...(mode.resumeFromCheckpoint ? { resumedFromStep } : {})
    })
    faultPoint('finish')
    run.finish('completed', {
      metrics: result.final?.metrics as Record<string, number> | undefined,
      main: result.final?.main ?? undefined,
      bestEpoch: result.best?.epoch,
      ...(warnings.length ? { warnings } : {})
    })
    // the delta holds the trained weights now; the optimizer state is no longer needed
    removeCheckpoints(run.dir)
    log('done', { status: 'completed', metrics: result.final?.metrics, main: result.final?.main })
    return { run, status: 'completed', resumedFromStep, maskReused }
  } catch (e) {
    if (e instanceof SelectionCancelled) {
      run.finish('cancelled', {}, `cancelled ${hooks.cancelReason?.() ?? 'by the user'} during mask selection`)
      return { run, status: 'cancelled', resumedFromStep, maskReused }
    }
    const reason = failureReason(e, { batchSize: cfg.batchSize, maxLength: cfg.maxLength, method: cfg.method, keepRatio: cfg.keepRatio, fisherBatchSize: cfg.fisher.batchSize, workers: cfg.workers })
    run.finish('failed', {}, reason)
    return { run, status: 'failed', reason, resumedFromStep, maskReused }
  } finally {
    model.dispose()
  }
}

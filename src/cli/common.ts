/**
 * What several CLI commands share: opening a model folder with its tokenizer for a task, loading a
 * task's data file with a validation report, and turning any failure into one clear message.
 * Must not: print (returns data or throws CliError with the message to show).
 */
import { existsSync, statSync } from 'node:fs'
import { basename } from 'node:path'
import { DatasetError, detectTask, getTask, isTaskName, loadDataset, loadGlueFile, TASK_NAMES, type Dataset, type Split, type TaskName } from '../engine/data'
import type { LoadedModel } from '../engine/io/model-folder'
import { openModelFolder } from '../engine/jobs/run-job'
import { BertForSequenceClassification } from '../engine/model/bert'
import { BertTokenizer } from '../engine/tokenizer'
import { loadRunModel } from '../engine/runs/run-model'
import { RunStore } from '../engine/runs/store'
import { checkWritableDir, checkWritableFile, checkWritableOutputDir, FsWriteError } from '../engine/io/writable'

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1
  ) {
    super(message)
    this.name = 'CliError'
  }
}

export function requireTask(name: unknown): TaskName {
  if (typeof name !== 'string' || !name) throw new CliError(`--task is required: one of ${TASK_NAMES.join(', ')}`, 2)
  if (!isTaskName(name)) throw new CliError(`unknown task "${name}": use one of ${TASK_NAMES.join(', ')}`, 2)
  return name
}

export function requireFile(flag: string, path: unknown): string {
  if (typeof path !== 'string' || !path) throw new CliError(`--${flag} is required`, 2)
  if (!existsSync(path)) throw new CliError(`--${flag} ${path}: no such file`)
  if (!statSync(path).isFile()) throw new CliError(`--${flag} ${path}: not a file`)
  return path
}

/** Load a task's data file: GLUE files with their exact layout, anything else by sniffing with the task's labels. */
export async function loadTaskData(file: string, task: TaskName, split: Split, labelNames?: string[]): Promise<Dataset> {
  try {
    const detected = await detectTask(file)
    if (detected && detected.task !== task && detected.confidence >= 0.9) {
      throw new CliError(
        `${file} looks like ${getTask(detected.task).displayName} data (${detected.reason}), not ${getTask(task).displayName}: pass --task ${detected.task}, or give a ${getTask(task).displayName} file`
      )
    }
    if (detected && detected.task === task) return await loadGlueFile(file, task, detected.split ?? split)
    return await loadDataset(file, { task, split, labelNames })
  } catch (e) {
    if (e instanceof CliError) throw e
    if (e instanceof DatasetError) throw new CliError(`${basename(file)} is not usable as ${getTask(task).displayName} ${split} data:\n${e.message}\nFix the rows above, or drop them first (the app's dataset screen can do this).`)
    throw new CliError(`cannot read ${file}: ${(e as Error).message}`)
  }
}

export interface OpenedModel {
  loaded: LoadedModel
  model: BertForSequenceClassification
  tokenizer: BertTokenizer
}

export function requireModelDir(dir: unknown): string {
  if (typeof dir !== 'string' || !dir) throw new CliError('--model DIR is required (a Hugging Face model folder: config.json, vocab.txt, model.safetensors)', 2)
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CliError(`--model ${dir}: no such folder`)
  return dir
}

export function openModel(dirFlag: unknown, task: TaskName, seed = 0): OpenedModel {
  const { loaded, tokenizer } = openModelFolder(requireModelDir(dirFlag), task, seed)
  return { loaded, model: BertForSequenceClassification.fromState(loaded.config, loaded.state), tokenizer }
}

export interface Target {
  model: BertForSequenceClassification
  tokenizer: BertTokenizer
  task: TaskName
  /** The run's dev file, when evaluating a run. */
  devFile?: string
  /** A classifier was initialised on load: predictions are untrained. */
  freshHead: boolean
  label: string
}

/** Check --run or --model before the backend starts (cheap checks only). */
export function precheckTarget(flags: Record<string, unknown>): void {
  if (flags.run !== undefined) {
    if (flags.model !== undefined) throw new CliError('give either --run ID (a saved run) or --model DIR (a model folder), not both', 2)
    new RunStore(String(flags.runs)).resolve(String(flags.run))
  } else requireModelDir(flags.model)
}

/** The model to evaluate: a saved run (base model + its delta) or a model folder. Needs a backend. */
export function openTarget(flags: Record<string, unknown>): Target {
  if (flags.run !== undefined) {
    const run = new RunStore(String(flags.runs)).open(String(flags.run))
    let rm
    try {
      rm = loadRunModel(run)
    } catch (e) {
      throw new CliError((e as Error).message)
    }
    if (flags.task !== undefined && requireTask(flags.task) !== rm.task) throw new CliError(`run ${run.id} was trained on ${rm.task}, not ${String(flags.task)}`)
    return {
      model: BertForSequenceClassification.fromState(rm.config, rm.state),
      tokenizer: BertTokenizer.fromFolder(rm.modelDir),
      task: rm.task,
      devFile: rm.devFile,
      freshHead: false,
      label: `run ${run.id}`
    }
  }
  const task = requireTask(flags.task)
  const { model, tokenizer, loaded } = openModel(flags.model, task)
  return { model, tokenizer, task, freshHead: loaded.report.initialized.includes('classifier.weight'), label: String(flags.model) }
}

/**
 * Before any work: prove that an output can be written (folders created as asked, a probe file written
 * and removed), so that a read-only folder, a full disk or a file in the way is one line now, not an
 * error after the whole computation. `kind`: a file, a folder the command creates, or a folder it
 * writes into (a runs directory). Folders made for the check are removed again unless `keep` (the
 * command's own write creates them once the work is done, so refused input leaves no empty folders).
 */
export function requireWritable(flag: string | null, path: string, kind: 'file' | 'new-folder' | 'folder', opts: { createParents?: boolean; keep?: boolean } = {}): void {
  const createParents = opts.createParents ?? true
  const keep = opts.keep ?? false
  try {
    if (kind === 'file') checkWritableFile(path, { createParents, keep })
    else if (kind === 'new-folder') checkWritableOutputDir(path, { createParents, keep })
    else checkWritableDir(path, { create: createParents, keep })
  } catch (e) {
    if (e instanceof FsWriteError) throw new CliError(flag ? `--${flag} ${path}: ${e.message}` : e.message)
    throw e
  }
}

/**
 * What several CLI commands share: opening a model folder with its tokenizer for a task, loading a
 * task's data file with a validation report, and turning any failure into one clear message.
 * Must not: print (returns data or throws CliError with the message to show).
 */
import { existsSync, statSync } from 'node:fs'
import { basename } from 'node:path'
import { DatasetError, detectTask, getTask, glueLayoutByContent, isTaskName, loadDataset, TASK_NAMES, type ColumnMapping, type Dataset, type Split, type TaskName } from '../engine/data'
import type { LoadedModel } from '../engine/io/model-folder'
import { openModelFolder } from '../engine/jobs/run-job'
import { BertForSequenceClassification } from '../engine/model/bert'
import { BertTokenizer } from '../engine/tokenizer'
import type { Flags } from './args'
import { runsDirOf } from './command'
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

/** The `--columns` flag: `textA=NAME[,textB=NAME][,label=NAME][,id=NAME]` (a 0-based index for files without a header). */
export const COLUMNS_HELP = 'which columns hold what, when the header does not say: textA=NAME[,textB=NAME][,label=NAME][,id=NAME] (0-based numbers for files without a header)'

export function parseColumns(flag: unknown): ColumnMapping | undefined {
  if (flag === undefined) return undefined
  const text = String(flag)
  const out: Partial<Record<keyof ColumnMapping, string | number>> = {}
  const aliases: Record<string, keyof ColumnMapping> = { texta: 'textA', text: 'textA', text_a: 'textA', sentence: 'textA', textb: 'textB', text_b: 'textB', label: 'label', id: 'id' }
  for (const part of text.split(',')) {
    const eq = part.indexOf('=')
    const key = aliases[part.slice(0, eq).trim().toLowerCase()]
    const value = part.slice(eq + 1).trim()
    if (eq < 0 || !key || !value) throw new CliError(`--columns "${text}": expected textA=NAME[,textB=NAME][,label=NAME][,id=NAME], got "${part}"`, 2)
    if (out[key] !== undefined) throw new CliError(`--columns "${text}": ${key} is given twice`, 2)
    out[key] = /^\d+$/.test(value) ? Number(value) : value
  }
  if (out.textA === undefined) throw new CliError(`--columns "${text}": textA (the text column) is required`, 2)
  return out as ColumnMapping
}

/**
 * Load a task's data file, read by what it contains — never by its file name: a recognised GLUE header
 * gets that task's exact layout (with a label column → labelled, without → unlabelled, whatever the file
 * is called), anything else is mapped by its header names (the task's layouts, then a reported guess).
 * `role` is what the command uses the file for; it decides nothing about the layout. `columns` (the
 * --columns flag) overrides all of that.
 */
export async function loadTaskData(file: string, task: TaskName, role: Split, labelNames?: string[], columns?: ColumnMapping): Promise<Dataset> {
  try {
    if (columns) return await loadDataset(file, { task, mapping: columns, labelNames })
    const detected = await detectTask(file)
    if (detected && detected.task !== task && detected.confidence >= 0.9) {
      throw new CliError(
        `${file} looks like ${getTask(detected.task).displayName} data (${detected.reason}), not ${getTask(task).displayName}: pass --task ${detected.task}, or give a ${getTask(task).displayName} file`
      )
    }
    const glue = await glueLayoutByContent(file, task, role)
    if (glue) return await loadDataset(file, { ...glue, ...(labelNames ? { labelNames } : {}) })
    return await loadDataset(file, { task, labelNames })
  } catch (e) {
    if (e instanceof CliError) throw e
    if (e instanceof DatasetError) throw new CliError(datasetErrorMessage(file, task, role, e, columns))
    throw new CliError(`cannot read ${file}: ${(e as Error).message}`)
  }
}

function datasetErrorMessage(file: string, task: TaskName, role: Split, e: DatasetError, columns?: ColumnMapping): string {
  const layout = e.report.layout
  const found = layout?.columns?.length
    ? `\nColumns found (${layout.header ? 'header' : 'no header; numbered from 0'}${layout.delimiter ? `, delimiter ${JSON.stringify(layout.delimiter)}` : ''}): ${layout.columns.map((c, i) => (layout.header ? `"${c}"` : String(i))).join(', ')}.`
    : ''
  const mappingFault = e.report.problems.some((p) => p.code === 'missing_column')
  const hint = mappingFault
    ? `\nExpected a text column${getTask(task).splits.train.mapping.textB !== undefined ? ' pair' : ''}${role === 'test' ? '' : ' and a label column'} (the ${getTask(task).displayName} layout: ${layoutText(task)}). ${columns ? 'Check --columns' : 'Name them with --columns textA=NAME[,textB=NAME][,label=NAME]'}.`
    : '\nFix the rows above, or drop them first (the app\'s dataset screen can do this).'
  const guessed = layout?.mappingGuessed && !mappingFault && !columns
    ? `\nThe columns were guessed (${layout.mappingReason ?? 'no known layout'}${layout.header ? '' : `; ${layout.headerReason}`}): if that is wrong, name them with --columns textA=NAME[,textB=NAME][,label=NAME].`
    : ''
  return `${basename(file)} is not usable as ${getTask(task).displayName} ${role} data:\n${e.message}${found}${guessed}${hint}`
}

function layoutText(task: TaskName): string {
  const m = getTask(task).splits.dev.mapping
  return (Object.entries(m) as Array<[string, string | number]>).map(([k, v]) => `${k} = ${typeof v === 'number' ? `column ${v}` : `"${v}"`}`).join(', ')
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
    new RunStore(runsDirOf(flags as Flags)).resolve(String(flags.run))
  } else requireModelDir(flags.model)
}

/** The model to evaluate: a saved run (base model + its delta) or a model folder. Needs a backend. */
export function openTarget(flags: Record<string, unknown>): Target {
  if (flags.run !== undefined) {
    const run = new RunStore(runsDirOf(flags as Flags)).open(String(flags.run))
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

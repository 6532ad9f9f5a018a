/**
 * `ird-studio export <kind>` (hf-model, mask, delta, samples, glue-submission, table, bundle) and
 * `ird-studio import-run BUNDLE.zip`: thin wrappers over src/engine/export, which the app calls too.
 * Must not: hold export logic, or print anything but one result line (stdout) and errors.
 */
import { existsSync, mkdirSync, rmdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { TASK_NAMES } from '../../engine/data'
import {
  exportBundle,
  exportDelta,
  exportGlueSubmission,
  exportHfModel,
  exportMask,
  exportSamples,
  exportTable,
  formatFromFileName,
  EXPORT_KINDS,
  importRunBundle,
  resolveExportPath,
  type ExportKind,
  type SubmissionTask
} from '../../engine/export'
import { SAVE_DTYPES, type SaveDtype } from '../../engine/io/model-folder'
import type { TableFormat } from '../../engine/runs/compare'
import { RunStore, RunStoreError } from '../../engine/runs/store'
import { UsageError, type Flags } from '../args'
import { BACKEND_FLAG, RUNS_FLAG, runsDirOf, type CommandTable } from '../command'
import { CliError, requireWritable } from '../common'
import { describeFsError, isFsError } from '../../engine/io/writable'
import { cancelExitCode, isCancelRequested, startBackend } from '../job-support'
import type { Progress } from '../progress'

type Kind = ExportKind

const KIND_HELP: Record<Kind, string> = {
  'hf-model': '--run ID --out DIR: the fine-tuned model as a Hugging Face folder (BertForSequenceClassification)',
  mask: '--run ID --out FILE.safetensors: the mask, keyed by Hugging Face names',
  delta: '--run ID --out FILE.safetensors: the trained entries (sparse delta)',
  samples: '--run ID --out FILE.json: the Fisher samples (ids) and IRD rounds',
  'glue-submission': '--run ID[,ID…] --glue-dir DIR --out FILE.zip: test-set predictions for gluebenchmark.com',
  table: '--out FILE.csv|.md|.tex: comparison table of runs',
  bundle: '--run ID --out FILE.zip: the whole run, for `ird-studio import-run` elsewhere'
}

/** "2GB", "500MB", "64KiB" or a byte count. */
export function parseSize(raw: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|kib|mib|gib)?\s*$/i.exec(raw)
  if (!m) throw new UsageError(`--shard-size expects a size like 2GB, 500MB or a byte count, got "${raw}"`)
  const unit = (m[2] ?? 'b').toLowerCase()
  const mult: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 }
  const n = Math.floor(Number(m[1]) * mult[unit])
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--shard-size must be at least 1 byte, got "${raw}"`)
  return n
}

function needRun(flags: Flags, kind: string): string {
  if (typeof flags.run !== 'string' || !flags.run) throw new CliError(`export ${kind} needs --run ID (a saved run: id or unique prefix; see \`ird-studio list\`)`, 2)
  return flags.run
}

function needOut(flags: Flags, kind: string, what: string): string {
  if (typeof flags.out !== 'string' || !flags.out) throw new CliError(`export ${kind} needs --out ${what}`, 2)
  const out = flags.out
  // Before any work: the output can be written there. The confinement check (--within) comes first, and
  // with --within no folder is created (what exists decides); without it, missing parents are made.
  const within = flags.within as string | undefined
  let target: string
  try {
    target = resolveExportPath(out, within)
  } catch (e) {
    throw new CliError((e as Error).message)
  }
  requireWritable('out', target, kind === 'hf-model' ? 'new-folder' : 'file', { createParents: within === undefined, keep: true })
  return out
}

/** Engine errors (bad run, bad file, refused path) become one CLI message; bugs stay internal errors. */
async function asCliError<T>(f: () => T | Promise<T>): Promise<T> {
  try {
    return await f()
  } catch (e) {
    if (e instanceof CliError || e instanceof UsageError || e instanceof RunStoreError) throw e
    if (isFsError(e)) throw new CliError(describeFsError(e))
    const name = (e as Error).name
    if (name === 'TypeError' || name === 'ReferenceError' || name === 'RangeError') throw e
    throw new CliError((e as Error).message)
  }
}

/**
 * Create the missing parent folders of an export's output (so `--out a/b/c.zip` works in a fresh folder),
 * after the path was checked against --within. Returns the folders it made, outermost first, so a
 * failed export can take them away again. With --within nothing is created: what exists inside the
 * confining folder decides, and needOut's probe names a missing folder (ENOENT).
 */
function makeParents(out: string, within: string | undefined): string[] {
  const target = asCliErrorSync(() => resolveExportPath(out, within))
  if (within !== undefined) return []
  const made: string[] = []
  for (let d = dirname(target); !existsSync(d); d = dirname(d)) made.unshift(d)
  if (made.length) {
    try {
      mkdirSync(made[made.length - 1], { recursive: true })
    } catch (e) {
      removeEmpty(made)
      throw new CliError(`cannot create the folder ${made[made.length - 1]} for --out ${out}: ${(e as Error).message}`)
    }
  }
  return made
}

function removeEmpty(dirs: string[]): void {
  for (const d of [...dirs].reverse()) {
    try {
      rmdirSync(d)
    } catch {
      // not empty or already gone: leave it
    }
  }
}

function asCliErrorSync<T>(f: () => T): T {
  try {
    return f()
  } catch (e) {
    throw new CliError((e as Error).message)
  }
}

async function runExport(kind: Kind, flags: Flags, progress: Progress): Promise<number> {
  const made = typeof flags.out === 'string' && flags.out ? makeParents(flags.out, flags.within as string | undefined) : []
  try {
    const code = await runExportKind(kind, flags, progress)
    if (code !== 0) removeEmpty(made)
    return code
  } catch (e) {
    removeEmpty(made)
    throw e
  }
}

async function runExportKind(kind: Kind, flags: Flags, progress: Progress): Promise<number> {
  const store = new RunStore(runsDirOf(flags))
  const common = { within: flags.within as string | undefined, overwrite: Boolean(flags.overwrite || flags.force) }
  const say = (s: string) => process.stdout.write(s + '\n')
  switch (kind) {
    case 'hf-model': {
      const run = needRun(flags, kind)
      const out = needOut(flags, kind, 'DIR')
      const dtype = String(flags.dtype).toUpperCase() as SaveDtype
      if (!SAVE_DTYPES.includes(dtype)) throw new CliError(`--dtype must be one of ${SAVE_DTYPES.join(', ')}`, 2)
      const shardBytes = flags['shard-size'] !== undefined ? parseSize(String(flags['shard-size'])) : undefined
      const r = await asCliError(() => exportHfModel(store, run, out, { ...common, dtype, shardBytes }))
      say(`wrote the fine-tuned model of run ${r.runId} (${r.task}) as a Hugging Face folder: ${r.dir} (${r.files.join(', ')})`)
      return 0
    }
    case 'mask':
    case 'delta': {
      const run = needRun(flags, kind)
      const out = needOut(flags, kind, 'FILE.safetensors')
      const path = await asCliError(() => (kind === 'mask' ? exportMask : exportDelta)(store, run, out, common))
      say(`wrote the ${kind} of run ${run} to ${path}`)
      return 0
    }
    case 'samples': {
      const run = needRun(flags, kind)
      const out = needOut(flags, kind, 'FILE.json')
      const doc = await asCliError(() => exportSamples(store, run, out, common))
      say(`wrote ${doc.selectedSampleIds.length} selected sample ids${doc.ird ? ` and ${doc.ird.rounds.length} IRD rounds` : ''} of run ${doc.run} to ${resolve(out)}`)
      return 0
    }
    case 'table': {
      const out = needOut(flags, kind, 'FILE.csv|FILE.md|FILE.tex')
      const format = (flags.format as TableFormat | undefined) ?? formatFromFileName(out)
      if (!format) throw new CliError(`cannot tell the table format from "${out}": end it in .csv, .md or .tex, or pass --format csv|markdown|latex`, 2)
      const runs = typeof flags.run === 'string' ? flags.run.split(',').filter(Boolean) : undefined
      await asCliError(() => exportTable(store, out, { ...common, format, glue: Boolean(flags.glue), runs, task: flags.task as string | undefined, method: flags.method as string | undefined }))
      say(`wrote a ${format} table to ${resolve(out)}`)
      return 0
    }
    case 'bundle': {
      const run = needRun(flags, kind)
      const out = needOut(flags, kind, 'FILE.zip')
      const m = await asCliError(() => exportBundle(store, run, out, { ...common, checkpoint: flags.checkpoint === undefined ? undefined : Boolean(flags.checkpoint) }))
      say(`wrote run ${m.run} (${Object.keys(m.files).length} files) to ${resolve(out)}; import it elsewhere with \`ird-studio import-run ${out}\``)
      return 0
    }
    case 'glue-submission': {
      const runs = needRun(flags, kind).split(',').filter(Boolean)
      const out = needOut(flags, kind, 'FILE.zip')
      if (flags['glue-dir'] === undefined && flags.test === undefined) throw new CliError('export glue-submission needs --glue-dir DIR (the GLUE folder with each task\'s test.tsv) or --test FILE (one run)', 2)
      if (flags.test !== undefined && runs.length !== 1) throw new CliError('--test FILE names the test file of one run; with several runs give --glue-dir', 2)
      // cheap checks before the backend starts
      const ids = runs.map((r) => store.resolve(r))
      let testFiles: Partial<Record<SubmissionTask, string>> | undefined
      if (flags.test !== undefined) testFiles = { [store.open(ids[0]).summary.task as SubmissionTask]: String(flags.test) }
      await startBackend(flags, progress)
      const r = await asCliError(() =>
        exportGlueSubmission(store, ids, out, {
          glueDir: flags['glue-dir'] as string | undefined,
          testFiles,
          batchSize: Number(flags['batch-size']),
          maxLength: Number(flags['max-length']),
          within: common.within,
          shouldCancel: () => isCancelRequested(),
          onProgress: (e) => progress.update({ phase: `predict ${e.task}`, done: e.done, total: e.total })
        })
      )
      progress.end()
      if (!r) return cancelExitCode()
      say(`wrote ${Object.entries(r.files).map(([f, n]) => `${f} (${n} rows)`).join(', ')} to ${r.path}${r.missing.length ? `; a full GLUE submission also needs ${r.missing.join(', ')}` : ''}`)
      return 0
    }
  }
}

export const exportCommands: CommandTable = {
  export: {
    summary: `write a run as another tool's format: ${EXPORT_KINDS.join(', ')}`,
    positional: `<${EXPORT_KINDS.join('|')}>\n\n${EXPORT_KINDS.map((k) => `  ${k.padEnd(16)} ${KIND_HELP[k]}`).join('\n')}`,
    flags: {
      run: { type: 'string', help: 'the run (id or unique prefix); glue-submission and table take several, comma-separated', metavar: 'ID' },
      runs: RUNS_FLAG,
      out: { type: 'string', help: 'output file or folder; missing parent folders are created; never overwritten unless --overwrite/--force', metavar: 'PATH' },
      within: { type: 'string', help: 'refuse an --out that is not inside this folder', metavar: 'DIR' },
      overwrite: { type: 'bool', help: 'replace an existing output (a file, or a non-empty folder)' },
      force: { type: 'bool', help: 'the same as --overwrite' },
      'shard-size': { type: 'string', help: 'hf-model: shard the weights above this size (e.g. 500MB; default 2GB)', metavar: 'SIZE' },
      dtype: { type: 'string', help: 'hf-model: storage dtype', default: 'F32', choices: ['F32', 'F16', 'BF16', 'f32', 'f16', 'bf16'] },
      format: { type: 'string', help: 'table: format (default from the --out extension)', choices: ['csv', 'markdown', 'latex'] },
      glue: { type: 'bool', help: 'table: GLUE pivot (one row per method and budget)' },
      task: { type: 'string', help: `table: only runs of this task (${TASK_NAMES.join(', ')})`, metavar: 'NAME' },
      method: { type: 'string', help: 'table: only runs of this method', metavar: 'NAME' },
      checkpoint: { type: 'bool', help: 'bundle: include the training checkpoint (default: only for runs that did not complete)' },
      'glue-dir': { type: 'string', help: 'glue-submission: GLUE folder (CoLA/test.tsv, …; diagnostic/diagnostic.tsv for AX)', metavar: 'DIR' },
      test: { type: 'string', help: 'glue-submission: the test file of a single run', metavar: 'FILE' },
      'batch-size': { type: 'int', help: 'glue-submission: examples per batch', default: 32, min: 1, max: 4096 },
      'max-length': { type: 'int', help: 'glue-submission: maximum tokens per example', default: 128, min: 8, max: 4096 },
      backend: BACKEND_FLAG
    },
    async run(flags, progress, positional) {
      const [kind, ...extra] = positional
      if (!kind) throw new CliError(`export needs a kind: ${EXPORT_KINDS.join(', ')} (see \`ird-studio export --help\`)`, 2)
      if (!(EXPORT_KINDS as readonly string[]).includes(kind)) throw new CliError(`unknown export kind "${kind}": use one of ${EXPORT_KINDS.join(', ')}`, 2)
      if (extra.length) throw new CliError(`unexpected argument "${extra[0]}" after "export ${kind}" (options start with --)`, 2)
      return runExport(kind as Kind, flags, progress)
    }
  },

  'import-run': {
    summary: 'import a run bundle (from `ird-studio export bundle`) into the runs directory',
    positional: 'BUNDLE.zip',
    flags: {
      runs: RUNS_FLAG,
      as: { type: 'string', help: 'import under this run id (default the bundle\'s; a taken id gets a fresh suffix)', metavar: 'ID' }
    },
    async run(flags, _progress, positional) {
      if (positional.length !== 1) throw new CliError('import-run needs exactly one argument: the bundle .zip', 2)
      const store = new RunStore(runsDirOf(flags))
      requireWritable('runs', store.root, 'folder')
      const r = await asCliError(() => importRunBundle(store, positional[0], { as: flags.as as string | undefined }))
      process.stdout.write(
        `imported run ${r.id}${r.renamed ? ` (the id ${r.originalId} was taken)` : ''} into ${r.dir}` +
          (r.baseModelFound ? '\n' : `\nnote: its base model ${r.modelDir ?? '(not recorded)'} is not on this machine; eval, predict and export hf-model need it there\n`)
      )
      return 0
    }
  }
}

/**
 * `ird-studio`: the headless command line. Every command exits non-zero with one clear message on bad
 * input (2 for usage errors, 1 for everything else, 130 when cancelled with Ctrl-C, 143 by SIGTERM, 129 by
 * SIGHUP: job-support.ts), writes results to
 * stdout and progress to stderr (or JSON lines to stdout with --json).
 * Must not: hold engine logic (it calls src/engine), or leave a run that looks complete when it is not.
 */
import { resolve } from 'node:path'
import { availableParallelism, cpus, totalmem } from 'node:os'
import { findBenchModels, benchModel } from '../engine/bench/model-bench'
import { findPeer } from '../engine/bench/peer'
import { benchSideBySide, renderSideBySide, type SideBySideRow } from '../engine/bench/side-by-side'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { saveModelFolder } from '../engine/io/model-folder'
import { countParameters, makeConfig } from '../engine/model/config'
import { initState } from '../engine/model/init'
import { BertTokenizer } from '../engine/tokenizer'
import { TASK_NAMES, getTask, type Dataset, type TaskName } from '../engine/data'
import { checkSelectionInputs, DEFAULT_CHECKPOINT_EVERY, DEFAULT_CHECKPOINT_MINUTES, JobInputError, openModelFolder, runJob, selectionOptions, trainSubset, type RunJobConfig } from '../engine/jobs/run-job'
import { saveMask } from '../engine/mask'
import { DEFAULT_KEEP_RATIO, DEFAULT_N_SAMPLES, SELECTION_METHODS, selectMask, SelectionCancelled, toSidecarInput, type SelectionMethod } from '../engine/selection'
import { predictLogits, type TextRow } from '../engine/eval/predict'
import { BertForSequenceClassification } from '../engine/model/bert'
import { writeFileAtomic, writeJsonAtomic } from '../engine/io/atomic'
import { argmax, MetricInputError, taskMetrics } from '../engine/metrics'
import { firstNonFinite, NonFiniteError, nonFiniteName } from '../engine/util/non-finite'
import { gluePivot, renderTable, runsTable, type TableFormat } from '../engine/runs/compare'
import { RunStore, RunStoreError } from '../engine/runs/store'
import { parseArgs, usage, UsageError, type FlagSpec, type Flags } from './args'
import { CliError, COLUMNS_HELP, loadTaskData, openTarget, parseColumns, precheckTarget, requireFile, requireModelDir, requireTask, requireWritable } from './common'
import { describeFsError, ensureDir, isFsError } from '../engine/io/writable'
import { Progress } from './progress'
import { BACKEND_FLAG, RUNS_FLAG, runsDirOf, type Command } from './command'
import { extraCommands } from './commands'
import { maskFromFisher } from './commands/fisher'
import { cancelExitCode, installStopSignals, isCancelRequested, jobHooks, startBackend } from './job-support'


/**
 * Refuse logits that hold NaN or ±Inf (finite weights can still overflow): a NaN prediction would be
 * written as null, and every metric refuses it. Names the first row.
 */
function checkLogits(logits: Float32Array, C: number, rows: readonly TextRow[], label: string, file: string): void {
  const i = firstNonFinite(logits)
  if (i < 0) return
  const r = Math.floor(i / C)
  const row = rows[r] as TextRow & { id?: string; line?: number }
  throw new CliError(`${label} gives non-finite logits (${nonFiniteName(logits[i])}) for ${file}${row?.line !== undefined ? `:${row.line}` : ` row ${r}`}${row?.id !== undefined ? ` (id "${row.id}")` : ''}: its weights overflow on this input; use another checkpoint`)
}

/** Logits for rows with the command's --batch-size/--max-length, a progress bar and Ctrl-C; null if cancelled. */
async function predictRows(
  model: BertForSequenceClassification,
  tokenizer: BertTokenizer,
  rows: readonly TextRow[],
  flags: Flags,
  progress: Progress,
  phase: string
): Promise<Float32Array | null> {
  const logits = await predictLogits(model, tokenizer, rows, {
    batchSize: Number(flags['batch-size']),
    maxLength: Number(flags['max-length']),
    onProgress: (done, total) => progress.update({ phase, done, total }),
    shouldCancel: () => isCancelRequested()
  })
  progress.end()
  return logits
}


/** The columns a dataset was read from, for messages. */
function describeColumns(d: Dataset): string {
  const m = d.mapping
  if (!m) return 'unknown'
  return (Object.entries(m) as Array<[string, string | number | undefined]>).filter(([, v]) => v !== undefined).map(([k, v]) => `${k} = ${typeof v === 'number' ? `column ${v}` : `"${v}"`}`).join(', ')
}

const SELECT_FLAGS: Record<string, FlagSpec> = {
  model: { type: 'string', help: 'Hugging Face model folder (config.json, vocab.txt, model.safetensors)', metavar: 'DIR' },
  task: { type: 'string', help: `GLUE task (${TASK_NAMES.join(', ')})`, metavar: 'NAME' },
  data: { type: 'string', help: 'training file (TSV/CSV/JSONL with labels)', metavar: 'FILE' },
  method: { type: 'string', help: 'selection method', default: 'ird', choices: SELECTION_METHODS },
  samples: { type: 'int', help: `sample budget n (Fisher samples; default ${DEFAULT_N_SAMPLES}, capped at the data size unless given)`, min: 1 },
  'keep-ratio': { type: 'number', help: 'parameter budget: share of all parameters kept (k = floor(total × r) − head)', default: DEFAULT_KEEP_RATIO, gt: 0, max: 1 },
  seed: { type: 'int', help: 'random seed', default: 0, min: 0, max: 4294967295 },
  'max-length': { type: 'int', help: 'maximum tokens per example', default: 128, min: 8, max: 4096 },
  'max-train': { type: 'int', help: 'use at most N training examples (seeded subset)', min: 1 },
  'fisher-variant': { type: 'string', help: 'empirical Fisher with the true label, or expected over the model\'s distribution', default: 'label', choices: ['label', 'expect'] },
  'fisher-power': { type: 'string', help: 'f = g² or |g|', default: 'square', choices: ['square', 'absolute'] },
  'fisher-batch-size': { type: 'int', help: 'samples per Fisher batch', default: 16, min: 1, max: 1024 },
  'pool-factor': { type: 'number', help: 'IRD: candidate pool = min(|train|, factor × n)', default: 8, min: 1 },
  'alpha-s': { type: 'number', help: 'IRD: sample range shrink factor per round', default: 0.5, gt: 0, max: 1 },
  'alpha-p': { type: 'number', help: 'IRD: parameter range shrink factor per round', default: 0.5, gt: 0, max: 1 },
  rounds: { type: 'int', help: 'IRD: round limit (then cut straight to n and k)', min: 1, max: 1000 },
  columns: { type: 'string', help: COLUMNS_HELP, metavar: 'MAP' },
  workers: { type: 'int', help: 'worker threads for Fisher passes and training (default: one per core on wasm/cpu, 0 on tfjs-node backends)', min: 0, max: 256 },
  backend: BACKEND_FLAG,
  json: { type: 'bool', help: 'stream events as JSON lines on stdout instead of a progress bar' }
}

function jobConfig(flags: Flags, backend: string): RunJobConfig {
  const task = requireTask(flags.task)
  // worker threads each start their own wasm/cpu engine; webgpu runs every job on its one device here
  if (backend === 'webgpu' && flags.workers !== undefined && Number(flags.workers) > 0) {
    throw new UsageError(`--workers ${String(flags.workers)}: on webgpu the engine runs Fisher passes and training on the GPU in one process (worker threads would each need their own device); use --workers 0 or leave it out`)
  }
  const small = task === 'rte' || task === 'mrpc' || task === 'stsb' || task === 'cola' || task === 'wnli'
  return {
    name: flags.name as string | undefined,
    modelDir: String(flags.model),
    task,
    trainFile: String(flags.data),
    devFile: flags.dev as string | undefined,
    method: flags.method as SelectionMethod,
    keepRatio: Number(flags['keep-ratio']),
    // no flag default: an explicit --samples larger than the data is an error, the default is capped
    nSamples: flags.samples !== undefined ? Number(flags.samples) : DEFAULT_N_SAMPLES,
    nSamplesExplicit: flags.samples !== undefined,
    seed: Number(flags.seed),
    maxLength: Number(flags['max-length']),
    batchSize: flags['batch-size'] !== undefined ? Number(flags['batch-size']) : small && task === 'rte' ? 8 : 16,
    epochs: Number(flags.epochs),
    lr: Number(flags.lr),
    warmupRatio: Number(flags['warmup-ratio']),
    weightDecay: Number(flags['weight-decay']),
    maxGradNorm: Number(flags['max-grad-norm']),
    fisher: { variant: flags['fisher-variant'] as 'label' | 'expect', power: flags['fisher-power'] as 'square' | 'absolute', batchSize: Number(flags['fisher-batch-size']) },
    ird: { poolFactor: Number(flags['pool-factor']), alphaS: Number(flags['alpha-s']), alphaP: Number(flags['alpha-p']), maxRounds: flags.rounds !== undefined ? Number(flags.rounds) : null },
    maxTrainExamples: flags['max-train'] !== undefined ? Number(flags['max-train']) : null,
    // one wasm/cpu instance uses one core: Fisher passes spread over one worker thread per core
    maskDir: flags.mask as string | undefined,
    ...(flags.columns !== undefined ? { columns: parseColumns(flags.columns) } : {}),
    workers: flags.workers !== undefined ? Number(flags.workers) : backend === 'wasm' || backend === 'cpu' ? availableParallelism() : 0,
    backend,
    ...(flags['checkpoint-every'] !== undefined ? { checkpointEvery: Number(flags['checkpoint-every']) } : {}),
    ...(flags['checkpoint-minutes'] !== undefined ? { checkpointMinutes: Number(flags['checkpoint-minutes']) } : {})
  }
}

/** Flags of the commands that run a model: a saved run or a model folder, batching, backend. */
const TARGET_FLAGS: Record<string, FlagSpec> = {
  run: { type: 'string', help: 'a saved run (id or unique prefix): its base model + trained delta', metavar: 'ID' },
  runs: RUNS_FLAG,
  model: { type: 'string', help: 'Hugging Face model folder (instead of --run)', metavar: 'DIR' },
  task: { type: 'string', help: `GLUE task (${TASK_NAMES.join(', ')}); a run knows its own`, metavar: 'NAME' },
  'max-length': { type: 'int', help: 'maximum tokens per example', default: 128, min: 8, max: 4096 },
  'batch-size': { type: 'int', help: 'examples per batch', default: 32, min: 1, max: 4096 },
  columns: { type: 'string', help: COLUMNS_HELP, metavar: 'MAP' },
  backend: BACKEND_FLAG
}

const coreCommands: Record<string, Command> = {
  run: {
    summary: 'select a mask, fine-tune the masked entries, evaluate on dev; recorded as a run',
    flags: {
      ...SELECT_FLAGS,
      dev: { type: 'string', help: 'dev file for evaluation after each epoch', metavar: 'FILE' },
      epochs: { type: 'int', help: 'training epochs', default: 7, min: 1, max: 1000 },
      'batch-size': { type: 'int', help: 'training batch size (default 16, RTE 8)', min: 1, max: 4096 },
      lr: { type: 'number', help: 'peak learning rate', default: 5e-5, gt: 0 },
      'warmup-ratio': { type: 'number', help: 'share of steps for linear warm-up', default: 0, min: 0, max: 1 },
      'weight-decay': { type: 'number', help: 'AdamW decoupled weight decay', default: 0, min: 0 },
      'max-grad-norm': { type: 'number', help: 'clip the masked gradient to this global norm (0 = off)', default: 1, min: 0 },
      mask: { type: 'string', help: 'train with a saved mask folder (from `ird-studio mask` or a run\'s mask/) instead of selecting one', metavar: 'DIR' },
      name: { type: 'string', help: 'a name for the run', metavar: 'TEXT' },
      'checkpoint-every': { type: 'int', help: `save a resumable checkpoint every N training steps (also after each epoch and on Ctrl-C; 0 = epoch ends only; default ${DEFAULT_CHECKPOINT_EVERY})`, min: 0 },
      'checkpoint-minutes': { type: 'number', help: `also save one when this many minutes passed since the last (0 = off; default ${DEFAULT_CHECKPOINT_MINUTES})`, min: 0 },
      runs: RUNS_FLAG,
      out: { type: 'string', help: 'the older name of --runs', metavar: 'DIR' }
    },
    async run(flags, progress) {
      const runsDir = runsDirOf(flags, { outIsRunsAlias: true })
      requireTask(flags.task)
      requireFile('data', flags.data)
      if (flags.dev !== undefined) requireFile('dev', flags.dev)
      requireModelDir(flags.model)
      if (flags.columns !== undefined) parseColumns(flags.columns)
      requireWritable(flags.runs !== undefined ? 'runs' : flags.out !== undefined ? 'out' : null, runsDir, 'folder')
      const backend = await startBackend(flags, progress)
      let res
      try {
        res = await runJob(jobConfig(flags, backend), new RunStore(runsDir), jobHooks(progress, Boolean(flags.json)))
      } catch (e) {
        if (e instanceof JobInputError) throw new CliError(e.message)
        throw e
      }
      progress.end()
      if (res.status === 'cancelled') {
        process.stderr.write(`run ${res.run.id} cancelled; it is kept as "cancelled" in ${res.run.dir}; \`ird-studio resume ${res.run.id}${flags.runs !== undefined || flags.out !== undefined ? ` --runs ${runsDir}` : ''}\` continues it from where it stopped\n`)
        return cancelExitCode()
      }
      if (res.status === 'failed') throw new CliError(`run ${res.run.id} failed: ${res.reason}`)
      const s = res.run.summary
      const metrics = Object.entries(s.metrics ?? {}).map(([k, v]) => `${k} ${(100 * v).toFixed(2)}`).join(', ')
      if (!flags.json) process.stdout.write(`run ${res.run.id} completed: ${getTask(s.task as TaskName).displayName} dev ${metrics || '(no dev set)'}; ${s.trainable} trainable entries; ${res.run.dir}\n`)
      return 0
    }
  },

  mask: {
    summary: 'select a mask only; writes OUT/mask.safetensors and OUT/mask.json (or a FISH mask from Fisher shards: --from-fisher f1 … fN)',
    positional: '[more Fisher shard files after --from-fisher]',
    flags: {
      ...SELECT_FLAGS,
      // no default here: with --from-fisher only fish is possible, so an explicit --method ird must be seen
      method: { ...SELECT_FLAGS.method, default: undefined, help: 'selection method (default ird; with --from-fisher only fish)' },
      out: { type: 'string', help: 'output folder for the mask', metavar: 'DIR' },
      'from-fisher': { type: 'string', help: 'combine Fisher shards from `ird-studio fisher --shard i/N` (list every shard file) into a FISH mask', metavar: 'FILE…' }
    },
    async run(flags, progress, positional) {
      if (flags['from-fisher'] !== undefined) return maskFromFisher(flags, [String(flags['from-fisher']), ...positional], progress)
      if (positional.length) throw new CliError(`unexpected argument "${positional[0]}" for "mask" (only --from-fisher takes several files)`, 2)
      flags.method ??= 'ird'
      const task = requireTask(flags.task)
      const dataFile = requireFile('data', flags.data)
      requireModelDir(flags.model)
      if (typeof flags.out !== 'string' || !flags.out) throw new CliError('--out DIR is required: the folder that receives mask.safetensors and mask.json', 2)
      if (existsSync(String(flags.out)) && statSync(String(flags.out)).isDirectory() && readdirSync(String(flags.out)).length) throw new CliError(`--out ${flags.out} exists and is not empty: choose a new folder (masks are never overwritten)`)
      requireWritable('out', String(flags.out), 'new-folder')
      const backend = await startBackend(flags, progress)
      const cfg = jobConfig(flags, backend)
      const { loaded, tokenizer } = openModelFolder(cfg.modelDir, task, cfg.seed)
      const data = await loadTaskData(dataFile, task, 'train', undefined, parseColumns(flags.columns))
      const examples = trainSubset(data.examples, cfg)
      checkSelectionInputs(cfg, loaded.config, examples.length)
      const model = BertForSequenceClassification.fromState(loaded.config, loaded.state)
      try {
        let sel
        try {
          sel = await selectMask(
            selectionOptions(cfg, model, tokenizer, examples, data.sha256, {
              shouldCancel: () => isCancelRequested(),
              onProgress: (p) => progress.update({ phase: p.phase, done: p.done, total: p.total })
            })
          )
        } catch (e) {
          if (e instanceof SelectionCancelled) return cancelExitCode()
          throw e
        }
        progress.end()
        saveMask(String(flags.out), sel.mask, toSidecarInput(sel, { datasetName: data.name, datasetRows: examples.length }), loaded.config)
        if (!flags.json) process.stdout.write(`${cfg.method} mask: k = ${sel.k} of ${sel.thetaSize} (+ head ${sel.headSize}), ${(100 * sel.effectiveRatio).toFixed(3)} % of ${sel.totalParams} parameters; ${sel.gradientEvaluations} per-sample gradients; written to ${resolve(String(flags.out))}\n`)
        else progress.update({ phase: 'done', k: sel.k, maskCount: sel.maskCount, out: resolve(String(flags.out)) })
        return 0
      } finally {
        model.dispose()
      }
    }
  },

  'init-model': {
    summary: 'write a randomly initialised BERT model folder (untrained: for trying the pipeline, or to pretrain)',
    flags: {
      out: { type: 'string', help: 'new model folder', metavar: 'DIR' },
      vocab: { type: 'string', help: 'WordPiece vocab.txt (or a folder holding the tokenizer files)', metavar: 'FILE' },
      cased: { type: 'bool', help: 'keep case and accents (default: lower-case, as bert-base-uncased)' },
      layers: { type: 'int', help: 'encoder layers', default: 2, min: 1, max: 96 },
      hidden: { type: 'int', help: 'hidden size', default: 128, min: 8, max: 8192 },
      heads: { type: 'int', help: 'attention heads (default hidden / 64, at least 1)', min: 1, max: 128 },
      intermediate: { type: 'int', help: 'feed-forward size (default 4 × hidden)', min: 1 },
      'max-positions': { type: 'int', help: 'maximum sequence length', default: 512, min: 8, max: 65536 },
      labels: { type: 'int', help: 'classifier outputs (1 = regression)', default: 2, min: 1 },
      seed: { type: 'int', help: 'random seed', default: 0, min: 0, max: 4294967295 }
    },
    async run(flags) {
      if (typeof flags.out !== 'string' || !flags.out) throw new CliError('--out DIR is required', 2)
      if (typeof flags.vocab !== 'string' || !flags.vocab || !existsSync(flags.vocab)) throw new CliError(`--vocab ${flags.vocab ?? ''}: give an existing vocab.txt or tokenizer folder`, 2)
      if (existsSync(flags.out) && statSync(flags.out).isDirectory() && readdirSync(flags.out).length) throw new CliError(`--out ${flags.out} exists and is not empty: choose a new folder`)
      requireWritable('out', flags.out, 'new-folder')
      const hidden = Number(flags.hidden)
      const heads = flags.heads !== undefined ? Number(flags.heads) : Math.max(1, Math.floor(hidden / 64))
      const vocabDir = statSync(flags.vocab).isDirectory() ? flags.vocab : undefined
      let tokenizer: BertTokenizer
      try {
        tokenizer = vocabDir ? BertTokenizer.fromFolder(vocabDir) : BertTokenizer.fromVocab(readFileSync(flags.vocab, 'utf8'), { doLowerCase: !flags.cased })
      } catch (e) {
        throw new CliError((e as Error).message)
      }
      let config
      try {
        config = makeConfig({
          vocab_size: tokenizer.vocabSize, hidden_size: hidden, num_hidden_layers: Number(flags.layers), num_attention_heads: heads,
          intermediate_size: flags.intermediate !== undefined ? Number(flags.intermediate) : 4 * hidden,
          max_position_embeddings: Number(flags['max-positions']), num_labels: Number(flags.labels)
        })
      } catch (e) {
        throw new CliError((e as Error).message, 2)
      }
      const tmpVocab = mkdtempSync(join(tmpdir(), 'ird-vocab-'))
      try {
        ensureDir(dirname(resolve(String(flags.out))))
        tokenizer.saveToFolder(tmpVocab)
        saveModelFolder(String(flags.out), { config, state: initState(config, Number(flags.seed)), vocab: tmpVocab, dtype: 'F32' })
      } finally {
        rmSync(tmpVocab, { recursive: true, force: true })
      }
      process.stdout.write(`wrote an untrained BERT (${config.num_hidden_layers} layers, hidden ${config.hidden_size}, ${countParameters(config).toLocaleString('en')} parameters) to ${resolve(String(flags.out))}\n`)
      return 0
    }
  },

  list: {
    summary: 'list saved runs (newest first)',
    flags: { runs: RUNS_FLAG, json: { type: 'bool', help: 'JSON output' } },
    async run(flags) {
      const runsDir = runsDirOf(flags)
      const runs = new RunStore(runsDir).list()
      if (flags.json) process.stdout.write(JSON.stringify(runs, null, 2) + '\n')
      else if (!runs.length) process.stderr.write(`no runs in ${runsDir}\n`)
      else process.stdout.write(renderTable(runsTable(runs), 'markdown'))
      return 0
    }
  },

  compare: {
    summary: 'table of runs: task metrics, budgets, time (Markdown, CSV or LaTeX)',
    flags: {
      runs: RUNS_FLAG,
      format: { type: 'string', help: 'table format', default: 'markdown', choices: ['markdown', 'csv', 'latex'] },
      glue: { type: 'bool', help: 'pivot: one row per method and budget, one column per task, GLUE score' },
      task: { type: 'string', help: 'only runs of this task', metavar: 'NAME' },
      method: { type: 'string', help: 'only runs of this method', metavar: 'NAME' },
      out: { type: 'string', help: 'write the table to this file (atomically) instead of stdout', metavar: 'FILE' }
    },
    async run(flags) {
      const runsDir = runsDirOf(flags)
      let runs = new RunStore(runsDir).list()
      if (flags.task) runs = runs.filter((r) => r.task === flags.task)
      if (flags.method) runs = runs.filter((r) => r.method === flags.method)
      if (!runs.length) throw new CliError(`no runs to compare in ${runsDir}${flags.task || flags.method ? ' with those filters' : ''}`)
      if (flags.out) requireWritable('out', String(flags.out), 'file')
      const text = renderTable(flags.glue ? gluePivot(runs) : runsTable(runs), flags.format as TableFormat)
      if (flags.out) {
        ensureDir(dirname(resolve(String(flags.out))))
        writeFileAtomic(String(flags.out), text)
      } else process.stdout.write(text)
      return 0
    }
  },

  bench: {
    summary: 'model throughput (forward, forward+backward, Fisher); --peer: side by side with PyTorch in the same run',
    flags: {
      models: { type: 'string', help: 'comma-separated: tiny, mini, small, base', default: 'tiny,mini,small' },
      peer: { type: 'bool', help: 'also run the PyTorch peer (python3 + torch) alternating with the engine: Fisher on the worker pool vs its batch-1 loop, masked training on the gradient pool vs its dense training, with ratios (the peer at every core and at 1 thread; ratios against its better count)' },
      seq: { type: 'int', help: 'sequence length', default: 128, min: 8, max: 512 },
      seconds: { type: 'number', help: 'minimum seconds per measurement', default: 4, gt: 0 },
      backend: BACKEND_FLAG,
      out: { type: 'string', help: 'JSON results file', default: '.bench/bench.json', metavar: 'FILE' },
      json: { type: 'bool', help: 'JSON lines on stdout' }
    },
    async run(flags, progress) {
      // a fresh clone has no .bench/ yet: made here, before the measurements, with the write proven
      requireWritable('out', String(flags.out), 'file')
      const backend = await startBackend(flags, progress)
      let models
      try {
        models = findBenchModels(String(flags.models).split(','))
      } catch (e) {
        throw new CliError((e as Error).message, 2)
      }
      const results = []
      for (const m of models) {
        if (isCancelRequested()) return cancelExitCode()
        progress.update({ phase: `bench ${m.name}`, message: 'measuring…' })
        results.push(await benchModel(m, { seqLen: Number(flags.seq), minSeconds: Number(flags.seconds) }))
      }
      let side: SideBySideRow[] = []
      let peerReason: string | null = null
      if (flags.peer) {
        const found = findPeer()
        peerReason = found.reason
        progress.update({ phase: 'bench side by side', message: found.peer ? 'peer, engine, peer per model…' : `no PyTorch peer: ${found.reason}` })
        side = await benchSideBySide(models, { seqLen: Number(flags.seq), seconds: Number(flags.seconds), peerThreads: [availableParallelism(), 1], backend: String(backend), peer: found.peer })
      }
      progress.end()
      const rows = results.map(
        (r) =>
          `| ${r.model} (${r.layers}/${r.hidden}) | ${r.forward.samplesPerSec.toFixed(1)} | ${r.forwardBackward.samplesPerSec.toFixed(1)} | ${r.fisher.samplesPerSec.toFixed(1)} |`
      )
      if (!flags.json) process.stdout.write(`backend ${backend}, sequence length ${flags.seq}, one engine thread\n| model | forward/s | fwd+bwd/s | Fisher/s |\n|---|---|---|---|\n${rows.join('\n')}\n`)
      if (flags.peer && !flags.json) process.stdout.write(`\nSide by side (every core on both sides; peer, engine, peer per model)\n${renderSideBySide(side, peerReason)}`)
      const out = resolve(String(flags.out))
      // a fresh clone has no .bench/ yet: make it, rather than lose the measurements at the last step
      ensureDir(dirname(out))
      writeJsonAtomic(out, { date: new Date().toISOString(), backend, machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memBytes: totalmem() }, models: results, sideBySide: side })
      return 0
    }
  },

  eval: {
    summary: 'evaluate a saved run or a model folder on a task\'s dev file with the GLUE metric',
    flags: {
      ...TARGET_FLAGS,
      dev: { type: 'string', help: 'evaluation file (TSV/CSV/JSONL with labels); a run defaults to its dev file', metavar: 'FILE' },
      json: { type: 'bool', help: 'JSON lines on stdout' }
    },
    async run(flags, progress) {
      if (flags.run === undefined) requireTask(flags.task)
      if (flags.dev !== undefined || flags.run === undefined) requireFile('dev', flags.dev)
      precheckTarget(flags)
      await startBackend(flags, progress)
      const target = openTarget(flags)
      const { model, tokenizer, task } = target
      try {
        if (target.freshHead) progress.log(`warning: ${target.label} has no ${getTask(task).numLabels}-output classifier; a fresh one was initialised, so these predictions are untrained`)
        const devFile = (flags.dev as string | undefined) ?? target.devFile
        if (!devFile) throw new CliError(`${target.label} has no dev file recorded: pass --dev FILE`, 2)
        const dev = await loadTaskData(requireFile('dev', devFile), task, 'dev', undefined, parseColumns(flags.columns))
        if (!dev.hasLabels) throw new CliError(`${devFile} has no label column (columns: ${describeColumns(dev)}): eval needs labels to score. Use \`ird-studio predict\` for unlabelled data, or name the label column with --columns`)
        const logits = await predictRows(model, tokenizer, dev.examples, flags, progress, 'eval')
        if (!logits) return cancelExitCode()
        const C = model.config.num_labels
        checkLogits(logits, C, dev.examples, target.label, devFile)
        const preds = C === 1 ? Array.from(logits) : argmax({ data: logits, shape: [dev.examples.length, C] })
        let result
        try {
          result = taskMetrics(task, preds, dev.examples.map((e) => e.label!))
        } catch (e) {
          if (e instanceof MetricInputError) throw new CliError(`cannot score ${devFile}: ${e.message}`)
          throw e
        }
        if (flags.json) progress.update({ phase: 'result', ...result })
        else {
          const m = Object.entries(result.metrics).map(([k, v]) => `${k} ${(100 * v).toFixed(2)}`).join(', ')
          process.stdout.write(`${getTask(task).displayName} dev (${dev.examples.length} examples): ${m}\n`)
        }
        return 0
      } finally {
        model.dispose()
      }
    }
  },

  predict: {
    summary: 'per-row logits and predictions as JSON lines (a saved run or a model folder)',
    flags: {
      ...TARGET_FLAGS,
      data: { type: 'string', help: 'input file (TSV/CSV/JSONL)', metavar: 'FILE' },
      out: { type: 'string', help: 'JSON lines output file (written atomically); default stdout', metavar: 'FILE' },
      json: { type: 'bool', help: 'progress as JSON lines on stdout (needs --out)' }
    },
    async run(flags, progress) {
      if (flags.run === undefined) requireTask(flags.task)
      const file = requireFile('data', flags.data)
      if (flags.json && !flags.out) throw new CliError('--json streams events on stdout, so it needs --out FILE for the predictions', 2)
      precheckTarget(flags)
      if (flags.out) requireWritable('out', String(flags.out), 'file')
      await startBackend(flags, progress)
      const target = openTarget(flags)
      const { model, tokenizer, task } = target
      try {
        const spec = getTask(task)
        const data = await loadTaskData(file, task, 'test', undefined, parseColumns(flags.columns))
        const logits = await predictRows(model, tokenizer, data.examples, flags, progress, 'predict')
        if (!logits) return cancelExitCode()
        const C = model.config.num_labels
        checkLogits(logits, C, data.examples, target.label, file)
        const lines = data.examples.map((e, i) => {
          const l = Array.from(logits.subarray(i * C, (i + 1) * C))
          const pred = C === 1 ? l[0] : l.indexOf(Math.max(...l))
          return JSON.stringify({ id: e.id, logits: l, prediction: C === 1 ? pred : spec.labelNames?.[pred] ?? pred, ...(e.label !== undefined ? { label: e.label } : {}) })
        })
        const text = lines.join('\n') + '\n'
        if (flags.out) ensureDir(dirname(resolve(String(flags.out))))
        if (flags.out) writeFileAtomic(String(flags.out), text)
        else process.stdout.write(text)
        return 0
      } finally {
        model.dispose()
      }
    }
  }
}

const commands: Record<string, Command> = { ...coreCommands, ...extraCommands }

/** Commands that ask isCancelRequested() as they work: SIGTERM and SIGHUP stop them cleanly (job-support.ts). */
const STOPS_AT_CANCEL_POINTS = new Set(['run', 'resume', 'mask', 'fisher', 'study', 'demo', 'eval', 'predict', 'bench', 'export'])

function mainUsage(): string {
  const rows = Object.entries(commands).map(([k, c]) => `  ${k.padEnd(10)} ${c.summary}`)
  return `ird-studio — Fisher-mask fine-tuning of BERT encoders (FISH, IRD)\n\nusage: ird-studio <command> [options]   (ird-studio <command> --help)\n\n${rows.join('\n')}\n\nRuns live in ${runsDirOf({})}\n(--runs DIR on any command, else $IRD_RUNS_DIR, else the desktop app's folder: the CLI, \`serve\` and the app share it).\n`
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(mainUsage())
    return name ? 0 : 2
  }
  const cmd = commands[name]
  if (!cmd) {
    process.stderr.write(`ird-studio: unknown command "${name}"\n\n${mainUsage()}`)
    return 2
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(usage(cmd.positional ? `${name} ${cmd.positional}` : name, cmd.summary, cmd.flags))
    return 0
  }
  let progress = new Progress(false)
  try {
    const { flags, positional } = parseArgs(rest, cmd.flags, name)
    if (positional.length && !cmd.positional) throw new UsageError(`unexpected argument "${positional[0]}" for "${name}" (options start with --)`)
    progress = new Progress(Boolean(flags.json))
    installStopSignals(progress, STOPS_AT_CANCEL_POINTS.has(name))
    return await cmd.run(flags, progress, positional)
  } catch (e) {
    progress.end()
    if (e instanceof UsageError) {
      process.stderr.write(`ird-studio ${name}: ${e.message}\n`)
      return 2
    }
    if (e instanceof CliError) {
      process.stderr.write(`ird-studio ${name}: ${e.message}\n`)
      return e.exitCode
    }
    if (e instanceof RunStoreError || e instanceof JobInputError || e instanceof NonFiniteError) {
      process.stderr.write(`ird-studio ${name}: ${e.message}\n`)
      return 1
    }
    // a read-only folder, a full disk, a file in the way: the user's to fix, never an internal error
    if (isFsError(e)) {
      process.stderr.write(`ird-studio ${name}: ${describeFsError(e)}\n`)
      return 1
    }
    process.stderr.write(`ird-studio ${name}: internal error: ${(e as Error).stack ?? String(e)}\nPlease report this with the command you ran.\n`)
    return 1
  }
}

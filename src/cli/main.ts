/**
 * `ird-studio`: the headless command line. Every command exits non-zero with one clear message on bad
 * input (2 for usage errors, 1 for everything else, 130 when cancelled with Ctrl-C), writes results to
 * stdout and progress to stderr (or JSON lines to stdout with --json).
 * Must not: hold engine logic (it calls src/engine), or leave a run that looks complete when it is not.
 */
import { resolve } from 'node:path'
import { cpus, totalmem } from 'node:os'
import { describeBackend, initBackend, type BackendName } from '../engine/backend'
import { findBenchModels, benchModel } from '../engine/bench/model-bench'
import { TASK_NAMES, getTask } from '../engine/data'
import { predictLogits } from '../engine/eval/predict'
import { writeFileAtomic, writeJsonAtomic } from '../engine/io/atomic'
import { argmax, taskMetrics } from '../engine/metrics'
import { gluePivot, renderTable, runsTable, type TableFormat } from '../engine/runs/compare'
import { RunStore } from '../engine/runs/store'
import { parseArgs, usage, UsageError, type FlagSpec, type Flags } from './args'
import { CliError, loadTaskData, openModel, requireFile, requireModelDir, requireTask } from './common'
import { Progress } from './progress'

const BACKEND_FLAG: FlagSpec = { type: 'string', help: 'TensorFlow.js backend', default: 'auto', choices: ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] }
const RUNS_FLAG: FlagSpec = { type: 'string', help: 'runs directory', default: 'runs', metavar: 'DIR' }

/** Cancellation: the first Ctrl-C asks work to stop at the next batch boundary, the second exits at once. */
let cancelRequested = false
function installSigint(progress: Progress): void {
  process.on('SIGINT', () => {
    if (cancelRequested) process.exit(130)
    cancelRequested = true
    progress.log('cancelling at the next batch boundary (Ctrl-C again to quit at once)…')
  })
}

async function startBackend(flags: Flags, progress: Progress): Promise<string> {
  try {
    const info = await initBackend({ force: flags.backend as BackendName | 'auto' })
    const text = describeBackend(info)
    progress.log(`backend: ${text}`)
    return info.name
  } catch (e) {
    throw new CliError((e as Error).message)
  }
}

interface Command {
  summary: string
  flags: Record<string, FlagSpec>
  run(flags: Flags, progress: Progress): Promise<number>
}

const commands: Record<string, Command> = {
  list: {
    summary: 'list saved runs (newest first)',
    flags: { runs: RUNS_FLAG, json: { type: 'bool', help: 'JSON output' } },
    async run(flags) {
      const runs = new RunStore(String(flags.runs)).list()
      if (flags.json) process.stdout.write(JSON.stringify(runs, null, 2) + '\n')
      else if (!runs.length) process.stderr.write(`no runs in ${resolve(String(flags.runs))}\n`)
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
      let runs = new RunStore(String(flags.runs)).list()
      if (flags.task) runs = runs.filter((r) => r.task === flags.task)
      if (flags.method) runs = runs.filter((r) => r.method === flags.method)
      if (!runs.length) throw new CliError(`no runs to compare in ${resolve(String(flags.runs))}${flags.task || flags.method ? ' with those filters' : ''}`)
      const text = renderTable(flags.glue ? gluePivot(runs) : runsTable(runs), flags.format as TableFormat)
      if (flags.out) writeFileAtomic(String(flags.out), text)
      else process.stdout.write(text)
      return 0
    }
  },

  bench: {
    summary: 'model throughput (forward, forward+backward, Fisher) vs the PyTorch reference',
    flags: {
      models: { type: 'string', help: 'comma-separated: tiny, mini, small, base', default: 'tiny,mini,small' },
      seq: { type: 'int', help: 'sequence length', default: 128, min: 8, max: 512 },
      seconds: { type: 'number', help: 'minimum seconds per measurement', default: 4, gt: 0 },
      backend: BACKEND_FLAG,
      out: { type: 'string', help: 'JSON results file', default: '.bench/bench.json', metavar: 'FILE' },
      json: { type: 'bool', help: 'JSON lines on stdout' }
    },
    async run(flags, progress) {
      const backend = await startBackend(flags, progress)
      let models
      try {
        models = findBenchModels(String(flags.models).split(','))
      } catch (e) {
        throw new CliError((e as Error).message, 2)
      }
      const results = []
      for (const m of models) {
        if (cancelRequested) return 130
        progress.update({ phase: `bench ${m.name}`, message: 'measuring…' })
        results.push(await benchModel(m, { seqLen: Number(flags.seq), minSeconds: Number(flags.seconds) }))
      }
      progress.end()
      const rows = results.map(
        (r) =>
          `| ${r.model} (${r.layers}/${r.hidden}) | ${r.forward.samplesPerSec.toFixed(1)} | ${r.forwardBackward.samplesPerSec.toFixed(1)} (${r.forwardBackward.vsTorchTrain.toFixed(2)}× PyTorch ${r.torch.trainPerSec}) | ${r.fisher.samplesPerSec.toFixed(1)} (${r.fisher.vsTorchFisher.toFixed(2)}× PyTorch ${r.torch.fisherPerSec}) |`
      )
      if (!flags.json) process.stdout.write(`backend ${backend}, sequence length ${flags.seq}\n| model | forward/s | fwd+bwd/s | Fisher/s |\n|---|---|---|---|\n${rows.join('\n')}\n`)
      const out = resolve(String(flags.out))
      writeJsonAtomic(out, { date: new Date().toISOString(), backend, machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memBytes: totalmem() }, models: results })
      return 0
    }
  },

  eval: {
    summary: 'evaluate a model folder on a task\'s dev file with the GLUE metric',
    flags: {
      model: { type: 'string', help: 'Hugging Face model folder', metavar: 'DIR' },
      task: { type: 'string', help: `GLUE task (${TASK_NAMES.join(', ')})`, metavar: 'NAME' },
      dev: { type: 'string', help: 'evaluation file (TSV/CSV/JSONL with labels)', metavar: 'FILE' },
      'max-length': { type: 'int', help: 'maximum tokens per example', default: 128, min: 8, max: 4096 },
      'batch-size': { type: 'int', help: 'examples per batch', default: 32, min: 1, max: 4096 },
      backend: BACKEND_FLAG,
      json: { type: 'bool', help: 'JSON lines on stdout' }
    },
    async run(flags, progress) {
      const task = requireTask(flags.task)
      const devFile = requireFile('dev', flags.dev)
      requireModelDir(flags.model)
      await startBackend(flags, progress)
      const { model, tokenizer, loaded } = openModel(flags.model, task)
      if (loaded.report.initialized.includes('classifier.weight')) {
        progress.log(`warning: ${flags.model} has no ${getTask(task).numLabels}-output classifier; a fresh one was initialised, so these predictions are untrained`)
      }
      const dev = await loadTaskData(devFile, task, 'dev')
      if (!dev.hasLabels) throw new CliError(`${devFile} has no labels: use \`ird-studio predict\` for unlabelled data`)
      const logits = await predictLogits(model, tokenizer, dev.examples, {
        batchSize: Number(flags['batch-size']),
        maxLength: Number(flags['max-length']),
        onProgress: (done, total) => progress.update({ phase: 'eval', done, total }),
        shouldCancel: () => cancelRequested
      })
      progress.end()
      if (!logits) return 130
      const C = model.config.num_labels
      const preds = C === 1 ? Array.from(logits) : argmax({ data: logits, shape: [dev.examples.length, C] })
      const result = taskMetrics(task, preds, dev.examples.map((e) => e.label!))
      if (flags.json) progress.update({ phase: 'result', ...result })
      else {
        const m = Object.entries(result.metrics).map(([k, v]) => `${k} ${(100 * v).toFixed(2)}`).join(', ')
        process.stdout.write(`${getTask(task).displayName} dev (${dev.examples.length} examples): ${m}\n`)
      }
      model.dispose()
      return 0
    }
  },

  predict: {
    summary: 'per-row logits and predictions as JSON lines',
    flags: {
      model: { type: 'string', help: 'Hugging Face model folder', metavar: 'DIR' },
      task: { type: 'string', help: `GLUE task (${TASK_NAMES.join(', ')})`, metavar: 'NAME' },
      data: { type: 'string', help: 'input file (TSV/CSV/JSONL)', metavar: 'FILE' },
      out: { type: 'string', help: 'JSON lines output file (written atomically); default stdout', metavar: 'FILE' },
      'max-length': { type: 'int', help: 'maximum tokens per example', default: 128, min: 8, max: 4096 },
      'batch-size': { type: 'int', help: 'examples per batch', default: 32, min: 1, max: 4096 },
      backend: BACKEND_FLAG,
      json: { type: 'bool', help: 'progress as JSON lines on stderr-free stdout (needs --out)' }
    },
    async run(flags, progress) {
      const task = requireTask(flags.task)
      const file = requireFile('data', flags.data)
      if (flags.json && !flags.out) throw new CliError('--json streams events on stdout, so it needs --out FILE for the predictions', 2)
      requireModelDir(flags.model)
      await startBackend(flags, progress)
      const { model, tokenizer } = openModel(flags.model, task)
      const spec = getTask(task)
      const data = await loadTaskData(file, task, 'test')
      const logits = await predictLogits(model, tokenizer, data.examples, {
        batchSize: Number(flags['batch-size']),
        maxLength: Number(flags['max-length']),
        onProgress: (done, total) => progress.update({ phase: 'predict', done, total }),
        shouldCancel: () => cancelRequested
      })
      progress.end()
      if (!logits) return 130
      const C = model.config.num_labels
      const lines = data.examples.map((e, i) => {
        const l = Array.from(logits.subarray(i * C, (i + 1) * C))
        const pred = C === 1 ? l[0] : l.indexOf(Math.max(...l))
        return JSON.stringify({ id: e.id, logits: l, prediction: C === 1 ? pred : spec.labelNames?.[pred] ?? pred, ...(e.label !== undefined ? { label: e.label } : {}) })
      })
      const text = lines.join('\n') + '\n'
      if (flags.out) writeFileAtomic(String(flags.out), text)
      else process.stdout.write(text)
      model.dispose()
      return 0
    }
  }
}

function mainUsage(): string {
  const rows = Object.entries(commands).map(([k, c]) => `  ${k.padEnd(10)} ${c.summary}`)
  return `ird-studio — Fisher-mask fine-tuning of BERT encoders (FISH, IRD)\n\nusage: ird-studio <command> [options]   (ird-studio <command> --help)\n\n${rows.join('\n')}\n`
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
    process.stdout.write(usage(name, cmd.summary, cmd.flags))
    return 0
  }
  let progress = new Progress(false)
  try {
    const { flags, positional } = parseArgs(rest, cmd.flags, name)
    if (positional.length) throw new UsageError(`unexpected argument "${positional[0]}" for "${name}" (options start with --)`)
    progress = new Progress(Boolean(flags.json))
    installSigint(progress)
    return await cmd.run(flags, progress)
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
    process.stderr.write(`ird-studio ${name}: internal error: ${(e as Error).stack ?? String(e)}\nPlease report this with the command you ran.\n`)
    return 1
  }
}

/**
 * `ird-studio study` (a grid of runs from a config file, resumable, with a report) and `ird-studio demo`
 * (the one-command demonstration: the five methods on the bundled SST-2 subset with the embedded demo
 * model, then the comparison table).
 * Must not: hold study logic (src/engine/study) or print results to stderr (stdout carries the table).
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { describeBackend, currentBackend } from '../../engine/backend'
import { runJob, JobInputError } from '../../engine/jobs/run-job'
import { demoDataDir, demoModelDir } from '../../engine/resources'
import { renderTable, runsTable } from '../../engine/runs/compare'
import { RunStore } from '../../engine/runs/store'
import { expandCells, loadStudyConfig, settingsFor, StudyConfigError, type StudyConfig } from '../../engine/study/config'
import { buildReport, collectResults, writeReport, type ReportMeta } from '../../engine/study/report'
import { readState, runStudy, type CellRunner, type StudySummary } from '../../engine/study/run'
import { BACKEND_FLAG, RUNS_FLAG, runsDirOf, type CommandTable } from '../command'
import { CliError, requireWritable } from '../common'
import { cancelExitCode, installStopSignals, isCancelRequested, jobHooks, startBackend } from '../job-support'
import type { Flags } from '../args'
import { dur, type Progress } from '../progress'
import { hasConstantPredictions } from '../../shared/domain'
import { applyNodePaths, finalizeSubmission, runCell, SLURM_FLAGS, studyStatus, submitStudy } from './study-slurm'

function resolveModel(model: string): string {
  if (model !== 'demo') return model
  const dir = demoModelDir()
  if (!dir) throw new CliError('the embedded demo model (resources/models/ird-demo-bert) is not in this build; pass a model folder instead')
  return dir
}

function gitCommit(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
    return dirty ? `${sha} (with uncommitted changes)` : sha
  } catch {
    return 'unknown (not a git checkout)'
  }
}

export function machineText(): string {
  const c = cpus()
  return `${c[0]?.model.trim() ?? 'unknown CPU'}, ${c.length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.versions.node}, ${process.platform}`
}

export function capsText(cfg: StudyConfig): string[] {
  const tasks = [...new Set(expandCells(cfg).map((c) => c.task))]
  return tasks.map((t) => {
    const s = settingsFor(cfg, t)
    return `${t}: ${s.maxTrain !== null ? `training set capped at ${s.maxTrain} examples (seeded subset)` : 'full training set'}, ${s.epochs} epoch${s.epochs === 1 ? '' : 's'}, max length ${s.maxLength} tokens, batch ${s.batchSize}, lr ${s.lr} (full fine-tuning ${s.fullLr}), warm-up ${s.warmupRatio}`
  })
}

/** Runs the cells with progress: one line per cell, the job's own bar inside it, an ETA for the study. */
async function runWithProgress(cfg: StudyConfig, store: RunStore, modelDir: string, backend: string, flags: Flags, progress: Progress): Promise<StudySummary> {
  const json = Boolean(flags.json)
  const hooks = jobHooks(progress, json)
  const quietHooks = { ...hooks, onEvent: (e: Record<string, unknown> & { phase: string }) => (json || e.total !== undefined ? hooks.onEvent?.(e) : undefined) }
  const runner: CellRunner = async (_cell, job) => {
    try {
      const res = await runJob(job, store, quietHooks)
      return { runId: res.run.id, status: res.status, reason: res.reason }
    } catch (e) {
      if (e instanceof JobInputError) throw new CliError(e.message)
      throw e
    }
  }
  const started = Date.now()
  let ranMs = 0
  let ran = 0
  return runStudy(cfg, {
    store,
    modelDir,
    backend,
    runner,
    filter: flags.only as string | undefined,
    shouldCancel: isCancelRequested,
    onProgress: (p) => {
      const head = `[${p.index + 1}/${p.total}] ${p.cell.key}`
      if (p.action === 'skip') progress.log(`${head}: done earlier (run ${p.outcome?.runId}), skipped`)
      else if (p.action === 'start') {
        const left = p.total - p.index
        progress.log(`${head}: running${ran ? `; study ETA ${dur((ranMs / ran) * left)}` : ''}`)
      } else {
        ran++
        ranMs = Date.now() - started
        const o = p.outcome!
        progress.log(`${head}: ${o.status}${o.main !== undefined ? `, score ${(100 * o.main).toFixed(2)}` : ''}${o.reason ? ` (${o.reason})` : ''} in ${dur(o.elapsedMs ?? 0)}`)
      }
    }
  })
}

function writeStudyReport(cfg: StudyConfig, store: RunStore, modelDir: string, reportFile: string, configFile: string, backendText: string): string[] {
  const report = buildReport(cfg, collectResults(cfg, readState(cfg), store), { storeRoot: store.root, modelDir })
  const meta: ReportMeta = {
    ...(cfg.description ? { description: cfg.description } : {}),
    commit: gitCommit(),
    configFile: relative(process.cwd(), configFile) || configFile,
    backend: backendText,
    machine: machineText(),
    model: modelDir === demoModelDir() ? `embedded demo model (resources/models/ird-demo-bert; a demonstration encoder, see its model card)` : modelDir,
    generatedAt: new Date().toISOString(),
    caps: capsText(cfg)
  }
  return writeReport(report, meta, reportFile)
}

/**
 * A study's runs folder: --runs, else $IRD_RUNS_DIR, else the app's (where `list`, `serve` and the app
 * look). Studies made before that default kept their runs in <outDir>/runs: such a folder goes on being
 * used, so their finished cells are not run again.
 */
function studyRunsDir(cfg: StudyConfig, flags: Flags): string {
  // (a Slurm study's runs are always in <outDir>/runs: the shared folder its nodes write)
  const legacy = join(cfg.outDir, 'runs')
  if (flags.runs === undefined && !process.env.IRD_RUNS_DIR && existsSync(legacy) && readdirSync(legacy).length) return legacy
  return runsDirOf(flags)
}

export const studyCommands: CommandTable = {
  study: {
    summary: 'run a grid of runs (tasks × methods × budgets × seeds) from a config file, resumably, and write a report',
    flags: {
      config: { type: 'string', help: 'study config (JSON; see studies/glue-demo.json)', metavar: 'FILE' },
      report: { type: 'string', help: 'report file (Markdown; JSON, CSV and charts are written beside it)', metavar: 'FILE' },
      only: { type: 'string', help: 'run only cells whose key contains this text (e.g. "sst2/ird")', metavar: 'TEXT' },
      'report-only': { type: 'bool', help: 'do not run cells; rebuild the report from what is done' },
      list: { type: 'bool', help: 'list the cells and whether each is done, then exit' },
      runs: { ...RUNS_FLAG, help: `${RUNS_FLAG.help}; a study that already keeps its runs in <outDir>/runs goes on using that folder unless --runs or $IRD_RUNS_DIR is given` },
      ...SLURM_FLAGS,
      backend: BACKEND_FLAG,
      json: { type: 'bool', help: 'stream events as JSON lines on stdout' }
    },
    async run(flags, progress) {
      if (!flags.config) throw new CliError('--config is required: a study config file (see studies/glue-demo.json)', 2)
      if (!existsSync(String(flags.config))) throw new CliError(`--config ${String(flags.config)}: no such file`)
      let cfg: StudyConfig
      try {
        cfg = loadStudyConfig(String(flags.config))
      } catch (e) {
        if (e instanceof StudyConfigError) throw new CliError(e.message, 2)
        throw e
      }
      const modes = ['slurm', 'status', 'cell', 'list', 'report-only'].filter((k) => flags[k] !== undefined && flags[k] !== false)
      if (modes.length > 1 && !(modes.length === 2 && modes.includes('report-only') && flags.finalize !== undefined)) throw new CliError(`give one of ${modes.map((m) => `--${m}`).join(', ')}, not several`, 2)
      if (flags['dry-run'] && !flags.slurm) throw new CliError('--dry-run goes with --slurm', 2)
      if (flags.finalize !== undefined && !flags['report-only']) throw new CliError('--finalize goes with --report-only', 2)
      // on a node (--cell, the report job): the paths as the nodes see them
      if (flags.cell !== undefined || flags['report-only']) cfg = applyNodePaths(cfg, flags)
      if ((flags.slurm || flags.status || flags.cell !== undefined || flags.finalize !== undefined) && flags.runs !== undefined) {
        throw new CliError('--runs does not go with --slurm, --status or --cell: a Slurm study keeps its runs in <outDir>/runs, which its nodes see under --node-out-dir; point `serve --runs` or $IRD_RUNS_DIR there to see them in the app', 2)
      }
      if (flags.slurm) return submitStudy(cfg, resolve(String(flags.config)), resolveModel(cfg.model), flags, progress)
      if (flags.status) return studyStatus(cfg, resolve(String(flags.config)), resolveModel(cfg.model), flags)
      if (flags.cell !== undefined) return runCell(cfg, resolveModel(cfg.model), String(flags.cell), flags, progress)
      if (flags.finalize !== undefined) finalizeSubmission(cfg, String(flags.finalize), progress)
      if (flags.list) {
        const state = readState(cfg)
        for (const c of expandCells(cfg)) process.stdout.write(`${c.key}\t${state.cells[c.key]?.status ?? 'not run'}\n`)
        return 0
      }
      const modelDir = resolveModel(cfg.model)
      const store = new RunStore(studyRunsDir(cfg, flags))
      const reportFile = resolve(String(flags.report ?? join(cfg.outDir, 'results.md')))
      let backendText = 'not started (report only)'
      // before any cell runs: the study folder and the report's folder can be written
      if (!flags['report-only']) requireWritable(null, store.root, 'folder')
      requireWritable('report', reportFile, 'file')
      if (!flags['report-only']) {
        await startBackend(flags, progress)
        const info = currentBackend()
        backendText = info ? describeBackend(info) : 'unknown'
        installStopSignals(progress)
        const s = await runWithProgress(cfg, store, modelDir, info?.name ?? 'wasm', flags, progress)
        progress.log(`study: ${s.completed}/${s.total} cells complete (${s.skipped} from earlier), ${s.ran} run now${s.failed.length ? `, ${s.failed.length} failed:\n  ${s.failed.join('\n  ')}` : ''}`)
        if (s.cancelled) {
          progress.log('study cancelled; run the same command again to continue where it stopped')
          return cancelExitCode()
        }
      } else {
        const ids = new Set(Object.values(readState(cfg).cells).map((c) => c.runId))
        const used = [...new Set(store.list().filter((r) => ids.has(r.id)).map((r) => r.backend ?? 'unknown'))]
        backendText = used.length ? `${used.join(', ')} (as recorded by the runs; this report was rebuilt without running cells)` : 'no runs yet'
      }
      const files = writeStudyReport(cfg, store, modelDir, reportFile, resolve(String(flags.config)), backendText)
      progress.log(`report: ${files.map((f) => relative(process.cwd(), f)).join(', ')}`)
      return 0
    }
  },

  demo: {
    summary: 'the demonstration: IRD, FISH, random, BitFit and full fine-tuning on bundled SST-2 data with the demo model, then the comparison',
    flags: {
      runs: RUNS_FLAG,
      'max-train': { type: 'int', help: 'training examples (seeded subset of the bundled 4,000)', default: 2000, min: 16 },
      samples: { type: 'int', help: 'Fisher sample budget n', default: 512, min: 1 },
      // FISH's usual 0.5 %: on the second demo encoder Fisher masks of 0.5 % learn SST-2 from 2,000 examples
      // while a random 0.5 % mask predicts one class (docs/demo-encoder-bars.md), which is what the demo is for.
      'keep-ratio': { type: 'number', help: 'parameter budget (default 0.5 %, FISH\'s usual; see docs/demo-encoder-bars.md)', default: 0.005, gt: 0, max: 1 },
      epochs: { type: 'int', help: 'training epochs', default: 3, min: 1, max: 1000 },
      seed: { type: 'int', help: 'random seed', default: 0, min: 0, max: 4294967295 },
      backend: BACKEND_FLAG,
      json: { type: 'bool', help: 'stream events as JSON lines on stdout' }
    },
    async run(flags, progress) {
      const modelDir = resolveModel('demo')
      const dataDir = demoDataDir()
      if (!dataDir) throw new CliError('the bundled demo data (resources/data/sst2-demo) is not in this build')
      const runsDir = runsDirOf(flags)
      const cfg: StudyConfig = {
        name: 'demo',
        model: modelDir,
        glueDir: dataDir,
        grids: [{ tasks: ['sst2'], methods: ['ird', 'fish', 'random', 'bitfit', 'full'], keepRatios: [Number(flags['keep-ratio'])], sampleBudgets: [Number(flags.samples)], seeds: [Number(flags.seed)] }],
        caps: { maxTrain: Number(flags['max-train']), epochs: Number(flags.epochs), maxLength: 64 },
        perTask: {},
        training: { lr: 2e-3, fullLr: 1e-3, batchSize: 32, warmupRatio: 0.06, weightDecay: 0, maxGradNorm: 1 },
        ird: { poolFactor: 4, alphaS: 0.5, alphaP: 0.5, maxRounds: null },
        workers: null,
        outDir: join(runsDir, '.studies', 'demo')
      }
      requireWritable(null, cfg.outDir, 'folder')
      await startBackend(flags, progress)
      const info = currentBackend()
      installStopSignals(progress)
      progress.log(`demo: ${expandCells(cfg).length} runs on the bundled SST-2 subset (${cfg.caps.maxTrain} training examples, dev 872) with the embedded demo model — a small encoder made for demonstrations, not for real work`)
      const store = new RunStore(runsDir)
      const s = await runWithProgress(cfg, store, modelDir, info?.name ?? 'wasm', flags, progress)
      if (s.cancelled) {
        progress.log('demo cancelled; run it again to continue where it stopped')
        return cancelExitCode()
      }
      const ids = new Set(Object.values(readState(cfg).cells).map((c) => c.runId))
      const runs = store.list().filter((r) => ids.has(r.id))
      process.stdout.write(renderTable(runsTable(runs), 'markdown'))
      const constant = runs.filter(hasConstantPredictions)
      if (constant.length) {
        progress.log(
          `${constant.length} of ${runs.length} runs (${constant.map((r) => r.method).join(', ')}) predict (almost) one class on dev: their score is a constant predictor's, so they learned nothing the metric can rank. On the small demo encoder and this budget that is common for sparse masks (see docs/results.md); a real pretrained encoder, more training data or epochs change it.`
        )
      }
      progress.log(`runs are in ${runsDir}: \`ird-studio compare --runs "${runsDir}"\`, or open them in the app (\`npm run serve\` or the desktop app)`)
      return s.failed.length ? 1 : 0
    }
  }
}

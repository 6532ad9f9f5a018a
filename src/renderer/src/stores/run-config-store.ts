/**
 * The "New run" form: one RunConfig being edited; presets that say what they cost; the parameter budget
 * both ways (keep ratio ↔ k); the engine's estimate (runs:estimate: k, Fisher-pass cost, time, memory),
 * with a local rough estimate while it is missing; saving/loading the config as a file; "new run from this
 * run"; starting the run.
 *
 * Owns: the config being edited and the rule that a stale estimate never overwrites a newer one.
 * Must not: touch window.api, or start a run the engine refuses without showing the engine's reason.
 */
import { defineStore } from 'pinia'
import { computed, ref, shallowRef, watch } from 'vue'
import { call } from '../client'
import { defaultRunConfig, SELECTION_METHODS, TASK_NAMES, type ModelInfo, type RunConfig, type RunEstimate, type SelectionMethod, type TaskName } from '../domain'
import { describeError } from '../lib/errors'
import { estimateRun, kFromRatio, ratioFromK, type ModelShape, type RunEstimate as LocalEstimate } from '../lib/estimates'
import { useDatasetsStore } from './datasets-store'
import { useModelsStore } from './models-store'

export const METHOD_INFO: Record<SelectionMethod, { label: string; hint: string }> = {
  ird: { label: 'IRD', hint: 'Iterative Range Decreasing: chooses the samples and the parameters together (Dong et al.)' },
  fish: { label: 'FISH Mask', hint: 'top-k parameters by empirical Fisher over n random samples (Sung et al.)' },
  random: { label: 'Random mask', hint: 'k random parameters: the baseline for a mask of the same size' },
  bitfit: { label: 'BitFit', hint: 'every bias and the classifier head; ignores the parameter budget' },
  full: { label: 'Full fine-tuning', hint: 'every parameter: the upper bound, and the most memory' }
}

export interface Preset {
  id: string
  label: string
  /** What it costs, in words, shown next to the preset. */
  cost: string
  apply(c: RunConfig): RunConfig
}

export const PRESETS: readonly Preset[] = [
  {
    id: 'quick',
    label: 'Quick check',
    cost: 'about a minute on a small model: n = 32 samples, 1 epoch over at most 200 rows, 64 tokens. The numbers mean nothing; it shows the pipeline works.',
    apply: (c) => ({ ...c, nSamples: 32, epochs: 1, maxTrainExamples: 200, maxLength: 64, batchSize: 16, ird: { ...c.ird, poolFactor: 4 } })
  },
  {
    id: 'paper',
    label: 'Paper setting (IRD)',
    cost: 'n = 1024 samples, pool 8n = 8192: about 16k–25k per-sample gradients before training; 7 epochs at 128 tokens. Hours on a CPU for BERT-base.',
    apply: (c) => ({ ...c, method: 'ird', nSamples: 1024, keepRatio: 0.005, epochs: 7, maxLength: 128, maxTrainExamples: null, ird: { poolFactor: 8, alphaS: 0.5, alphaP: 0.5, maxRounds: null } })
  },
  {
    id: 'fish',
    label: 'FISH baseline',
    cost: 'one Fisher pass over n = 1024 samples (1024 per-sample gradients, about 1/20 of IRD), then the same training.',
    apply: (c) => ({ ...c, method: 'fish', nSamples: 1024, keepRatio: 0.005, epochs: 7, maxLength: 128 })
  },
  {
    id: 'low-memory',
    label: 'Low memory',
    cost: 'batch 8 at 64 tokens: about a quarter of the activation memory of batch 16 at 128; each epoch takes longer.',
    apply: (c) => ({ ...c, batchSize: 8, maxLength: 64, fisher: { ...c.fisher, batchSize: 8 } })
  }
]

/** Classes of a GLUE task's head (1 = regression). */
export const TASK_LABELS: Record<TaskName, number> = { cola: 2, sst2: 2, mrpc: 2, stsb: 1, qqp: 2, mnli: 3, 'mnli-mm': 3, qnli: 2, rte: 2, wnli: 2 }

export function modelShape(m: ModelInfo, task: TaskName): ModelShape {
  // ModelInfo.parameters counts a 2-label head; adjust to the task's.
  const labels = TASK_LABELS[task]
  const parameters = m.parameters + (labels - 2) * (m.hidden + 1)
  return { parameters, hidden: m.hidden, layers: m.layers, intermediate: m.intermediate, numLabels: labels }
}

const CONFIG_KEYS = [
  'name', 'modelDir', 'task', 'trainFile', 'devFile', 'trainOptions', 'devOptions', 'method', 'keepRatio', 'nSamples', 'nSamplesExplicit', 'seed',
  'maxLength', 'batchSize', 'epochs', 'lr', 'warmupRatio', 'weightDecay', 'maxGradNorm', 'fisher', 'ird', 'maxTrainExamples', 'workers', 'maskDir'
] as const

/** The RunConfig fields of a run's config.json (which also holds hashes, the rerun line…); the engine checks types. */
export function pickRunConfig(raw: Record<string, unknown>): RunConfig {
  const task = (TASK_NAMES as readonly unknown[]).includes(raw.task) ? (raw.task as TaskName) : 'sst2'
  const out: Record<string, unknown> = { ...defaultRunConfig(task) }
  for (const key of CONFIG_KEYS) if (raw[key] !== undefined && raw[key] !== null) out[key] = raw[key]
  if (raw.maxTrainExamples === null) out.maxTrainExamples = null
  if (!(SELECTION_METHODS as readonly unknown[]).includes(out.method)) out.method = 'ird'
  return out as unknown as RunConfig
}

export const useRunConfigStore = defineStore('runConfig', () => {
  const config = ref<RunConfig>(defaultRunConfig())
  const presetId = ref<string | null>(null)
  const estimate = shallowRef<RunEstimate | null>(null)
  const estimateError = shallowRef<unknown>(null)
  const estimating = ref(false)
  const starting = ref(false)
  const startError = shallowRef<unknown>(null)
  /** Problems of a loaded config file (each names its field), or why it could not be read. */
  const fileProblems = ref<Array<{ field: string; message: string }>>([])
  const fileNote = ref<string | null>(null)
  /** The run this config was copied from ("new run from this run"). */
  const fromRunId = ref<string | null>(null)
  /** The backend the estimate assumes (the one running). */
  const backend = ref('wasm')

  const models = useModelsStore()
  const datasets = useDatasetsStore()

  const modelEntry = computed(() => models.list.find((m) => m.path === config.value.modelDir) ?? null)
  const model = computed(() => modelEntry.value?.info ?? null)
  const trainSet = computed(() => datasets.list.find((d) => d.path === config.value.trainFile) ?? null)
  const devSet = computed(() => datasets.list.find((d) => d.path === config.value.devFile) ?? null)
  const shape = computed(() => (model.value ? modelShape(model.value, config.value.task) : null))
  const usesBudget = computed(() => config.value.method === 'ird' || config.value.method === 'fish' || config.value.method === 'random')
  const usesSamples = computed(() => config.value.method === 'ird' || config.value.method === 'fish')

  /** k from the keep ratio (instant; the engine's estimate confirms it). */
  const k = computed(() => (shape.value ? kFromRatio(shape.value, config.value.keepRatio) : null))
  function setK(next: number): void {
    if (!shape.value || !Number.isFinite(next) || next < 1) return
    config.value.keepRatio = ratioFromK(shape.value, Math.round(next))
  }

  /** A rough estimate computed here, shown until (or when) the engine's is not available. */
  const localEstimate = computed<LocalEstimate | null>(() => {
    if (!shape.value) return null
    const c = config.value
    const rows = trainSet.value?.lastReport?.rows ?? 0
    const trainRows = c.maxTrainExamples !== null ? Math.min(c.maxTrainExamples, rows || c.maxTrainExamples) : rows
    return estimateRun({
      model: shape.value, method: c.method, keepRatio: c.keepRatio, nSamples: c.nSamples, trainRows, devRows: devSet.value?.lastReport?.rows ?? 0,
      maxLength: c.maxLength, batchSize: c.batchSize, epochs: c.epochs, ird: c.ird, backend: backend.value
    })
  })

  /** Problems the form sees without the engine; each names its field. */
  const localProblems = computed(() => {
    const c = config.value
    const out: Array<{ field: string; message: string }> = []
    if (!c.modelDir) out.push({ field: 'modelDir', message: 'choose a model (add one on the Models screen)' })
    if (!c.trainFile) out.push({ field: 'trainFile', message: 'choose the training data (import it on the Datasets screen)' })
    if (trainSet.value?.lastReport && !trainSet.value.lastReport.usable) {
      out.push({ field: 'trainFile', message: `${trainSet.value.name}: ${trainSet.value.lastReport.verdict} (fix the file, or check it again with "drop rows with errors")` })
    }
    if (model.value && c.maxLength > model.value.maxPositions) out.push({ field: 'maxLength', message: `the model takes at most ${model.value.maxPositions} tokens` })
    if (usesBudget.value && k.value !== null && k.value <= 0 && shape.value) {
      out.push({ field: 'keepRatio', message: `too small for this model: nothing beyond the classifier head would be trained (smallest keep ratio: ${ratioFromK(shape.value, 1)})` })
    }
    return out
  })

  /** The engine's refusal of the config (INVALID_ARGUMENT names the field). */
  const engineProblems = computed(() => {
    if (!estimateError.value) return []
    const v = describeError(estimateError.value)
    if (v.code !== 'INVALID_ARGUMENT' && v.code !== 'INVALID_INPUT') return []
    const field = v.details.find(([key]) => key === 'field')?.[1]
    return [{ field: field ? field.replace(/^params\.config\./, '') : 'config', message: v.message }]
  })
  const problems = computed(() => [...localProblems.value, ...engineProblems.value])
  const canStart = computed(() => problems.value.length === 0 && !starting.value)

  let estimateSeq = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  function scheduleEstimate(delayMs = 250): void {
    clearTimeout(timer)
    timer = setTimeout(() => void refreshEstimate(), delayMs)
  }
  async function refreshEstimate(): Promise<void> {
    const mine = ++estimateSeq
    if (!config.value.modelDir || !config.value.trainFile) {
      estimate.value = null
      estimateError.value = null
      return
    }
    estimating.value = true
    try {
      const next = await call('runs:estimate', { config: plain(config.value) })
      if (mine !== estimateSeq) return
      estimate.value = next
      estimateError.value = null
    } catch (e) {
      if (mine !== estimateSeq) return
      estimate.value = null
      estimateError.value = e
    } finally {
      if (mine === estimateSeq) estimating.value = false
    }
  }
  watch(config, () => scheduleEstimate(), { deep: true })

  function applyPreset(id: string): void {
    const p = PRESETS.find((x) => x.id === id)
    if (!p) return
    config.value = p.apply(config.value)
    presetId.value = id
  }

  function setTask(task: TaskName): void {
    config.value.task = task
  }

  function toFileText(): string {
    return JSON.stringify(plain(config.value), null, 2) + '\n'
  }

  /** A config file's text: parsed here, checked by the engine (runs:validateConfig), used when valid. */
  async function loadFileText(text: string, file: string): Promise<boolean> {
    fileProblems.value = []
    fileNote.value = null
    let raw: unknown
    try {
      raw = JSON.parse(text)
    } catch (e) {
      fileProblems.value = [{ field: file, message: `not JSON: ${(e as Error).message}` }]
      return false
    }
    try {
      const res = await call('runs:validateConfig', { config: raw as never })
      if (!res.valid || !res.config) {
        fileProblems.value = res.problems.length ? res.problems : [{ field: file, message: 'not a run config' }]
        return false
      }
      config.value = res.config
      presetId.value = null
      fromRunId.value = null
      fileNote.value = `Loaded ${file}.`
      return true
    } catch (e) {
      fileProblems.value = [{ field: file, message: describeError(e).message }]
      return false
    }
  }

  /** Electron: the engine's save/open dialogs. */
  async function saveWithDialog(): Promise<void> {
    fileProblems.value = []
    fileNote.value = null
    try {
      const res = await call('runs:saveConfig', { config: plain(config.value), suggestedName: `${config.value.name || `${config.value.task}-${config.value.method}`}.json` })
      if (res.path) fileNote.value = `Saved to ${res.path}.`
    } catch (e) {
      fileProblems.value = [{ field: 'save', message: describeError(e).message }]
    }
  }
  async function loadWithDialog(): Promise<void> {
    fileProblems.value = []
    fileNote.value = null
    try {
      const res = await call('runs:loadConfig')
      if (!res.path) return
      if (!res.config) {
        fileProblems.value = res.problems.length ? res.problems : [{ field: res.path, message: 'not a run config' }]
        return
      }
      config.value = res.config
      presetId.value = null
      fromRunId.value = null
      fileNote.value = `Loaded ${res.path}.`
    } catch (e) {
      fileProblems.value = [{ field: 'load', message: describeError(e).message }]
    }
  }

  /** "New run from this run": the run's settings, without its name. */
  function fromRun(runId: string, runConfig: Record<string, unknown>): void {
    const c = pickRunConfig(runConfig)
    delete c.name
    config.value = c
    fromRunId.value = runId
    presetId.value = null
    fileProblems.value = []
    fileNote.value = null
  }

  async function start(): Promise<string | null> {
    if (!canStart.value) return null
    starting.value = true
    startError.value = null
    try {
      const { runId } = await call('runs:start', { config: plain(config.value) })
      return runId
    } catch (e) {
      startError.value = e
      return null
    } finally {
      starting.value = false
    }
  }

  function reset(): void {
    config.value = defaultRunConfig(config.value.task)
    presetId.value = null
    fromRunId.value = null
  }

  return {
    config, presetId, estimate, estimateError, estimating, starting, startError, fileProblems, fileNote, fromRunId, backend,
    modelEntry, model, trainSet, devSet, shape, usesBudget, usesSamples, k, setK, localEstimate, localProblems, engineProblems, problems, canStart,
    scheduleEstimate, refreshEstimate, applyPreset, setTask, toFileText, loadFileText, saveWithDialog, loadWithDialog, fromRun, start, reset
  }
})

/** A deep plain copy without undefined fields (the contract's validators refuse unknown shapes, not absent ones). */
function plain<T>(x: T): T {
  return JSON.parse(JSON.stringify(x)) as T
}

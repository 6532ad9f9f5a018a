/**
 * A run's mask, sparse delta and selected samples as stand-alone files for other tools:
 *   - mask:    safetensors keyed by Hugging Face parameter names (U8 dense 0/1 or I32 flat indices, as
 *              `__metadata__["encoding"]` says), `__metadata__` with format "pt", method, budgets, seed,
 *              dataset hash, task and run id;
 *   - delta:   safetensors with `<hf name>.delta_indices` (I32 flat indices) + `<hf name>.delta_values`
 *              (F32 trained values; a fully trained tensor has only `.delta_values`, whole), same metadata;
 *   - samples: JSON with the Fisher sample ids (dataset ids), IRD rounds and pool scores.
 *
 * Owns: these three layouts. Must not: change the run, or write anything but `out` (atomically).
 */
import { existsSync, readFileSync } from 'node:fs'
import { writeJsonAtomic } from '../io/atomic'
import { readSafetensors, writeSafetensors } from '../io/safetensors'
import { parseJsonStrict } from '../io/strict-json'
import type { MaskSidecar } from '../mask'
import type { Run, RunStore } from '../runs/store'
import { resolveExportPath } from './paths'

export interface ArtifactExportOptions {
  /** The output path must lie inside this folder. */
  within?: string
  /** Replace an existing file. Default false. */
  overwrite?: boolean
}

export class ExportError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ExportError'
  }
}

interface RunConfigLike {
  task?: string
  method?: string
  seed?: number
  keepRatio?: number
  nSamples?: number
  trainFile?: string
  trainSha256?: string
  modelDir?: string
}

function runConfig(run: Run): RunConfigLike {
  const c = run.readJson<RunConfigLike>('config.json')
  if (!c) throw new ExportError(`run ${run.id} has no readable config.json`)
  return c
}

/** The mask sidecar of a run: its own mask/mask.json, or the reused mask's (mask-source.json). */
export function runMaskSidecar(run: Run): MaskSidecar | null {
  const own = run.path('mask/mask.json')
  if (existsSync(own)) return parseJsonStrict(readFileSync(own, 'utf8'), own) as MaskSidecar
  const src = run.readJson<{ sidecar?: MaskSidecar }>('mask-source.json')
  return src?.sidecar ?? null
}

function target(out: string, opts: ArtifactExportOptions): string {
  const t = resolveExportPath(out, opts.within)
  if (!opts.overwrite && existsSync(t)) throw new ExportError(`${t} already exists: choose another name (or overwrite)`)
  return t
}

const str = (v: unknown) => (v === undefined || v === null ? '' : String(v))

/** `__metadata__` shared by the mask and delta exports. */
function commonMetadata(run: Run, sidecar: MaskSidecar | null): Record<string, string> {
  const c = runConfig(run)
  return {
    format: 'pt',
    ird_studio_run: run.id,
    task: str(c.task ?? run.summary.task),
    method: str(sidecar?.method ?? c.method ?? run.summary.method),
    keep_ratio: str(sidecar?.budgets.keepRatio ?? c.keepRatio),
    k: str(sidecar?.budgets.k ?? run.summary.k),
    n_samples: str(sidecar?.budgets.nSamples ?? run.summary.nSamples),
    mask_count: str(sidecar?.budgets.maskCount ?? run.summary.trainable),
    seed: str(sidecar?.seed ?? c.seed ?? run.summary.seed),
    dataset_sha256: str(sidecar?.dataset.sha256 ?? c.trainSha256)
  }
}

/** The run's mask as one safetensors file keyed by Hugging Face names. Returns the path written. */
export function exportMask(store: RunStore, runId: string, out: string, opts: ArtifactExportOptions = {}): string {
  const run = store.open(runId)
  const file = run.path('mask/mask.safetensors')
  const reused = run.readJson<{ maskDir?: string }>('mask-source.json')?.maskDir
  const source = existsSync(file) ? file : reused ? `${reused}/mask.safetensors` : file
  if (!existsSync(source)) throw new ExportError(`run ${run.id} has no mask (${file} not found${reused ? `, nor the reused ${source}` : ''}): its mask selection did not finish`)
  const dest = target(out, opts)
  const { tensors, metadata } = readSafetensors(source)
  const meta = { ...(metadata ?? {}), ...commonMetadata(run, runMaskSidecar(run)) }
  // Keep the file's own encoding map and digest (loadMask checks them against the content).
  if (metadata?.encoding !== undefined) meta.encoding = metadata.encoding
  if (metadata?.digest !== undefined) meta.digest = metadata.digest
  writeSafetensors(dest, tensors, meta)
  return dest
}

/** The run's sparse delta (trained values of the masked entries) as one safetensors file. */
export function exportDelta(store: RunStore, runId: string, out: string, opts: ArtifactExportOptions = {}): string {
  const run = store.open(runId)
  const file = run.path('delta.safetensors')
  if (!existsSync(file)) throw new ExportError(`run ${run.id} has no delta.safetensors: it is ${run.summary.status}; only completed runs have trained values`)
  const dest = target(out, opts)
  const { tensors, metadata } = readSafetensors(file)
  const c = runConfig(run)
  const meta: Record<string, string> = {
    ...(metadata ?? {}),
    ...commonMetadata(run, runMaskSidecar(run)),
    kind: 'ird-studio-sparse-delta',
    layout: '<name>.delta_indices: I32 flat indices into the Hugging Face tensor <name> (row-major); <name>.delta_values: F32 trained values at those indices (the whole tensor when no indices tensor exists)',
    base_model: str(metadata?.base_model ?? c.modelDir)
  }
  writeSafetensors(dest, tensors, meta)
  return dest
}

export interface SamplesExport {
  format: 'ird-studio-samples'
  version: 1
  run: string
  task: string
  method: string
  seed: number | null
  dataset: { file: string | null; sha256: string | null; name: string | null; rows: number | null }
  /** Sample budget n. */
  nSamples: number | null
  /** The samples whose Fisher decided the mask: dataset ids (the id column, else the 0-based data-row number). */
  selectedSampleIds: string[]
  gradientEvaluations: number | null
  /** IRD only: the candidate pool, its round-1 scores s_i, and each round's ranges. */
  ird: { poolSize: number; poolIds: string[]; poolScores: number[]; rounds: unknown[]; stopReason: string } | null
  /** FISH only: the drawn samples' scores s_i. */
  fishScores: { ids: string[]; scores: number[] } | null
}

/** The selected samples of a run (Fisher sample ids, IRD rounds) as JSON. */
export function exportSamples(store: RunStore, runId: string, out: string, opts: ArtifactExportOptions = {}): SamplesExport {
  const run = store.open(runId)
  const sidecar = runMaskSidecar(run)
  if (!sidecar) throw new ExportError(`run ${run.id} has no mask.json: its mask selection did not finish, so no samples were chosen`)
  const dest = target(out, opts)
  const c = runConfig(run)
  const stats = (sidecar.stats ?? {}) as { sampleScores?: { ids?: string[]; scores?: number[] }; ird?: { poolSize: number; rounds: unknown[]; stopReason: string } }
  const doc: SamplesExport = {
    format: 'ird-studio-samples',
    version: 1,
    run: run.id,
    task: str(c.task ?? run.summary.task),
    method: sidecar.method,
    seed: sidecar.seed ?? null,
    dataset: { file: c.trainFile ?? null, sha256: sidecar.dataset.sha256 ?? c.trainSha256 ?? null, name: sidecar.dataset.name, rows: sidecar.dataset.rows },
    nSamples: sidecar.budgets.nSamples,
    selectedSampleIds: sidecar.selectedSampleIds ?? [],
    gradientEvaluations: sidecar.gradientEvaluations,
    ird: stats.ird
      ? { poolSize: stats.ird.poolSize, poolIds: stats.sampleScores?.ids ?? [], poolScores: stats.sampleScores?.scores ?? [], rounds: stats.ird.rounds, stopReason: stats.ird.stopReason }
      : null,
    fishScores: !stats.ird && stats.sampleScores ? { ids: stats.sampleScores.ids ?? [], scores: stats.sampleScores.scores ?? [] } : null
  }
  writeJsonAtomic(dest, doc)
  return doc
}

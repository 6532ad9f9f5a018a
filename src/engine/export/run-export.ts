/**
 * One entry point for every export, for callers that receive a request as data (the app's IPC or
 * WebSocket handler): `runExport(store, request, { within })` → where it was written and a one-line
 * description. The CLI calls the individual functions; both end in the same code.
 * Owns: dispatching a typed request. Must not: hold export logic, or write outside `within` when given.
 */
import type { SaveDtype } from '../io/model-folder'
import type { TableFormat } from '../runs/compare'
import type { RunStore } from '../runs/store'
import { exportDelta, exportMask, exportSamples } from './artifacts'
import { exportBundle } from './bundle'
import { exportGlueSubmission, type SubmissionTask } from './glue'
import { exportHfModel } from './hf-model'
import { resolveExportPath } from './paths'
import { exportTable } from './table'

export type ExportKind = 'hf-model' | 'mask' | 'delta' | 'samples' | 'glue-submission' | 'table' | 'bundle'
export const EXPORT_KINDS: readonly ExportKind[] = ['hf-model', 'mask', 'delta', 'samples', 'glue-submission', 'table', 'bundle']

export type ExportRequest =
  | { kind: 'hf-model'; runId: string; out: string; shardBytes?: number; dtype?: SaveDtype; overwrite?: boolean }
  | { kind: 'mask' | 'delta' | 'samples'; runId: string; out: string; overwrite?: boolean }
  | { kind: 'bundle'; runId: string; out: string; overwrite?: boolean; checkpoint?: boolean }
  | { kind: 'table'; out: string; format: TableFormat; glue?: boolean; runs?: string[]; task?: string; method?: string; overwrite?: boolean }
  | { kind: 'glue-submission'; runIds: string[]; out: string; glueDir?: string; testFiles?: Partial<Record<SubmissionTask, string>>; batchSize?: number; maxLength?: number }

export interface ExportOutcome {
  kind: ExportKind
  /** Absolute path of the file or folder written; null when a GLUE submission was cancelled. */
  path: string | null
  message: string
}

export interface RunExportOptions {
  /** Every output must lie inside this folder (the app's export folder). */
  within?: string
  /** glue-submission only (it predicts; needs an initialised backend). */
  onProgress?: (e: { task: string; done: number; total: number }) => void
  shouldCancel?: () => boolean
}

export async function runExport(store: RunStore, req: ExportRequest, opts: RunExportOptions = {}): Promise<ExportOutcome> {
  const within = opts.within
  const path = resolveExportPath(req.out, within)
  switch (req.kind) {
    case 'hf-model': {
      const r = exportHfModel(store, req.runId, req.out, { within, shardBytes: req.shardBytes, dtype: req.dtype, overwrite: req.overwrite })
      return { kind: req.kind, path: r.dir, message: `Hugging Face folder of run ${r.runId}: ${r.files.join(', ')}` }
    }
    case 'mask':
      return { kind: req.kind, path: exportMask(store, req.runId, req.out, { within, overwrite: req.overwrite }), message: `mask of run ${req.runId}` }
    case 'delta':
      return { kind: req.kind, path: exportDelta(store, req.runId, req.out, { within, overwrite: req.overwrite }), message: `sparse delta of run ${req.runId}` }
    case 'samples': {
      const doc = exportSamples(store, req.runId, req.out, { within, overwrite: req.overwrite })
      return { kind: req.kind, path, message: `${doc.selectedSampleIds.length} selected samples of run ${doc.run}` }
    }
    case 'bundle': {
      const m = exportBundle(store, req.runId, req.out, { within, overwrite: req.overwrite, checkpoint: req.checkpoint })
      return { kind: req.kind, path, message: `run ${m.run} bundled (${Object.keys(m.files).length} files)` }
    }
    case 'table': {
      exportTable(store, req.out, { within, format: req.format, glue: req.glue, runs: req.runs, task: req.task, method: req.method, overwrite: req.overwrite })
      return { kind: req.kind, path, message: `${req.format} table` }
    }
    case 'glue-submission': {
      const r = await exportGlueSubmission(store, req.runIds, req.out, {
        within,
        glueDir: req.glueDir,
        testFiles: req.testFiles,
        batchSize: req.batchSize,
        maxLength: req.maxLength,
        onProgress: opts.onProgress,
        shouldCancel: opts.shouldCancel
      })
      if (!r) return { kind: req.kind, path: null, message: 'cancelled' }
      return { kind: req.kind, path: r.path, message: `GLUE submission: ${Object.keys(r.files).join(', ')}${r.missing.length ? ` (missing ${r.missing.join(', ')})` : ''}` }
    }
  }
}

/**
 * Exports of saved runs, as plain functions over a RunStore, a run id and an output path (the CLI and
 * the app call the same ones): Hugging Face model folder, mask, sparse delta, selected samples, GLUE
 * submission zip, comparison table, run bundle (and its import).
 * Owns: nothing but re-exports. Must not: grow logic.
 */
export { exportHfModel, withTaskLabels, type HfExportOptions, type HfExportResult } from './hf-model'
export { exportDelta, ExportError, exportMask, exportSamples, runMaskSidecar, type ArtifactExportOptions, type SamplesExport } from './artifacts'
export { exportGlueSubmission, GLUE_SUBMISSION_FILES, submissionTsv, writeGlueSubmission, type SubmissionFromRunsOptions, type SubmissionResult, type SubmissionTask, type TaskPredictions } from './glue'
export { exportTable, formatFromFileName, selectRuns, type TableExportOptions } from './table'
export { BUNDLE_FORMAT, BUNDLE_VERSION, BundleError, exportBundle, importRunBundle, type BundleExportOptions, type BundleManifest, type ImportOptions, type ImportResult } from './bundle'
export { ExportPathError, resolveExportPath, unsafeRelativeName } from './paths'
export { buildZip, DEFAULT_ZIP_LIMITS, readZipSafe, writeZipAtomic, ZipError, ZipReader, type ExtractCap, type ZipEntryInfo, type ZipEntryInput, type ZipLimits } from './zip'
export { EXPORT_KINDS, runExport, type ExportKind, type ExportOutcome, type ExportRequest, type RunExportOptions } from './run-export'

/**
 * Public surface of the dataset modules (src/engine/data): import from here.
 * Owns: nothing but re-exports. Must not: grow logic.
 */
export type { ColumnMapping, ColumnRef, DataFormat, Dataset, Example, Field, Problem, ProblemCode, Severity, Split, TaskName } from './types'
export { GLUE_CLASS_NAMES, TASKS, TASK_NAMES, getTask, isTaskName, matchTask, splitFromFileName, type DetectedTask, type GlueFileLayout, type TaskSpec } from './tasks'
export {
  DatasetError, formatProblem, glueFilePath, glueLoadOptions, loadDataset, loadGlueFile, loadGlueFileWithReport, loadGlueSplit,
  loadWithReport, readDatasetBytes, type FileLayout, type LoadOptions, type LoadReport
} from './load'
export { detectTask, detectTaskInBytes, glueLayoutByContent, previewFile, PREVIEW_BYTES, sniffFileFormat, type FilePreview } from './preview'
export { textKey, validateDataset, type ValidateOptions, type ValidationReport } from './validate'
export { datasetStats, distribution, histogram, overlap, whitespaceTokens, type DatasetStats, type Distribution, type Histogram, type LabelCount, type LengthOf } from './stats'
export { checkDataRef, dataRef, sha256Bytes, sha256File, type DataRef } from './sha'
export { guessLabelType, guessMapping, sniffFormat, sniffHeader, sortLabelValues, type FormatGuess, type LabelGuess, type MappingGuess } from './sniff'
export { DEFAULT_PROBLEM_CAP, summarizeProblems } from './problems'
export { DEFAULT_MAX_LINE_BYTES } from './text'
export type { Quoting } from './parse'

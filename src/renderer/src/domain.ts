/**
 * The shapes the views work with. Everything that crosses the process boundary comes from the contract
 * (src/shared/contract.ts, re-exported here); this module adds only the renderer's own view of a live run
 * (a snapshot plus the updates pushed since).
 * Owns: types only. Must not: hold logic or import engine code (node-only).
 */
import type { CurvePoint, EngineMemory, FisherChartData, RunListEntry, RunMetric, RunProgress, RunSnapshot } from '../../shared/contract'

export type {
  ColumnMapping,
  ColumnRef,
  CompareTables,
  CurvePoint,
  DataProblem,
  DataSource,
  DatasetEntry,
  DatasetOptions,
  DatasetPreview,
  DatasetReport,
  DatasetStatistics,
  DetectedTask,
  Distribution,
  EngineMemory,
  FisherChartData,
  FisherGroupInfo,
  Histogram,
  IrdRoundInfo,
  MaskOverlapMatrix,
  ModelEntry,
  ModelInfo,
  Quantiles,
  RunConfig,
  RunEstimate,
  RunFinished,
  RunListEntry,
  RunMetric,
  RunPhase,
  RunProgress,
  RunSnapshot,
  RunStatus,
  RunSummaryInfo,
  SelectionMethod,
  Split,
  TaskName
} from '../../shared/contract'
export { SELECTION_METHODS, TASK_NAMES, SPLITS, defaultRunConfig } from '../../shared/contract'

/** One run as the monitor shows it: the snapshot, kept up to date by pushed events. */
export interface RunDetail {
  summary: RunListEntry
  config: Record<string, unknown> | null
  events: RunSnapshot['events']
  curve: CurvePoint[]
  metrics: RunMetric[]
  fisher: FisherChartData | null
  results: Record<string, unknown> | null
  /** The newest progress event (live runs). */
  progress?: RunProgress
  /** Engine memory samples while the run was watched here (not stored with the run). */
  memory: EngineMemory[]
}

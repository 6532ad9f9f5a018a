/**
 * Public face of the GLUE metrics: the pure metric functions (stats.ts), the task table, taskMetrics and
 * glueScore (glue.ts). Must not: add logic; callers import from here so the split between files stays private.
 */
export { accuracy, argmax, f1, matthews, pearson, rankAverage, spearman, type Logits, type LogitsMatrix } from './stats'
export {
  GLUE_TASK_ALIASES,
  GLUE_TASK_INFO,
  GLUE_TASKS,
  glueScore,
  METRICS,
  parseGlueTask,
  taskMetrics,
  type GlueScore,
  type GlueTask,
  type GlueTaskInfo,
  type MetricInfo,
  type MetricName,
  type TaskPredictions,
  type TaskResult,
} from './glue'
export { MetricInputError, type Numbers } from './validate'

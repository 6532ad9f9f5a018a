/**
 * src/shared/domain.ts restates engine types for the renderer, which must not import engine code (its type
 * check would pull in tfjs and Node). These checks make the restatements fail `tsc` (npm run check) the
 * moment an engine type changes shape: each `const x: Equal<A, B> = true` only compiles when A and B are the
 * same type. Where the wire changes a type on purpose (JSON turns NaN into null, the host adds fields), the
 * check spells that change out. The runtime tests below pin the facts those transformations rest on.
 */
import { describe, expect, it } from 'vitest'
import { TASK_NAMES as DOMAIN_TASKS, SELECTION_METHODS as DOMAIN_METHODS, RUN_STATUSES } from '../../src/shared/domain'
import { TASK_NAMES as ENGINE_TASKS } from '../../src/engine/data/tasks'
import { quantiles } from '../../src/engine/selection/stats'
import type { SelectionMethod } from '../../src/engine/selection'
import type * as D from '../../src/shared/domain'
import type { TaskName, Split, DataFormat, ColumnRef, ColumnMapping } from '../../src/engine/data/types'
import type { Quoting } from '../../src/engine/data/parse'
import type { DetectedTask } from '../../src/engine/data/tasks'
import type { FileLayout } from '../../src/engine/data/load'
import type { LabelGuess } from '../../src/engine/data/sniff'
import type { Histogram, Distribution, DatasetStats } from '../../src/engine/data/stats'
import type { Quantiles, GroupFisherStats, TensorFisherStats } from '../../src/engine/selection/stats'
import type { IrdRound } from '../../src/engine/selection/ird'
import type { RunStatus, RunSummary } from '../../src/engine/runs/store'

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
/** Flattens an intersection so that Equal compares the resulting object type. */
type Flat<T> = { [K in keyof T]: T[K] }
/** JSON turns NaN into null: the engine's "all NaN for an empty list" quantiles arrive as nulls. */
type OverJson<Q> = { [K in keyof Q]: K extends 'count' ? Q[K] : Q[K] | null }

const taskName: Equal<D.TaskName, TaskName> = true
const split: Equal<D.Split, Split> = true
const dataFormat: Equal<D.DataFormat, DataFormat> = true
const quoting: Equal<D.Quoting, Quoting> = true
const columnRef: Equal<D.ColumnRef, ColumnRef> = true
const columnMapping: Equal<D.ColumnMapping, ColumnMapping> = true
const detectedTask: Equal<D.DetectedTask, DetectedTask> = true
const fileLayout: Equal<D.FileLayout, FileLayout> = true
const labelGuess: Equal<D.LabelGuess, LabelGuess> = true
const histogram: Equal<D.Histogram, Histogram> = true
const distribution: Equal<D.Distribution, Distribution> = true
// The host counts lengths with the model's tokenizer when it has one and adds truncation and dev overlap.
const statistics: Equal<
  D.DatasetStatistics,
  Flat<
    Omit<DatasetStats, 'lengthUnit'> & {
      lengthUnit: 'tokens' | 'whitespace tokens'
      truncatedRows?: number
      overlap?: { devRows: number; overlapping: number; fraction: number }
    }
  >
> = true
const quantiles_: Equal<D.Quantiles, OverJson<Quantiles>> = true
const group: Equal<D.FisherGroupInfo, GroupFisherStats> = true
// The charts do not show a tensor's largest entry; the renderer does not know ParamSpec's kinds.
const tensor: Equal<D.FisherTensorInfo, Flat<Omit<TensorFisherStats, 'max' | 'kind'> & { kind: string }>> = true
const ird: Equal<D.IrdRoundInfo, Flat<Omit<IrdRound, 'scores'> & { scores: OverJson<Quantiles> }>> = true
const method: Equal<D.SelectionMethod, SelectionMethod> = true
const runStatus: Equal<D.RunStatus, RunStatus> = true
const summary: Equal<D.RunSummaryInfo, RunSummary> = true

describe('domain.ts restates the engine types', () => {
  it('has the engine\'s task list, in the same order', () => {
    expect([...DOMAIN_TASKS]).toEqual(ENGINE_TASKS)
  })

  it('lists every method and run status once', () => {
    expect(new Set(DOMAIN_METHODS).size).toBe(DOMAIN_METHODS.length)
    expect(new Set(RUN_STATUSES).size).toBe(RUN_STATUSES.length)
  })

  it('receives empty quantiles as nulls, as OverJson says', () => {
    const wire = JSON.parse(JSON.stringify(quantiles([]))) as D.Quantiles
    expect(wire).toEqual({ count: 0, mean: null, min: null, q10: null, q25: null, median: null, q75: null, q90: null, max: null })
    const full = JSON.parse(JSON.stringify(quantiles([1, 2, 3]))) as D.Quantiles
    expect(full.median).toBe(2)
  })

  it('compiled the type identities (see the consts above; tsc is the real check)', () => {
    const all = [taskName, split, dataFormat, quoting, columnRef, columnMapping, detectedTask, fileLayout, labelGuess, histogram,
      distribution, statistics, quantiles_, group, tensor, ird, method, runStatus, summary]
    expect(all.every(Boolean)).toBe(true)
  })
})

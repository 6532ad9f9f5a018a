/**
 * What the interface sees of a run folder: the Fisher chart data (from fisher-stats.json and IRD round
 * events), the snapshot a window loads before it follows events (milestones, a thinned training curve,
 * evaluations, results), and the run list with the live runs marked.
 *
 * Used by the host (snapshots, list) and by the engine process (the `run:fisher` event), so the charts
 * draw the same data live and afterwards. Must not: write to a run folder, or import tfjs (the host is
 * the Electron main process or the browser-mode server).
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type {
  CurvePoint,
  FisherChartData,
  Histogram,
  IrdRoundInfo,
  Quantiles,
  RunListEntry,
  RunMetric,
  RunProgress,
  RunSnapshot,
  RunSummaryInfo
} from '../../shared/contract'
import { RUN_CURVE_POINTS } from '../../shared/contract'
import type { Run, RunEvent, RunStore } from '../runs/store'

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as unknown
  } catch {
    return undefined
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)

function quantiles(q: unknown): Quantiles {
  const o = isObj(q) ? q : {}
  return {
    count: num(o.count) ?? 0,
    mean: num(o.mean),
    min: num(o.min),
    q10: num(o.q10),
    q25: num(o.q25),
    median: num(o.median),
    q75: num(o.q75),
    q90: num(o.q90),
    max: num(o.max)
  }
}

/** A histogram of log10 of the positive values, at most `bins` bins of equal width. */
export function log10Histogram(values: readonly number[], bins = 40): Histogram {
  const logs = values.filter((v) => v > 0 && Number.isFinite(v)).map((v) => Math.log10(v))
  if (!logs.length) return { edges: [], counts: [] }
  let lo = Infinity
  let hi = -Infinity
  for (const x of logs) {
    if (x < lo) lo = x
    if (x > hi) hi = x
  }
  if (hi - lo < 1e-9) hi = lo + 1
  const width = (hi - lo) / bins
  const counts = new Array<number>(bins).fill(0)
  for (const x of logs) counts[Math.min(bins - 1, Math.floor((x - lo) / width))]++
  return { edges: Array.from({ length: bins + 1 }, (_, i) => lo + i * width), counts }
}

/** IRD round records as they come from events (`ird-round`) or fisher-stats.json. */
export function irdRound(r: unknown): IrdRoundInfo | null {
  if (!isObj(r) || typeof r.round !== 'number') return null
  const fo = isObj(r.fishOverlap) ? r.fishOverlap : {}
  return {
    round: r.round,
    samplesBefore: num(r.samplesBefore) ?? 0,
    samplesAfter: num(r.samplesAfter) ?? 0,
    paramsBefore: num(r.paramsBefore) ?? 0,
    paramsAfter: num(r.paramsAfter) ?? 0,
    cut: r.cut === true,
    sampleMassKept: num(r.sampleMassKept) ?? 0,
    paramMassKept: num(r.paramMassKept) ?? 0,
    scores: quantiles(r.scores),
    fishOverlap: {
      intersection: num(fo.intersection) ?? 0,
      fractionOfFish: num(fo.fractionOfFish) ?? 0,
      fractionOfRange: num(fo.fractionOfRange) ?? 0,
      jaccard: num(fo.jaccard) ?? 0
    },
    gradientEvaluations: num(r.gradientEvaluations) ?? 0,
    reusedScorePass: r.reusedScorePass === true
  }
}

/**
 * The chart data of a run: from fisher-stats.json (SelectionStats, written when the mask is selected) and
 * the IRD rounds seen so far. Null when there is neither (random, bitfit, full, or not selected yet).
 */
export function fisherChartData(runId: string, method: string, stats: unknown, rounds: IrdRoundInfo[] = []): FisherChartData | null {
  const s = isObj(stats) ? stats : null
  const out: FisherChartData = { runId, method, irdRounds: rounds }
  if (s) {
    const f = isObj(s.fisher) ? s.fisher : null
    if (f) {
      out.scope = typeof f.scope === 'string' ? f.scope : undefined
      out.totalMass = num(f.totalMass) ?? undefined
      out.selectedMassFraction = num(f.selectedMassFraction) ?? undefined
      if (Array.isArray(f.perLayer)) {
        out.perLayer = f.perLayer.filter(isObj).map((g) => ({
          group: String(g.group),
          size: num(g.size) ?? 0,
          mass: num(g.mass) ?? 0,
          massFraction: num(g.massFraction) ?? 0,
          selected: num(g.selected) ?? 0,
          selectedMass: num(g.selectedMass) ?? 0
        }))
      }
      if (Array.isArray(f.perTensor)) {
        out.perTensor = f.perTensor.filter(isObj).map((t) => ({
          name: String(t.name),
          layer: num(t.layer) ?? -1,
          kind: String(t.kind),
          size: num(t.size) ?? 0,
          mass: num(t.mass) ?? 0,
          massFraction: num(t.massFraction) ?? 0,
          selected: num(t.selected) ?? 0,
          selectedMass: num(t.selectedMass) ?? 0
        }))
      }
      const h = isObj(f.histogram) ? f.histogram : null
      if (h && Array.isArray(h.edges) && Array.isArray(h.counts)) {
        out.histogram = {
          min: num(h.min) ?? 0,
          max: num(h.max) ?? 0,
          width: num(h.width) ?? 0,
          edges: h.edges.map((x) => num(x) ?? 0),
          counts: h.counts.map((x) => num(x) ?? 0),
          zeros: num(h.zeros) ?? 0,
          below: num(h.below) ?? 0,
          above: num(h.above) ?? 0
        }
      }
    }
    const ss = isObj(s.sampleScores) ? s.sampleScores : null
    if (ss && Array.isArray(ss.scores)) {
      const scores = ss.scores.map((x) => num(x) ?? 0)
      out.sampleScores = { scope: String(ss.scope ?? ''), count: scores.length, distribution: quantiles(ss.distribution), log10Histogram: log10Histogram(scores) }
    }
    const ird = isObj(s.ird) ? s.ird : null
    if (ird) {
      if (Array.isArray(ird.rounds) && ird.rounds.length >= rounds.length) {
        out.irdRounds = ird.rounds.map(irdRound).filter((r): r is IrdRoundInfo => r !== null)
      }
      const fo = irdRound({ round: 0, fishOverlap: ird.finalFishOverlap })
      out.ird = { poolSize: num(ird.poolSize) ?? 0, stopReason: String(ird.stopReason ?? ''), finalFishOverlap: fo!.fishOverlap }
    }
    if (isObj(s.selectedPerTensor)) {
      out.selectedPerTensor = Object.fromEntries(Object.entries(s.selectedPerTensor).map(([k, v]) => [k, num(v) ?? 0]))
    }
  }
  if (!s && rounds.length === 0) return null
  return out
}

/** Every n-th point so that at most `max` remain, always keeping the last. */
export function thin<T>(points: T[], max: number): T[] {
  if (points.length <= max) return points
  const step = points.length / max
  const out: T[] = []
  for (let i = 0; i < max - 1; i++) out.push(points[Math.floor(i * step)])
  out.push(points[points.length - 1])
  return out
}

/** The snapshot of one run: summary (with live state), config, milestones, curve, metrics, Fisher, results. */
export function runSnapshot(run: Run, summary: RunListEntry): RunSnapshot {
  const events: RunEvent[] = run.events()
  const milestones: RunEvent[] = []
  const curve: CurvePoint[] = []
  const metrics: RunMetric[] = []
  const rounds: IrdRoundInfo[] = []
  for (const e of events) {
    if (e.phase === 'train' && typeof e.step === 'number') {
      curve.push({
        step: e.step,
        epoch: num(e.epoch) ?? undefined,
        loss: num(e.loss) ?? undefined,
        lr: num(e.lr) ?? undefined,
        elapsedMs: e.elapsedMs
      })
      continue
    }
    milestones.push(e)
    if (e.phase === 'eval' && isObj(e.metrics)) {
      metrics.push({
        runId: run.id,
        epoch: num(e.epoch) ?? 0,
        epochs: num(e.epochs) ?? undefined,
        step: num(e.step) ?? undefined,
        metrics: Object.fromEntries(Object.entries(e.metrics).filter(([, v]) => num(v) !== null)) as Record<string, number>,
        main: num(e.main) ?? undefined,
        evalLoss: num(e.evalLoss) ?? undefined
      })
    }
    if (e.phase === 'ird-round') {
      const r = irdRound(e.round)
      if (r) rounds.push(r)
    }
  }
  const statsFile = join(run.dir, 'fisher-stats.json')
  const stats = existsSync(statsFile) ? readJson(statsFile) : undefined
  const config = readJson(join(run.dir, 'config.json'))
  const results = readJson(join(run.dir, 'results.json'))
  return {
    summary,
    config: isObj(config) ? config : null,
    events: milestones,
    curve: thin(curve, RUN_CURVE_POINTS),
    metrics,
    fisher: fisherChartData(run.id, summary.method, stats, rounds),
    results: isObj(results) ? results : null
  }
}

/** The store's list with the live runs marked (and their last progress). */
export function listRuns(store: RunStore, live: ReadonlyMap<string, RunProgress | undefined>): RunListEntry[] {
  return store.list().map((s: RunSummaryInfo) => {
    const isLive = live.has(s.id)
    const entry: RunListEntry = { ...s, live: isLive }
    // The store infers "interrupted" from a dead pid; a live run in this app's engine is running.
    if (isLive) {
      entry.status = 'running'
      delete entry.reason
      const p = live.get(s.id)
      if (p) entry.progress = p
    }
    return entry
  })
}

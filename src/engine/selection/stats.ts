/**
 * Fisher statistics for display and export: plain JSON-serialisable objects.
 * Owns: per-tensor and per-layer Fisher mass, the fixed-bin histogram of log10 F, quantiles.
 * Must not: select anything, or hold typed arrays (everything here crosses IPC as JSON).
 */
import { numel, type ParamSpec } from '../model/config'
import type { ParamMask } from '../mask/mask'

export interface Quantiles {
  count: number
  mean: number
  min: number
  q10: number
  q25: number
  median: number
  q75: number
  q90: number
  max: number
}

/** Linear-interpolation quantiles (numpy's default); all NaN for an empty list. */
export function quantiles(values: ArrayLike<number>): Quantiles {
  const xs = Float64Array.from(values as ArrayLike<number>).sort()
  const n = xs.length
  const q = (p: number) => {
    if (!n) return NaN
    const h = (n - 1) * p
    const lo = Math.floor(h)
    return xs[lo] + (h - lo) * ((xs[Math.min(lo + 1, n - 1)] ?? xs[lo]) - xs[lo])
  }
  let sum = 0
  for (const x of xs) sum += x
  return { count: n, mean: n ? sum / n : NaN, min: q(0), q10: q(0.1), q25: q(0.25), median: q(0.5), q75: q(0.75), q90: q(0.9), max: q(1) }
}

export interface HistogramSettings {
  /** log10 F of the first bin's left edge; default -20. */
  min: number
  /** log10 F of the last bin's right edge; default 4. */
  max: number
  /** Bin width in decades; default 0.5. */
  width: number
}

export const DEFAULT_HISTOGRAM: HistogramSettings = { min: -20, max: 4, width: 0.5 }

export interface Log10Histogram extends HistogramSettings {
  /** Bin edges in log10 F: counts[b] counts edges[b] ≤ log10 F < edges[b+1]. */
  edges: number[]
  counts: number[]
  /** F = 0 exactly (log10 undefined). */
  zeros: number
  /** 0 < F < 10^min. */
  below: number
  /** F ≥ 10^max. */
  above: number
}

export interface TensorFisherStats {
  name: string
  layer: number
  kind: ParamSpec['kind']
  size: number
  /** Σ F over the tensor. */
  mass: number
  /** mass / total mass over θ. */
  massFraction: number
  max: number
  /** Entries of the tensor in the mask. */
  selected: number
  /** Σ F over the selected entries. */
  selectedMass: number
}

export interface GroupFisherStats {
  /** "embeddings", "layer.0" … "layer.L-1", "pooler". */
  group: string
  size: number
  mass: number
  massFraction: number
  selected: number
  selectedMass: number
}

export interface FisherStats {
  /** Which F these are, e.g. "F over the 1024 FISH samples" or "F over the IRD pool D0". */
  scope: string
  totalMass: number
  /** Σ F over the selected θ entries / totalMass. */
  selectedMassFraction: number
  perTensor: TensorFisherStats[]
  perLayer: GroupFisherStats[]
  histogram: Log10Histogram
}

export function groupOf(s: ParamSpec): string {
  if (s.head) return 'head'
  if (s.layer >= 0) return `layer.${s.layer}`
  if (s.name.startsWith('bert.embeddings.')) return 'embeddings'
  return 'pooler'
}

/** Statistics of F (non-head tensors of `spec` present in F) and, optionally, of the mask's share of it. */
export function fisherStats(F: Map<string, Float32Array>, spec: readonly ParamSpec[], scope: string, mask?: ParamMask, hist: HistogramSettings = DEFAULT_HISTOGRAM): FisherStats {
  const nb = Math.round((hist.max - hist.min) / hist.width)
  const counts = new Array<number>(nb).fill(0)
  let zeros = 0
  let below = 0
  let above = 0
  const perTensor: TensorFisherStats[] = []
  let total = 0
  let selTotal = 0
  for (const s of spec) {
    if (s.head) continue
    const f = F.get(s.name)
    if (!f) continue
    let mass = 0
    let max = 0
    for (let i = 0; i < f.length; i++) {
      const v = f[i]
      mass += v
      if (v > max) max = v
      if (v <= 0) {
        zeros++
        continue
      }
      const b = Math.floor((Math.log10(v) - hist.min) / hist.width)
      if (b < 0) below++
      else if (b >= nb) above++
      else counts[b]++
    }
    const e = mask?.get(s.name)
    let selected = 0
    let selectedMass = 0
    if (e === 'all') {
      selected = numel(s.shape)
      selectedMass = mass
    } else if (e) {
      selected = e.length
      for (let j = 0; j < e.length; j++) selectedMass += f[e[j]]
    }
    total += mass
    selTotal += selectedMass
    perTensor.push({ name: s.name, layer: s.layer, kind: s.kind, size: numel(s.shape), mass, massFraction: 0, max, selected, selectedMass })
  }
  const groups = new Map<string, GroupFisherStats>()
  for (const t of perTensor) {
    t.massFraction = total > 0 ? t.mass / total : 0
    const g = groupOf(spec.find((s) => s.name === t.name)!)
    let G = groups.get(g)
    if (!G) groups.set(g, (G = { group: g, size: 0, mass: 0, massFraction: 0, selected: 0, selectedMass: 0 }))
    G.size += t.size
    G.mass += t.mass
    G.selected += t.selected
    G.selectedMass += t.selectedMass
  }
  for (const G of groups.values()) G.massFraction = total > 0 ? G.mass / total : 0
  const edges = Array.from({ length: nb + 1 }, (_, i) => hist.min + i * hist.width)
  return {
    scope,
    totalMass: total,
    selectedMassFraction: total > 0 ? selTotal / total : 0,
    perTensor,
    perLayer: [...groups.values()],
    histogram: { ...hist, edges, counts, zeros, below, above }
  }
}

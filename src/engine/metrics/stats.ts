/**
 * The metric functions behind GLUE: accuracy, F1, Matthews correlation, Pearson, Spearman, average ranks and
 * argmax over logits. Pure functions on number arrays / typed arrays, computed in float64, matching
 * scikit-learn 1.2 / SciPy 1.10 (test/reference/metrics_reference.py) to 1e-12 relative.
 * Must not: know about GLUE tasks (glue.ts), touch tensors, or return NaN: every undefined case has a defined
 * value, listed here.
 *
 * Defined values where the textbook formula divides by zero:
 *   - f1: 0 when precision + recall = 0 (no true positives), as sklearn's default zero_division ("warn" → 0).
 *   - matthews: 0 when either marginal variance is 0 (one class only in pred or gold), as sklearn.
 *   - pearson / spearman: 0 when either input is constant (this includes length 1). SciPy returns nan (and
 *     pearsonr raises for n < 2); we return 0 because a constant predictor carries no information about the
 *     target, the same convention sklearn uses for Matthews, and because a NaN would poison the GLUE mean
 *     and every chart downstream. This is a deliberate difference from SciPy, tested as such.
 */
import { checkArray, checkPair, MetricInputError, type Numbers } from './validate'

/** Fraction of positions where pred equals gold. Labels must be integers. */
export function accuracy(pred: Numbers, gold: Numbers): number {
  const n = checkPair('accuracy', 'pred', pred, 'gold', gold, true)
  let correct = 0
  for (let i = 0; i < n; i++) if (pred[i] === gold[i]) correct++
  return correct / n
}

/**
 * F1 of the `positive` label against all others (one-vs-rest; for 0/1 labels this is sklearn's
 * f1_score(average='binary', pos_label=positive)). 0 when there are no true positives.
 */
export function f1(pred: Numbers, gold: Numbers, positive = 1): number {
  const n = checkPair('f1', 'pred', pred, 'gold', gold, true)
  if (!Number.isInteger(positive)) throw new MetricInputError(`f1: positive = ${positive} is not an integer class label`)
  let tp = 0
  let fp = 0
  let fn = 0
  for (let i = 0; i < n; i++) {
    const p = pred[i] === positive
    const g = gold[i] === positive
    if (p && g) tp++
    else if (p) fp++
    else if (g) fn++
  }
  // 2PR/(P+R) = 2TP/(2TP+FP+FN): one rounding instead of three; the two agree to a few ulps.
  return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn)
}

/**
 * Matthews correlation coefficient, binary or multiclass (Gorodkin's R_K), as sklearn's matthews_corrcoef:
 * labels may be any integers. 0 when pred or gold holds a single class.
 */
export function matthews(pred: Numbers, gold: Numbers): number {
  const n = checkPair('matthews', 'pred', pred, 'gold', gold, true)
  // Per label: [count in gold, count in pred]. A map because labels need not be 0..K-1.
  const counts = new Map<number, [number, number]>()
  const entry = (label: number): [number, number] => {
    let e = counts.get(label)
    if (e === undefined) counts.set(label, (e = [0, 0]))
    return e
  }
  let correct = 0
  for (let i = 0; i < n; i++) {
    entry(gold[i])[0]++
    entry(pred[i])[1]++
    if (pred[i] === gold[i]) correct++
  }
  // Integer-valued and exact in float64 for n below ~9e7 (n² < 2^53), so the zero test is exact.
  let tp = 0
  let pp = 0
  let tt = 0
  for (const [t, p] of counts.values()) {
    tp += t * p
    pp += p * p
    tt += t * t
  }
  const covTP = correct * n - tp
  const covPP = n * n - pp
  const covTT = n * n - tt
  if (covPP === 0 || covTT === 0) return 0
  return covTP / Math.sqrt(covTT * covPP)
}

/** Neumaier-compensated sum of f(i) for i < n: keeps the mean exact to ~1 ulp for values with a large offset. */
function compensatedSum(n: number, f: (i: number) => number): number {
  let s = 0
  let c = 0
  for (let i = 0; i < n; i++) {
    const v = f(i)
    const t = s + v
    c += Math.abs(s) >= Math.abs(v) ? s - t + v : v - t + s
    s = t
  }
  return s + c
}

function isConstant(x: Numbers, n: number): boolean {
  for (let i = 1; i < n; i++) if (x[i] !== x[0]) return false
  return true
}

/** Pearson r of validated inputs of length n. */
function pearsonChecked(x: Numbers, y: Numbers, n: number): number {
  if (n < 2 || isConstant(x, n) || isConstant(y, n)) return 0
  // Two non-equal points are exactly (anti)collinear; say so exactly rather than to a few ulps (as SciPy).
  if (n === 2) return Math.sign(x[1] - x[0]) * Math.sign(y[1] - y[0])
  const mx = compensatedSum(n, (i) => x[i]) / n
  const my = compensatedSum(n, (i) => y[i]) / n
  // Two-pass: centre first, so values like 1e9 + small noise keep their digits (one-pass Σx² - n·m² does not).
  const dx = new Float64Array(n)
  const dy = new Float64Array(n)
  let ax = 0
  let ay = 0
  for (let i = 0; i < n; i++) {
    dx[i] = x[i] - mx
    dy[i] = y[i] - my
    ax = Math.max(ax, Math.abs(dx[i]))
    ay = Math.max(ay, Math.abs(dy[i]))
  }
  if (ax === 0 || ay === 0) return 0
  // Scale by powers of two (exact) to max |d| in [1, 2), so the sums of squares cannot overflow or
  // underflow for extreme magnitudes.
  const scaleX = 2 ** Math.floor(Math.log2(ax))
  const scaleY = 2 ** Math.floor(Math.log2(ay))
  for (let i = 0; i < n; i++) {
    dx[i] /= scaleX
    dy[i] /= scaleY
  }
  const sxy = compensatedSum(n, (i) => dx[i] * dy[i])
  const sxx = compensatedSum(n, (i) => dx[i] * dx[i])
  const syy = compensatedSum(n, (i) => dy[i] * dy[i])
  const r = sxy / Math.sqrt(sxx * syy)
  return Math.max(-1, Math.min(1, r))
}

/** Pearson correlation of x and y (order does not matter). 0 when either is constant, see the header. */
export function pearson(x: Numbers, y: Numbers): number {
  const n = checkPair('pearson', 'x', x, 'y', y, false)
  return pearsonChecked(x, y, n)
}

function rankChecked(x: Numbers, n: number): Float64Array {
  const order = new Uint32Array(n)
  for (let i = 0; i < n; i++) order[i] = i
  order.sort((a, b) => x[a] - x[b])
  const ranks = new Float64Array(n)
  for (let i = 0; i < n; ) {
    let j = i + 1
    // === treats -0 and 0 as one value, as numpy's rankdata does.
    while (j < n && x[order[j]] === x[order[i]]) j++
    // Sorted positions i..j-1 hold one value; their 1-based ranks i+1..j average to (i+1+j)/2, exactly.
    const r = (i + 1 + j) / 2
    for (let k = i; k < j; k++) ranks[order[k]] = r
    i = j
  }
  return ranks
}

/** 1-based ranks with ties given the average of their ranks (scipy.stats.rankdata, method='average'). */
export function rankAverage(x: Numbers): Float64Array {
  const n = checkArray('rankAverage', 'x', x, false)
  return rankChecked(x, n)
}

/** Spearman rank correlation: Pearson of average ranks (exact ties). 0 when either input is constant. */
export function spearman(x: Numbers, y: Numbers): number {
  const n = checkPair('spearman', 'x', x, 'y', y, false)
  return pearsonChecked(rankChecked(x, n), rankChecked(y, n), n)
}

/** Logits as a flat row-major buffer with its shape, e.g. { data: t.dataSync(), shape: t.shape }. */
export interface LogitsMatrix {
  data: ArrayLike<number>
  shape: readonly number[]
}

/** Logits as rows (number[][]) or as a flat buffer with shape [N, C]. */
export type Logits = readonly ArrayLike<number>[] | LogitsMatrix

/** Rows and columns of logits after checking the shape; throws for anything that is not an [N, C] matrix. */
export function logitsShape(fn: string, name: string, logits: Logits): [number, number] {
  if (logits === null || typeof logits !== 'object') {
    throw new MetricInputError(`${fn}: ${name} must be number[][] or { data, shape: [N, C] }, got ${typeof logits}`)
  }
  if ('shape' in logits && !Array.isArray(logits)) {
    const m = logits as LogitsMatrix
    // A tf.Tensor has a shape and a data() method; its values must be read out first.
    if (typeof m.data === 'function') {
      throw new MetricInputError(`${fn}: ${name} looks like a tensor; pass { data: t.dataSync(), shape: t.shape }`)
    }
    if (m.shape.length !== 2) throw new MetricInputError(`${fn}: ${name}.shape must be [N, C], got [${m.shape.join(', ')}]`)
    const [r, c] = m.shape
    if (!(r > 0) || !(c > 0)) throw new MetricInputError(`${fn}: ${name} is empty (shape [${r}, ${c}])`)
    if (m.data?.length !== r * c) {
      throw new MetricInputError(`${fn}: ${name}.data has ${m.data?.length} values, shape [${r}, ${c}] needs ${r * c}`)
    }
    return [r, c]
  }
  const rows = logits as readonly ArrayLike<number>[]
  if (typeof rows.length !== 'number') throw new MetricInputError(`${fn}: ${name} must be number[][] or { data, shape }`)
  if (rows.length === 0) throw new MetricInputError(`${fn}: ${name} is empty`)
  let c = -1
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]
    if (row === null || typeof row !== 'object' || typeof row.length !== 'number') {
      throw new MetricInputError(`${fn}: ${name}[${i}] is not a row of logits`)
    }
    if (c < 0) c = row.length
    if (row.length !== c) throw new MetricInputError(`${fn}: ${name}[${i}] has ${row.length} values, ${name}[0] has ${c}`)
  }
  if (c === 0) throw new MetricInputError(`${fn}: ${name} rows are empty`)
  return [rows.length, c]
}

/** Value (i, j) of logits whose shape logitsShape accepted. */
export function logitAt(logits: Logits, cols: number, i: number, j: number): number {
  return Array.isArray(logits) || !('shape' in logits)
    ? (logits as readonly ArrayLike<number>[])[i][j]
    : (logits as LogitsMatrix).data[i * cols + j]
}

/** Row-wise argmax → class indices; ties go to the first maximum (numpy / torch). NaN logits are an error. */
export function argmax(logits: Logits): Int32Array {
  const [n, c] = logitsShape('argmax', 'logits', logits)
  const out = new Int32Array(n)
  for (let i = 0; i < n; i++) {
    let best = 0
    let bestV = -Infinity
    for (let j = 0; j < c; j++) {
      const v = logitAt(logits, c, i, j)
      if (typeof v !== 'number' || Number.isNaN(v)) {
        throw new MetricInputError(`argmax: logits[${i}][${j}] is ${typeof v === 'number' ? 'NaN' : typeof v}`)
      }
      if (v > bestV || j === 0) {
        best = j
        bestV = v
      }
    }
    out[i] = best
  }
  return out
}

/**
 * Statistics for the study report: mean, sample standard deviation, and the paired t-test over seeds
 * (two-sided p from Student's t, via the regularised incomplete beta function; checked against scipy in
 * test/engine/study/stats.test.ts).
 * Must not: depend on anything but numbers.
 */

export function mean(x: readonly number[]): number {
  return x.reduce((s, v) => s + v, 0) / x.length
}

/** Sample standard deviation (n − 1); 0 for a single value. */
export function std(x: readonly number[]): number {
  if (x.length < 2) return 0
  const m = mean(x)
  return Math.sqrt(x.reduce((s, v) => s + (v - m) ** 2, 0) / (x.length - 1))
}

function logGamma(z: number): number {
  // Lanczos approximation (g = 7, n = 9), |error| < 1e-15 for z > 0.5
  const g = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7]
  if (z < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * z))) - logGamma(1 - z)
  z -= 1
  let a = g[0]
  const t = z + 7.5
  for (let i = 1; i < 9; i++) a += g[i] / (z + i)
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a)
}

/** Continued fraction for the incomplete beta (Numerical Recipes betacf, modified Lentz). */
function betacf(a: number, b: number, x: number): number {
  const tiny = 1e-300
  let c = 1
  let d = 1 - ((a + b) * x) / (a + 1)
  if (Math.abs(d) < tiny) d = tiny
  d = 1 / d
  let h = d
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m
    let aa = (m * (b - m) * x) / ((a - 1 + m2) * (a + m2))
    d = 1 + aa * d
    if (Math.abs(d) < tiny) d = tiny
    c = 1 + aa / c
    if (Math.abs(c) < tiny) c = tiny
    d = 1 / d
    h *= d * c
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + 1 + m2))
    d = 1 + aa * d
    if (Math.abs(d) < tiny) d = tiny
    c = 1 + aa / c
    if (Math.abs(c) < tiny) c = tiny
    d = 1 / d
    const del = d * c
    h *= del
    if (Math.abs(del - 1) < 1e-15) break
  }
  return h
}

/** Regularised incomplete beta I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0
  if (x >= 1) return 1
  const lbt = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x)
  const bt = Math.exp(lbt)
  return x < (a + 1) / (a + b + 2) ? (bt * betacf(a, b, x)) / a : 1 - (bt * betacf(b, a, 1 - x)) / b
}

/** Two-sided p-value of Student's t with df degrees of freedom. */
export function tTwoSidedP(t: number, df: number): number {
  if (!Number.isFinite(t)) return Number.isNaN(t) ? NaN : 0
  return incompleteBeta(df / (df + t * t), df / 2, 0.5)
}

export interface PairedTest {
  n: number
  meanDiff: number
  stdDiff: number
  /** NaN when n < 2 or every difference is equal (then p is 1 for a zero mean difference, else 0). */
  t: number
  p: number
}

/** Paired t-test of a − b (scipy.stats.ttest_rel). */
export function pairedTTest(a: readonly number[], b: readonly number[]): PairedTest {
  if (a.length !== b.length) throw new Error(`pairedTTest: ${a.length} vs ${b.length} values; pairs must match`)
  const d = a.map((v, i) => v - b[i])
  const n = d.length
  const m = n ? mean(d) : NaN
  const s = std(d)
  if (n < 2) return { n, meanDiff: m, stdDiff: s, t: NaN, p: NaN }
  if (s === 0) return { n, meanDiff: m, stdDiff: 0, t: m === 0 ? NaN : Math.sign(m) * Infinity, p: m === 0 ? 1 : 0 }
  const t = m / (s / Math.sqrt(n))
  return { n, meanDiff: m, stdDiff: s, t, p: tTwoSidedP(t, n - 1) }
}

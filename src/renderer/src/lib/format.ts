/**
 * Number, time and size formatting for the UI. Owns wording of numbers only; must not decide anything.
 * Every function accepts undefined/NaN and returns "–" for it, so a missing value never reads as 0.
 */

export const DASH = '–'

const ok = (x: number | undefined | null): x is number => typeof x === 'number' && Number.isFinite(x)

/** 1234567 → "1,234,567". */
export function int(x: number | undefined | null): string {
  return ok(x) ? Math.round(x).toLocaleString('en-US') : DASH
}

/** 4385920 → "4.39 M"; 812 → "812". */
export function compact(x: number | undefined | null): string {
  if (!ok(x)) return DASH
  const a = Math.abs(x)
  if (a >= 1e9) return `${(x / 1e9).toPrecision(3)} G`
  if (a >= 1e6) return `${(x / 1e6).toPrecision(3)} M`
  if (a >= 1e4) return `${(x / 1e3).toPrecision(3)} k`
  return Number.isInteger(x) ? String(x) : x.toPrecision(3)
}

/** 0.005 → "0.5 %"; digits are significant digits. */
export function percent(x: number | undefined | null, digits = 3): string {
  if (!ok(x)) return DASH
  const p = 100 * x
  return `${p === 0 ? '0' : Math.abs(p) >= 10 ? p.toFixed(1) : Number(p.toPrecision(digits)).toString()} %`
}

/** A metric in [0, 1] shown ×100 with two decimals, as GLUE tables do. */
export function metric(x: number | undefined | null): string {
  return ok(x) ? (100 * x).toFixed(2) : DASH
}

export function fixed(x: number | undefined | null, digits = 3): string {
  return ok(x) ? x.toFixed(digits) : DASH
}

/** A float that may be tiny or huge: 3 significant digits, exponent form outside [1e-3, 1e5). */
export function sci(x: number | undefined | null): string {
  if (!ok(x)) return DASH
  const a = Math.abs(x)
  if (a === 0) return '0'
  return a < 1e-3 || a >= 1e5 ? x.toExponential(2) : Number(x.toPrecision(3)).toString()
}

/** Milliseconds → "850 ms", "42 s", "3 min 05 s", "2 h 07 min". */
export function duration(ms: number | undefined | null): string {
  if (!ok(ms) || ms < 0) return DASH
  if (ms < 1000) return `${Math.round(ms)} ms`
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`
}

/** Bytes → "512 B", "1.5 KiB", "3.2 MiB", "1.1 GiB". */
export function bytes(n: number | undefined | null): string {
  if (!ok(n) || n < 0) return DASH
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = n
  let u = 0
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024
    u++
  }
  return u === 0 ? `${v} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`
}

/** An ISO time → local "2026-11-27 07:35:12"; unparsable text is shown as it is. */
export function dateTime(iso: string | undefined | null): string {
  if (!iso) return DASH
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  const p = (x: number) => String(x).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
}

/** "sst2" → "SST-2" etc.; unknown names unchanged. */
const TASK_NAMES: Record<string, string> = {
  cola: 'CoLA', sst2: 'SST-2', mrpc: 'MRPC', stsb: 'STS-B', qqp: 'QQP', mnli: 'MNLI-m', 'mnli-mm': 'MNLI-mm', qnli: 'QNLI', rte: 'RTE', wnli: 'WNLI'
}
export function taskName(t: string | undefined | null): string {
  return t ? (TASK_NAMES[t] ?? t) : DASH
}

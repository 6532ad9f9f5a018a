/**
 * The problem report: collects Problems while a file is read and checked, keeping every count but only
 * the first `capPerCode` problems of each code (a broken 10-million-row file must not build a
 * 10-million-entry report). Owns: capping, counting, the set of rows that hold errors, the summary.
 * Must not: decide what is a problem (the readers and validators do) or throw.
 */
import type { Problem, ProblemCode } from './types'

export const DEFAULT_PROBLEM_CAP = 1000

export class ProblemLog {
  readonly problems: Problem[] = []
  readonly counts: Partial<Record<ProblemCode, number>> = {}
  errorCount = 0
  warningCount = 0
  /** Lines (row starts) with at least one error: what `dropBadRows` removes. */
  readonly badLines = new Set<number>()
  /** Errors that make the whole file unusable (binary, empty, missing column...). */
  fileErrors = 0

  constructor(readonly capPerCode = DEFAULT_PROBLEM_CAP) {}

  add(p: Problem, scope: 'row' | 'file' = 'row'): void {
    const n = (this.counts[p.code] ?? 0) + 1
    this.counts[p.code] = n
    if (p.severity === 'error') {
      this.errorCount++
      if (scope === 'file') this.fileErrors++
      else this.badLines.add(p.line)
    } else {
      this.warningCount++
    }
    if (n <= this.capPerCode) this.problems.push(p)
  }

  addAll(ps: Iterable<Problem>): void {
    for (const p of ps) this.add(p)
  }

  count(code: ProblemCode): number {
    return this.counts[code] ?? 0
  }

  /** True when some code had more problems than were stored. */
  get truncated(): boolean {
    return Object.values(this.counts).some((n) => (n ?? 0) > this.capPerCode)
  }

  sorted(): Problem[] {
    // Stable by line so the report reads top to bottom; file-level problems sort with their line.
    return [...this.problems].sort((a, b) => a.line - b.line)
  }
}

/** One line per code, errors first: "3 errors: 2 × unknown_label (first: line 5), ...". */
export function summarizeProblems(problems: Problem[], counts: Partial<Record<ProblemCode, number>>): string {
  if (problems.length === 0) return 'no problems found'
  const first = new Map<ProblemCode, Problem>()
  for (const p of problems) if (!first.has(p.code)) first.set(p.code, p)
  const parts = [...first.values()]
    .sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1))
    .map((p) => `${counts[p.code] ?? 1} × ${p.code} (${p.severity}; first at line ${p.line})`)
  return parts.join(', ')
}

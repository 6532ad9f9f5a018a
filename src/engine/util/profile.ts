/**
 * An opt-in wall-clock profiler for the engine's own phases (scripts/bench/profile.ts turns it on).
 * `section(name, fn)` runs fn; while a profiler is installed it records fn's inclusive time under the
 * current path (phase/section/…). Off (the default) it costs one null check. Kernel time is attributed by
 * the profiling script, which wraps the backend's kernels in sections named `kernel:<Name>`.
 * Must not: change what fn computes, or be installed outside benchmarks.
 */

export interface ProfileEntry {
  path: string
  /** Wall-clock milliseconds. */
  ms: number
  /** CPU milliseconds of this process (user + system) while inside: robust to other load on the machine. */
  cpuMs: number
  calls: number
}

const cpuNow: () => number = (() => {
  const p = (globalThis as { process?: { cpuUsage?: () => { user: number; system: number } } }).process
  if (!p?.cpuUsage) return () => NaN
  return () => {
    const u = p.cpuUsage!()
    return (u.user + u.system) / 1000
  }
})()

export class Profiler {
  private readonly stack: string[] = []
  private readonly entries = new Map<string, ProfileEntry>()

  run<T>(name: string, fn: () => T): T {
    const done = this.enter(name)
    try {
      return fn()
    } finally {
      done()
    }
  }

  /** run() for an async fn: only meaningful while nothing else runs sections concurrently (benchmarks). */
  async runAsync<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const done = this.enter(name)
    try {
      return await fn()
    } finally {
      done()
    }
  }

  /** Open a section; the returned function closes it and adds its wall and CPU time under its path. */
  private enter(name: string): () => void {
    this.stack.push(name)
    const path = this.stack.join(' / ')
    const c0 = cpuNow()
    const t0 = performance.now()
    return () => {
      const ms = performance.now() - t0
      const cpu = cpuNow() - c0
      this.stack.pop()
      let e = this.entries.get(path)
      if (!e) this.entries.set(path, (e = { path, ms: 0, cpuMs: 0, calls: 0 }))
      e.ms += ms
      e.cpuMs += cpu
      e.calls++
    }
  }

  /** Inclusive time per path, in first-seen order. */
  result(): ProfileEntry[] {
    return [...this.entries.values()]
  }

  reset(): void {
    this.entries.clear()
  }
}

let active: Profiler | null = null

export function installProfiler(p: Profiler | null): void {
  active = p
}

export function activeProfiler(): Profiler | null {
  return active
}

/** Run fn as a named profiling section (a plain call when no profiler is installed). */
export function section<T>(name: string, fn: () => T): T {
  return active ? active.run(name, fn) : fn()
}

/** section() for an awaited step (an async read); see Profiler.runAsync. */
export function sectionAsync<T>(name: string, fn: () => Promise<T>): Promise<T> {
  return active ? active.runAsync(name, fn) : fn()
}

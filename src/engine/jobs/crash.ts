/**
 * Why an engine process died, in words a user can act on: for the host (the app's engine host, or any
 * process that starts jobs in a child) to record in the runs that process was running
 * (RunStore.failRunsOf), so that a crash or an out-of-memory kill reads as such — with advice and the
 * resume command — instead of a bare "interrupted". Other runs are not touched.
 *   V8 heap exhaustion ("JavaScript heap out of memory", SIGABRT / exit 134) → out of memory
 *   SIGKILL                      → killed; on Linux usually the kernel's out-of-memory killer
 *   SIGSEGV, SIGBUS, SIGILL, SIGABRT, exit 134/139 → native crash (often memory in the native backend)
 *   any other non-zero exit      → the exit code and the last line of stderr
 * Must not: read or write files (the store does), or guess beyond what the exit says.
 */
import type { RunStore } from '../runs/store'

export interface ProcessExit {
  code: number | null
  signal: string | null
  /** The end of the process's stderr, if the host kept it. */
  stderr?: string
}

export type CrashKind = 'oom' | 'killed' | 'native' | 'exit'

const ADVICE = 'smaller --batch-size, a shorter --max-length, or a smaller budget (--keep-ratio, --samples, --fisher-batch-size, fewer --workers)'

export function describeCrash(exit: ProcessExit): { kind: CrashKind; reason: string } {
  const err = exit.stderr ?? ''
  const last = err.trim().split('\n').filter(Boolean).pop()?.slice(0, 300)
  const how = exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`
  if (/JavaScript heap out of memory|Reached heap limit|Allocation failed - process out of memory|Aborted\(OOM\)|std::bad_alloc/i.test(err)) {
    return { kind: 'oom', reason: `out of memory: the engine process ran out of memory and was stopped (${how}). Start a new run with a ${ADVICE}` }
  }
  if (exit.signal === 'SIGKILL') {
    return { kind: 'killed', reason: `the engine process was killed (SIGKILL): on Linux usually the system's out-of-memory killer. If memory was short, start a new run with a ${ADVICE}; otherwise resume it` }
  }
  if ((exit.signal && /^SIG(SEGV|BUS|ILL|ABRT|FPE)$/.test(exit.signal)) || exit.code === 134 || exit.code === 139) {
    return { kind: 'native', reason: `the engine process crashed in native code (${how})${last ? `: ${last}` : ''}. This is often memory in the backend: try a ${ADVICE}` }
  }
  return { kind: 'exit', reason: `the engine process exited unexpectedly (${how})${last ? `: ${last}` : ''}` }
}

/**
 * Record a dead engine process's end in the runs it was running (status "running" with its pid), with the
 * reason and how to continue. Returns the run ids marked failed.
 */
export function recordEngineExit(store: RunStore, pid: number, exit: ProcessExit): string[] {
  const { reason } = describeCrash(exit)
  return store.failRunsOf(pid, (id) => `${reason} (\`ird-studio resume ${id}\` continues from its last checkpoint)`)
}

/**
 * The shape of one CLI command. Commands beyond the core ones live in src/cli/commands/<name>.ts, each
 * exporting a `Record<string, Command>`, and are listed in src/cli/commands/index.ts.
 */
import { resolve } from 'node:path'
import { defaultAppDataDir, defaultRunsDir } from '../engine/host/paths'
import { BACKEND_CHOICES } from '../shared/contract'
import { UsageError, type FlagSpec, type Flags } from './args'
import type { Progress } from './progress'

export interface Command {
  summary: string
  flags: Record<string, FlagSpec>
  /** Usage of positional arguments (e.g. "<kind>"); commands without it refuse them. */
  positional?: string
  run(flags: Flags, progress: Progress, positional: string[]): Promise<number>
}

export type CommandTable = Record<string, Command>

/** No default: unset means $IRD_BACKEND, else auto (a default here would hide the variable). */
export const BACKEND_FLAG: FlagSpec = { type: 'string', help: 'TensorFlow.js backend (default: $IRD_BACKEND, else auto)', choices: BACKEND_CHOICES }
/** Where runs live unless --runs says otherwise: the folder the desktop app and `serve` use. */
export const RUNS_HELP = 'runs folder (default: $IRD_RUNS_DIR, else the desktop app\'s, <app data>/runs: the one `serve` and the app show)'
export const RUNS_FLAG: FlagSpec = { type: 'string', help: RUNS_HELP, metavar: 'DIR' }

/**
 * The runs folder of a command: --runs, else (`run` only: outIsRunsAlias) its older alias --out, else $IRD_RUNS_DIR, else
 * the app's runs folder — one place for the CLI, `serve` and the desktop app.
 */
export function runsDirOf(flags: Flags, opts: { outIsRunsAlias?: boolean; env?: NodeJS.ProcessEnv } = {}): string {
  const env = opts.env ?? process.env
  const runs = typeof flags.runs === 'string' && flags.runs ? flags.runs : undefined
  const out = opts.outIsRunsAlias && typeof flags.out === 'string' && flags.out ? flags.out : undefined
  if (runs && out && resolve(runs) !== resolve(out)) throw new UsageError(`--runs ${runs} and --out ${out} name two runs folders: give one (--out is the older name of --runs)`)
  const dir = runs ?? out
  return dir ? resolve(dir) : defaultRunsDir(defaultAppDataDir(env), env)
}

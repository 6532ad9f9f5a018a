/**
 * The shape of one CLI command. Commands beyond the core ones live in src/cli/commands/<name>.ts, each
 * exporting a `Record<string, Command>`, and are listed in src/cli/commands/index.ts.
 */
import { BACKEND_CHOICES } from '../shared/contract'
import type { FlagSpec, Flags } from './args'
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
export const RUNS_FLAG: FlagSpec = { type: 'string', help: 'runs directory', default: 'runs', metavar: 'DIR' }

/**
 * The shape of one CLI command. Commands beyond the core ones live in src/cli/commands/<name>.ts, each
 * exporting a `Record<string, Command>`, and are listed in src/cli/commands/index.ts.
 */
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

export const BACKEND_FLAG: FlagSpec = { type: 'string', help: 'TensorFlow.js backend', default: 'auto', choices: ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] }
export const RUNS_FLAG: FlagSpec = { type: 'string', help: 'runs directory', default: 'runs', metavar: 'DIR' }

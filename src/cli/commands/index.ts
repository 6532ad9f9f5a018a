/**
 * Commands beyond the core ones (run, mask, init-model, list, compare, bench, eval, predict): one file each
 * under this folder, merged here. Add one import and one spread per file.
 */
import type { CommandTable } from '../command'
import { studyCommands } from './study'
import { exportCommands } from './export'
import { resumeCommands } from './resume'
import { serveCommands } from './serve'
import { fisherCommands } from './fisher'

export const extraCommands: CommandTable = { ...studyCommands, ...exportCommands, ...resumeCommands, ...serveCommands, ...fisherCommands }

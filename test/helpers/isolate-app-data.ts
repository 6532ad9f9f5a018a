/**
 * vitest globalSetup: every test process (and every CLI or engine child it spawns) sees its own app data
 * folder, so no test reads or writes the user's real runs folder (~/.config/IRD Studio/runs), which is
 * where commands without --runs put runs.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'ird-test-appdata-'))
  if (!process.env.IRD_DATA_DIR) process.env.IRD_DATA_DIR = dir
  return () => rmSync(dir, { recursive: true, force: true })
}

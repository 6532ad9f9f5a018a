/**
 * Child process for the unpacking tests: imports a bundle the way `ird-studio import-run` does
 * (importRunBundle into a RunStore) and reports the outcome and its own peak resident memory as one JSON
 * line. Usage: node --import tsx test/hostile/import-child.ts BUNDLE.zip RUNS_DIR
 */
// the bundle module alone: what import-run runs, without the rest of the CLI (tfjs) in the measurement
import { importRunBundle } from '../../src/engine/export/bundle'
import { RunStore } from '../../src/engine/runs/store'

const [bundle, runs] = process.argv.slice(2)
let error: string | null = null
let id: string | null = null
try {
  id = importRunBundle(new RunStore(runs), bundle).id
} catch (e) {
  error = `${(e as Error).name}: ${(e as Error).message}`
}
// resourceUsage().maxRSS is in KiB
process.stdout.write(JSON.stringify({ id, error, maxRssBytes: process.resourceUsage().maxRSS * 1024 }) + '\n')

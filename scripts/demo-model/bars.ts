/**
 * The demo encoder's sparse-mask quality bar (issue 16), read from a study's results.json:
 * per task, FISH and IRD against a random mask of the same size (same keep ratio and sample budget, same
 * seeds): mean ± sample std over seeds, the margin over random, a paired t-test over seeds, and whether
 * the margin is larger than the seed spread (the larger of the two methods' standard deviations).
 *
 *   npx tsx scripts/demo-model/bars.ts docs/demo-encoder-bars.json [--keep 0.005] [--samples 1024]
 *
 * (a study's JSON report: the --report file's .json sibling, e.g. docs/results.json for studies/glue-demo.json).
 *
 * Prints a markdown table (scores ×100, as GLUE reports them) for the model card.
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { mean, pairedTTest, std } from '../../src/engine/study/stats'

export interface StudyGroup {
  task: string
  method: string
  keepRatio: number
  nSamples: number
  seeds: number[]
  values: number[]
  degenerateSeeds?: number[]
}

export interface BarRow {
  task: string
  method: string
  n: number
  mean: number
  std: number
  /** Seeds whose run predicted a constant (one class for ≥ 98 % of dev rows). */
  constant: number
  vsRandom?: { margin: number; spread: number; p: number; holds: boolean }
}

/** Rows for every task with a random group; FISH and IRD are paired with random seed by seed. */
export function barRows(groups: StudyGroup[], keepRatio: number, nSamples: number): BarRow[] {
  const at = groups.filter((g) => g.keepRatio === keepRatio && (g.method === 'random' || g.nSamples === nSamples))
  const rows: BarRow[] = []
  for (const task of [...new Set(at.map((g) => g.task))]) {
    const random = at.find((g) => g.task === task && g.method === 'random')
    for (const method of ['fish', 'ird', 'random']) {
      const g = at.find((x) => x.task === task && x.method === method)
      if (!g) continue
      const row: BarRow = { task, method, n: g.values.length, mean: mean(g.values), std: std(g.values), constant: g.degenerateSeeds?.length ?? 0 }
      if (random && method !== 'random') {
        const seeds = g.seeds.filter((s) => random.seeds.includes(s))
        const a = seeds.map((s) => g.values[g.seeds.indexOf(s)])
        const b = seeds.map((s) => random.values[random.seeds.indexOf(s)])
        const margin = mean(a) - mean(b)
        const spread = Math.max(std(a), std(b))
        row.vsRandom = { margin, spread, p: pairedTTest(a, b).p, holds: margin > spread }
      }
      rows.push(row)
    }
  }
  return rows
}

export function renderBars(rows: BarRow[]): string {
  const f = (x: number) => (100 * x).toFixed(2)
  const lines = ['| task | method | dev score, mean ± std (seeds) | constant seeds | margin over random | seed spread | paired t-test p | margin > spread |', '|---|---|---|---|---|---|---|---|']
  for (const r of rows) {
    const v = r.vsRandom
    lines.push(`| ${r.task} | ${r.method} | ${f(r.mean)} ± ${f(r.std)} (${r.n}) | ${r.constant} of ${r.n} | ${v ? (v.margin >= 0 ? '+' : '') + f(v.margin) : '–'} | ${v ? f(v.spread) : '–'} | ${v ? (Number.isNaN(v.p) ? '–' : v.p.toPrecision(2)) : '–'} | ${v ? (v.holds ? 'yes' : '**no**') : '–'} |`)
  }
  return lines.join('\n') + '\n'
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/').split('/').pop()!)) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { keep: { type: 'string', default: '0.005' }, samples: { type: 'string', default: '1024' } } })
  if (!positionals[0]) {
    process.stderr.write('usage: bars.ts RESULTS.json [--keep 0.005] [--samples 1024]\n')
    process.exit(2)
  }
  const file = positionals[0]
  const fail = (why: string): never => {
    process.stderr.write(`bars.ts: ${file}: ${why}; give a study's JSON report, e.g. docs/demo-encoder-bars.json\n`)
    process.exit(1)
  }
  let results: { groups?: StudyGroup[] } = {}
  try {
    results = JSON.parse(readFileSync(file, 'utf8')) as { groups?: StudyGroup[] }
  } catch (e) {
    fail(`cannot read it (${(e as Error).message})`)
  }
  if (!Array.isArray(results.groups)) fail('no "groups": not a study\'s JSON report')
  process.stdout.write(renderBars(barRows(results.groups!, Number(values.keep), Number(values.samples))))
}

/**
 * One writer of the concurrent-writers test: creates `count` runs in a shared runs folder as fast as it
 * can (config, status, summary, events, results, finish) — what one Slurm array task does to the store.
 * argv: <runs dir> <writer id> <count>
 */
import { RunStore } from '../../../src/engine/runs/store'

const [root, writer, count] = [process.argv[2], process.argv[3], Number(process.argv[4])]
const store = new RunStore(root)
for (let i = 0; i < count; i++) {
  const run = store.create({ task: 'sst2', method: 'fish', name: `w${writer}-${i}`, config: { writer, i, payload: 'x'.repeat(20_000) }, summary: { task: 'sst2', method: 'fish', model: 'm', seed: i } })
  for (let e = 0; e < 5; e++) run.event('train', { step: e, writer, i })
  run.writeJson('results.json', { writer, i, values: Array.from({ length: 500 }, (_, k) => k * i) })
  run.writeSummary()
  run.finish('completed', { main: i / 100 })
}
process.stdout.write('done\n')

/**
 * `npm run bench`: the engine next to the PyTorch peer, measured in this run on this machine.
 *  1. side by side (every core on both sides): peer, ours, peer per model size — Fisher (our worker pool
 *     vs the FISH reference's batch-1 loop) and training (our masked 0.5 % through the gradient pool vs
 *     dense AdamW); ratios and what each side ran on (BLAS, threads, CPU, tokens, batch, model size);
 *  2. engine only: one-thread forward, forward+backward and Fisher at a fixed length (--models);
 *  3. Fisher on real SST-2 sentences (dynamic padding), next to the peer's batch-1 figure (which pads to 128).
 * Options: --side-models tiny,mini  --models tiny,mini  --task-models tiny,mini (none: skip)  --seq 128  --seconds 4
 *          --workers N (default: every core)  --peer-threads N,1 (default every core and 1; ratios vs the best)  --no-peer  --backend auto|wasm|cpu|…  --out .bench/bench.json
 * The peer needs /usr/bin/python3 with torch (python3-torch + libopenblas0-pthread); without it the
 * engine's absolute figures are printed and the reason is said. See src/engine/bench/peer.ts.
 * Reads the vocabulary and SST-2 from ../shared/data (IRD_SHARED_DATA overrides): benchmarks may, the app never does.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'
import { initBackend, describeBackend, type BackendName } from '../src/engine/backend'
import { benchModel, findBenchModels, type ModelBenchResult } from '../src/engine/bench/model-bench'
import { findPeer } from '../src/engine/bench/peer'
import { benchSideBySide, bestPeer, renderSideBySide, type SideBySideRow } from '../src/engine/bench/side-by-side'
import { benchTask, type TaskBenchResult } from '../src/engine/bench/task-bench'
import { loadGlueSplit } from '../src/engine/data'
import { writeJsonAtomic } from '../src/engine/io/atomic'
import { BertTokenizer } from '../src/engine/tokenizer'

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def
}
const list = (s: string) => (s === 'none' ? [] : s.split(',').filter(Boolean))

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const shared = process.env.IRD_SHARED_DATA ?? resolve(root, '../shared/data')
const sideModels = findBenchModels(list(arg('side-models', 'tiny,mini')))
const models = findBenchModels(list(arg('models', 'tiny,mini')))
const taskModels = findBenchModels(list(arg('task-models', 'tiny,mini')))
const seqLen = Number(arg('seq', '128'))
const seconds = Number(arg('seconds', '4'))
const workers = Number(arg('workers', String(availableParallelism())))
// the peer at every core (as the goals say) and at one thread: on a loaded machine OpenMP threads can be far slower
const peerThreads = arg('peer-threads', `${availableParallelism()},1`).split(',').map(Number).filter((t) => t > 0)
const out = resolve(arg('out', '.bench/bench.json'))
const info = await initBackend({ force: arg('backend', 'auto') as BackendName | 'auto' })
const backend = describeBackend(info)
console.log(`backend: ${backend}`)
const load0 = loadavg()
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}; load average at start ${load0.map((l) => l.toFixed(1)).join(' / ')}\n`)

const { peer, reason } = process.argv.includes('--no-peer') ? { peer: null, reason: '--no-peer' } : findPeer({ root })
if (!peer) console.log(`PyTorch peer: none (${reason}); the engine's absolute figures only\n`)
else if (peer.note) console.log(`PyTorch peer: ${peer.note}\n`)

const log = (s: string) => console.log(`  ${s}`)
let side: SideBySideRow[] = []
if (sideModels.length) side = await benchSideBySide(sideModels, { seqLen, seconds, workers, peerThreads, backend: info.name, peer, log })

const results: ModelBenchResult[] = []
for (const m of models) results.push(await benchModel(m, { seqLen, minSeconds: seconds, log }))

const tasks: TaskBenchResult[] = []
if (taskModels.length) {
  const vocab = join(shared, 'vocab/bert-base-uncased-vocab.txt')
  if (!existsSync(vocab)) {
    console.log(`\n(skipping the SST-2 Fisher benchmark: ${vocab} not found; set IRD_SHARED_DATA)`)
  } else {
    const tokenizer = BertTokenizer.fromVocab(readFileSync(vocab, 'utf8'), { doLowerCase: true })
    const sst2 = await loadGlueSplit(join(shared, 'glue/SST-2'), 'sst2', 'train')
    for (const m of taskModels) tasks.push(await benchTask(m, tokenizer, sst2.examples, { workers, log }))
  }
}
const load1 = loadavg()

const mb = (b: number) => (b / 2 ** 20).toFixed(0)
if (side.length) {
  console.log('\nSide by side, one run (peer, ours, peer per model; ranges over the peer\'s two runs)')
  console.log(renderSideBySide(side, reason))
}
if (results.length) {
  console.log(`Engine only, one thread: sequence length ${seqLen}; forward batch 32; forward+backward (all parameter gradients) and Fisher (per-sample, every non-head parameter) batch 16`)
  console.log('| model | params | forward samples/s | fwd+bwd samples/s | Fisher samples/s | peak tensors MiB | peak RSS MiB |')
  console.log('|---|---|---|---|---|---|---|')
  for (const r of results) {
    console.log(`| ${r.model} (${r.layers}/${r.hidden}) | ${(r.parameters / 1e6).toFixed(1)} M | ${r.forward.samplesPerSec.toFixed(1)} | ${r.forwardBackward.samplesPerSec.toFixed(1)} | ${r.fisher.samplesPerSec.toFixed(1)} | ${mb(r.peakTensorBytes)} | ${mb(r.peakRssBytes)} |`)
  }
}
if (tasks.length) {
  console.log('\nFisher on SST-2 train sentences (dynamic padding, length buckets, batch 16); the FISH reference pads to 128 tokens, so its real-data rate is its batch-1 rate at 128')
  console.log('| model | mean tokens | Fisher/s, 1 thread | Fisher/s, all workers (start-up included) | peer batch-1 Fisher/s at 128 (best thread count) | ratio |')
  console.log('|---|---|---|---|---|---|')
  for (const t of tasks) {
    const row = side.find((r) => r.model === t.model)
    const pf = (row && bestPeer(row.peer, (p) => p.fisher!.samples_per_sec)?.rates) ?? []
    const ratio = pf.length ? `${(t.fisherReal.parallelSamplesPerSec / Math.max(...pf)).toFixed(2)}–${(t.fisherReal.parallelSamplesPerSec / Math.min(...pf)).toFixed(2)}×` : '–'
    const peerTxt = pf.length ? `${Math.min(...pf).toFixed(1)}–${Math.max(...pf).toFixed(1)}` : '–'
    console.log(`| ${t.model} | ${t.fisherReal.meanTokens.toFixed(1)} | ${t.fisherReal.samplesPerSec.toFixed(1)} | ${t.fisherReal.parallelSamplesPerSec.toFixed(1)} | ${peerTxt} | ${ratio} |`)
  }
}
console.log(`\nload average at end ${load1.map((l) => l.toFixed(1)).join(' / ')} (${cpus().length} cores; other work on the machine slows both sides)`)
mkdirSync(dirname(out), { recursive: true })
writeJsonAtomic(out, {
  date: new Date().toISOString(),
  backend: info,
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memBytes: totalmem(), node: process.version, loadAverageStart: load0, loadAverageEnd: load1 },
  seqLen,
  peer: peer ? { python: peer.python, script: peer.script, transformersPath: peer.transformersPath, note: peer.note } : { none: reason },
  sideBySide: side,
  models: results,
  tasks
})
console.log(`wrote ${out}`)

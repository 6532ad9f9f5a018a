/**
 * `npm run bench`: throughput on the active backend next to the PyTorch peer (PLATFORM.md).
 *  1. model: forward, forward+backward and per-sample Fisher samples/s at a fixed sequence length;
 *  2. task: Fisher on real SST-2 sentences (dynamic padding, length buckets) and masked fine-tuning.
 * Options: --models tiny,mini,small  --task-models tiny,mini  --seq 128  --seconds 4
 *          --backend auto|wasm|cpu|tensorflow|tensorflow-gpu  --out .bench/bench.json
 * Reads the vocabulary and SST-2 from ../shared/data (IRD_SHARED_DATA overrides): benchmarks may, the app never does.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { cpus, totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'
import { initBackend, describeBackend, type BackendName } from '../src/engine/backend'
import { benchModel, findBenchModels, type ModelBenchResult } from '../src/engine/bench/model-bench'
import { benchTask, type TaskBenchResult } from '../src/engine/bench/task-bench'
import { loadGlueSplit } from '../src/engine/data'
import { writeJsonAtomic } from '../src/engine/io/atomic'
import { BertTokenizer } from '../src/engine/tokenizer'

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const shared = process.env.IRD_SHARED_DATA ?? resolve(root, '../shared/data')
const models = findBenchModels(arg('models', 'tiny,mini,small').split(',').filter(Boolean))
const taskModels = findBenchModels(arg('task-models', 'tiny,mini').split(',').filter(Boolean))
const seqLen = Number(arg('seq', '128'))
const seconds = Number(arg('seconds', '4'))
const out = resolve(arg('out', '.bench/bench.json'))
const info = await initBackend({ force: arg('backend', 'auto') as BackendName | 'auto' })
console.log(`backend: ${describeBackend(info)}`)
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}\n`)
const results: ModelBenchResult[] = []
for (const m of models) results.push(await benchModel(m, { seqLen, minSeconds: seconds, log: (s) => console.log(`  ${s}`) }))

const tasks: TaskBenchResult[] = []
if (taskModels.length) {
  const vocab = join(shared, 'vocab/bert-base-uncased-vocab.txt')
  if (!existsSync(vocab)) {
    console.log(`\n(skipping the task benchmark: ${vocab} not found; set IRD_SHARED_DATA)`)
  } else {
    const tokenizer = BertTokenizer.fromVocab(readFileSync(vocab, 'utf8'), { doLowerCase: true })
    const sst2 = await loadGlueSplit(join(shared, 'glue/SST-2'), 'sst2', 'train')
    for (const m of taskModels) tasks.push(await benchTask(m, tokenizer, sst2.examples, { log: (s) => console.log(`  ${s}`) }))
  }
}

const mb = (b: number) => (b / 2 ** 20).toFixed(0)
const x = (r: number) => `${r.toFixed(2)}×`
console.log(`\nModel throughput: sequence length ${seqLen}, one engine process; forward batch 32; forward+backward (all parameter gradients) and Fisher (per-sample, every non-head parameter) batch 16`)
console.log('| model | params | forward samples/s | fwd+bwd samples/s | vs PyTorch dense train | Fisher samples/s | vs PyTorch batch-1 Fisher | peak tensors MiB | peak RSS MiB |')
console.log('|---|---|---|---|---|---|---|---|---|')
for (const r of results) {
  console.log(
    `| ${r.model} (${r.layers}/${r.hidden}) | ${(r.parameters / 1e6).toFixed(1)} M | ${r.forward.samplesPerSec.toFixed(1)} | ${r.forwardBackward.samplesPerSec.toFixed(1)} | ${x(r.forwardBackward.vsTorchTrain)} of ${r.torch.trainPerSec} | ${r.fisher.samplesPerSec.toFixed(1)} | ${x(r.fisher.vsTorchFisher)} of ${r.torch.fisherPerSec} | ${mb(r.peakTensorBytes)} | ${mb(r.peakRssBytes)} |`
  )
}
if (tasks.length) {
  console.log('\nEvery core (Fisher worker threads, start-up included) and the real workload: Fisher on SST-2 train sentences (dynamic padding, length buckets, batch 16); masked fine-tuning with a 0.5 % mask at length 128, batch 16')
  console.log('| model | workers | Fisher/s at 128 tokens | vs PyTorch batch-1 Fisher | Fisher/s SST-2, 1 thread | Fisher/s SST-2, all workers | mean tokens | vs PyTorch | masked train/s, 1 thread | masked train/s, all workers | vs half of PyTorch dense train (target ≥ 1) |')
  console.log('|---|---|---|---|---|---|---|---|---|---|---|')
  for (const t of tasks) {
    const m = models.find((b) => b.name === t.model) ?? findBenchModels([t.model])[0]
    console.log(
      `| ${t.model} | ${t.workers} | ${t.fisher128Parallel.samplesPerSec.toFixed(1)} | ${x(t.fisher128Parallel.vsTorchFisher)} of ${m.torchFisherPerSec} | ${t.fisherReal.samplesPerSec.toFixed(1)} | ${t.fisherReal.parallelSamplesPerSec.toFixed(1)} | ${t.fisherReal.meanTokens.toFixed(1)} | ${x(t.fisherReal.parallelVsTorchFisher)} | ${t.maskedTrain.samplesPerSec.toFixed(1)} | ${t.maskedTrain.parallelSamplesPerSec.toFixed(1)} | ${x(t.maskedTrain.parallelVsHalfTorchTrain)} of ${(m.torchTrainPerSec / 2).toFixed(1)} |`
    )
  }
}
mkdirSync(dirname(out), { recursive: true })
writeJsonAtomic(out, {
  date: new Date().toISOString(),
  backend: info,
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memBytes: totalmem(), node: process.version },
  seqLen,
  models: results,
  tasks
})
console.log(`\nwrote ${out}`)

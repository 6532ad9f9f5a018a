/**
 * `npm run bench`: model throughput on the active backend vs the PyTorch peer (PLATFORM.md).
 * Options: --models tiny,mini,small  --seq 128  --backend auto|wasm|cpu|tensorflow|tensorflow-gpu
 *          --seconds 4  --out .bench/bench.json
 */
import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { cpus, totalmem } from 'node:os'
import { initBackend, describeBackend, type BackendName } from '../src/engine/backend'
import { benchModel, findBenchModels, type ModelBenchResult } from '../src/engine/bench/model-bench'
import { writeJsonAtomic } from '../src/engine/io/atomic'

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def
}

const models = findBenchModels(arg('models', 'tiny,mini,small').split(','))
const seqLen = Number(arg('seq', '128'))
const out = resolve(arg('out', '.bench/bench.json'))
const info = await initBackend({ force: arg('backend', 'auto') as BackendName | 'auto' })
console.log(`backend: ${describeBackend(info)}`)
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}\n`)
const results: ModelBenchResult[] = []
for (const m of models) {
  results.push(await benchModel(m, { seqLen, minSeconds: Number(arg('seconds', '4')), log: (s) => console.log(`  ${s}`) }))
}
const mb = (b: number) => (b / 2 ** 20).toFixed(0)
console.log(`\nsequence length ${seqLen}, one engine process; forward batch 32; forward+backward (all parameter gradients) and Fisher (per-sample, every non-head parameter) batch 16`)
console.log('| model | params | forward samples/s | fwd+bwd samples/s | vs PyTorch dense train | Fisher samples/s | vs PyTorch batch-1 Fisher | peak tensors MiB | peak RSS MiB |')
console.log('|---|---|---|---|---|---|---|---|---|')
for (const r of results) {
  console.log(
    `| ${r.model} (${r.layers}/${r.hidden}) | ${(r.parameters / 1e6).toFixed(1)} M | ${r.forward.samplesPerSec.toFixed(1)} | ${r.forwardBackward.samplesPerSec.toFixed(1)} | ${r.forwardBackward.vsTorchTrain.toFixed(2)}× of ${r.torch.trainPerSec} | ${r.fisher.samplesPerSec.toFixed(1)} | ${r.fisher.vsTorchFisher.toFixed(2)}× of ${r.torch.fisherPerSec} | ${mb(r.peakTensorBytes)} | ${mb(r.peakRssBytes)} |`
  )
}
mkdirSync(dirname(out), { recursive: true })
writeJsonAtomic(out, { date: new Date().toISOString(), backend: info, machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memBytes: totalmem(), node: process.version }, seqLen, models: results })
console.log(`\nwrote ${out}`)

/**
 * `npm run bench:webgpu`: the WebGPU rows beside wasm in one run (src/engine/bench/gpu-bench.ts). The
 * backend lines name the adapter; a software adapter (lavapipe) is measured too, forced, and labelled.
 * Options: --models tiny,mini  --seq 128  --batch 8  --seconds 3  --matmul 1024  --steps 3
 *          --backends webgpu,wasm  --out .bench/webgpu.json
 */
import { mkdirSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { dirname, resolve } from 'node:path'
import { findBenchModels } from '../src/engine/bench/model-bench'
import { benchGpu, gpuBenchTable } from '../src/engine/bench/gpu-bench'
import { writeJsonAtomic } from '../src/engine/io/atomic'

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def
}

const models = findBenchModels(arg('models', 'tiny,mini').split(',').filter(Boolean))
const backends = arg('backends', 'webgpu,wasm').split(',').filter(Boolean) as Array<'webgpu' | 'wasm'>
const out = resolve(arg('out', '.bench/webgpu.json'))
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`)
const r = await benchGpu(models, {
  backends,
  seqLen: Number(arg('seq', '128')),
  batch: Number(arg('batch', '8')),
  seconds: Number(arg('seconds', '3')),
  matmulN: Number(arg('matmul', '1024')),
  trainSteps: Number(arg('steps', '3')),
  log: (s) => console.log(s)
})
console.log(`\n${gpuBenchTable(r.rows)}`)
mkdirSync(dirname(out), { recursive: true })
writeJsonAtomic(out, { date: new Date().toISOString(), machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memBytes: totalmem() }, backends: r.backends.map((b) => ({ name: b.name, line: b.line, adapter: b.info.adapter ?? null })), rows: r.rows })
console.log(`\nwrote ${out}`)
// Dawn keeps the process alive while its GPU instance exists (node-webgpu README): leave explicitly
process.exit(0)

/**
 * `npm run bench:job`: the end-to-end job against the FISH reference pipeline, on this machine, in one run.
 * The job: a FISH mask from --fisher-samples training examples, then --epochs of masked fine-tuning at
 * --keep-ratio, dev accuracy after each epoch. Ours: `ird-studio run --method fish` as a user runs it
 * (dynamic padding, batched per-sample Fisher on the worker pool, masked training on the gradient pool),
 * timed as a whole process. The peer: scripts/bench/job_peer.py (pads to 128, batch-1 Fisher loop, dense
 * training with the gradients multiplied by the mask), also a whole process. Order: peer, ours.
 * Both read the same rows: a --max-train subset is drawn here (seeded) and written to build/bench-job/.
 *   npm run bench:job -- --task rte                                   (full train set, 1,024 samples, 3 epochs)
 *   npm run bench:job -- --task sst2 --max-train 8000
 * Options: --fisher-samples N --epochs N --keep-ratio R --batch-size N --lr X --seed N --model DIR
 *          --workers N (ours) --peer-threads N (the reference's torch threads) --out .bench/job-<task>.json
 * Long (minutes to an hour on 2 cores): never part of the tests.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { findPeer } from '../src/engine/bench/peer'
import { writeJsonAtomic } from '../src/engine/io/atomic'
import { Rng } from '../src/engine/util/rng'

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def
}
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const shared = process.env.IRD_SHARED_DATA ?? resolve(root, '../shared/data')
const task = arg('task', 'rte')
if (task !== 'rte' && task !== 'sst2') throw new Error(`--task rte|sst2, got ${task}`)
const glueDir = join(shared, 'glue', task === 'rte' ? 'RTE' : 'SST-2')
const model = resolve(arg('model', join(root, 'resources/models/ird-demo-bert')))
const fisherSamples = arg('fisher-samples', '1024')
const epochs = arg('epochs', '3')
const keep = arg('keep-ratio', '0.005')
const batchSize = arg('batch-size', '16')
const lr = arg('lr', '5e-5')
const seed = arg('seed', '0')
const maxTrain = arg('max-train', '')
const workers = arg('workers', String(cpus().length))
// torch threads for the reference (default every core); on a loaded machine 1 can be much faster (npm run bench measures both)
const peerThreads = arg('peer-threads', String(cpus().length))
const out = resolve(arg('out', `.bench/job-${task}${maxTrain ? `-${maxTrain}` : ''}.json`))

// the training rows both sides read
const work = join(root, 'build', 'bench-job')
mkdirSync(work, { recursive: true })
let trainFile = join(glueDir, 'train.tsv')
const lines = readFileSync(trainFile, 'utf8').split('\n').filter((l, i) => i === 0 || l.length > 0)
let trainRows = lines.length - 1
if (maxTrain && Number(maxTrain) < trainRows) {
  const idx = new Rng(Number(seed) ^ 0x5eed).sample(trainRows, Number(maxTrain)).sort((a, b) => a - b)
  trainFile = join(work, `${task}-train-${maxTrain}.tsv`)
  writeFileSync(trainFile, [lines[0], ...idx.map((i) => lines[i + 1])].join('\n') + '\n')
  trainRows = idx.length
}
const devFile = join(glueDir, 'dev.tsv')
console.log(`job: ${task}, ${trainRows} training rows, FISH ${fisherSamples} samples, keep ${keep}, ${epochs} epochs, batch ${batchSize}, lr ${lr}; model ${model}`)
console.log(`ours: ${workers} workers; reference: ${peerThreads} torch threads`)
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model}; load average at start ${loadavg().map((l) => l.toFixed(1)).join(' / ')}`)

// the peer
const { peer, reason } = findPeer({ root })
let peerResult: Record<string, unknown> | null = null
let peerWall = NaN
if (!peer) console.log(`peer: none (${reason})`)
else {
  const env: NodeJS.ProcessEnv = { ...process.env }
  delete env.OPENBLAS_CORETYPE
  delete env.OPENBLAS_L2_SIZE
  if (peer.transformersPath) env.PYTHONPATH = peer.transformersPath
  const args = [join(root, 'scripts/bench/job_peer.py'), '--model', model, '--task', task, '--train', trainFile, '--dev', devFile, '--fisher-samples', fisherSamples, '--keep-ratio', keep, '--epochs', epochs, '--batch-size', batchSize, '--lr', lr, '--seed', seed, '--threads', peerThreads]
  const t0 = performance.now()
  const r = spawnSync(peer.python, args, { env, encoding: 'utf8', maxBuffer: 64 << 20 })
  peerWall = (performance.now() - t0) / 1000
  if (r.status !== 0) throw new Error(`the FISH reference pipeline failed: ${r.stderr.trim().split('\n').slice(-5).join(' | ')}`)
  peerResult = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>
  console.log(`peer: ${peerWall.toFixed(1)} s, dev accuracy per epoch ${(peerResult.dev_accuracy as number[]).map((v) => (100 * v).toFixed(2)).join(', ')}; phases ${JSON.stringify(peerResult.seconds)}`)
}

// ours
const runs = join(work, `runs-${task}`)
rmSync(runs, { recursive: true, force: true })
const oursArgs = [join(root, 'bin/ird-studio.js'), 'run', '--model', model, '--task', task, '--data', trainFile, '--dev', devFile, '--method', 'fish', '--samples', fisherSamples, '--keep-ratio', keep, '--epochs', epochs, '--batch-size', batchSize, '--lr', lr, '--seed', seed, '--workers', workers, '--out', runs, '--checkpoint-every', '0', '--json']
const t1 = performance.now()
const o = spawnSync(process.execPath, oursArgs, { encoding: 'utf8', maxBuffer: 256 << 20 })
const oursWall = (performance.now() - t1) / 1000
if (o.status !== 0) throw new Error(`ird-studio run failed (exit ${o.status}): ${o.stderr.trim().split('\n').slice(-5).join(' | ')}`)
const runDir = readdirSync(runs).map((d) => join(runs, d)).filter((d) => statSync(d).isDirectory() && existsSync(join(d, 'summary.json')))[0]
const summary = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')) as { metrics?: Record<string, number>; bestEpoch?: number; trainable?: number; backend?: string }
const events = readFileSync(join(runDir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { phase: string; elapsedMs: number; [k: string]: unknown })
const firstTrain = events.find((e) => e.phase.startsWith('train'))
const evals = events.filter((e) => e.phase === 'eval' || e.phase === 'epoch').map((e) => e)
console.log(`ours: ${oursWall.toFixed(1)} s, dev ${JSON.stringify(summary.metrics)} (best epoch ${summary.bestEpoch}); selection done at ${firstTrain ? (firstTrain.elapsedMs / 1000).toFixed(1) : '?'} s of the run`)

const peerAcc = (peerResult?.dev_accuracy as number[] | undefined) ?? []
const ratio = peerResult ? peerWall / oursWall : null
const lineOut = `| ${task}${maxTrain ? ` (${trainRows} rows)` : ` (${trainRows} rows, full)`} | ${fisherSamples} | ${epochs} | ${oursWall.toFixed(1)} | ${peerResult ? peerWall.toFixed(1) : '–'} | ${ratio ? `${ratio.toFixed(2)}×` : '–'} | ${summary.metrics?.accuracy !== undefined ? (100 * summary.metrics.accuracy).toFixed(2) : JSON.stringify(summary.metrics)} (best of epochs, epoch ${summary.bestEpoch}) | ${peerAcc.length ? `${peerAcc.map((v) => (100 * v).toFixed(2)).join(' / ')} (per epoch)` : '–'} |`
console.log('\n| job | FISH samples | epochs | ours s (whole process) | FISH reference s (whole process) | speed-up | our dev acc | reference dev acc |')
console.log('|---|---|---|---|---|---|---|---|')
console.log(lineOut)
console.log(`load average at end ${loadavg().map((l) => l.toFixed(1)).join(' / ')}`)
mkdirSync(dirname(out), { recursive: true })
writeJsonAtomic(out, { date: new Date().toISOString(), task, trainRows, fisherSamples: Number(fisherSamples), epochs: Number(epochs), keepRatio: Number(keep), batchSize: Number(batchSize), lr: Number(lr), workers: Number(workers), peerThreads: Number(peerThreads), machine: { cpus: cpus().length, cpu: cpus()[0]?.model, loadAverageEnd: loadavg() }, ours: { wallSec: oursWall, summary, selectionDoneSec: firstTrain ? firstTrain.elapsedMs / 1000 : null, evalEvents: evals.length }, peer: peerResult ? { wallSec: peerWall, ...peerResult } : { none: reason }, speedup: ratio })
console.log(`wrote ${out}`)

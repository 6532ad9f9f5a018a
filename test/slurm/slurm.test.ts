/**
 * `ird-studio study --slurm` and sharded Fisher against a real one-node Slurm cluster (test/slurm/cluster.sh:
 * Debian's slurmctld, slurmd and munge in a temporary folder), with the tiniest model and data:
 *   - a 4-cell grid completes through one array job, `--status` says done for each cell with its Slurm
 *     job id, and the dependent report job writes the report;
 *   - `scontrol requeue` of a task mid-training: the task checkpoints on SIGTERM, restarts, resumes, and
 *     its delta is byte-identical to the same cell run uninterrupted;
 *   - a 3-shard Fisher (a 3-task array) gives the same mask file as 1 shard;
 *   - bad input (no sbatch on PATH, an unknown partition, a config path that does not exist) gets one
 *     clear error and nothing is submitted.
 * Skipped, saying so, where Slurm is not installed (or not root) and CI is not set; with CI=true a missing
 * Slurm fails (.ci/run installs it).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RunStore } from '../../src/engine/runs/store'
import { makeFixture } from '../engine/jobs/fixture'
import { REPO_ROOT } from '../helpers/shared-data'

const CLUSTER = join(REPO_ROOT, 'test/slurm/cluster.sh')
const BIN = join(REPO_ROOT, 'bin/ird-studio.js')
const has = (c: string) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0
const missing = ['munged', 'slurmctld', 'slurmd', 'sbatch', 'squeue', 'scontrol'].filter((c) => !has(c))
const root = process.getuid?.() === 0
const usable = missing.length === 0 && root
const why = missing.length ? `Slurm is not installed (${missing.join(', ')} missing: apt-get install slurmctld slurmd slurm-client munge)` : 'the test cluster needs root'

if (!usable && process.env.CI !== 'true') console.warn(`test/slurm: skipped: ${why}`)

describe.runIf(!usable && process.env.CI === 'true')('Slurm on CI', () => {
  it('is installed', () => {
    throw new Error(`CI=true but ${why}; .ci/run installs the packages`)
  })
})

// generous per-test limits: on a shared 2-core machine under load each CLI start takes seconds
describe.runIf(usable)('study --slurm on a one-node cluster', { timeout: 240_000 }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'ird-slurm-test-'))
  const f = makeFixture(tmp)
  let env: NodeJS.ProcessEnv = {}
  let clusterDir = ''

  beforeAll(() => {
    const out = execFileSync(CLUSTER, ['start'], { encoding: 'utf8' })
    const vars = Object.fromEntries(out.trim().split('\n').map((l) => l.split('=') as [string, string]))
    clusterDir = vars.IRD_SLURM_DIR
    env = { ...process.env, SLURM_CONF: vars.SLURM_CONF }
  })
  afterAll(() => {
    if (clusterDir) execFileSync(CLUSTER, ['stop', clusterDir])
    rmSync(tmp, { recursive: true, force: true })
  })

  function cli(argv: string[], extra: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string; err: string }> {
    return new Promise((resolve) => {
      const p = spawn(process.execPath, [BIN, ...argv], { cwd: tmp, env: { ...env, ...extra } })
      let out = ''
      let err = ''
      p.stdout.on('data', (d: Buffer) => (out += d.toString()))
      p.stderr.on('data', (d: Buffer) => (err += d.toString()))
      p.on('exit', (code) => resolve({ code, out, err }))
    })
  }
  const slurm = (cmd: string, args: string[]) => execFileSync(cmd, args, { env, encoding: 'utf8' })
  const queueEmpty = () => slurm('squeue', ['-h']).trim() === ''
  async function until(what: string, cond: () => boolean, ms = 60_000): Promise<void> {
    const t0 = Date.now()
    while (!cond()) {
      if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}; squeue:\n${slurm('squeue', [])}`)
      await new Promise((r) => setTimeout(r, 300))
    }
  }
  function config(name: string, over: Record<string, unknown> = {}): string {
    const file = join(tmp, `${name}.json`)
    writeFileSync(
      file,
      JSON.stringify({
        name: 'tiny',
        model: 'model',
        glueDir: '.',
        outDir: `out-${name}`,
        grids: [{ tasks: ['sst2'], methods: ['fish', 'random'], keepRatios: [0.01], sampleBudgets: [16], seeds: [1, 2] }],
        caps: { maxTrain: null, epochs: 1, maxLength: 32 },
        training: { lr: 0.001, fullLr: 0.001, batchSize: 8, warmupRatio: 0, weightDecay: 0, maxGradNorm: 1 },
        workers: 0,
        slurm: { cpus: 1 },
        ...over
      })
    )
    return file
  }
  const submitted = (name: string) => {
    const dir = join(tmp, `out-${name}`, 'slurm')
    return existsSync(dir) ? readdirSync(dir).filter((d) => JSON.parse(readFileSync(join(dir, d, 'submission.json'), 'utf8')).arrayJobId) : []
  }

  it('a 4-cell grid runs as one array job, --status says done per cell, the report job writes the report', async () => {
    const cfg = config('grid')
    const sub = await cli(['study', '--config', cfg, '--slurm', '--backend', 'wasm'])
    expect(sub.code, sub.err).toBe(0)
    expect(sub.out).toMatch(/^submitted study tiny: array job \d+ \(4 cells, tasks 0-3\), report job \d+ after it/)
    await until('the array and the report job', queueEmpty, 80_000)
    const report = join(tmp, 'out-grid', 'results.md')
    expect(existsSync(report), 'the report job wrote the report').toBe(true)
    expect(readFileSync(report, 'utf8')).not.toContain('Cells without a result')
    const st = await cli(['study', '--config', cfg, '--status'])
    expect(st.code, st.err).toBe(0)
    const job = /array job (\d+)/.exec(sub.out)![1]
    for (const [i, key] of ['sst2/fish/k0.01/n16/s1', 'sst2/random/k0.01/n-/s1', 'sst2/fish/k0.01/n16/s2', 'sst2/random/k0.01/n-/s2'].entries()) {
      expect(st.out).toMatch(new RegExp(`^${key.replace(/[/.]/g, '\\$&')}\\s+done\\s+${job}_${i}\\s+COMPLETED\\s+\\d{8}-\\d{6}-sst2-`, 'm'))
    }
    expect(st.out).toContain('4 cells: 4 done, 0 running, 0 queued, 0 failed')
    expect(new RunStore(join(tmp, 'out-grid', 'runs')).list().map((r) => r.status)).toEqual(['completed', 'completed', 'completed', 'completed'])
    // resubmitting the same config submits nothing
    const again = await cli(['study', '--config', cfg, '--slurm', '--backend', 'wasm'])
    expect(again.code, again.err).toBe(0)
    expect(again.out).toContain('nothing to submit: every cell is complete')
  })

  it('a task killed mid-training: the report job reports the cell as failed (not missing), and so does --status', async () => {
    const cfg = config('killed')
    const key = 'sst2/random/k0.01/n-/s1'
    // the cell's process dies (SIGKILL, as the OOM killer) at its 2nd training batch, before it records anything
    const sub = await cli(['study', '--config', cfg, '--slurm', '--only', key, '--backend', 'wasm'], { IRD_FAULT: 'batch@2' })
    expect(sub.code, sub.err).toBe(0)
    const job = `${/array job (\d+)/.exec(sub.out)![1]}_0`
    await until('the array and the report job', queueEmpty, 60_000)
    const report = readFileSync(join(tmp, 'out-killed', 'results.md'), 'utf8')
    expect(report).toMatch(new RegExp(`- ${key.replace(/[/.]/g, '\\$&')} \\(failed: interrupted: the process \\(pid \\d+\\) ended without finishing the run`))
    const outcome = JSON.parse(readFileSync(join(tmp, 'out-killed', 'cells', `${key.replace(/[^A-Za-z0-9._-]/g, '~')}.json`), 'utf8')) as { status: string; reason: string }
    expect(outcome.status).toBe('failed')
    expect(outcome.reason).toContain(`Slurm task ${job} ended without recording a result (Slurm: FAILED`)
    const st = await cli(['study', '--config', cfg, '--status', '--only', key])
    expect(st.out).toMatch(new RegExp(`^${key.replace(/[/.]/g, '\\$&')}\\s+failed\\s+${job}\\s`, 'm'))
  })

  it('scontrol requeue mid-training: the task checkpoints, restarts, resumes, and matches the uninterrupted cell', async () => {
    const cfg = config('requeue')
    const key = 'sst2/fish/k0.01/n16/s1'
    // 400 ms per training batch: the task is still training when it is requeued
    const sub = await cli(['study', '--config', cfg, '--slurm', '--requeue', '--only', key, '--backend', 'wasm'], { IRD_FAULT: 'batch@*:sleep400' })
    expect(sub.code, sub.err).toBe(0)
    const job = `${/array job (\d+)/.exec(sub.out)![1]}_0`
    const runs = join(tmp, 'out-requeue', 'runs')
    const training = () => existsSync(runs) && readdirSync(runs).some((d) => existsSync(join(runs, d, 'events.jsonl')) && readFileSync(join(runs, d, 'events.jsonl'), 'utf8').includes('"phase":"train"'))
    await until('training to start', training)
    slurm('scontrol', ['requeue', job])
    // Slurm holds a requeued job for about two minutes; start it now
    await until('the requeue', () => /PENDING/.test(slurm('squeue', ['-h', '-j', job, '-o', '%T'])))
    slurm('scontrol', ['update', `JobId=${job}`, 'StartTime=now'])
    await until('the requeued task and the report', queueEmpty, 80_000)
    const [run] = new RunStore(runs).list()
    expect(run.status).toBe('completed')
    const log = readFileSync(join(tmp, 'out-requeue', 'slurm', submitted('requeue')[0], 'logs', `${job}.out`), 'utf8')
    expect(log).toContain('SIGTERM: cancelling at the next batch boundary')
    expect(log).toMatch(new RegExp(`cell ${key.replace(/[/.]/g, '\\$&')}: resuming its run ${run.id} \\(cancelled; Slurm restart 1\\)`))
    expect(log).toMatch(/continuing from the checkpoint at step [1-8] of 8/)
    const ref = new RunStore(join(tmp, 'out-grid', 'runs')).list().find((r) => r.name === `study:tiny:${key}`)!
    expect(Buffer.compare(readFileSync(join(tmp, 'out-grid', 'runs', ref.id, 'delta.safetensors')), readFileSync(join(runs, run.id, 'delta.safetensors'))), 'delta bytes').toBe(0)
    expect(readFileSync(join(runs, run.id, 'predictions-dev.jsonl'), 'utf8')).toBe(readFileSync(join(tmp, 'out-grid', 'runs', ref.id, 'predictions-dev.jsonl'), 'utf8'))
  })

  it('a 3-shard Fisher (a 3-task array) gives the same mask as 1 shard', async () => {
    const args = ['fisher', '--model', f.modelDir, '--task', 'sst2', '--data', f.trainFile, '--samples', '40', '--seed', '1', '--max-length', '32', '--fisher-batch-size', '4', '--block-samples', '8', '--workers', '0', '--backend', 'wasm']
    const words = [process.execPath, BIN, ...args].map((w) => `'${w}'`).join(' ')
    writeFileSync(join(tmp, 'shard.sh'), `#!/bin/bash\nexec ${words} --shard "\${SLURM_ARRAY_TASK_ID}/3" --out "F-\${SLURM_ARRAY_TASK_ID}-of-3.safetensors"\n`)
    const opts = ['--cpus-per-task=1', '--mem=800M', '-D', tmp]
    slurm('sbatch', [...opts, '--array=1-3', '-o', join(tmp, 'shard-%a-of-3.out'), join(tmp, 'shard.sh')])
    slurm('sbatch', [...opts, '-o', join(tmp, 'shard-1-of-1.out'), '--wrap', `${words} --shard 1/1 --out F-1-of-1.safetensors`])
    await until('the shard jobs', queueEmpty, 60_000)
    const [one, three] = await Promise.all([
      cli(['mask', '--from-fisher', 'F-1-of-1.safetensors', '--keep-ratio', '0.01', '--out', 'mask-1']),
      cli(['mask', '--from-fisher', 'F-1-of-3.safetensors', 'F-2-of-3.safetensors', 'F-3-of-3.safetensors', '--keep-ratio', '0.01', '--out', 'mask-3'])
    ])
    expect(one.code, one.err + readFileSync(join(tmp, 'shard-1-of-1.out'), 'utf8')).toBe(0)
    expect(three.code, three.err).toBe(0)
    expect(Buffer.compare(readFileSync(join(tmp, 'mask-1', 'mask.safetensors')), readFileSync(join(tmp, 'mask-3', 'mask.safetensors')))).toBe(0)
  })

  it('bad input: one clear error and nothing submitted', async () => {
    const before = slurm('squeue', ['-h', '-o', '%i']).trim()
    mkdirSync(join(tmp, 'empty-path'), { recursive: true }) // /usr/bin has sbatch: a PATH with nothing
    const noModel = config('nomodel', { model: 'no-such-model' })
    const [noSbatch, badPartition, badPath, noConfig] = await Promise.all([
      cli(['study', '--config', config('nosbatch'), '--slurm', '--backend', 'wasm'], { PATH: join(tmp, 'empty-path') }),
      cli(['study', '--config', config('partition'), '--slurm', '--partition', 'nosuchpartition', '--backend', 'wasm']),
      cli(['study', '--config', noModel, '--slurm', '--backend', 'wasm']),
      cli(['study', '--config', join(tmp, 'no-such-config.json'), '--slurm'])
    ])
    expect(noSbatch.code).toBe(1)
    expect(noSbatch.err).toMatch(/sbatch is not on PATH .*Nothing was submitted/)
    expect(badPartition.code).toBe(1)
    expect(badPartition.err).toMatch(/sbatch refused the array job: .*(invalid partition|nosuchpartition).*Nothing was submitted/is)
    expect(badPath.code).toBe(1)
    expect(badPath.err).toContain(`${noModel}: "model" ${join(tmp, 'no-such-model')} is not a model folder`)
    expect(noConfig.code).toBe(1)
    expect(noConfig.err).toContain('no-such-config.json: no such file')
    for (const name of ['nosbatch', 'partition', 'nomodel']) expect(submitted(name), name).toEqual([])
    expect(existsSync(join(tmp, 'out-nosbatch', 'slurm')) ? readdirSync(join(tmp, 'out-nosbatch', 'slurm')) : []).toEqual([])
    expect(slurm('squeue', ['-h', '-o', '%i']).trim()).toBe(before)
  })
})

/**
 * `ird-studio fisher --shard i/N` + `ird-studio mask --from-fisher f1 … fN` as a user runs them: 1 and 3
 * shards give byte-identical mask files; a missing shard and IRD are refused with the reason.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../helpers/shared-data'
import { makeFixture } from '../engine/jobs/fixture'

const tmp = mkdtempSync(join(tmpdir(), 'ird-cli-fisher-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
const BIN = join(REPO_ROOT, 'bin/ird-studio.js')
const f = makeFixture(tmp)

function cli(argv: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...argv], { cwd: tmp })
    let out = ''
    let err = ''
    p.stdout.on('data', (d: Buffer) => (out += d.toString()))
    p.stderr.on('data', (d: Buffer) => (err += d.toString()))
    p.on('exit', (code) => resolve({ code, out, err }))
  })
}

const common = ['--model', f.modelDir, '--task', 'sst2', '--data', f.trainFile, '--samples', '40', '--seed', '1', '--max-length', '32', '--fisher-batch-size', '4', '--block-samples', '8', '--workers', '0', '--backend', 'wasm']

describe('ird-studio fisher --shard / mask --from-fisher', () => {
  it('1 shard and 3 shards give the same mask, byte for byte', async () => {
    const runs = await Promise.all([
      cli(['fisher', ...common, '--out', 'one.safetensors']),
      ...[1, 2, 3].map((i) => cli(['fisher', ...common, '--shard', `${i}/3`, '--out', `s${i}.safetensors`]))
    ])
    for (const r of runs) expect(r.code, r.err).toBe(0)
    expect(runs[2].out).toContain('fisher shard 2/3: samples 8–23 of 40 (blocks 1–2 of 5)')
    const [one, three] = await Promise.all([
      cli(['mask', '--from-fisher', 'one.safetensors', '--keep-ratio', '0.01', '--out', 'mask-1']),
      cli(['mask', '--from-fisher', 's3.safetensors', 's1.safetensors', 's2.safetensors', '--keep-ratio', '0.01', '--out', 'mask-3'])
    ])
    expect(one.code, one.err).toBe(0)
    expect(three.code, three.err).toBe(0)
    expect(three.out).toMatch(/^fish mask from 3 Fisher shards: k = \d+ of/)
    expect(Buffer.compare(readFileSync(join(tmp, 'mask-1/mask.safetensors')), readFileSync(join(tmp, 'mask-3/mask.safetensors')))).toBe(0)
    const sidecar = JSON.parse(readFileSync(join(tmp, 'mask-3/mask.json'), 'utf8')) as { selectedSampleIds: string[]; settings: { sharded: { shards: number } } }
    expect(sidecar.selectedSampleIds).toHaveLength(40)
    expect(sidecar.settings.sharded.shards).toBe(3)

    // a missing shard: refused, named, nothing written
    const missing = await cli(['mask', '--from-fisher', 's1.safetensors', 's3.safetensors', '--out', 'mask-x'])
    expect(missing.code).toBe(1)
    expect(missing.err).toContain('shard 2/3 missing')
    expect(existsSync(join(tmp, 'mask-x'))).toBe(false)
    // the same shard again (a requeued task): kept, not recomputed
    const again = await cli(['fisher', ...common, '--shard', '2/3', '--out', 's2.safetensors'])
    expect(again.code, again.err).toBe(0)
    expect(again.err).toContain('already computed with the same model, data and settings; kept')
  })

  it('refuses IRD with the reason', async () => {
    const [fisher, mask] = await Promise.all([
      cli(['fisher', ...common, '--method', 'ird', '--out', 'x.safetensors']),
      cli(['mask', '--from-fisher', 'nothing.safetensors', '--method', 'ird', '--out', 'mask-ird'])
    ])
    expect(fisher.code).toBe(2)
    expect(fisher.err).toContain('IRD cannot be sharded: each IRD round scores samples and parameters within the previous round')
    expect(mask.code).toBe(2)
    expect(mask.err).toContain('IRD cannot be sharded')
  })
})

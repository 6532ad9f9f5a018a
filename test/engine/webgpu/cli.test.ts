/**
 * `ird-studio` on webgpu as a user runs it: `run --backend webgpu` end to end (IRD selection, masked
 * training, dev evaluation, the run recorded), `eval` of that run on webgpu, IRD_BACKEND honoured by a
 * command without --backend, and the auto order passing over a software adapter with the reason.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RunStore } from '../../../src/engine/runs/store'
import { GLUE_DIR, REPO_ROOT, VOCAB_FILE } from '../../helpers/shared-data'
import { HAVE_WEBGPU, WEBGPU_INFO } from './webgpu'

const tmp = mkdtempSync(join(tmpdir(), 'ird-webgpu-cli-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
const BIN = join(REPO_ROOT, 'bin/ird-studio.js')
const SST = (f: string) => join(GLUE_DIR, 'SST-2', f)

function cli(args: string[], env: Record<string, string | undefined> = {}) {
  const e = { ...process.env, ...env }
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete e[k]
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: tmp, encoding: 'utf8', timeout: 180_000, env: e })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

const small = ['--model', 'model', '--task', 'sst2', '--data', SST('train.tsv'), '--max-train', '32', '--samples', '8', '--keep-ratio', '0.01', '--max-length', '32']

describe.skipIf(!HAVE_WEBGPU)('ird-studio on webgpu', () => {
  beforeAll(() => {
    const r = cli(['init-model', '--out', 'model', '--vocab', VOCAB_FILE, '--layers', '1', '--hidden', '16', '--heads', '2', '--intermediate', '32', '--max-positions', '64'])
    expect(r.code, r.err).toBe(0)
    writeFileSync(join(tmp, 'dev.tsv'), readFileSync(SST('dev.tsv'), 'utf8').split('\n').slice(0, 33).join('\n') + '\n')
  })

  it('run --backend webgpu: IRD, masked training and dev evaluation end to end; eval of the run on webgpu agrees', () => {
    const r = cli(['run', ...small, '--dev', 'dev.tsv', '--method', 'ird', '--epochs', '1', '--backend', 'webgpu', '--out', 'runs'], { IRD_BACKEND: undefined })
    expect(r.code, r.err).toBe(0)
    expect(r.err).toMatch(/backend: webgpu \(adapter .+maxStorageBufferBindingSize \d+ MiB\)/)
    expect(r.out).toMatch(/completed: SST-2 dev accuracy \d+\.\d\d/)
    const [run] = new RunStore(join(tmp, 'runs')).list()
    expect(run.status).toBe('completed')
    expect(run.backend).toMatch(/^webgpu/)
    const results = JSON.parse(readFileSync(join(tmp, 'runs', run.id, 'results.json'), 'utf8'))
    const e = cli(['eval', '--runs', 'runs', '--run', run.id, '--backend', 'webgpu'])
    expect(e.code, e.err).toBe(0)
    expect(e.out).toContain(`accuracy ${(100 * results.final.metrics.accuracy).toFixed(2)}`)
  })

  it('IRD_BACKEND picks the backend of a command without --backend; --backend auto overrides it', () => {
    const evalModel = ['eval', '--model', 'model', '--task', 'sst2', '--dev', 'dev.tsv', '--max-length', '32']
    const forced = cli(evalModel, { IRD_BACKEND: 'webgpu' })
    expect(forced.code, forced.err).toBe(0)
    expect(forced.err).toMatch(/backend: webgpu \(adapter /)
    const auto = cli([...evalModel, '--backend', 'auto'], { IRD_BACKEND: 'webgpu' })
    expect(auto.code, auto.err).toBe(0)
    const line = auto.err.split('\n').find((l) => l.startsWith('backend: '))!
    if (WEBGPU_INFO!.adapter!.software) {
      // auto never takes a software rasteriser, and says why it passed over it
      expect(line).not.toMatch(/^backend: webgpu/)
      expect(line).toMatch(/webgpu: the only WebGPU adapter is a software rasteriser \(.+\): used only when forced/)
    } else expect(line).toMatch(/^backend: (tensorflow-gpu|webgpu)/)
  })
})

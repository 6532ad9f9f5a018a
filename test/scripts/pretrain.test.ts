/**
 * scripts/demo-model/pretrain.py (the demo encoder's pre-training, PyTorch): a few steps on a tiny corpus
 * produce a Hugging Face BertForPreTraining folder the engine loads; `--init` continues from such a folder
 * with exactly its weights (checked with the learning rate at 0, where AdamW changes nothing) and records
 * the steps before; a folder of another shape is refused with the tensor named. Skipped without
 * Debian's python3-torch (CI installs it).
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadModelFolder } from '../../src/engine/io/model-folder'
import { REPO_ROOT, VOCAB_FILE } from '../helpers/shared-data'

const PY = '/usr/bin/python3'
const SCRIPT = join(REPO_ROOT, 'scripts/demo-model/pretrain.py')
const hasTorch = existsSync(PY) && spawnSync(PY, ['-c', 'import torch'], { timeout: 60_000 }).status === 0
if (!hasTorch) console.warn(`pretrain.py tests skipped: ${PY} with torch is not installed (apt-get install python3-torch)`)

const tmp = mkdtempSync(join(tmpdir(), 'ird-pretrain-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function corpus(): string {
  const dir = join(tmp, 'corpus')
  mkdirSync(dir, { recursive: true })
  const lines: string[] = []
  let x = 7
  const ids = (n: number) =>
    Array.from({ length: n }, () => {
      x = (x * 1103515245 + 12345) % 2147483648
      return 1000 + (x % 20000)
    })
  for (let i = 0; i < 60; i++) lines.push(JSON.stringify(i % 3 ? { s: 't', a: ids(6 + (i % 9)) } : { s: 't', a: ids(5), b: ids(7) }))
  writeFileSync(join(dir, 'corpus.jsonl'), lines.join('\n') + '\n')
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ units: 60, tokens: 600, sources: [] }))
  return dir
}

function pretrain(args: string[]) {
  const r = spawnSync(PY, [SCRIPT, '--vocab', VOCAB_FILE, '--layers', '1', '--hidden', '64', '--max-len', '24', '--tokens-per-batch', '256', '--threads', '1', '--save-minutes', '0', ...args], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, OMP_WAIT_POLICY: 'passive' }
  })
  return { status: r.status, out: `${r.stdout}${r.stderr}` }
}

describe.skipIf(!hasTorch)('pretrain.py', () => {
  const data = hasTorch ? corpus() : ''
  const first = join(tmp, 'first')
  const again = join(tmp, 'again')

  it('writes a BertForPreTraining folder the engine loads', () => {
    const r = pretrain(['--corpus', data, '--out', first, '--steps', '3', '--seed', '5'])
    expect(r.status, r.out).toBe(0)
    const m = loadModelFolder(first, { numLabels: 2 })
    expect(m.report.sourceArchitecture).toBe('BertForPreTraining')
    expect(m.config.hidden_size).toBe(64)
    expect(m.report.ignored.some((n) => n.startsWith('cls.predictions'))).toBe(true)
    const rec = JSON.parse(readFileSync(join(first, 'pretraining.json'), 'utf8')) as { steps: number; total_steps: number }
    expect(rec).toMatchObject({ steps: 3, total_steps: 3 })
  })

  it('--init continues from exactly the saved weights and counts the steps before', () => {
    const r = pretrain(['--corpus', data, '--out', again, '--steps', '2', '--lr', '0', '--init', first])
    expect(r.status, r.out).toBe(0)
    expect(r.out).toMatch(/continuing from .* \(3 steps before\)/)
    // lr 0: AdamW (decoupled weight decay × lr) changes nothing, so the file must be byte-identical
    expect(readFileSync(join(again, 'model.safetensors')).equals(readFileSync(join(first, 'model.safetensors')))).toBe(true)
    const rec = JSON.parse(readFileSync(join(again, 'pretraining.json'), 'utf8')) as { total_steps: number; continued_from: { total_steps: number } }
    expect(rec.total_steps).toBe(5)
    expect(rec.continued_from.total_steps).toBe(3)
    expect(existsSync(`${again}.tmp`) || existsSync(`${again}.old`)).toBe(false)
  })

  it('refuses to continue a folder of another shape, naming the tensor', () => {
    const r = pretrain(['--corpus', data, '--out', join(tmp, 'wrong'), '--steps', '1', '--hidden', '32', '--init', first])
    expect(r.status).not.toBe(0)
    expect(r.out).toMatch(/has shape .*pass the same --layers\/--hidden/)
    expect(existsSync(join(tmp, 'wrong'))).toBe(false)
  })
})

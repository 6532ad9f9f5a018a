/** The CLI as a user runs it: real processes, exit codes, messages, files. */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GLUE_DIR, REPO_ROOT, VOCAB_FILE } from '../helpers/shared-data'
import { writeTinyModel } from '../helpers/tiny-model'

const tmp = mkdtempSync(join(tmpdir(), 'ird-cli-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/ird-studio.js'), ...args], { cwd: tmp, encoding: 'utf8', timeout: 120_000 })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

describe('ird-studio CLI', () => {
  const model = join(tmp, 'model')
  beforeAll(() => {
    writeTinyModel(model, { vocabDir: join(tmp, 'vocab') })
  })

  it('bench writes its JSON into a folder that does not exist yet (a fresh clone has no .bench/)', () => {
    const r = cli('bench', '--models', 'tiny', '--seconds', '0.2', '--seq', '16', '--backend', 'wasm')
    expect(r.code, r.err).toBe(0)
    expect(r.out).toMatch(/\| tiny \(2\/128\) \|/)
    const saved = JSON.parse(readFileSync(join(tmp, '.bench', 'bench.json'), 'utf8')) as { backend: string; models: Array<{ model: string }> }
    expect(saved.backend).toBe('wasm')
    expect(saved.models.map((m) => m.model)).toEqual(['tiny'])
  })

  it('usage errors exit 2 with one clear line', () => {
    expect(cli().code).toBe(2)
    const unknown = cli('frobnicate')
    expect(unknown.code).toBe(2)
    expect(unknown.err).toContain('unknown command "frobnicate"')
    const badTask = cli('eval', '--task', 'glue9')
    expect(badTask.code).toBe(2)
    expect(badTask.err).toContain('unknown task "glue9"')
    const badNum = cli('eval', '--task', 'sst2', '--batch-size', 'many')
    expect(badNum.code).toBe(2)
    expect(badNum.err).toContain('--batch-size expects an integer')
    expect(cli('eval', '--help').out).toContain('--max-length')
  })

  it('missing files and folders exit 1 naming them', () => {
    const r = cli('eval', '--task', 'sst2', '--dev', 'nope.tsv', '--model', model)
    expect(r.code).toBe(1)
    expect(r.err).toContain('--dev nope.tsv: no such file')
    const m = cli('eval', '--task', 'sst2', '--dev', join(GLUE_DIR, 'SST-2/dev.tsv'), '--model', join(tmp, 'nomodel'))
    expect(m.code).toBe(1)
    expect(m.err).toContain('no such folder')
  })

  it('a broken data file is refused with file, line and what to do', () => {
    const bad = join(tmp, 'bad.tsv')
    writeFileSync(bad, 'sentence\tlabel\ngood movie\t1\nbad movie\t7\n')
    const r = cli('eval', '--task', 'sst2', '--dev', bad, '--model', model, '--backend', 'wasm')
    expect(r.code).toBe(1)
    expect(r.err).toMatch(/bad\.tsv:3/)
  })

  it('eval prints the GLUE metric; predict writes JSON lines atomically', () => {
    const r = cli('eval', '--task', 'rte', '--dev', join(GLUE_DIR, 'RTE/dev.tsv'), '--model', model, '--backend', 'wasm')
    expect(r.code, r.err).toBe(0)
    expect(r.out).toMatch(/^RTE dev \(277 examples\): accuracy \d+\.\d\d/)
    expect(r.err).toContain('backend: wasm')
    const s = cli('eval', '--task', 'stsb', '--dev', join(GLUE_DIR, 'STS-B/dev.tsv'), '--model', model)
    expect(s.code, s.err).toBe(0)
    expect(s.err).toContain('no 1-output classifier; a fresh one was initialised')
    expect(s.out).toMatch(/STS-B dev \(1500 examples\): pearson -?\d+\.\d\d, spearman/)
    const out = join(tmp, 'pred.jsonl')
    const p = cli('predict', '--task', 'sst2', '--data', join(GLUE_DIR, 'SST-2/test.tsv'), '--model', model, '--out', out)
    expect(p.code, p.err).toBe(0)
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l))
    expect(lines).toHaveLength(1821)
    expect(lines[0].logits).toHaveLength(2)
    expect(['0', '1']).toContain(lines[0].prediction)
  })

  it('init-model writes a loadable, untrained model folder and never overwrites', () => {
    const r = cli('init-model', '--out', 'im', '--vocab', VOCAB_FILE, '--layers', '1', '--hidden', '32', '--max-positions', '64', '--labels', '3')
    expect(r.code, r.err).toBe(0)
    expect(r.out).toContain('untrained BERT (1 layers, hidden 32')
    const cfg = JSON.parse(readFileSync(join(tmp, 'im', 'config.json'), 'utf8'))
    expect(cfg.num_labels).toBe(3)
    expect(cfg.vocab_size).toBe(30522)
    expect(cli('init-model', '--out', 'im', '--vocab', VOCAB_FILE).code).toBe(1)
    expect(cli('init-model', '--out', 'im2', '--vocab', VOCAB_FILE, '--hidden', '100', '--heads', '3').err).toContain('not a multiple of num_attention_heads')
  })

  it('list and compare on an empty runs folder', () => {
    expect(cli('list').code).toBe(0)
    const c = cli('compare')
    expect(c.code).toBe(1)
    expect(c.err).toContain('no runs to compare')
    expect(existsSync(join(tmp, 'runs'))).toBe(false)
  })
})

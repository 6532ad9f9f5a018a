/**
 * Exported checkpoints name their classes as users and transformers expect: SST-2 negative/positive,
 * MNLI in the data's index order, STS-B a one-output regression head, a user's data its own label
 * values — and transformers' own pipeline("text-classification") answers with those names.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exportHfModel, withTaskLabels } from '../../../src/engine/export'
import { getTask } from '../../../src/engine/data'
import { RunStore } from '../../../src/engine/runs/store'
import { REPO_ROOT } from '../../helpers/shared-data'
import { makeBaseModel, makeCompletedRun, tinyConfig } from './helpers'

const tmp = mkdtempSync(join(tmpdir(), 'ird-labels-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
const store = new RunStore(join(tmp, 'runs'))

const PY = '/usr/bin/python3'
const VENDOR = join(REPO_ROOT, '../shared/vendor/transformers-4.4-src.tar.xz')
const TF_DIR = join(tmp, 'transformers-4.4')
let transformersOk = false

beforeAll(() => {
  makeBaseModel(join(tmp, 'base2'), 2)
  makeBaseModel(join(tmp, 'base3'), 3)
  makeBaseModel(join(tmp, 'base1'), 1)
  if (existsSync(PY) && existsSync(VENDOR) && spawnSync(PY, ['-c', 'import torch'], { timeout: 60_000 }).status === 0) {
    mkdirSync(TF_DIR)
    transformersOk = spawnSync('tar', ['-xJf', VENDOR, '-C', TF_DIR]).status === 0
  }
  if (!transformersOk) console.warn('transformers pipeline check skipped: needs /usr/bin/python3 with torch and ../shared/vendor/transformers-4.4-src.tar.xz')
})

function labelsOf(task: Parameters<typeof getTask>[0], base: string, dataLabelNames?: string[]) {
  const run = makeCompletedRun(store, join(tmp, base), getTask(task).name).run
  if (dataLabelNames) run.writeJson('results.json', { task, method: 'ird', labelNames: dataLabelNames, final: null })
  const out = join(tmp, `hf-${run.id}`)
  exportHfModel(store, run.id, out)
  return { out, cfg: JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) }
}

describe('exported id2label / label2id', () => {
  it('GLUE tasks: readable names in the head\'s index order; STS-B a regression head', () => {
    expect(labelsOf('sst2', 'base2').cfg).toMatchObject({ id2label: { 0: 'negative', 1: 'positive' }, label2id: { negative: 0, positive: 1 }, problem_type: 'single_label_classification' })
    expect(labelsOf('cola', 'base2').cfg.id2label).toEqual({ 0: 'unacceptable', 1: 'acceptable' })
    expect(labelsOf('mrpc', 'base2').cfg.id2label).toEqual({ 0: 'not_equivalent', 1: 'equivalent' })
    expect(labelsOf('qqp', 'base2').cfg.id2label).toEqual({ 0: 'not_duplicate', 1: 'duplicate' })
    expect(labelsOf('rte', 'base2').cfg.id2label).toEqual({ 0: 'entailment', 1: 'not_entailment' })
    // MNLI: the order the data's labels map to class indices (the GLUE processors' order)
    const mnli = labelsOf('mnli', 'base3').cfg
    expect(getTask('mnli').labelNames).toEqual(['contradiction', 'entailment', 'neutral'])
    expect(mnli.id2label).toEqual({ 0: 'contradiction', 1: 'entailment', 2: 'neutral' })
    expect(mnli.label2id).toEqual({ contradiction: 0, entailment: 1, neutral: 2 })
    const stsb = labelsOf('stsb', 'base1').cfg
    expect(stsb.num_labels ?? Object.keys(stsb.id2label).length).toBe(1)
    expect(stsb.problem_type).toBe('regression')
  })

  it('a user\'s own data: the label values found in it', () => {
    const { cfg } = labelsOf('sst2', 'base2', ['neg', 'pos'])
    expect(cfg.id2label).toEqual({ 0: 'neg', 1: 'pos' })
    expect(cfg.label2id).toEqual({ neg: 0, pos: 1 })
  })

  it('refuses names that do not fit the head', () => {
    expect(() => withTaskLabels(tinyConfig(2), 'sst2', 'r', ['a', 'b', 'c'])).toThrow(/3 class names \(a, b, c\) for a 2-output classifier/)
    expect(() => withTaskLabels(tinyConfig(2), 'sst2', 'r', ['a', 'a'])).toThrow(/repeat/)
  })

  it('transformers\' pipeline("text-classification") answers with those names', (ctx) => {
    if (!transformersOk) return ctx.skip()
    for (const [task, base, names] of [['sst2', 'base2', ['negative', 'positive']], ['mnli', 'base3', ['contradiction', 'entailment', 'neutral']]] as const) {
      const { out } = labelsOf(task, base)
      const r = spawnSync(PY, [join(REPO_ROOT, 'test/reference/hf_pipeline_labels.py'), out, 'a fine film', 'a dull plot', 'it rains'], {
        encoding: 'utf8',
        timeout: 120_000,
        env: { ...process.env, PYTHONPATH: join(TF_DIR, 'src') }
      })
      expect(r.status, r.stderr).toBe(0)
      const res = JSON.parse(r.stdout.trim().split('\n').pop()!)
      expect(res.ok).toBe(true)
      expect(res.labels).toHaveLength(3)
      for (const l of res.labels) expect(names).toContain(l)
      expect(Object.values(res.id2label)).toEqual(names)
    }
  })
})

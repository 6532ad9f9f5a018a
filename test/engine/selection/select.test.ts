/**
 * selectMask end to end: examples + tokenizer, a regression head, the 'expect' variant's evaluation count,
 * cancellation, and an IRD result saved as a mask artefact and loaded back.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../src/engine/backend'
import type { Example } from '../../../src/engine/data/types'
import { countParameters } from '../../../src/engine/model/config'
import { loadMask, maskEquals, saveMask } from '../../../src/engine/mask'
import { encodeExamples, selectMask, SelectionCancelled, toSidecarInput } from '../../../src/engine/selection'
import { BertTokenizer } from '../../../src/engine/tokenizer'
import { tinyConfig, tinyModel, tinySamples } from './tiny'

const tmp = mkdtempSync(join(tmpdir(), 'select-test-'))
beforeAll(async () => {
  await initBackend({ force: 'wasm' })
})
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const words = ['good', 'bad', 'movie', 'plot', 'actor', 'great', 'boring', 'fun', 'the', 'a', 'was', 'is', 'very', 'not']
const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...words, '.', ',']

describe('selectMask', () => {
  it('takes examples and a tokenizer; records dataset, seed and samples in a mask artefact that loads back', async () => {
    const cfg = tinyConfig()
    const model = tinyModel(cfg, 4)
    const tok = BertTokenizer.fromVocab(vocab.join('\n'), { doLowerCase: true })
    const examples: Example[] = Array.from({ length: 24 }, (_, i) => ({
      id: `row${i}`,
      line: i + 2,
      textA: Array.from({ length: 2 + (i % 7) }, (_, j) => words[(i * 3 + j * 5) % words.length]).join(' '),
      textB: i % 3 === 0 ? 'the plot was fun .' : undefined,
      label: i % 2
    }))
    const encoded = encodeExamples(tok, examples, { maxLength: 16 })
    expect(encoded[0].inputIds[0]).toBe(2)
    expect(encoded[0].label).toBe(0)
    const r = await selectMask({ method: 'ird', model, examples, tokenizer: tok, maxLength: 16, keepRatio: 0.05, nSamples: 4, seed: 3, ird: { poolFactor: 3 }, datasetSha256: 'cd'.repeat(32) })
    expect(r.selectedSampleIds.every((id) => id.startsWith('row'))).toBe(true)
    const side = saveMask(join(tmp, 'ird'), r.mask, toSidecarInput(r, { datasetName: 'toy', datasetRows: 24 }), cfg)
    const back = loadMask(join(tmp, 'ird'), cfg)
    expect(maskEquals(back.mask, r.mask, model.spec)).toBe(true)
    expect(back.sidecar).toEqual(side)
    expect(back.sidecar).toMatchObject({ method: 'ird', seed: 3, dataset: { sha256: 'cd'.repeat(32), name: 'toy', rows: 24 }, selectedSampleIds: r.selectedSampleIds, gradientEvaluations: r.gradientEvaluations })
    expect(back.sidecar.budgets).toMatchObject({ keepRatio: 0.05, k: r.k, nSamples: 4, maskCount: r.maskCount })
    expect(back.sidecar.settings).toMatchObject({ maxLength: 16, batchSize: 16, fisher: { variant: 'label', power: 'square' } })
    expect((back.sidecar.settings as { ird: { poolSize: number } }).ird.poolSize).toBe(12)
    expect(back.metadata).toMatchObject({ method: 'ird', seed: '3', k: String(r.k), dataset_sha256: 'cd'.repeat(32) })
    expect(back.sidecar.stats).toEqual(JSON.parse(JSON.stringify(r.stats)))
    await expect(selectMask({ method: 'fish', model, examples: [{ id: 'u', line: 2, textA: 'good' }], tokenizer: tok, keepRatio: 0.05 })).rejects.toThrow(/example 0 \(id "u", line 2\) has no label/)
    model.dispose()
  })

  it('regression head, expect variant and cancellation', async () => {
    const reg = tinyConfig(1)
    const model = tinyModel(reg, 5)
    const samples = tinySamples(20, reg)
    const r = await selectMask({ method: 'fish', model, samples, keepRatio: 0.05, nSamples: 6 })
    expect(r.maskCount).toBe(Math.floor(countParameters(reg) * 0.05))
    await expect(selectMask({ method: 'fish', model, samples, keepRatio: 0.05, fisher: { variant: 'expect' } })).rejects.toThrow(/'expect' needs a classification head/)
    model.dispose()

    const cfg = tinyConfig(3)
    const m3 = tinyModel(cfg, 6)
    const s3 = tinySamples(20, cfg)
    const e = await selectMask({ method: 'fish', model: m3, samples: s3, keepRatio: 0.05, nSamples: 6, fisher: { variant: 'expect', power: 'absolute' } })
    expect(e.gradientEvaluations).toBe(6 * 3)
    expect(e.settings.fisher).toEqual({ variant: 'expect', power: 'absolute' })
    let batches = 0
    await expect(selectMask({ method: 'ird', model: m3, samples: s3, keepRatio: 0.05, nSamples: 4, batchSize: 2, shouldCancel: () => ++batches > 3 })).rejects.toBeInstanceOf(SelectionCancelled)
    m3.dispose()
  })
})

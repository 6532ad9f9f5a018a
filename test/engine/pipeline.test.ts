/**
 * The engine core end to end on real files: a Hugging Face model folder written and read back, the
 * WordPiece tokenizer from that folder, GLUE SST-2 and RTE dev data, the model's logits and the task's
 * GLUE metric. Also checks that padding never changes a sample's logits on real tokenised data.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../src/engine/backend'
import { loadGlueSplit } from '../../src/engine/data'
import { loadModelFolder, saveModelFolder } from '../../src/engine/io/model-folder'
import { taskMetrics } from '../../src/engine/metrics'
import { BertForSequenceClassification } from '../../src/engine/model/bert'
import { makeConfig } from '../../src/engine/model/config'
import { initState } from '../../src/engine/model/init'
import { BertTokenizer } from '../../src/engine/tokenizer'
import { GLUE_DIR, VOCAB_FILE } from '../helpers/shared-data'

const tmp = mkdtempSync(join(tmpdir(), 'ird-pipeline-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('engine pipeline on GLUE files', () => {
  let modelDir = ''
  beforeAll(async () => {
    await initBackend({ force: 'wasm' })
    const vocabDir = join(tmp, 'vocab')
    mkdirSync(vocabDir)
    copyFileSync(VOCAB_FILE, join(vocabDir, 'vocab.txt'))
    BertTokenizer.fromFolder(vocabDir).saveToFolder(vocabDir) // adds tokenizer_config.json (do_lower_case)
    const cfg = makeConfig({ hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 64, max_position_embeddings: 128 })
    modelDir = join(tmp, 'model')
    saveModelFolder(modelDir, { config: cfg, state: initState(cfg, 7), vocab: vocabDir })
  })

  it('SST-2 dev: load folder → tokenise → logits → accuracy; padding does not change logits', async () => {
    const loaded = loadModelFolder(modelDir, { numLabels: 2 })
    expect(loaded.report.initialized).toEqual([])
    const model = BertForSequenceClassification.fromState(loaded.config, loaded.state)
    const tok = BertTokenizer.fromFolder(modelDir)
    expect(tok.options.doLowerCase).toBe(true)
    const dev = await loadGlueSplit(join(GLUE_DIR, 'SST-2'), 'sst2', 'dev')
    expect(dev.examples.length).toBe(872)
    const rows = dev.examples.slice(0, 48)
    const batch = tok.encodeBatch(rows, { maxLength: 128 })
    const logits = model.logits(batch)
    expect(logits.shape).toEqual([48, 2])
    const lv = logits.dataSync()
    const result = taskMetrics('sst2', { data: lv, shape: [48, 2] }, rows.map((r) => r.label!))
    expect(result.metrics.accuracy).toBeGreaterThanOrEqual(0)
    expect(result.metrics.accuracy).toBeLessThanOrEqual(1)
    // the same rows one at a time, unpadded
    for (const i of [0, 5, 17]) {
      const one = model.logits(tok.encodeBatch([rows[i]], { maxLength: 128 })).dataSync()
      expect(Math.abs(one[0] - lv[2 * i])).toBeLessThan(1e-5)
      expect(Math.abs(one[1] - lv[2 * i + 1])).toBeLessThan(1e-5)
    }
    logits.dispose()
    model.dispose()
  })

  it('RTE dev sentence pairs run through a 3-way head initialised on load', async () => {
    const loaded = loadModelFolder(modelDir, { numLabels: 3, seed: 1 })
    expect(loaded.report.initialized.sort()).toEqual(['classifier.bias', 'classifier.weight'])
    const model = BertForSequenceClassification.fromState(loaded.config, loaded.state)
    const tok = BertTokenizer.fromFolder(modelDir)
    const dev = await loadGlueSplit(join(GLUE_DIR, 'RTE'), 'rte', 'dev')
    const batch = tok.encodeBatch(dev.examples.slice(0, 8), { maxLength: 128 })
    expect(batch.seqLen).toBeLessThanOrEqual(128)
    expect(Array.from(batch.tokenTypeIds).some((t) => t === 1)).toBe(true)
    const logits = model.logits(batch)
    expect(logits.shape).toEqual([8, 3])
    expect(Array.from(logits.dataSync()).every(Number.isFinite)).toBe(true)
    tf.dispose(logits)
    model.dispose()
  })
})

/**
 * A real tiny run for the resume and fault-injection tests: a 1-layer, hidden-32 BERT with the
 * bert-base-uncased vocabulary, 64 SST-2 training rows and 32 dev rows, FISH selection on 16 samples,
 * 2 epochs of 8 steps with dropout on, checkpoints every 3 steps; plus what compares two runs bit for bit
 * and what checks that a run folder holds no half-written file.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect } from 'vitest'
import { loadDataset } from '../../../src/engine/data'
import { saveModelFolder } from '../../../src/engine/io/model-folder'
import { readSafetensors } from '../../../src/engine/io/safetensors'
import type { JobHooks, RunJobConfig } from '../../../src/engine/jobs/run-job'
import { makeConfig } from '../../../src/engine/model/config'
import { initState } from '../../../src/engine/model/init'
import { BertTokenizer } from '../../../src/engine/tokenizer'
import { GLUE_DIR, VOCAB_FILE } from '../../helpers/shared-data'

export function makeFixture(root: string, over: Partial<RunJobConfig> = {}): RunJobConfig {
  const model = join(root, 'model')
  if (!existsSync(model)) {
    const vocab = join(root, 'vocab')
    mkdirSync(vocab, { recursive: true })
    copyFileSync(VOCAB_FILE, join(vocab, 'vocab.txt'))
    const tok = BertTokenizer.fromFolder(vocab)
    tok.saveToFolder(vocab)
    const cfg = makeConfig({ vocab_size: tok.vocabSize, hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 64 })
    saveModelFolder(model, { config: cfg, state: initState(cfg, 5), vocab })
    const lines = (f: string) => readFileSync(join(GLUE_DIR, 'SST-2', f), 'utf8').split('\n')
    writeFileSync(join(root, 'train.tsv'), lines('train.tsv').slice(0, 65).join('\n') + '\n')
    writeFileSync(join(root, 'dev.tsv'), lines('dev.tsv').slice(0, 33).join('\n') + '\n')
  }
  return {
    modelDir: model,
    task: 'sst2',
    trainFile: join(root, 'train.tsv'),
    devFile: join(root, 'dev.tsv'),
    method: 'fish',
    keepRatio: 0.01,
    nSamples: 16,
    seed: 1,
    maxLength: 32,
    batchSize: 8,
    epochs: 2,
    lr: 1e-3,
    warmupRatio: 0.1,
    weightDecay: 0.01,
    maxGradNorm: 1,
    fisher: { variant: 'label', power: 'square', batchSize: 8 },
    ird: { poolFactor: 2, alphaS: 0.5, alphaP: 0.5, maxRounds: null },
    maxTrainExamples: null,
    workers: 0,
    backend: 'wasm',
    checkpointEvery: 3,
    ...over
  }
}

export function hooks(extra: Partial<JobHooks> = {}): JobHooks {
  return { loadData: (file, task, split, labelNames) => loadDataset(file, { task, split, labelNames }), ...extra }
}

/** results.json without what legitimately differs between runs (timings, the resume point). */
export function results(dir: string): Record<string, unknown> {
  const r = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as Record<string, unknown>
  delete r.elapsedMs
  delete r.stepsPerSec
  delete r.resumedFromStep
  return r
}

/** Two completed runs trained the same model bit for bit and scored it the same. */
export function expectSameOutcome(refDir: string, dir: string, what: string): void {
  expect(Buffer.compare(readFileSync(join(refDir, 'delta.safetensors')), readFileSync(join(dir, 'delta.safetensors'))), `${what}: delta.safetensors bytes`).toBe(0)
  expect(readFileSync(join(dir, 'predictions-dev.jsonl'), 'utf8'), `${what}: predictions`).toBe(readFileSync(join(refDir, 'predictions-dev.jsonl'), 'utf8'))
  expect(results(dir), `${what}: results.json`).toEqual(results(refDir))
  expect(Buffer.compare(readFileSync(join(refDir, 'mask', 'mask.safetensors')), readFileSync(join(dir, 'mask', 'mask.safetensors'))), `${what}: mask`).toBe(0)
}

/**
 * No file under a final name is half-written: every .json parses, every .safetensors reads, .jsonl lines
 * parse except possibly a cut last line of events.jsonl. Temp siblings (`.name.tmp-*`, `*.tmp-*` folders)
 * may be anything.
 */
export function expectIntact(dir: string): void {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (name.includes('.tmp-')) continue
    if (statSync(p).isDirectory()) {
      expectIntact(p)
      continue
    }
    if (name.endsWith('.json')) expect(() => JSON.parse(readFileSync(p, 'utf8')), p).not.toThrow()
    else if (name.endsWith('.safetensors')) expect(() => readSafetensors(p), p).not.toThrow()
    else if (name.endsWith('.jsonl')) {
      const lines = readFileSync(p, 'utf8').split('\n')
      const last = lines.pop()
      for (const l of lines) expect(() => JSON.parse(l), `${p}: ${l.slice(0, 80)}`).not.toThrow()
      if (name !== 'events.jsonl') expect(last, `${p} ends with a newline`).toBe('')
    }
  }
}

/** Loads the PyTorch parity fixtures written by test/reference/bert_reference.py. */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseBertConfig, type BertConfig, type StateDict } from '../../src/engine/model/config'
import type { BertBatch } from '../../src/engine/model/bert'
import { FIXTURES_DIR } from './shared-data'

export const PARITY_CASES = ['cls3-gelu-pairs', 'reg-gelunew-single', 'cls2-gelu-long']

export interface ParityFixture {
  config: BertConfig
  state: StateDict
  batch: BertBatch
  labels: number[]
  loss: number
  seqLens: number[]
  tensors: Map<string, { shape: number[]; data: Float32Array | Int32Array }>
}

/** Minimal F32/I32 safetensors parse, kept independent of src/engine/io so the fixtures check it too. */
function readTensors(path: string): Map<string, { shape: number[]; data: Float32Array | Int32Array }> {
  const buf = readFileSync(path)
  const n = Number(buf.readBigUInt64LE(0))
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>
  const out = new Map<string, { shape: number[]; data: Float32Array | Int32Array }>()
  for (const [k, v] of Object.entries(header)) {
    if (k === '__metadata__') continue
    const copy = new Uint8Array(buf.subarray(8 + n + v.data_offsets[0], 8 + n + v.data_offsets[1])).buffer
    out.set(k, { shape: v.shape, data: v.dtype === 'I32' ? new Int32Array(copy) : new Float32Array(copy) })
  }
  return out
}

export function loadParityFixture(name: string): ParityFixture {
  const meta = JSON.parse(readFileSync(join(FIXTURES_DIR, 'parity', `${name}.json`), 'utf8'))
  const tensors = readTensors(join(FIXTURES_DIR, 'parity', `${name}.safetensors`))
  const state: StateDict = new Map()
  for (const [k, v] of tensors) if (!k.startsWith('grad.') && k.includes('.')) state.set(k, { shape: v.shape, data: v.data as Float32Array })
  return {
    config: parseBertConfig(meta.config),
    state,
    batch: {
      inputIds: tensors.get('input_ids')!.data as Int32Array,
      tokenTypeIds: tensors.get('token_type_ids')!.data as Int32Array,
      attentionMask: tensors.get('attention_mask')!.data as Int32Array,
      batchSize: meta.batch_size,
      seqLen: meta.seq_len
    },
    labels: meta.labels,
    loss: meta.loss,
    seqLens: meta.seq_lens,
    tensors
  }
}

/** Row b of a batch, cut to `len` tokens (no padding). */
export function sliceBatch(batch: BertBatch, b: number, len: number): BertBatch {
  const T = batch.seqLen
  return {
    inputIds: batch.inputIds.slice(b * T, b * T + len),
    tokenTypeIds: batch.tokenTypeIds.slice(b * T, b * T + len),
    attentionMask: batch.attentionMask.slice(b * T, b * T + len),
    batchSize: 1,
    seqLen: len
  }
}

/**
 * Parity with Hugging Face's Python BertTokenizer on real GLUE text: every line of the SST-2 and
 * RTE dev fixtures (transformers 4.4, bert-base-uncased, max length 128, longest_first), and a
 * smoke run over all of SST-2 train. Must not: assert timings (the machine varies); it prints them.
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BertTokenizer } from '../../../src/engine/tokenizer'
import { GLUE_DIR, SHARED_DATA, VOCAB_FILE } from '../../helpers/shared-data'

const FIXTURES = resolve(SHARED_DATA, 'fixtures/tokenizer')

interface FixtureRow {
  text?: string
  text_a?: string
  text_b?: string
  input_ids: number[]
  token_type_ids: number[]
}

function readJsonl(file: string): FixtureRow[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l, i) => {
      try {
        return JSON.parse(l) as FixtureRow
      } catch (e) {
        throw new Error(`${file}:${i + 1}: not valid JSON (${(e as Error).message})`)
      }
    })
}

/** The first row whose ids differ, with what is needed to debug it; null when all match. */
function firstMismatch(tok: BertTokenizer, file: string, rows: FixtureRow[]): object | null {
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]
    const got = r.text_a !== undefined ? tok.encode(r.text_a, r.text_b ?? null) : tok.encode(r.text as string)
    const same =
      got.inputIds.length === r.input_ids.length &&
      got.inputIds.every((id, k) => id === r.input_ids[k]) &&
      got.tokenTypeIds.every((t, k) => t === r.token_type_ids[k])
    if (!same) {
      let at = 0
      while (at < got.inputIds.length && got.inputIds[at] === r.input_ids[at]) at++
      return {
        where: `${file}:${i + 1}`,
        text: r.text ?? [r.text_a, r.text_b],
        firstDifferentPosition: at,
        expectedTokens: r.input_ids.map((id) => tok.idToToken(id)).join(' '),
        gotTokens: got.inputIds.map((id) => tok.idToToken(id)).join(' '),
        expectedTypes: r.token_type_ids.join(''),
        gotTypes: got.tokenTypeIds.join('')
      }
    }
  }
  return null
}

describe('BertTokenizer fixture parity (transformers 4.4, bert-base-uncased)', () => {
  const tok = BertTokenizer.fromVocab(readFileSync(VOCAB_FILE, 'utf8'), { doLowerCase: true })

  it('matches every line of SST-2 dev (single sentences)', () => {
    const file = resolve(FIXTURES, 'sst2-dev.jsonl')
    const rows = readJsonl(file)
    expect(rows.length).toBe(872)
    expect(firstMismatch(tok, file, rows)).toBeNull()
  })

  it('matches every line of RTE dev (pairs, token types, truncation to 128)', () => {
    const file = resolve(FIXTURES, 'rte-dev.jsonl')
    const rows = readJsonl(file)
    expect(rows.length).toBe(277)
    // The fixture does exercise truncation: some pairs come back at exactly 128.
    expect(rows.some((r) => r.input_ids.length === 128)).toBe(true)
    expect(firstMismatch(tok, file, rows)).toBeNull()
  })

  it('tokenises all of SST-2 train without error (timing printed, not asserted)', () => {
    const lines = readFileSync(resolve(GLUE_DIR, 'SST-2/train.tsv'), 'utf8').split('\n')
    const col = lines[0].split('\t').indexOf('sentence')
    expect(col).toBeGreaterThanOrEqual(0)
    const sentences = lines
      .slice(1)
      .filter((l) => l.length > 0)
      .map((l) => l.split('\t')[col])
    expect(sentences.length).toBe(67349)

    const fresh = BertTokenizer.fromVocab(readFileSync(VOCAB_FILE, 'utf8'), { doLowerCase: true })
    const t0 = performance.now()
    let unk = 0
    let longest = 0
    for (const s of sentences) {
      const { inputIds } = fresh.encode(s)
      if (inputIds.length > longest) longest = inputIds.length
      for (const id of inputIds) if (id === fresh.unkId) unk++
    }
    const coldSeconds = (performance.now() - t0) / 1000
    const t1 = performance.now()
    const batch = fresh.encodeBatch(sentences.map((textA) => ({ textA })))
    const warmSeconds = (performance.now() - t1) / 1000
    console.log(
      `SST-2 train: ${sentences.length} sentences in ${coldSeconds.toFixed(2)} s (empty word cache), ` +
        `${warmSeconds.toFixed(2)} s again as one padded batch [${batch.batchSize}, ${batch.seqLen}]; ${unk} [UNK]`
    )
    expect(longest).toBeLessThanOrEqual(128)
    expect(batch.seqLen).toBe(longest)
  })
})

/**
 * BertTokenizer behaviour beyond the GLUE fixtures: cased/uncased and accent flags, Unicode corner
 * cases (expected values are what transformers' Python BasicTokenizer gives), WordPiece limits,
 * pairs and longest_first truncation, padding, decoding, and loading/saving model folders.
 * Must not: write outside its own temporary folders.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { BertTokenizer } from '../../../src/engine/tokenizer'
import { VOCAB_FILE } from '../../helpers/shared-data'

const BERT_VOCAB = readFileSync(VOCAB_FILE, 'utf8')
const uncased = BertTokenizer.fromVocab(BERT_VOCAB, { doLowerCase: true })

// A tiny cased vocabulary; ids are line numbers.
const SMALL = [
  '[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]',
  'hello', 'Hello', 'world', 'World', 'café', 'cafe', 'Café', 'Cafe',
  ',', '!', '.', "'", 's', 'un', '##aff', '##able', 'a', '##a', 'b', 'c', 'd', 'e', 'f', 'g'
]
const SMALL_TEXT = SMALL.join('\n') + '\n'
const id = (t: string): number => SMALL.indexOf(t)

const tmpRoot = mkdtempSync(join(tmpdir(), 'ird-tokenizer-test-'))
afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }))
let dirCount = 0
function tmpFolder(files: Record<string, string>): string {
  const dir = join(tmpRoot, `m${dirCount++}`)
  mkdirSync(dir, { recursive: true })
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  return dir
}

describe('normalisation flags', () => {
  it('cased mode keeps case and accents', () => {
    const cased = BertTokenizer.fromVocab(SMALL_TEXT, { doLowerCase: false })
    expect(cased.tokenize('Hello World, Café!')).toEqual(['Hello', 'World', ',', 'Café', '!'])
    expect(cased.tokenize('hello café')).toEqual(['hello', 'café'])
    expect(cased.options.stripAccents).toBeNull()
  })
  it('uncased mode lower-cases and strips accents (strip_accents follows do_lower_case)', () => {
    const tok = BertTokenizer.fromVocab(SMALL_TEXT, { doLowerCase: true })
    expect(tok.tokenize('Hello World, Café!')).toEqual(['hello', 'world', ',', 'cafe', '!'])
  })
  it('stripAccents overrides either way', () => {
    expect(BertTokenizer.fromVocab(SMALL_TEXT, { doLowerCase: true, stripAccents: false }).tokenize('Café')).toEqual(['café'])
    expect(BertTokenizer.fromVocab(SMALL_TEXT, { doLowerCase: false, stripAccents: true }).tokenize('Café')).toEqual(['Cafe'])
  })
})

describe('Unicode corner cases, as Python BertTokenizer (bert-base-uncased)', () => {
  const cases: Array<[string, string, string[]]> = [
    ['astral CJK ideographs are split one per character', '\u{20000}\u{20001}', ['[UNK]', '[UNK]']],
    ['BMP CJK ideographs are split', '中文字', ['中', '文', '[UNK]']],
    ['unassigned code points (Cn) are dropped', 'a\u0378b', ['ab']],
    ['NUL, U+FFFD and format characters are dropped inside a word', 'a\u0000b\uFFFDc\u200Bd', ['abc', '##d']],
    ['capital sigma lower-cases to σ, never final ς', 'ΟΔΟΣ', ['ο', '##δ', '##ο', '##σ']],
    ['U+2028 separates words', 'x\u2028y', ['x', 'y']],
    ['Zs spaces separate words; fullwidth ! is punctuation', '\u3000full\u00a0width\uff01', ['full', 'width', '！']],
    ['İ lower-cases to i + dot, and the dot is stripped', 'İstanbul', ['istanbul']],
    ['ASCII symbols count as punctuation', '$5+3=8 ^_^ ~|`', ['$', '5', '+', '3', '=', '8', '^', '_', '^', '~', '|', '`']],
    ['Unicode punctuation and accents', '¡Hola! ¿qué?', ['¡', 'ho', '##la', '!', '¿', 'que', '?']],
    ['apostrophes split words', "don't", ['don', "'", 't']],
    ['special tokens are kept whole, even inside words', '[CLS]hi[MASK]', ['[CLS]', 'hi', '[MASK]']],
    ['special tokens are case-sensitive', '[cls] [Mask]', ['[', 'cl', '##s', ']', '[', 'mask', ']']],
    ['whitespace-only text has no tokens', ' \t\n ', []],
    ['empty text has no tokens', '', []]
  ]
  for (const [what, text, expected] of cases) {
    it(what, () => expect(uncased.tokenize(text)).toEqual(expected))
  }
})

describe('WordPiece', () => {
  const tok = BertTokenizer.fromVocab(SMALL_TEXT, { doLowerCase: false })
  it('splits greedily, longest match first, with ## continuations', () => {
    expect(tok.tokenize('unaffable')).toEqual(['un', '##aff', '##able'])
  })
  it('gives one [UNK] for a word with an unmatched remainder', () => {
    expect(tok.tokenize('unaffablez hello')).toEqual(['[UNK]', 'hello'])
  })
  it('gives [UNK] above 100 characters, and splits at exactly 100', () => {
    expect(tok.tokenize('a'.repeat(100))).toEqual(['a', ...new Array(99).fill('##a')])
    expect(tok.tokenize('a'.repeat(101))).toEqual(['[UNK]'])
  })
})

describe('encode: pairs and longest_first truncation', () => {
  const tok = BertTokenizer.fromVocab(SMALL_TEXT, { doLowerCase: true })
  const cls = id('[CLS]')
  const sep = id('[SEP]')
  const letters = (s: string): number[] => [...s].map((c) => id(c))

  it('builds [CLS] a [SEP] b [SEP] with 0s then 1s', () => {
    const e = tok.encode('hello world', 'hello')
    expect(e.inputIds).toEqual([cls, id('hello'), id('world'), sep, id('hello'), sep])
    expect(e.tokenTypeIds).toEqual([0, 0, 0, 0, 1, 1])
  })
  it('treats an empty second text as a pair', () => {
    expect(tok.encode('hello', '').inputIds).toEqual([cls, id('hello'), sep, sep])
  })
  it('truncates the longer side first', () => {
    const e = tok.encode('a b c d e f g a b c', 'd e f', { maxLength: 10 })
    expect(e.inputIds).toEqual([cls, ...letters('abcd'), sep, ...letters('def'), sep])
    expect(e.tokenTypeIds).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
    const f = tok.encode('d e f', 'a b c d e f g a b c', { maxLength: 10 })
    expect(f.inputIds).toEqual([cls, ...letters('def'), sep, ...letters('abcd'), sep])
  })
  it('on a tie removes from the second text (transformers: len(ids) > len(pair_ids) is strict)', () => {
    // 5 + 5 + 3 = 13 → 10: remove from b (tie), then a (5 > 4), then b (tie) → 4 and 3.
    const e = tok.encode('a b c d e', 'a b c d e', { maxLength: 10 })
    expect(e.inputIds).toEqual([cls, ...letters('abcd'), sep, ...letters('abc'), sep])
  })
  it('truncates a single text and keeps the final [SEP]', () => {
    expect(tok.encode('a b c d e', null, { maxLength: 4 }).inputIds).toEqual([cls, ...letters('ab'), sep])
  })
  it('allows maxLength equal to the special tokens (both sides emptied)', () => {
    expect(tok.encode('a b', 'c d', { maxLength: 3 }).inputIds).toEqual([cls, sep, sep])
  })
  it('refuses maxLength smaller than the special tokens, saying what to do', () => {
    expect(() => tok.encode('a', 'b', { maxLength: 2 })).toThrow(/maxLength 2 is shorter than the 3 special tokens of a pair/)
    expect(() => tok.encode('a', null, { maxLength: 1 })).toThrow(/maxLength >= 2/)
    expect(() => tok.encode('a', null, { maxLength: 0 })).toThrow(/positive integer/)
  })
  it('does not truncate when truncation is off, and can leave out special tokens', () => {
    expect(tok.encode('a b c d e', null, { maxLength: 3, truncation: false }).inputIds).toHaveLength(7)
    expect(tok.encode('a b c d e', 'f', { maxLength: 3, addSpecialTokens: false })).toEqual({
      inputIds: letters('abf'),
      tokenTypeIds: [0, 0, 1]
    })
  })
  it('defaults to maxLength 128', () => {
    expect(tok.encode(new Array(300).fill('a').join(' ')).inputIds).toHaveLength(128)
  })
})

describe('padding', () => {
  const tok = BertTokenizer.fromVocab(SMALL_TEXT, { doLowerCase: true })
  const rows = [{ textA: 'hello' }, { textA: 'a b', textB: 'c' }, { textA: '' }]

  it('pads to the longest row with pad ids, type 0 and attention 0, row-major', () => {
    const b = tok.encodeBatch(rows)
    expect([b.batchSize, b.seqLen]).toEqual([3, 6])
    const P = id('[PAD]')
    const [C, S] = [id('[CLS]'), id('[SEP]')]
    expect(Array.from(b.inputIds)).toEqual([C, id('hello'), S, P, P, P, C, id('a'), id('b'), S, id('c'), S, C, S, P, P, P, P])
    expect(Array.from(b.tokenTypeIds)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0])
    expect(Array.from(b.attentionMask)).toEqual([1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0])
  })
  it('pads to a fixed length, which also truncates by default', () => {
    const b = tok.encodeBatch([...rows, { textA: 'a b c d e f g' }], { padTo: 5 })
    expect(b.seqLen).toBe(5)
    expect(Array.from(b.attentionMask.subarray(15, 20))).toEqual([1, 1, 1, 1, 1])
    expect(Array.from(b.inputIds.subarray(15, 20))).toEqual([id('[CLS]'), id('a'), id('b'), id('c'), id('[SEP]')])
  })
  it('refuses a row longer than padTo', () => {
    expect(() => tok.encodeBatch([{ textA: 'a b c d e f g' }], { padTo: 5, maxLength: 20 })).toThrow(/row 0 has 9 tokens, more than padTo=5/)
  })
  it('pads a non-zero pad id and an empty batch', () => {
    const odd = BertTokenizer.fromVocab(SMALL_TEXT, { doLowerCase: true, specialTokens: { pad: '!' } })
    expect(Array.from(odd.pad([{ inputIds: [7], tokenTypeIds: [0] }], 3).inputIds)).toEqual([7, id('!'), id('!')])
    expect(tok.pad([])).toMatchObject({ batchSize: 0, seqLen: 0 })
  })
})

describe('decode and vocabulary lookups', () => {
  it('joins ## pieces and cleans up spaces as HF', () => {
    const ids = uncased.encode("Hello, World! It isn't unaffable.").inputIds
    expect(uncased.decode(ids)).toBe("[CLS] hello, world! it isn't unaffable. [SEP]")
    expect(uncased.decode(ids, { skipSpecialTokens: true })).toBe("hello, world! it isn't unaffable.")
    expect(uncased.decode(ids, { skipSpecialTokens: true, cleanUpTokenizationSpaces: false })).toBe("hello , world ! it isn ' t unaffable .")
  })
  it('maps tokens and ids, and names the bad id', () => {
    expect([uncased.clsId, uncased.sepId, uncased.padId, uncased.unkId, uncased.maskId]).toEqual([101, 102, 0, 100, 103])
    expect(uncased.vocabSize).toBe(30522)
    expect(uncased.tokenToId('hello')).toBe(7592)
    expect(uncased.idToToken(7592)).toBe('hello')
    expect(uncased.tokenToId('no-such-token')).toBeUndefined()
    expect(() => uncased.idToToken(30522)).toThrow(/id 30522 is outside the vocabulary/)
  })
  it('reads CRLF vocabularies like HF (universal newlines)', () => {
    const crlf = BertTokenizer.fromVocab(SMALL.join('\r\n'), { doLowerCase: false })
    expect(crlf.vocabSize).toBe(SMALL.length)
    expect(crlf.tokenize('Hello')).toEqual(['Hello'])
  })
  it('refuses a vocabulary without [CLS], saying how to fix it', () => {
    expect(() => BertTokenizer.fromVocab('[PAD]\n[UNK]\n[SEP]\n', { doLowerCase: true })).toThrow(/cls token "\[CLS\]" is not in the vocabulary/)
    expect(() => BertTokenizer.fromVocab('', { doLowerCase: true })).toThrow(/vocabulary is empty/)
  })
})

describe('model folders', () => {
  it('loads vocab.txt with tokenizer_config.json and special_tokens_map.json', () => {
    const dir = tmpFolder({
      'vocab.txt': SMALL_TEXT,
      'tokenizer_config.json': JSON.stringify({ do_lower_case: false, model_max_length: 512 }),
      'special_tokens_map.json': JSON.stringify({ mask_token: { content: '[MASK]', lstrip: false }, unk_token: '[UNK]' })
    })
    const tok = BertTokenizer.fromFolder(dir)
    expect(tok.options.doLowerCase).toBe(false)
    expect(tok.options.modelMaxLength).toBe(512)
    expect(tok.tokenize('Hello Café')).toEqual(['Hello', 'Café'])
  })
  it('defaults to do_lower_case true for a bare vocab.txt, as HF', () => {
    const tok = BertTokenizer.fromFolder(tmpFolder({ 'vocab.txt': SMALL_TEXT }))
    expect(tok.tokenize('Hello Café')).toEqual(['hello', 'cafe'])
  })

  function tokenizerJson(normalizer: object, extra: object = {}): string {
    const vocab = Object.fromEntries(SMALL.map((t, i) => [t, i]))
    return JSON.stringify({
      version: '1.0',
      added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map((t) => ({ id: vocab[t], content: t, special: true })),
      normalizer,
      pre_tokenizer: { type: 'BertPreTokenizer' },
      post_processor: {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
        pair: [],
        special_tokens: {}
      },
      decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
      model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
      ...extra
    })
  }

  it('loads tokenizer.json alone: vocabulary and BertNormalizer flags', () => {
    const cased = BertTokenizer.fromFolder(
      tmpFolder({ 'tokenizer.json': tokenizerJson({ type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: false }) })
    )
    expect(cased.options.doLowerCase).toBe(false)
    expect(cased.tokenize('Hello Café unaffable')).toEqual(['Hello', 'Café', 'un', '##aff', '##able'])
    expect(cased.encode('Hello').inputIds).toEqual([id('[CLS]'), id('Hello'), id('[SEP]')])

    const lower = BertTokenizer.fromFolder(
      tmpFolder({ 'tokenizer.json': tokenizerJson({ type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: false, lowercase: true }) })
    )
    expect(lower.tokenize('Hello Café')).toEqual(['hello', 'café'])
  })
  it('lets tokenizer_config.json override tokenizer.json flags', () => {
    const tok = BertTokenizer.fromFolder(
      tmpFolder({
        'tokenizer.json': tokenizerJson({ type: 'BertNormalizer', lowercase: false }),
        'tokenizer_config.json': JSON.stringify({ do_lower_case: true })
      })
    )
    expect(tok.tokenize('Hello')).toEqual(['hello'])
  })
  it('treats added tokens from tokenizer.json as never-split specials', () => {
    const tok = BertTokenizer.fromFolder(
      tmpFolder({
        'tokenizer.json': tokenizerJson(
          { type: 'BertNormalizer', lowercase: false },
          { added_tokens: [{ id: SMALL.length, content: '<ent>', special: true }] }
        )
      })
    )
    expect(tok.vocabSize).toBe(SMALL.length + 1)
    expect(tok.tokenize('hello<ent>world')).toEqual(['hello', '<ent>', 'world'])
    expect(tok.specialTokens.additional).toEqual(['<ent>'])
  })
  it('refuses a tokenizer.json that is not BERT WordPiece, naming the field', () => {
    const bpe = tmpFolder({ 'tokenizer.json': JSON.stringify({ model: { type: 'BPE', vocab: {}, merges: [] } }) })
    expect(() => BertTokenizer.fromFolder(bpe)).toThrow(/tokenizer\.json: model\.type is "BPE", expected "WordPiece"/)
  })
  it('names the file and line of broken JSON', () => {
    const dir = tmpFolder({ 'vocab.txt': SMALL_TEXT, 'tokenizer_config.json': '{\n  "do_lower_case": true,\n  oops\n}' })
    expect(() => BertTokenizer.fromFolder(dir)).toThrow(/tokenizer_config\.json: invalid JSON at line 3, column \d+/)
  })
  it('names the folder and the files looked for when there is no vocabulary', () => {
    const empty = tmpFolder({ 'config.json': '{}' })
    expect(() => BertTokenizer.fromFolder(empty)).toThrow(new RegExp(`${empty.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: no tokenizer found; looked for vocab\\.txt .*tokenizer\\.json`))
    expect(() => BertTokenizer.fromFolder(join(tmpRoot, 'does-not-exist'))).toThrow(/does-not-exist: tokenizer folder not found/)
  })

  it('round-trips saveToFolder → fromFolder with the same ids and options', () => {
    const dir = join(tmpRoot, 'saved-uncased')
    uncased.saveToFolder(dir)
    const back = BertTokenizer.fromFolder(dir)
    expect(readFileSync(join(dir, 'vocab.txt'), 'utf8')).toBe(BERT_VOCAB)
    expect(back.options).toEqual(uncased.options)
    const texts = ["it 's a charming and often affecting journey . ", 'Héllo, wörld! 中文 [MASK] ΟΔΟΣ', 'unflinchingly bleak and desperate']
    for (const t of texts) expect(back.encode(t, 'a second text')).toEqual(uncased.encode(t, 'a second text'))

    const cased = BertTokenizer.fromVocab(SMALL_TEXT, { doLowerCase: false, stripAccents: true, modelMaxLength: 64, specialTokens: { additional: ['Hello'] } })
    const dir2 = join(tmpRoot, 'saved-cased')
    cased.saveToFolder(dir2)
    const back2 = BertTokenizer.fromFolder(dir2)
    expect(back2.options).toEqual(cased.options)
    expect(back2.tokenize('Hello Café')).toEqual(cased.tokenize('Hello Café'))
    expect(JSON.parse(readFileSync(join(dir2, 'special_tokens_map.json'), 'utf8'))).toMatchObject({ cls_token: '[CLS]', additional_special_tokens: ['Hello'] })
  })
})

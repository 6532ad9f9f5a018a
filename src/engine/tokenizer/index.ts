/**
 * BERT WordPiece tokenizer (uncased and cased) that gives the same ids as Hugging Face's Python
 * BertTokenizer, offline, from a model folder or a vocab.txt.
 * Owns: the public tokenizer API: text → ids, sentence pairs with token_type_ids, longest_first
 * truncation, padding to a batch tensor layout with attention masks, decoding, save/load.
 * Must not: read anything but local files, or change ids to "improve" on HF: parity is the contract.
 *
 * Hand-written, not @huggingface/tokenizers@0.2.0. That library builds from a tokenizer.json object
 * (one can be synthesised from vocab.txt) and matched all 1,149 SST-2/RTE dev fixtures, but:
 * - it diverges from the Python tokenizer on text the fixtures do not cover: astral CJK ideographs
 *   are not split (it reads UTF-16 units), unassigned code points (Cn) are kept instead of dropped,
 *   and Σ lower-cases to a final ς where HF's per-character pre-pass gives σ;
 * - it has no truncation, pairs-with-truncation or batch padding, which are most of this module;
 * - with no per-word cache it took ~3 s for SST-2 train, against well under 1 s here.
 * It stays a dependency for now; this module does not import it.
 *
 * Pipeline per text (as transformers' PreTrainedTokenizer.tokenize + BertTokenizer._tokenize):
 * lower-case pre-pass (uncased only; special tokens untouched) → split out special tokens →
 * clean text → isolate CJK → whitespace split → per word: lower, strip accents, split punctuation,
 * WordPiece. The per-word part is cached: words repeat, so most lookups are one Map hit.
 */
import { CH_PUNCT, charClass, lowerLikeHf, splitOnPunctuation, splitWords, stripAccents } from './basic'
import { DEFAULT_SPECIAL_TOKENS, loadTokenizerFolder, saveTokenizerFolder } from './folder'
import type { SpecialTokens, TokenizerOptions } from './folder'
import { parseVocabText, Vocab, WordPiece } from './wordpiece'

export type { SpecialTokens, TokenizerOptions } from './folder'

export interface EncodeOptions {
  /** Total length, special tokens included; default 128. Only applied when truncation is on. */
  maxLength?: number
  /** 'longest_first' truncation to maxLength; default true. */
  truncation?: boolean
  /** [CLS] a [SEP] (b [SEP]); default true. */
  addSpecialTokens?: boolean
}

export interface Encoded {
  inputIds: number[]
  /** 0 for [CLS], a and its [SEP]; 1 for b and the final [SEP]. */
  tokenTypeIds: number[]
}

/** Row-major [batchSize, seqLen]; padding is on the right, with padId, type 0 and mask 0. */
export interface EncodedBatch {
  inputIds: Int32Array
  tokenTypeIds: Int32Array
  attentionMask: Int32Array
  batchSize: number
  seqLen: number
}

export interface DecodeOptions {
  /** Leave out [CLS], [SEP], [PAD] … ; default false, as HF. */
  skipSpecialTokens?: boolean
  /** HF's clean_up_tokenization (" ." → "." , " n't" → "n't", …); default true, as HF. */
  cleanUpTokenizationSpaces?: boolean
}

export const DEFAULT_MAX_LENGTH = 128

/** Enough for every distinct word of a large corpus; cleared, not evicted, when full. */
const CACHE_LIMIT = 1 << 19

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

export class BertTokenizer {
  readonly vocabSize: number
  readonly clsId: number
  readonly sepId: number
  readonly padId: number
  readonly unkId: number
  /** -1 when the vocabulary has no mask token (only masked-LM pre-training needs it). */
  readonly maskId: number
  /** The resolved options: every field set, specialTokens complete. */
  readonly options: TokenizerOptions
  readonly specialTokens: SpecialTokens

  private readonly vocab: Vocab
  private readonly wordPiece: WordPiece
  private readonly stripAccentsOn: boolean
  private readonly cjk: boolean
  /** Special token → id, for text that contains them verbatim. */
  private readonly specialIds: Map<string, number>
  private readonly specialRe: RegExp | null
  private readonly allSpecialIds: Set<number>
  /** Word (after the lower-case pre-pass) → its ids. Entries are shared: never mutate them. */
  private readonly cache = new Map<string, number[]>()
  /** Scratch list for plainIds, reused to spare an allocation per text. */
  private readonly words: string[] = []

  private constructor(tokens: string[], opts: TokenizerOptions, source: string) {
    const vocab = new Vocab(tokens)
    const given = opts.specialTokens ?? {}
    const roles = { ...DEFAULT_SPECIAL_TOKENS, ...given }
    const five = [roles.unk, roles.sep, roles.pad, roles.cls, roles.mask]
    const specials: SpecialTokens = { ...roles, additional: (given.additional ?? []).filter((t) => !five.includes(t)) }

    const need = (role: keyof Omit<SpecialTokens, 'additional'>): number => {
      const id = vocab.id(specials[role])
      if (id === undefined) {
        throw new Error(
          `${source}: the ${role} token ${JSON.stringify(specials[role])} is not in the vocabulary; expected a BERT vocab ` +
            `with it, or set the ${role}_token in special_tokens_map.json / specialTokens.${role}`
        )
      }
      return id
    }
    this.unkId = need('unk')
    this.clsId = need('cls')
    this.sepId = need('sep')
    this.padId = need('pad')
    this.maskId = vocab.id(specials.mask) ?? -1

    const maxChars = opts.maxInputCharsPerWord ?? 100
    if (!Number.isInteger(maxChars) || maxChars < 1) {
      throw new Error(`${source}: maxInputCharsPerWord must be a positive integer, found ${maxChars}`)
    }
    this.options = {
      doLowerCase: opts.doLowerCase,
      stripAccents: opts.stripAccents ?? null,
      tokenizeChineseChars: opts.tokenizeChineseChars ?? true,
      modelMaxLength: opts.modelMaxLength,
      specialTokens: specials,
      maxInputCharsPerWord: maxChars
    }
    this.specialTokens = specials
    this.vocab = vocab
    this.vocabSize = vocab.size
    this.wordPiece = new WordPiece(vocab, this.unkId, maxChars)
    // BasicTokenizer: strip_accents=None follows do_lower_case.
    this.stripAccentsOn = opts.doLowerCase ? opts.stripAccents !== false : opts.stripAccents === true
    this.cjk = this.options.tokenizeChineseChars !== false

    this.specialIds = new Map()
    this.allSpecialIds = new Set()
    for (const t of [...five, ...specials.additional]) {
      if (t.length === 0) continue
      // HF's convert_tokens_to_ids: a special token outside the vocabulary is [UNK].
      const id = vocab.id(t) ?? this.unkId
      this.specialIds.set(t, id)
      if (vocab.id(t) !== undefined) this.allSpecialIds.add(id)
    }
    // Longest first, so a special token that contains another is matched whole.
    const alts = [...this.specialIds.keys()].sort((a, b) => b.length - a.length).map(escapeRegExp)
    this.specialRe = alts.length > 0 ? new RegExp(alts.join('|'), 'g') : null
  }

  /** Load from a Hugging Face model folder: vocab.txt (+ configs) or tokenizer.json. */
  static fromFolder(dir: string): BertTokenizer {
    const loaded = loadTokenizerFolder(dir)
    return new BertTokenizer(loaded.tokens, loaded.options, loaded.source)
  }

  /** Build from the text of a vocab.txt (one token per line, id = line number). */
  static fromVocab(vocabText: string, opts: TokenizerOptions): BertTokenizer {
    return new BertTokenizer(parseVocabText(vocabText, 'fromVocab'), opts, 'fromVocab')
  }

  /**
   * WordPiece tokens of one text, without [CLS]/[SEP] (HF tokenizer.tokenize). A special token that
   * is missing from the vocabulary comes back as [UNK] here, where HF would echo its string.
   */
  tokenize(text: string): string[] {
    return this.textIds(text).map((id) => this.vocab.tokens[id])
  }

  /** ids of [CLS] a [SEP] (b [SEP]), truncated longest_first to maxLength. */
  encode(textA: string, textB?: string | null, opts: EncodeOptions = {}): Encoded {
    const maxLength = opts.maxLength ?? DEFAULT_MAX_LENGTH
    const truncation = opts.truncation ?? true
    const addSpecial = opts.addSpecialTokens ?? true
    const pair = textB !== undefined && textB !== null
    const a = this.textIds(textA)
    const b = pair ? this.textIds(textB) : null
    const nSpecial = addSpecial ? (pair ? 3 : 2) : 0

    if (truncation) {
      if (!Number.isInteger(maxLength) || maxLength < 1) {
        throw new Error(`BertTokenizer.encode: maxLength must be a positive integer, found ${maxLength}`)
      }
      if (maxLength < nSpecial) {
        throw new Error(
          `BertTokenizer.encode: maxLength ${maxLength} is shorter than the ${nSpecial} special tokens of a ` +
            `${pair ? 'pair' : 'single text'}; use maxLength >= ${nSpecial} or addSpecialTokens: false`
        )
      }
      const excess = a.length + (b ? b.length : 0) + nSpecial - maxLength
      if (excess > 0) {
        if (b === null) {
          a.length -= excess
        } else {
          // transformers' truncate_sequences, longest_first: one token at a time from the longer
          // side; on a tie the second sequence loses it (`len(ids) > len(pair_ids)` is strict).
          let la = a.length
          let lb = b.length
          for (let k = 0; k < excess; k++) {
            if (la > lb) la--
            else lb--
          }
          a.length = la
          b.length = lb
        }
      }
    }

    const lenA = a.length + (addSpecial ? 2 : 0)
    const total = lenA + (b ? b.length + (addSpecial ? 1 : 0) : 0)
    const inputIds = new Array<number>(total)
    const tokenTypeIds = new Array<number>(total).fill(0)
    let p = 0
    if (addSpecial) inputIds[p++] = this.clsId
    for (const id of a) inputIds[p++] = id
    if (addSpecial) inputIds[p++] = this.sepId
    if (b) {
      for (const id of b) inputIds[p++] = id
      if (addSpecial) inputIds[p++] = this.sepId
      tokenTypeIds.fill(1, lenA)
    }
    return { inputIds, tokenTypeIds }
  }

  /**
   * Encode rows and pad them into one batch. padTo 'longest' (default) pads to the longest row; a
   * number pads every row to exactly that length, and is then also the default maxLength.
   */
  encodeBatch(rows: Array<{ textA: string; textB?: string | null }>, opts: EncodeOptions & { padTo?: 'longest' | number } = {}): EncodedBatch {
    const padTo = opts.padTo ?? 'longest'
    const enc: EncodeOptions = { ...opts, maxLength: opts.maxLength ?? (typeof padTo === 'number' ? padTo : DEFAULT_MAX_LENGTH) }
    return this.pad(
      rows.map((r) => this.encode(r.textA, r.textB, enc)),
      padTo
    )
  }

  /** Pad encoded rows on the right (padId, token type 0, attention 0) into row-major arrays. */
  pad(encoded: Encoded[], padTo: 'longest' | number = 'longest'): EncodedBatch {
    let seqLen: number
    if (padTo === 'longest') {
      seqLen = 0
      for (const e of encoded) if (e.inputIds.length > seqLen) seqLen = e.inputIds.length
    } else {
      if (!Number.isInteger(padTo) || padTo < 1) throw new Error(`BertTokenizer.pad: padTo must be 'longest' or a positive integer, found ${padTo}`)
      seqLen = padTo
    }
    const batchSize = encoded.length
    const inputIds = new Int32Array(batchSize * seqLen)
    const tokenTypeIds = new Int32Array(batchSize * seqLen)
    const attentionMask = new Int32Array(batchSize * seqLen)
    if (this.padId !== 0) inputIds.fill(this.padId)
    for (let r = 0; r < batchSize; r++) {
      const { inputIds: ids, tokenTypeIds: types } = encoded[r]
      if (ids.length > seqLen) {
        throw new Error(
          `BertTokenizer.pad: row ${r} has ${ids.length} tokens, more than padTo=${seqLen}; ` +
            'encode with truncation and maxLength <= padTo'
        )
      }
      if (types.length !== ids.length) throw new Error(`BertTokenizer.pad: row ${r} has ${ids.length} inputIds but ${types.length} tokenTypeIds`)
      const o = r * seqLen
      inputIds.set(ids, o)
      tokenTypeIds.set(types, o)
      attentionMask.fill(1, o, o + ids.length)
    }
    return { inputIds, tokenTypeIds, attentionMask, batchSize, seqLen }
  }

  /** ids → text as HF's decode: "##" pieces joined to their word, then clean_up_tokenization. */
  decode(ids: ArrayLike<number>, opts: DecodeOptions = {}): string {
    const tokens: string[] = []
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]
      if (opts.skipSpecialTokens && this.allSpecialIds.has(id)) continue
      tokens.push(this.idToToken(id))
    }
    let text = tokens.join(' ').replaceAll(' ##', '').trim()
    if (opts.cleanUpTokenizationSpaces ?? true) {
      text = text
        .replaceAll(' .', '.')
        .replaceAll(' ?', '?')
        .replaceAll(' !', '!')
        .replaceAll(' ,', ',')
        .replaceAll(" ' ", "'")
        .replaceAll(" n't", "n't")
        .replaceAll(" 'm", "'m")
        .replaceAll(" 's", "'s")
        .replaceAll(" 've", "'ve")
        .replaceAll(" 're", "'re")
    }
    return text
  }

  /** The token of an id; throws for ids outside the vocabulary (HF would silently give [UNK]). */
  idToToken(id: number): string {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocab.size) {
      throw new RangeError(`BertTokenizer.idToToken: id ${id} is outside the vocabulary [0, ${this.vocab.size})`)
    }
    return this.vocab.tokens[id]
  }

  tokenToId(token: string): number | undefined {
    return this.vocab.id(token)
  }

  /** Write vocab.txt + tokenizer_config.json + special_tokens_map.json into dir (created if needed). */
  saveToFolder(dir: string): void {
    saveTokenizerFolder(dir, this.vocab.tokens, this.options, this.specialTokens)
  }

  /** ids of one text without special tokens, fresh array (callers truncate it in place). */
  private textIds(text: string): number[] {
    const out: number[] = []
    // HF lower-cases everything but special tokens first, then looks for special tokens in the
    // result (so a lower-case special token written in capitals is found too).
    const src = this.options.doLowerCase ? this.mapOutsideSpecials(text, lowerLikeHf) : text
    const re = this.specialRe
    if (re === null) {
      this.plainIds(src, out)
      return out
    }
    re.lastIndex = 0
    let last = 0
    for (let m = re.exec(src); m !== null; m = re.exec(src)) {
      if (m.index > last) this.plainIds(src.slice(last, m.index), out)
      out.push(this.specialIds.get(m[0]) as number)
      last = m.index + m[0].length
    }
    if (last < src.length) this.plainIds(last === 0 ? src : src.slice(last), out)
    return out
  }

  private mapOutsideSpecials(text: string, f: (s: string) => string): string {
    const re = this.specialRe
    if (re === null) return f(text)
    re.lastIndex = 0
    let m = re.exec(text)
    if (m === null) return f(text)
    let res = ''
    let last = 0
    for (; m !== null; m = re.exec(text)) {
      res += f(text.slice(last, m.index)) + m[0]
      last = m.index + m[0].length
    }
    return res + f(text.slice(last))
  }

  /** Text without special tokens → ids, through the per-word cache. */
  private plainIds(text: string, out: number[]): void {
    const words = this.words
    words.length = 0
    splitWords(text, this.cjk, words)
    for (const w of words) {
      let ids = this.cache.get(w)
      if (ids === undefined) {
        ids = this.wordIds(w)
        if (this.cache.size >= CACHE_LIMIT) this.cache.clear()
        this.cache.set(w, ids)
      }
      for (let i = 0; i < ids.length; i++) out.push(ids[i])
    }
  }

  /** One whitespace-delimited word: lower-case, strip accents, split punctuation, WordPiece. */
  private wordIds(word: string): number[] {
    let w = word
    if (this.options.doLowerCase) w = lowerLikeHf(w)
    if (this.stripAccentsOn) w = stripAccents(w)
    const ids: number[] = []
    // Fast path: a word with no punctuation is one basic token.
    let punct = false
    for (let i = 0; i < w.length; i++) {
      const c = w.charCodeAt(i)
      if (c >= 0xd800 || charClass(c) & CH_PUNCT) {
        punct = true
        break
      }
    }
    if (!punct) {
      if (w.length > 0) this.wordPiece.encodeWord(w, ids)
      return ids
    }
    const pieces: string[] = []
    splitOnPunctuation(w, pieces)
    for (const p of pieces) this.wordPiece.encodeWord(p, ids)
    return ids
  }
}

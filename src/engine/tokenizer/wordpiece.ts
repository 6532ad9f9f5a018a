/**
 * The WordPiece vocabulary and the greedy longest-match-first subword split (HF WordpieceTokenizer).
 * Owns: parsing vocab.txt exactly as HF's load_vocab does, token ↔ id maps, and splitting one
 * basic token into vocabulary ids ("##" marks a continuation; more than maxInputCharsPerWord code
 * points, or any unmatched remainder, gives the single unknown token).
 * Must not: normalise text (basic.ts) or add special tokens (index.ts).
 */

export class Vocab {
  /** id → token; one entry per line of vocab.txt, so ids are 0 … size-1 with no gaps. */
  readonly tokens: string[]
  private readonly ids: Map<string, number>
  /** Longest token in code units (with its "##"): no candidate longer than this can match. */
  readonly maxTokenLength: number

  constructor(tokens: string[]) {
    this.tokens = tokens
    this.ids = new Map()
    let maxLen = 0
    // Like HF's OrderedDict assignment, a repeated token keeps its last id.
    for (let i = 0; i < tokens.length; i++) {
      this.ids.set(tokens[i], i)
      if (tokens[i].length > maxLen) maxLen = tokens[i].length
    }
    this.maxTokenLength = maxLen
  }

  get size(): number {
    return this.tokens.length
  }

  id(token: string): number | undefined {
    return this.ids.get(token)
  }
}

/**
 * Parse vocab.txt text: one token per line. HF opens it in text mode (universal newlines, so \r\n
 * and \r end lines too) and strips only the newline, so spaces inside a line are part of the token
 * and an empty line is the empty token. A final newline does not add a token.
 */
export function parseVocabText(text: string, source: string): string[] {
  const lines = text.split(/\r\n|\r|\n/)
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop()
  if (lines.length === 0) {
    throw new Error(`${source}: the vocabulary is empty; expected one WordPiece token per line (e.g. a BERT vocab.txt)`)
  }
  return lines
}

export class WordPiece {
  private readonly prefix: string

  constructor(
    readonly vocab: Vocab,
    readonly unkId: number,
    readonly maxInputCharsPerWord = 100,
    continuingSubwordPrefix = '##'
  ) {
    this.prefix = continuingSubwordPrefix
  }

  /** Append the ids of one basic token (no whitespace inside) to out. */
  encodeWord(word: string, out: number[]): void {
    // Python counts code points; only words with surrogate pairs need the slower path.
    let hasAstral = false
    for (let i = 0; i < word.length; i++) {
      const c = word.charCodeAt(i)
      if (c >= 0xd800 && c <= 0xdfff) {
        hasAstral = true
        break
      }
    }
    if (hasAstral) {
      this.encodeCodePoints(Array.from(word), out)
      return
    }
    const n = word.length
    if (n > this.maxInputCharsPerWord) {
      out.push(this.unkId)
      return
    }
    const vocab = this.vocab
    const maxLen = vocab.maxTokenLength
    const mark = out.length
    let start = 0
    while (start < n) {
      const prefixLen = start > 0 ? this.prefix.length : 0
      // Candidates longer than the longest vocabulary token cannot match, so skip them.
      let end = Math.min(n, start + maxLen - prefixLen)
      let id: number | undefined
      while (start < end) {
        const piece = start > 0 ? this.prefix + word.slice(start, end) : word.slice(start, end)
        id = vocab.id(piece)
        if (id !== undefined) break
        end--
      }
      if (id === undefined || start >= end) {
        out.length = mark
        out.push(this.unkId)
        return
      }
      out.push(id)
      start = end
    }
  }

  private encodeCodePoints(chars: string[], out: number[]): void {
    const n = chars.length
    if (n > this.maxInputCharsPerWord) {
      out.push(this.unkId)
      return
    }
    const mark = out.length
    let start = 0
    while (start < n) {
      let end = n
      let id: number | undefined
      while (start < end) {
        const body = chars.slice(start, end).join('')
        id = this.vocab.id(start > 0 ? this.prefix + body : body)
        if (id !== undefined) break
        end--
      }
      if (id === undefined || start >= end) {
        out.length = mark
        out.push(this.unkId)
        return
      }
      out.push(id)
      start = end
    }
  }
}

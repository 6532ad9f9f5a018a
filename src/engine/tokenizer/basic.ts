/**
 * BERT's BasicTokenizer, character for character as Hugging Face's Python BertTokenizer
 * (transformers 4.x, tokenization_bert.py + the lower-casing pre-pass in tokenization_utils.py).
 * Owns: character classes (control, whitespace, punctuation, CJK), text cleaning, CJK splitting,
 * whitespace splitting, accent stripping and punctuation splitting of one word.
 * Must not: know about the vocabulary or ids (wordpiece.ts), or special-token handling (index.ts).
 *
 * Where JavaScript and Python differ and HF's result depends on it, the Python result wins:
 * - Python's `unicodedata.category(c).startswith('C')` includes Cn (unassigned) and Cs (lone
 *   surrogates): both are dropped by clean-text, so we test \p{C}, not only Cc/Cf.
 * - `str.split()` also splits on U+2028/U+2029 (Zl/Zp), which clean-text leaves in place.
 * - The pre-pass lower-cases one character at a time (`re.sub(r'(.+?)', lower)`), so Greek capital
 *   sigma always becomes σ; JS `toLowerCase()` on a word would give final ς. See lowerLikeHf.
 * Character categories come from the running engine's Unicode tables (Node's ICU), whereas the
 * reference used its Python's; characters assigned or re-categorised in between can differ (e.g.
 * U+1171E is Mn in Unicode 14, so stripped, but Mc in 16+, so kept). GLUE text is unaffected.
 */

/** Dropped by clean-text: NUL, U+FFFD, and every C* category except \t \n \r. */
export const CH_DROP = 1
/** Mapped to a space (Zs, \t, \n, \r) or a `str.split()` separator (U+2028, U+2029). */
export const CH_SPACE = 2
/** A CJK ideograph: becomes a word of its own when tokenizeChineseChars. */
export const CH_CJK = 4
/** Split off as its own token: ASCII 33-47, 58-64, 91-96, 123-126 and every P* category. */
export const CH_PUNCT = 8

const RE_CONTROL = /\p{C}/u
const RE_ZS = /\p{Zs}/u
const RE_PUNCT = /\p{P}/u
const RE_MN = /\p{Mn}/gu
const RE_NON_ASCII = /[^\x00-\x7f]/

/** The CJK Unified Ideographs blocks BERT treats as characters (BasicTokenizer._is_chinese_char). */
function isCjk(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  )
}

function computeClass(cp: number): number {
  const ch = String.fromCodePoint(cp)
  let c = 0
  if (cp === 0x20 || cp === 0x09 || cp === 0x0a || cp === 0x0d || cp === 0x2028 || cp === 0x2029 || RE_ZS.test(ch)) {
    c |= CH_SPACE
  } else if (cp === 0 || cp === 0xfffd || RE_CONTROL.test(ch)) {
    c |= CH_DROP
  }
  if (isCjk(cp)) c |= CH_CJK
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126) || RE_PUNCT.test(ch)) {
    c |= CH_PUNCT
  }
  return c
}

// A lookup table for the BMP (64 KiB, built once in ~20 ms) keeps the per-character work to an
// array read; astral characters are rare enough for a small memo.
let bmpTable: Uint8Array | null = null
const astralClass = new Map<number, number>()

function table(): Uint8Array {
  if (bmpTable === null) {
    const t = new Uint8Array(0x10000)
    // Lone surrogates are Cs: dropped, like Python drops them (it never sees them in decoded text).
    for (let cp = 0; cp < 0x10000; cp++) t[cp] = cp >= 0xd800 && cp <= 0xdfff ? CH_DROP : computeClass(cp)
    bmpTable = t
  }
  return bmpTable
}

export function charClass(cp: number): number {
  if (cp < 0x10000) return table()[cp]
  let c = astralClass.get(cp)
  if (c === undefined) {
    c = computeClass(cp)
    astralClass.set(cp, c)
  }
  return c
}

/**
 * Python's per-character `str.lower()`. JS lower-cases Σ to ς at the end of a word (Final_Sigma);
 * HF's pre-pass lowers one character at a time, where that context never applies, so Σ is mapped
 * first. Every other mapping (İ → i̇ included) is the same full Unicode lower-case in both.
 */
export function lowerLikeHf(text: string): string {
  return (text.indexOf('\u03a3') >= 0 ? text.replaceAll('\u03a3', '\u03c3') : text).toLowerCase()
}

/** BasicTokenizer._run_strip_accents: NFD, then drop nonspacing marks (Mn). */
export function stripAccents(word: string): string {
  if (!RE_NON_ASCII.test(word)) return word
  return word.normalize('NFD').replace(RE_MN, '')
}

/**
 * Clean text, split CJK ideographs and split on whitespace, in one pass
 * (BasicTokenizer._clean_text → _tokenize_chinese_chars → whitespace_tokenize). Words come out
 * before lower-casing/accent stripping, which wordPieceWords does per word (and caches).
 */
export function splitWords(text: string, tokenizeChineseChars: boolean, out: string[]): void {
  const t = table()
  const n = text.length
  let start = -1 // start of the current run of kept characters
  let buf: string | null = null // the word so far, when dropped characters interrupted it
  const flush = (end: number): void => {
    if (start >= 0) {
      buf = buf === null ? text.slice(start, end) : buf + text.slice(start, end)
      start = -1
    }
    if (buf !== null && buf.length > 0) out.push(buf)
    buf = null
  }
  for (let i = 0; i < n; i++) {
    let cp = text.charCodeAt(i)
    let width = 1
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < n) {
      const lo = text.charCodeAt(i + 1)
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        cp = ((cp - 0xd800) << 10) + (lo - 0xdc00) + 0x10000
        width = 2
      }
    }
    const c = cp < 0x10000 ? t[cp] : charClass(cp)
    if (c & CH_SPACE) {
      flush(i)
    } else if (c & CH_DROP) {
      // The word continues across a dropped character: "a\u0000b" is the one word "ab".
      if (start >= 0) {
        buf = buf === null ? text.slice(start, i) : buf + text.slice(start, i)
        start = -1
      }
    } else if (c & CH_CJK && tokenizeChineseChars) {
      flush(i)
      out.push(text.slice(i, i + width))
    } else if (start < 0) {
      start = i
      if (buf === null) buf = ''
    }
    i += width - 1
  }
  flush(n)
}

/** BasicTokenizer._run_split_on_punc: every punctuation character becomes its own token. */
export function splitOnPunctuation(word: string, out: string[]): void {
  const t = table()
  const n = word.length
  let start = 0
  for (let i = 0; i < n; i++) {
    let cp = word.charCodeAt(i)
    let width = 1
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < n) {
      const lo = word.charCodeAt(i + 1)
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        cp = ((cp - 0xd800) << 10) + (lo - 0xdc00) + 0x10000
        width = 2
      }
    }
    const c = cp < 0x10000 ? t[cp] : charClass(cp)
    if (c & CH_PUNCT) {
      if (i > start) out.push(word.slice(start, i))
      out.push(word.slice(i, i + width))
      start = i + width
    }
    i += width - 1
  }
  if (start < n) out.push(start === 0 ? word : word.slice(start))
}

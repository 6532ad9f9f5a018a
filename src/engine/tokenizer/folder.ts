/**
 * Reading and writing a tokenizer in a Hugging Face model folder, offline.
 * Owns: which files are looked for (vocab.txt + tokenizer_config.json + special_tokens_map.json, or
 * tokenizer.json), how their fields map onto TokenizerOptions, and writing vocab.txt +
 * tokenizer_config.json + special_tokens_map.json back.
 * Must not: tokenise (index.ts), touch the network, or accept a tokenizer.json that is not BERT
 * WordPiece: anything else is refused with the field that made it so, rather than tokenised wrongly.
 *
 * Precedence, as HF's Python BertTokenizer: vocab.txt is the vocabulary when present, and
 * tokenizer_config.json / special_tokens_map.json give the flags and special tokens. tokenizer.json
 * is read when vocab.txt is missing, and its BertNormalizer flags fill any flag the config files do
 * not set (HF's slow tokenizer would fall back to do_lower_case=true there, which is wrong for cased
 * models that ship tokenizer.json only).
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseJsonStrict } from '../io/strict-json'
import { parseVocabText } from './wordpiece'

export interface SpecialTokens {
  unk: string
  sep: string
  pad: string
  cls: string
  mask: string
  /** additional_special_tokens: never split, like the five above. */
  additional: string[]
}

export const DEFAULT_SPECIAL_TOKENS: SpecialTokens = {
  unk: '[UNK]',
  sep: '[SEP]',
  pad: '[PAD]',
  cls: '[CLS]',
  mask: '[MASK]',
  additional: []
}

export interface TokenizerOptions {
  /** Lower-case (and, unless stripAccents is false, strip accents): true for uncased models. */
  doLowerCase: boolean
  /** null/undefined: follow doLowerCase, as HF does. */
  stripAccents?: boolean | null
  /** Split CJK ideographs into single characters; default true. */
  tokenizeChineseChars?: boolean
  /** The model's maximum sequence length, kept for the caller (encode does not enforce it). */
  modelMaxLength?: number
  /** Defaults: [UNK] [SEP] [PAD] [CLS] [MASK], no additional tokens. */
  specialTokens?: Partial<SpecialTokens>
  /** Longer basic tokens become [UNK]; default 100. */
  maxInputCharsPerWord?: number
}

export interface LoadedTokenizer {
  tokens: string[]
  options: TokenizerOptions
  /** The file the vocabulary came from, for error messages. */
  source: string
}

type Json = Record<string, unknown>

/** Strict JSON (line and column in errors, duplicate keys refused), via the project's one parser. */
function readJson(file: string): Json {
  let value: unknown
  try {
    value = parseJsonStrict(readFileSync(file, 'utf8'), file)
  } catch (e) {
    throw new Error(`${(e as Error).message}; fix or delete the file`)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`${file}: expected a JSON object at the top level, found ${Array.isArray(value) ? 'an array' : typeof value}`)
  }
  return value as Json
}

function optBool(obj: Json, key: string, file: string): boolean | null | undefined {
  const v = obj[key]
  if (v === undefined || v === null) return v as null | undefined
  if (typeof v !== 'boolean') throw new Error(`${file}: "${key}" must be true, false or null, found ${JSON.stringify(v)}`)
  return v
}

/** A special token is either a string or an AddedToken object {content: ...}. */
function tokenString(v: unknown, key: string, file: string): string | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v === 'string') return v
  if (typeof v === 'object' && typeof (v as Json).content === 'string') return (v as Json).content as string
  throw new Error(`${file}: "${key}" must be a token string or {"content": "..."}, found ${JSON.stringify(v)}`)
}

const SPECIAL_KEYS: Array<[keyof Omit<SpecialTokens, 'additional'>, string]> = [
  ['unk', 'unk_token'],
  ['sep', 'sep_token'],
  ['pad', 'pad_token'],
  ['cls', 'cls_token'],
  ['mask', 'mask_token']
]

function readSpecials(obj: Json, file: string, into: Partial<SpecialTokens>): void {
  for (const [name, key] of SPECIAL_KEYS) {
    const t = tokenString(obj[key], key, file)
    if (t !== undefined) into[name] = t
  }
  const add = obj.additional_special_tokens
  if (add !== undefined && add !== null) {
    if (!Array.isArray(add)) throw new Error(`${file}: "additional_special_tokens" must be a list, found ${JSON.stringify(add)}`)
    into.additional = add.map((t, i) => tokenString(t, `additional_special_tokens[${i}]`, file) as string)
  }
}

/** HF writes int(1e30) for "no limit"; anything that large is no limit for us too. */
function readMaxLength(obj: Json, file: string): number | undefined {
  const v = obj.model_max_length ?? obj.max_len
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'number' || !(v > 0)) throw new Error(`${file}: "model_max_length" must be a positive number, found ${JSON.stringify(v)}`)
  return v > Number.MAX_SAFE_INTEGER ? undefined : Math.floor(v)
}

/** Flags from tokenizer_config.json (HF's BertTokenizer keyword arguments). */
function readTokenizerConfig(file: string, opts: Partial<TokenizerOptions>, specials: Partial<SpecialTokens>): void {
  const cfg = readJson(file)
  if (cfg.do_basic_tokenize === false) {
    throw new Error(`${file}: "do_basic_tokenize": false is not supported; this tokenizer always runs BERT's basic tokenizer`)
  }
  const lower = optBool(cfg, 'do_lower_case', file)
  if (lower !== undefined && lower !== null) opts.doLowerCase = lower
  if ('strip_accents' in cfg) opts.stripAccents = optBool(cfg, 'strip_accents', file) ?? null
  const cjk = optBool(cfg, 'tokenize_chinese_chars', file)
  if (cjk !== undefined && cjk !== null) opts.tokenizeChineseChars = cjk
  const maxLen = readMaxLength(cfg, file)
  if (maxLen !== undefined) opts.modelMaxLength = maxLen
  readSpecials(cfg, file, specials)
}

interface TokenizerJsonResult {
  tokens: string[]
  /** Flags the normaliser states; the config files override them. */
  flags: Partial<TokenizerOptions>
  specials: Partial<SpecialTokens>
}

function nonBert(file: string, field: string, found: unknown, expected: string): Error {
  return new Error(
    `${file}: ${field} is ${JSON.stringify(found)}, expected ${expected}; only BERT WordPiece tokenizers are supported ` +
      '(add a vocab.txt to the folder to use it instead)'
  )
}

/** vocab, normaliser flags and special tokens from a tokenizers-library tokenizer.json. */
function readTokenizerJson(file: string): TokenizerJsonResult {
  const tj = readJson(file)
  const model = tj.model as Json | undefined
  if (!model || typeof model !== 'object') throw nonBert(file, 'model', model ?? null, 'a WordPiece model object')
  if (model.type !== undefined && model.type !== 'WordPiece') throw nonBert(file, 'model.type', model.type, '"WordPiece"')
  const vocab = model.vocab as Json | undefined
  if (!vocab || typeof vocab !== 'object' || Array.isArray(vocab)) throw nonBert(file, 'model.vocab', Array.isArray(vocab) ? 'a list' : vocab ?? null, 'an object {token: id}')
  const prefix = model.continuing_subword_prefix
  if (prefix !== undefined && prefix !== null && prefix !== '##') throw nonBert(file, 'model.continuing_subword_prefix', prefix, '"##"')

  const entries = Object.entries(vocab)
  const tokens: string[] = new Array(entries.length)
  for (const [tok, id] of entries) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= entries.length || tokens[id] !== undefined) {
      throw new Error(
        `${file}: model.vocab["${tok}"] = ${JSON.stringify(id)}; expected the ids to be exactly 0..${entries.length - 1}, each once ` +
          '(a vocabulary with gaps or repeated ids cannot be saved as vocab.txt)'
      )
    }
    tokens[id] = tok
  }

  const flags: Partial<TokenizerOptions> = {}
  const maxChars = model.max_input_chars_per_word
  if (maxChars !== undefined && maxChars !== null) {
    if (typeof maxChars !== 'number' || !Number.isInteger(maxChars) || maxChars < 1) {
      throw new Error(`${file}: model.max_input_chars_per_word must be a positive integer, found ${JSON.stringify(maxChars)}`)
    }
    flags.maxInputCharsPerWord = maxChars
  }

  let norm = tj.normalizer as Json | null | undefined
  if (norm && norm.type === 'Sequence' && Array.isArray(norm.normalizers) && norm.normalizers.length === 1) {
    norm = norm.normalizers[0] as Json
  }
  if (norm === null || norm === undefined) {
    flags.doLowerCase = false
    flags.stripAccents = false
  } else if (norm.type === 'BertNormalizer') {
    if (norm.clean_text === false) throw nonBert(file, 'normalizer.clean_text', false, 'true (BERT always cleans text)')
    flags.doLowerCase = norm.lowercase !== false
    flags.stripAccents = optBool(norm, 'strip_accents', `${file} normalizer`) ?? null
    flags.tokenizeChineseChars = norm.handle_chinese_chars !== false
  } else {
    throw nonBert(file, 'normalizer.type', norm.type, '"BertNormalizer"')
  }
  const pre = tj.pre_tokenizer as Json | null | undefined
  if (pre && pre.type !== 'BertPreTokenizer') throw nonBert(file, 'pre_tokenizer.type', pre.type, '"BertPreTokenizer"')

  const specials: Partial<SpecialTokens> = {}
  if (typeof model.unk_token === 'string') specials.unk = model.unk_token
  const post = tj.post_processor as Json | null | undefined
  if (post && post.type === 'BertProcessing') {
    const cls = post.cls as unknown[] | undefined
    const sep = post.sep as unknown[] | undefined
    if (Array.isArray(cls) && typeof cls[0] === 'string') specials.cls = cls[0]
    if (Array.isArray(sep) && typeof sep[0] === 'string') specials.sep = sep[0]
  } else if (post && post.type === 'TemplateProcessing' && Array.isArray(post.single)) {
    // BERT's template is [CLS] $A [SEP]: the first and last special pieces are CLS and SEP.
    const names = (post.single as Json[]).map((p) => (p.SpecialToken as Json | undefined)?.id).filter((x): x is string => typeof x === 'string')
    if (names.length >= 2) {
      specials.cls = names[0]
      specials.sep = names[names.length - 1]
    }
  }
  // Added tokens are matched whole, never split; ones outside the five roles are additional specials.
  if (Array.isArray(tj.added_tokens)) {
    const extra: string[] = []
    for (const [i, at] of (tj.added_tokens as Json[]).entries()) {
      const content = at.content
      if (typeof content !== 'string' || typeof at.id !== 'number') {
        throw new Error(`${file}: added_tokens[${i}] must have a string "content" and a numeric "id", found ${JSON.stringify(at)}`)
      }
      if (tokens[at.id] === content) {
        extra.push(content) // the five roles among them are filtered out when the options are resolved
      } else if (at.id === tokens.length) {
        tokens.push(content)
        extra.push(content)
      } else {
        throw new Error(`${file}: added_tokens[${i}] "${content}" has id ${at.id}, which the vocabulary gives to "${tokens[at.id]}"; expected a matching id or ${tokens.length}`)
      }
    }
    if (extra.length > 0) specials.additional = extra
  }
  return { tokens, flags, specials }
}

/**
 * Load the tokenizer files of a model folder. Throws an error naming the folder and the files
 * looked for when there is neither vocab.txt nor tokenizer.json.
 */
export function loadTokenizerFolder(dir: string): LoadedTokenizer {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new Error(`${dir}: tokenizer folder not found (expected a model folder holding vocab.txt or tokenizer.json)`)
  }
  const vocabFile = join(dir, 'vocab.txt')
  const jsonFile = join(dir, 'tokenizer.json')
  const configFile = join(dir, 'tokenizer_config.json')
  const mapFile = join(dir, 'special_tokens_map.json')
  const hasVocab = existsSync(vocabFile)
  const hasJson = existsSync(jsonFile)
  if (!hasVocab && !hasJson) {
    throw new Error(
      `${dir}: no tokenizer found; looked for vocab.txt (with optional tokenizer_config.json and special_tokens_map.json) ` +
        'and tokenizer.json. Copy the tokenizer files of the Hugging Face model into this folder.'
    )
  }

  let tokens: string[]
  let source: string
  const opts: Partial<TokenizerOptions> = {}
  const specials: Partial<SpecialTokens> = {}
  if (hasVocab) {
    tokens = parseVocabText(readFileSync(vocabFile, 'utf8'), vocabFile)
    source = vocabFile
    if (hasJson) {
      // Only the flags: the vocabulary in vocab.txt wins, as for HF's slow tokenizer.
      try {
        Object.assign(opts, readTokenizerJson(jsonFile).flags)
      } catch {
        // A tokenizer.json we cannot read adds nothing when vocab.txt is there.
      }
    }
  } else {
    const tj = readTokenizerJson(jsonFile)
    tokens = tj.tokens
    source = jsonFile
    Object.assign(opts, tj.flags)
    Object.assign(specials, tj.specials)
  }
  if (existsSync(configFile)) readTokenizerConfig(configFile, opts, specials)
  if (existsSync(mapFile)) readSpecials(readJson(mapFile), mapFile, specials)

  return {
    tokens,
    source,
    options: {
      doLowerCase: opts.doLowerCase ?? true,
      stripAccents: opts.stripAccents ?? null,
      tokenizeChineseChars: opts.tokenizeChineseChars ?? true,
      modelMaxLength: opts.modelMaxLength,
      specialTokens: specials,
      maxInputCharsPerWord: opts.maxInputCharsPerWord
    }
  }
}

/** Write vocab.txt, tokenizer_config.json and special_tokens_map.json as HF's save_pretrained does. */
export function saveTokenizerFolder(dir: string, tokens: string[], options: TokenizerOptions, specials: SpecialTokens): void {
  for (let i = 0; i < tokens.length; i++) {
    if (/[\r\n]/.test(tokens[i])) {
      throw new Error(`saveToFolder(${dir}): token ${i} ${JSON.stringify(tokens[i])} contains a line break and cannot be written to vocab.txt`)
    }
  }
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'vocab.txt'), tokens.join('\n') + '\n')
  const map: Json = {
    unk_token: specials.unk,
    sep_token: specials.sep,
    pad_token: specials.pad,
    cls_token: specials.cls,
    mask_token: specials.mask
  }
  if (specials.additional.length > 0) map.additional_special_tokens = specials.additional
  const config: Json = {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: options.doLowerCase,
    strip_accents: options.stripAccents ?? null,
    tokenize_chinese_chars: options.tokenizeChineseChars ?? true,
    ...(options.modelMaxLength !== undefined ? { model_max_length: options.modelMaxLength } : {}),
    ...map
  }
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config, null, 2) + '\n')
  writeFileSync(join(dir, 'special_tokens_map.json'), JSON.stringify(map, null, 2) + '\n')
}

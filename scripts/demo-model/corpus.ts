/**
 * The demo encoder's pre-training corpus: unlabeled English text that is available offline and may be
 * redistributed in derived form.
 *
 *   - GLUE training splits only (never dev or test text), of the tasks whose text may go into a shipped
 *     model: SST-2, CoLA, STS-B, RTE, WNLI. MRPC (Microsoft Research Shared Source License, non-commercial)
 *     and QQP (non-commercial) are left out; MNLI and QNLI train sets are not in ../shared/data.
 *   - WordNet 3.0/3.1 glosses and example sentences (Debian's wordnet-base, /usr/share/wordnet/data.*),
 *     under the WordNet licence (BSD-like: use, copy, modify and distribute with the copyright notice).
 *   - GCIDE, the GNU Collaborative International Dictionary of English 0.48 (Debian's dict-gcide,
 *     /usr/share/dictd/gcide.dict.dz): definitions and the literary quotations that illustrate them, from
 *     Webster's Revised Unabridged Dictionary (1913, public domain) with GNU additions, GPL-3+. Optional
 *     (left out, and said so in the manifest, when the file is absent).
 *
 * Each unit is a "document": one sentence, or an ordered pair (a sentence pair of a GLUE task, or a WordNet
 * definition and its example), so the pre-training script can draw true and random pairs for next-sentence
 * prediction. Text is NFC-normalised and whitespace-collapsed; exact duplicates are dropped (SST-2 holds
 * many repeated phrases).
 * Must not: read a dev or test split, or any task outside ALLOWED_TASKS.
 */
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import { join } from 'node:path'
import { getTask, loadGlueSplit, type TaskName } from '../../src/engine/data'

export const ALLOWED_TASKS = ['sst2', 'cola', 'stsb', 'rte', 'wnli'] as const satisfies readonly TaskName[]
export const EXCLUDED_TASKS: Record<string, string> = {
  MRPC: 'Microsoft Research Shared Source License (non-commercial): must not go into a shipped model',
  QQP: 'non-commercial terms; full set not in ../shared/data anyway',
  MNLI: 'train set not in ../shared/data (16-shot sample only)',
  QNLI: 'train set not in ../shared/data (dev only)'
}
export const WORDNET_FILES = ['data.noun', 'data.verb', 'data.adj', 'data.adv'] as const

export interface CorpusUnit {
  /** Where it came from: "SST-2/train", "wordnet/data.noun". */
  source: string
  a: string
  /** The second segment of a true pair, when the source has one. */
  b?: string
}

export interface SourceStats {
  source: string
  units: number
  pairs: number
  characters: number
  licence: string
}

export function normalizeText(s: string): string {
  return s.normalize('NFC').replace(/\s+/g, ' ').trim()
}

/**
 * Parse one line of a WordNet data file into its definition and example sentences.
 * Format (wndb(5)): `offset lex_filenum ss_type w_cnt word lex_id … | gloss`, the gloss being
 * `definition; "example"; "example"`. Licence header lines start with two spaces and give null.
 */
export function parseWordnetLine(line: string): { words: string[]; definition: string; examples: string[] } | null {
  if (line.startsWith('  ') || !line.includes(' | ')) return null
  const [head, gloss] = [line.slice(0, line.indexOf(' | ')), line.slice(line.indexOf(' | ') + 3)]
  const f = head.split(' ')
  const wCnt = parseInt(f[3], 16)
  const words: string[] = []
  for (let i = 0; i < wCnt; i++) {
    const w = f[4 + 2 * i]
    if (w) words.push(w.replace(/\(.*\)$/, '').replace(/_/g, ' '))
  }
  const examples: string[] = []
  for (const m of gloss.matchAll(/"([^"]+)"/g)) {
    const ex = normalizeText(m[1])
    if (ex.length > 2) examples.push(ex)
  }
  const definition = normalizeText(gloss.replace(/"[^"]*"/g, '').replace(/[;\s]+$/g, '').replace(/;\s*;/g, ';'))
  if (!definition) return null
  return { words, definition, examples }
}

/** WordNet units: "word: definition" as a single, and (definition, example) pairs. */
export function wordnetUnits(text: string, source: string): CorpusUnit[] {
  const out: CorpusUnit[] = []
  for (const line of text.split('\n')) {
    const p = parseWordnetLine(line)
    if (!p) continue
    const head = p.words.slice(0, 3).join(', ')
    const def = head ? `${head}: ${p.definition}` : p.definition
    if (p.examples.length) {
      out.push({ source, a: def, b: p.examples[0] })
      for (const ex of p.examples.slice(1)) out.push({ source, a: ex })
    } else {
      out.push({ source, a: def })
    }
  }
  return out
}

/** A GCIDE source tag closing a block: `[1913 Webster]`, `[PJC]`, `[WordNet 1.5]`, `[Century Dict.]`. */
const GCIDE_TAG = /^\s*(\[[^\]]{1,40}\]\s*)+$/

/**
 * Clean one GCIDE text block into plain prose: drop pronunciations (`\Ab*do"men\`), bracketed etymologies
 * and usage marks (`[L. abdomen]`, `[R.]`), field labels (`(Bot.)`), citations (`--Bacon.`), sense numbers,
 * cross-reference braces and the `?` that stands for Greek the source could not encode.
 */
export function cleanGcideBlock(lines: string[]): string {
  let t = lines.join(' ')
  t = t.replace(/\\[^\\]*\\/g, ' ')
  for (let i = 0; i < 3; i++) t = t.replace(/\[[^\[\]]*\]/g, ' ')
  t = t.replace(/\{([^{}]*)\}/g, (_, w: string) => w.replace(/[*"`']/g, ''))
  t = t.replace(/--\s*[A-Z][^"]*?(\.|$)(?=\s|$)/g, ' ')
  t = t.replace(/\((?:[A-Z][a-z]*\.\s*)+(?:[a-z]+\.\s*)*\)/g, ' ')
  t = t.replace(/(^|\s)\d+\.\s/g, ' ').replace(/(^|\s)\(\w\)\s/g, ' ')
  t = t.replace(/\s\?(?=[\s,.;:])/g, ' ').replace(/\s+([,.;:])/g, '$1')
  return normalizeText(t).replace(/^[,.;:\s]+/, '')
}

/**
 * GCIDE units: each entry's definition blocks ("word: definition", as for WordNet) and its quotations; a
 * quotation that directly follows its definition makes a true (definition, quotation) pair for NSP.
 * Blocks of fewer than four words (inflection lists, bare cross-references) are dropped.
 */
export function gcideUnits(text: string, source = 'gcide'): CorpusUnit[] {
  const out: CorpusUnit[] = []
  const lines = text.split('\n')
  let start = lines.findIndex((l) => l.startsWith(' Begin file 1 of'))
  if (start < 0) start = 0
  let headword = ''
  let block: string[] = []
  let blockIsHead = false
  let blockIsQuote = false
  let pendingDef: CorpusUnit | null = null
  const flush = () => {
    if (!block.length) return
    let text = cleanGcideBlock(block)
    // A headword block starts "Word, n." once the pronunciation is gone: the "word: " prefix says it already.
    if (blockIsHead) text = text.replace(/^[^,]{1,60},\s*(?:(?:[a-z]{1,5}\.|&)\s*)+/, '')
    const words = text.split(' ').length
    const frontMatter = block.some((l) => l.includes('* * * *'))
    block = []
    if (words < 4 || !/[a-z]/.test(text) || frontMatter) return
    if (blockIsQuote && pendingDef && !pendingDef.b) {
      pendingDef.b = text
      return
    }
    const u: CorpusUnit = { source, a: blockIsQuote || !headword ? text : `${headword}: ${text}` }
    out.push(u)
    pendingDef = blockIsQuote ? null : u
  }
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i]
    if (GCIDE_TAG.test(line)) {
      flush()
      continue
    }
    if (!line.trim()) continue
    if (!block.length) {
      blockIsHead = /^\S/.test(line)
      blockIsQuote = !blockIsHead && /^\s{8,}\S/.test(line) && !/^\s*\d+\./.test(line)
      if (blockIsHead) {
        const m = /^([^\\]+?)\s*\\/.exec(line)
        if (m) {
          headword = normalizeText(m[1].replace(/[*"`']/g, '')).toLowerCase()
          pendingDef = null
        }
      }
    }
    block.push(line)
  }
  flush()
  return out
}

export async function glueUnits(glueDir: string, task: (typeof ALLOWED_TASKS)[number]): Promise<CorpusUnit[]> {
  if (!(ALLOWED_TASKS as readonly string[]).includes(task)) throw new Error(`task ${task} may not go into the demo corpus`)
  const ds = await loadGlueSplit(glueDir, task, 'train')
  const source = `${getTask(task).displayName}/train`
  return ds.examples.map((e) =>
    e.textB !== undefined && e.textB !== '' ? { source, a: normalizeText(e.textA), b: normalizeText(e.textB) } : { source, a: normalizeText(e.textA) }
  )
}

/** Drop empty units and exact duplicates (by a + b), keeping the first. */
export function dedupe(units: CorpusUnit[]): CorpusUnit[] {
  const seen = new Set<string>()
  const out: CorpusUnit[] = []
  for (const u of units) {
    if (!u.a) continue
    const key = u.b ? `${u.a}\u0000${u.b}` : u.a
    if (seen.has(key)) continue
    seen.add(key)
    out.push(u)
  }
  return out
}

export interface Corpus {
  units: CorpusUnit[]
  sources: SourceStats[]
  /** sha256 of the units as JSON lines: names the exact corpus. */
  sha256: string
}

const GLUE_LICENCES: Record<string, string> = {
  'SST-2': 'Stanford Sentiment Treebank: no licence stated, citation requested (Socher et al., 2013)',
  CoLA: 'CoLA: excerpts of published linguistics works, research use (Warstadt et al., 2019)',
  'STS-B': 'STS Benchmark: scores CC BY-SA 4.0, sentences under their sub-corpora terms (Cer et al., 2017)',
  RTE: 'RTE 1-3, 5 (GLUE): no licence file; research use',
  WNLI: 'Winograd Schema Challenge (GLUE WNLI): CC BY 4.0 (Levesque et al.)'
}
export const WORDNET_LICENCE = 'WordNet 3.0 licence (Princeton University): use, copy, modify and distribute with the copyright notice'

export const GCIDE_FILE = '/usr/share/dictd/gcide.dict.dz'
export const GCIDE_LICENCE =
  "GCIDE 0.48 (GNU Collaborative International Dictionary of English; Webster's 1913, public domain, with GNU additions): GPL-3+"

export async function buildCorpus(glueDir: string, wordnetDir = '/usr/share/wordnet', gcideFile: string | null = GCIDE_FILE): Promise<Corpus> {
  const all: CorpusUnit[] = []
  for (const task of ALLOWED_TASKS) all.push(...(await glueUnits(glueDir, task)))
  for (const f of WORDNET_FILES) {
    const p = join(wordnetDir, f)
    if (!existsSync(p)) throw new Error(`${p} not found: install Debian's wordnet-base (apt-get install wordnet-base)`)
    all.push(...wordnetUnits(readFileSync(p, 'latin1'), `wordnet/${f}`))
  }
  if (gcideFile) {
    if (!existsSync(gcideFile)) throw new Error(`${gcideFile} not found: install Debian's dict-gcide (apt-get install dict-gcide)`)
    // dictzip is gzip with a random-access index in the header: gunzip reads it whole. The text is Latin-1.
    for (const u of gcideUnits(gunzipSync(readFileSync(gcideFile)).toString('latin1'), 'gcide')) all.push(u)
  }
  const units = dedupe(all)
  const bySource = new Map<string, SourceStats>()
  for (const u of units) {
    const s = bySource.get(u.source) ?? {
      source: u.source,
      units: 0,
      pairs: 0,
      characters: 0,
      licence: u.source.startsWith('wordnet/') ? WORDNET_LICENCE : u.source === 'gcide' ? GCIDE_LICENCE : GLUE_LICENCES[u.source.split('/')[0]]
    }
    s.units++
    if (u.b) s.pairs++
    s.characters += u.a.length + (u.b?.length ?? 0)
    bySource.set(u.source, s)
  }
  const h = createHash('sha256')
  for (const u of units) h.update(JSON.stringify(u) + '\n')
  return { units, sources: [...bySource.values()], sha256: h.digest('hex') }
}

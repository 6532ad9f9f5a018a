/**
 * The demo encoder's pre-training corpus: unlabeled English text that is available offline and may be
 * redistributed in derived form.
 *
 *   - GLUE training splits only (never dev or test text), of the tasks whose text may go into a shipped
 *     model: SST-2, CoLA, STS-B, RTE, WNLI. MRPC (Microsoft Research Shared Source License, non-commercial)
 *     and QQP (non-commercial) are left out; MNLI and QNLI train sets are not in ../shared/data.
 *   - WordNet 3.0/3.1 glosses and example sentences (Debian's wordnet-base, /usr/share/wordnet/data.*),
 *     under the WordNet licence (BSD-like: use, copy, modify and distribute with the copyright notice).
 *
 * Each unit is a "document": one sentence, or an ordered pair (a sentence pair of a GLUE task, or a WordNet
 * definition and its example), so the pre-training script can draw true and random pairs for next-sentence
 * prediction. Text is NFC-normalised and whitespace-collapsed; exact duplicates are dropped (SST-2 holds
 * many repeated phrases).
 * Must not: read a dev or test split, or any task outside ALLOWED_TASKS.
 */
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
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

export async function buildCorpus(glueDir: string, wordnetDir = '/usr/share/wordnet'): Promise<Corpus> {
  const all: CorpusUnit[] = []
  for (const task of ALLOWED_TASKS) all.push(...(await glueUnits(glueDir, task)))
  for (const f of WORDNET_FILES) {
    const p = join(wordnetDir, f)
    if (!existsSync(p)) throw new Error(`${p} not found: install Debian's wordnet-base (apt-get install wordnet-base)`)
    all.push(...wordnetUnits(readFileSync(p, 'latin1'), `wordnet/${f}`))
  }
  const units = dedupe(all)
  const bySource = new Map<string, SourceStats>()
  for (const u of units) {
    const s = bySource.get(u.source) ?? {
      source: u.source,
      units: 0,
      pairs: 0,
      characters: 0,
      licence: u.source.startsWith('wordnet/') ? WORDNET_LICENCE : GLUE_LICENCES[u.source.split('/')[0]]
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

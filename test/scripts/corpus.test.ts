import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ALLOWED_TASKS, buildCorpus, dedupe, glueUnits, parseWordnetLine, wordnetUnits } from '../../scripts/demo-model/corpus'
import { GLUE_DIR } from '../helpers/shared-data'

const ABLE =
  '00001740 00 a 01 able 0 005 = 05200169 n 0000 = 05616246 n 0000 + 05616246 n 0101 + 05200169 n 0101 ! 00002098 a 0101 | (usually followed by `to\') having the necessary means or skill or know-how or authority to do something; "able to swim"; "she was able to program her computer"  '
const ENTITY = '00001740 03 n 01 entity 0 003 ~ 00001930 n 0000 ~ 00002137 n 0000 ~ 04424418 n 0000 | that which is perceived or known or inferred to have its own distinct existence (living or nonliving)  '
const TWO_WORDS = '00002137 03 n 02 abstraction 0 abstract_entity 0 010 @ 00001740 n 0000 | a general concept formed by extracting common features from specific examples  '
const LICENCE = '  1 This software and database is being provided to you, the LICENSEE, by  '

const tmp = mkdtempSync(join(tmpdir(), 'ird-corpus-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('WordNet gloss parsing', () => {
  it('splits a gloss into definition and examples, and reads the synset words', () => {
    expect(parseWordnetLine(ABLE)).toEqual({
      words: ['able'],
      definition: "(usually followed by `to') having the necessary means or skill or know-how or authority to do something",
      examples: ['able to swim', 'she was able to program her computer']
    })
    expect(parseWordnetLine(TWO_WORDS)?.words).toEqual(['abstraction', 'abstract entity'])
    expect(parseWordnetLine(LICENCE)).toBeNull()
  })
  it('makes (definition, first example) pairs and single units', () => {
    const u = wordnetUnits([LICENCE, ABLE, ENTITY].join('\n'), 'wordnet/x')
    expect(u).toEqual([
      { source: 'wordnet/x', a: "able: (usually followed by `to') having the necessary means or skill or know-how or authority to do something", b: 'able to swim' },
      { source: 'wordnet/x', a: 'she was able to program her computer' },
      { source: 'wordnet/x', a: 'entity: that which is perceived or known or inferred to have its own distinct existence (living or nonliving)' }
    ])
  })
  it('drops empty units and exact duplicates, keeping the first', () => {
    expect(dedupe([{ source: 'a', a: 'x' }, { source: 'b', a: 'x' }, { source: 'c', a: '' }, { source: 'd', a: 'x', b: 'y' }])).toEqual([{ source: 'a', a: 'x' }, { source: 'd', a: 'x', b: 'y' }])
  })
})

describe('corpus from GLUE train splits', () => {
  it('refuses tasks whose terms keep them out of a shipped model', async () => {
    await expect(glueUnits(GLUE_DIR, 'mrpc' as never)).rejects.toThrow(/may not go into the demo corpus/)
    expect(ALLOWED_TASKS).not.toContain('mrpc')
    expect(ALLOWED_TASKS).not.toContain('qqp')
  })
  it('reads train only: RTE pairs are the train rows, no dev sentence gets in', async () => {
    const u = await glueUnits(GLUE_DIR, 'rte')
    const trainRows = readFileSync(join(GLUE_DIR, 'RTE', 'train.tsv'), 'utf8').trim().split('\n').length - 1
    expect(u.length).toBe(trainRows)
    expect(u.every((x) => x.b)).toBe(true)
    const devOnly = 'Dana Reeve, the widow of the actor Christopher Reeve, has died of lung cancer at age 44, according to the Christopher Reeve Foundation.'
    expect(u.some((x) => x.a === devOnly || x.b === devOnly)).toBe(false)
  })
  it('buildCorpus: every source with its licence, deterministic hash', async () => {
    const wn = join(tmp, 'wordnet')
    const { mkdirSync } = await import('node:fs')
    mkdirSync(wn)
    for (const f of ['data.noun', 'data.verb', 'data.adj', 'data.adv']) writeFileSync(join(wn, f), [LICENCE, f === 'data.adj' ? ABLE : ENTITY].join('\n'), 'latin1')
    const a = await buildCorpus(GLUE_DIR, wn)
    const b = await buildCorpus(GLUE_DIR, wn)
    expect(a.sha256).toBe(b.sha256)
    const names = a.sources.map((s) => s.source)
    expect(names).toEqual(['SST-2/train', 'CoLA/train', 'STS-B/train', 'RTE/train', 'WNLI/train', 'wordnet/data.noun', 'wordnet/data.adj'])
    for (const s of a.sources) expect(s.licence).toBeTruthy()
    // the noun's "entity" unit repeats in verb/adv files: deduplicated
    expect(a.sources.find((s) => s.source === 'wordnet/data.noun')?.units).toBe(1)
    await expect(buildCorpus(GLUE_DIR, join(tmp, 'nowhere'))).rejects.toThrow(/install Debian's wordnet-base/)
  }, 60_000)
})

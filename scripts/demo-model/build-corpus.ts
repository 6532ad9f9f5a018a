/**
 * Build the demo encoder's pre-training corpus (see corpus.ts for sources and terms) and tokenise it with
 * the project's own WordPiece tokenizer, so pre-training (pretrain.py) sees exactly the ids the engine uses.
 *
 *   npx tsx scripts/demo-model/build-corpus.ts [--glue ../shared/data/glue] [--vocab …/vocab.txt] [--out build/demo-corpus]
 *
 * Writes <out>/corpus.jsonl ({"s": source, "a": ids, "b"?: ids}, no [CLS]/[SEP]) and <out>/manifest.json
 * (sources, counts, licences, sha256 of the text corpus and of the tokenised file).
 */
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { writeFileAtomic, writeJsonAtomic } from '../../src/engine/io/atomic'
import { BertTokenizer } from '../../src/engine/tokenizer'
import { buildCorpus, EXCLUDED_TASKS } from './corpus'

const { values } = parseArgs({
  options: {
    glue: { type: 'string', default: '../shared/data/glue' },
    vocab: { type: 'string', default: '../shared/data/vocab/bert-base-uncased-vocab.txt' },
    wordnet: { type: 'string', default: '/usr/share/wordnet' },
    out: { type: 'string', default: 'build/demo-corpus' },
    'max-tokens': { type: 'string', default: '96' }
  }
})
const maxTokens = Number(values['max-tokens'])
const t0 = Date.now()
const corpus = await buildCorpus(resolve(values.glue!), values.wordnet)
const tok = BertTokenizer.fromVocab(readFileSync(resolve(values.vocab!), 'utf8'), { doLowerCase: true })
const lines: string[] = []
let tokens = 0
for (const u of corpus.units) {
  const a = tok.encode(u.a, null, { addSpecialTokens: false, truncation: true, maxLength: maxTokens }).inputIds
  const rec: { s: string; a: number[]; b?: number[] } = { s: u.source, a }
  tokens += a.length
  if (u.b) {
    rec.b = tok.encode(u.b, null, { addSpecialTokens: false, truncation: true, maxLength: maxTokens }).inputIds
    tokens += rec.b.length
  }
  lines.push(JSON.stringify(rec))
}
const out = resolve(values.out!)
mkdirSync(out, { recursive: true })
const body = lines.join('\n') + '\n'
writeFileAtomic(join(out, 'corpus.jsonl'), body)
writeJsonAtomic(join(out, 'manifest.json'), {
  builtBy: 'scripts/demo-model/build-corpus.ts',
  units: corpus.units.length,
  tokens,
  maxTokensPerSegment: maxTokens,
  sources: corpus.sources,
  excluded: EXCLUDED_TASKS,
  textSha256: corpus.sha256,
  tokenizedSha256: createHash('sha256').update(body).digest('hex'),
  vocab: values.vocab
})
process.stderr.write(`corpus: ${corpus.units.length} units, ${tokens} tokens, ${corpus.sources.length} sources → ${out} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`)
for (const s of corpus.sources) process.stderr.write(`  ${s.source.padEnd(20)} ${String(s.units).padStart(7)} units  ${String(s.pairs).padStart(7)} pairs\n`)

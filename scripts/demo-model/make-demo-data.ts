/**
 * The demo task data bundled in resources/data/sst2-demo: a seeded 4,000-row subset of GLUE SST-2 train
 * and the full SST-2 dev split (872 rows), byte-for-byte rows of the GLUE files, plus NOTICE.md.
 *
 *   npx tsx scripts/demo-model/make-demo-data.ts [--glue ../shared/data/glue] [--out resources/data/sst2-demo]
 *
 * SST-2 is bundled because its terms (the Stanford Sentiment Treebank asks for a citation) allow it; MRPC and
 * QQP must not be bundled (non-commercial terms; ../shared/data/glue/PROVENANCE.md).
 */
import { mkdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { writeFileAtomic } from '../../src/engine/io/atomic'
import { Rng } from '../../src/engine/util/rng'

const { values } = parseArgs({ options: { glue: { type: 'string', default: '../shared/data/glue' }, out: { type: 'string', default: 'resources/data/sst2-demo' }, rows: { type: 'string', default: '4000' }, seed: { type: 'string', default: '20211206' } } })
const src = join(resolve(values.glue!), 'SST-2')
const out = resolve(values.out!)
mkdirSync(out, { recursive: true })
const [header, ...rows] = readFileSync(join(src, 'train.tsv'), 'utf8').split('\n').filter((l) => l.length)
const rng = new Rng(Number(values.seed))
const idx = rows.map((_, i) => i)
for (let i = idx.length - 1; i > 0; i--) {
  const j = Math.floor(rng.next() * (i + 1))
  ;[idx[i], idx[j]] = [idx[j], idx[i]]
}
const take = idx.slice(0, Number(values.rows)).sort((a, b) => a - b)
writeFileAtomic(join(out, 'train.tsv'), [header, ...take.map((i) => rows[i])].join('\n') + '\n')
writeFileAtomic(join(out, 'dev.tsv'), readFileSync(join(src, 'dev.tsv'), 'utf8'))
writeFileAtomic(
  join(out, 'NOTICE.md'),
  `# Bundled demo data: SST-2 (GLUE)

- \`train.tsv\`: ${take.length} rows of the GLUE SST-2 training split (67,349 rows), drawn with a seeded shuffle
  (seed ${values.seed}; \`scripts/demo-model/make-demo-data.ts\`), in the original order and byte-for-byte.
- \`dev.tsv\`: the full GLUE SST-2 dev split (872 rows).

Source: the Stanford Sentiment Treebank, as packaged by GLUE (Wang et al., 2019,
https://gluebenchmark.com). No licence is stated; the authors ask that uses cite:

> Richard Socher, Alex Perelygin, Jean Wu, Jason Chuang, Christopher D. Manning, Andrew Ng and Christopher
> Potts. Recursive Deep Models for Semantic Compositionality Over a Sentiment Treebank. EMNLP 2013.

These files are here so the demo runs offline. For real work import the full task files.
`
)
process.stderr.write(`wrote ${take.length} train rows + dev to ${out}\n`)

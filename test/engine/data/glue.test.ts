/** The GLUE files in ../shared/data/glue: exact row counts, label balance, each file's quirk, task detection. */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  datasetStats, detectTask, getTask, glueFilePath, loadGlueFile, loadGlueFileWithReport, loadGlueSplit, loadWithReport, overlap,
  previewFile, TASKS, validateDataset, type Dataset, type Split, type TaskName
} from '../../../src/engine/data'
import { FIXTURES_DIR, GLUE_DIR } from '../../helpers/shared-data'

const SUMS = new Map(
  readFileSync(join(GLUE_DIR, 'SHA256SUMS.txt'), 'utf8').trim().split('\n').map((l) => {
    const [sum, path] = l.split(/\s+/)
    return [path.replace(/^\.\//, ''), sum] as const
  })
)

// [task, folder under glue/, split, rows (PROVENANCE.md), label counts by name or null for test files]
const FILES: Array<[TaskName, string, Split, number, Record<string, number> | null]> = [
  ['cola', 'CoLA', 'train', 8551, { 0: 2528, 1: 6023 }],
  ['cola', 'CoLA', 'dev', 1043, { 0: 322, 1: 721 }],
  ['cola', 'CoLA', 'test', 1063, null],
  ['sst2', 'SST-2', 'train', 67349, { 0: 29780, 1: 37569 }],
  ['sst2', 'SST-2', 'dev', 872, { 0: 428, 1: 444 }],
  ['sst2', 'SST-2', 'test', 1821, null],
  ['mrpc', 'MRPC', 'train', 3668, { 0: 1194, 1: 2474 }],
  ['mrpc', 'MRPC', 'dev', 408, { 0: 129, 1: 279 }],
  ['mrpc', 'MRPC', 'test', 1725, null],
  ['stsb', 'STS-B', 'train', 5749, {}],
  ['stsb', 'STS-B', 'dev', 1500, {}],
  ['stsb', 'STS-B', 'test', 1379, null],
  ['rte', 'RTE', 'train', 2490, { entailment: 1249, not_entailment: 1241 }],
  ['rte', 'RTE', 'dev', 277, { entailment: 146, not_entailment: 131 }],
  ['rte', 'RTE', 'test', 3000, null],
  ['wnli', 'WNLI', 'train', 635, { 0: 323, 1: 312 }],
  ['wnli', 'WNLI', 'dev', 71, { 0: 40, 1: 31 }],
  ['wnli', 'WNLI', 'test', 146, null],
  ['qnli', 'QNLI', 'dev', 5463, { entailment: 2702, not_entailment: 2761 }],
  ['qnli', 'QNLI/k-shot-16-42', 'train', 32, { entailment: 16, not_entailment: 16 }],
  ['qnli', 'QNLI/k-shot-16-42', 'dev', 32, { entailment: 16, not_entailment: 16 }],
  ['qqp', 'QQP/k-shot-16-42', 'train', 32, { 0: 16, 1: 16 }],
  ['qqp', 'QQP/k-shot-16-42', 'dev', 32, { 0: 16, 1: 16 }],
  ['mnli', 'MNLI/k-shot-16-42', 'train', 48, { contradiction: 16, entailment: 16, neutral: 16 }],
  ['mnli', 'MNLI/k-shot-16-42', 'dev', 48, { contradiction: 16, entailment: 16, neutral: 16 }]
]

function labelCounts(ds: Dataset): Record<string, number> {
  const out: Record<string, number> = {}
  if (ds.isRegression) return out
  for (const e of ds.examples) out[ds.labelNames![e.label!]] = (out[ds.labelNames![e.label!]] ?? 0) + 1
  return out
}

describe('GLUE task registry', () => {
  it('has every task with label names in the order of the HF GLUE processors', () => {
    expect(Object.keys(TASKS).sort()).toEqual(['cola', 'mnli', 'mnli-mm', 'mrpc', 'qnli', 'qqp', 'rte', 'sst2', 'stsb', 'wnli'])
    expect(TASKS.mnli.labelNames).toEqual(['contradiction', 'entailment', 'neutral'])
    expect(TASKS['mnli-mm'].splits.dev.file).toBe('dev_mismatched.tsv')
    expect(TASKS.mnli.splits.dev.file).toBe('dev_matched.tsv')
    expect(TASKS.rte.labelNames).toEqual(['entailment', 'not_entailment'])
    expect(TASKS.qnli.labelNames).toEqual(['entailment', 'not_entailment'])
    for (const t of ['cola', 'sst2', 'mrpc', 'qqp', 'wnli'] as const) expect(TASKS[t].labelNames).toEqual(['0', '1'])
    expect(TASKS.stsb).toMatchObject({ numLabels: 1, isRegression: true, labelRange: [0, 5] })
    expect(TASKS.stsb.labelNames).toBeUndefined()
    for (const t of Object.values(TASKS)) if (!t.isRegression) expect(t.numLabels).toBe(t.labelNames!.length)
    expect(getTask('SST-2').name).toBe('sst2')
    expect(() => getTask('squad')).toThrow(/unknown task 'squad'.*cola/)
  })
})

describe('GLUE files load with the exact row counts and label balance', () => {
  for (const [task, dir, split, rows, labels] of FILES) {
    it(`${dir} ${split}: ${rows} rows`, async () => {
      const file = glueFilePath(join(GLUE_DIR, dir), task, split)
      const r = await loadGlueFileWithReport(file, task, split)
      expect(r.usable, r.verdict).toBe(true)
      expect(r.errors).toBe(0)
      const ds = r.dataset
      expect(ds.examples.length).toBe(rows)
      expect(ds.task).toBe(task)
      expect(ds.sha256).toBe(SUMS.get(`${dir}/${TASKS[task].splits[split].file}`))
      expect(ds.hasLabels).toBe(labels !== null)
      if (labels && !ds.isRegression) expect(labelCounts(ds)).toEqual(labels)
      // Lines are 1-based and strictly increasing; every text is present.
      expect(ds.examples.every((e, i) => i === 0 || e.line > ds.examples[i - 1].line)).toBe(true)
      expect(ds.examples.every((e) => e.textA.trim() !== '')).toBe(true)
      if (TASKS[task].splits[split].mapping.textB !== undefined) expect(ds.examples.every((e) => e.textB !== undefined && e.textB.trim() !== '')).toBe(true)
      // Only warnings of these kinds are expected in GLUE (repeated sentences, RTE's stray tab).
      expect(r.problems.every((p) => ['duplicate', 'conflicting_duplicate', 'column_count'].includes(p.code))).toBe(true)
    })
  }

  it('loadGlueSplit takes the task folder or the GLUE root', async () => {
    const a = await loadGlueSplit(join(GLUE_DIR, 'RTE'), 'rte', 'dev')
    const b = await loadGlueSplit(GLUE_DIR, 'rte', 'dev')
    expect(a.examples).toEqual(b.examples)
    await expect(loadGlueSplit(GLUE_DIR, 'mnli-mm', 'dev')).rejects.toThrow(/dev_mismatched\.tsv/)
  })
})

describe('GLUE quirks', () => {
  it('CoLA: header-less train/dev, ids are row numbers, last dev row has no line break', async () => {
    const dev = await loadGlueSplit(GLUE_DIR, 'cola', 'dev')
    expect(dev.examples[0]).toEqual({ id: '0', line: 1, textA: 'The sailors rode the breeze clear of the rocks.', label: 1 })
    expect(dev.examples[1042]).toMatchObject({ id: '1042', line: 1043, textA: 'John talked to Bill about himself.' })
    const test = await loadGlueSplit(GLUE_DIR, 'cola', 'test')
    expect(test.examples[0]).toEqual({ id: '0', line: 2, textA: 'Bill whistled past the house.' })
    expect(test.labelNames).toEqual(['0', '1'])
  })

  it('SST-2: the space before the tab is kept verbatim (as the HF processors read it)', async () => {
    const train = await loadGlueSplit(GLUE_DIR, 'sst2', 'train')
    expect(train.examples[0]).toEqual({ id: '0', line: 2, textA: 'hide new secretions from the parental units ', label: 0 })
  })

  it('MRPC: byte-order mark removed, label from the first column, bare quotes kept', async () => {
    const r = await loadGlueFileWithReport(join(GLUE_DIR, 'MRPC/dev.tsv'), 'mrpc', 'dev')
    expect(r.layout.bom).toBe(true)
    expect(r.layout.columns[0]).toBe('Quality')
    expect(r.dataset.mapping).toEqual({ textA: '#1 String', textB: '#2 String', label: 'Quality' })
    const e = r.dataset.examples[0]
    expect(e).toMatchObject({ id: '0', line: 2, label: 1 })
    expect(e.textA).toBe("He said the foodservice pie business doesn't fit the company's long-term growth strategy.")
    expect(e.textB).toBe('"The foodservice pie business does not fit our long-term growth strategy.')
  })

  it('RTE: the train row with index 2164 and a stray tab keeps its texts and takes the label from the last column', async () => {
    const r = await loadGlueFileWithReport(join(GLUE_DIR, 'RTE/train.tsv'), 'rte', 'train')
    const e = r.dataset.examples.find((x) => x.id === '2164')!
    expect(e.line).toBe(2166)
    expect(e.textA.startsWith('"That film wasn\'t too successful')).toBe(true)
    expect(e.textA.endsWith("'Brighton Beach' in 1983.")).toBe(true)
    expect(e.textB).toBe('The film "WarGames" was shot in 1983.')
    expect(r.dataset.labelNames![e.label!]).toBe('not_entailment')
    const w = r.problems.filter((p) => p.code === 'column_count')
    expect(w).toHaveLength(1)
    expect(w[0]).toMatchObject({ line: 2166, severity: 'warning', column: 'label' })
    expect(w[0].message).toMatch(/5 columns, expected 4.*last column/)
  })

  it('STS-B: float scores from the last of 10 columns, within 0-5', async () => {
    const train = await loadGlueSplit(GLUE_DIR, 'stsb', 'train')
    expect(train.isRegression).toBe(true)
    expect(train.labelNames).toBeUndefined()
    expect(train.examples[0]).toEqual({ id: '0', line: 2, textA: 'A plane is taking off.', textB: 'An air plane is taking off.', label: 5 })
    expect(train.examples[1].label).toBeCloseTo(3.8)
    const s = datasetStats(train)
    expect(s.targets!.min).toBeGreaterThanOrEqual(0)
    expect(s.targets!.max).toBeLessThanOrEqual(5)
    expect(s.targets!.histogram.counts.reduce((a, b) => a + b, 0)).toBe(5749)
    expect(s.targets!.mean).toBeGreaterThan(2.5)
    expect(s.targets!.mean).toBeLessThan(3)
  })

  it('MNLI k-shot: 12 columns, gold_label (last) read by name, ids from the index column', async () => {
    const r = await loadGlueFileWithReport(join(GLUE_DIR, 'MNLI/k-shot-16-42/train.tsv'), 'mnli', 'train')
    expect(r.layout.columns).toHaveLength(12)
    expect(r.dataset.examples[0]).toEqual({ id: '155219', line: 2, textA: "That's all right.", textB: "That's fine.", label: 1 })
  })

  it('QQP k-shot: ids from the id column, is_duplicate labels', async () => {
    const ds = await loadGlueSplit(join(GLUE_DIR, 'QQP/k-shot-16-42'), 'qqp', 'train')
    expect(ds.examples[0]).toMatchObject({ id: '328831', textA: 'Why do some people think that having a baby is a blessing?', label: 1 })
  })

  it('a test file loaded as dev says it has no labels', async () => {
    const r = await loadGlueFileWithReport(join(GLUE_DIR, 'RTE/test.tsv'), 'rte', 'dev')
    expect(r.usable).toBe(false)
    const p = r.problems.find((x) => x.code === 'missing_column')!
    expect(p).toMatchObject({ line: 1, field: 'label', column: 'label' })
    expect(p.message).toMatch(/test file.*split "test"/)
  })

  it('a file given the wrong task says which task it looks like', async () => {
    const r = await loadGlueFileWithReport(join(GLUE_DIR, 'WNLI/dev.tsv'), 'qnli', 'dev')
    expect(r.usable).toBe(false)
    expect(r.problems[0].message).toMatch(/looks like WNLI dev/)
    await expect(loadGlueFile(join(GLUE_DIR, 'WNLI/dev.tsv'), 'qnli', 'dev')).rejects.toThrow(/missing_column/)
  })

  it('an MNLI dev file with label names in another order is refused row by row', async () => {
    const r = await loadGlueFileWithReport(join(GLUE_DIR, 'WNLI/dev.tsv'), 'rte', 'dev')
    expect(r.counts.unknown_label).toBe(71)
    expect(r.problems[0]).toMatchObject({ line: 2, column: 'label', field: 'label', code: 'unknown_label' })
  })
})

describe('task detection', () => {
  const cases: Array<[string, TaskName, Split | undefined]> = [
    ['CoLA/train.tsv', 'cola', 'train'], ['CoLA/dev.tsv', 'cola', 'dev'], ['CoLA/test.tsv', 'cola', 'test'],
    ['CoLA/cola_public_1.1/in_domain_dev.tsv', 'cola', 'dev'], ['CoLA/cola_public_1.1/out_of_domain_dev.tsv', 'cola', 'dev'],
    ['SST-2/train.tsv', 'sst2', 'train'], ['SST-2/dev.tsv', 'sst2', 'dev'], ['SST-2/test.tsv', 'sst2', 'test'],
    ['MRPC/train.tsv', 'mrpc', 'train'], ['MRPC/dev.tsv', 'mrpc', 'dev'], ['MRPC/test.tsv', 'mrpc', 'test'],
    ['STS-B/train.tsv', 'stsb', 'train'], ['STS-B/dev.tsv', 'stsb', 'dev'], ['STS-B/test.tsv', 'stsb', 'test'],
    ['RTE/train.tsv', 'rte', 'train'], ['RTE/dev.tsv', 'rte', 'dev'], ['RTE/test.tsv', 'rte', 'test'],
    ['WNLI/train.tsv', 'wnli', 'train'], ['WNLI/dev.tsv', 'wnli', 'dev'], ['WNLI/test.tsv', 'wnli', 'test'],
    ['QNLI/dev.tsv', 'qnli', 'dev'], ['QNLI/k-shot-16-42/train.tsv', 'qnli', 'train'], ['QNLI/k-shot-16-42/dev.tsv', 'qnli', 'dev'],
    ['QQP/k-shot-16-42/train.tsv', 'qqp', 'train'], ['QQP/k-shot-16-42/dev.tsv', 'qqp', 'dev'],
    ['MNLI/k-shot-16-42/train.tsv', 'mnli', 'train'], ['MNLI/k-shot-16-42/dev_matched.tsv', 'mnli', 'dev']
  ]
  for (const [path, task, split] of cases) {
    it(`${path} → ${task} ${split ?? ''}`, async () => {
      const d = await detectTask(join(GLUE_DIR, path))
      expect(d, 'no task detected').not.toBeNull()
      expect(d!.task).toBe(task)
      expect(d!.split).toBe(split)
      expect(d!.confidence).toBeGreaterThanOrEqual(0.75)
      expect(d!.reason.length).toBeGreaterThan(10)
    })
  }
  it('guesses from the folder alone only with low confidence, and returns null without a hint', async () => {
    const d = await detectTask(join(GLUE_DIR, 'MRPC/dev_ids.tsv'))
    expect(d!.confidence).toBeLessThan(0.5)
    expect(d!.reason).toMatch(/only the folder name/)
    expect(await detectTask(join(FIXTURES_DIR, 'data/semicolon.csv'))).toBeNull()
  })
})

describe('previews and statistics of GLUE files', () => {
  it('previews SST-2 train: columns, first rows, mapping, labels, task', async () => {
    const p = await previewFile(join(GLUE_DIR, 'SST-2/train.tsv'), 5)
    expect(p.layout).toMatchObject({ format: 'tsv', delimiter: '\t', quoting: 'none', header: true })
    expect(p.columns).toEqual(['sentence', 'label'])
    expect(p.rows).toHaveLength(5)
    expect(p.rows[0]).toEqual(['hide new secretions from the parental units ', '0'])
    expect(p.rowLines).toEqual([2, 3, 4, 5, 6])
    expect(p.guessedMapping).toEqual({ textA: 'sentence', label: 'label' })
    expect(p.labelGuess).toMatchObject({ kind: 'classification', values: ['0', '1'], counts: { 0: 29780, 1: 37569 } })
    expect(p.detectedTask).toMatchObject({ task: 'sst2', split: 'train' })
  })

  it('previews STS-B dev as regression and the header-less CoLA train by index', async () => {
    const s = await previewFile(join(GLUE_DIR, 'STS-B/dev.tsv'))
    expect(s.guessedMapping).toEqual({ id: 'index', textA: 'sentence1', textB: 'sentence2', label: 'score' })
    expect(s.labelGuess).toMatchObject({ kind: 'regression', min: 0, max: 5 })
    const c = await previewFile(join(GLUE_DIR, 'CoLA/train.tsv'))
    expect(c.layout.header).toBe(false)
    expect(c.columns).toEqual(['0', '1', '2', '3'])
    expect(c.guessedMapping).toEqual({ textA: 3, label: 1 })
  })

  it('generic import without a task guesses GLUE layouts, and leaves test files unlabelled', async () => {
    const cases: Array<[string, object, boolean]> = [
      ['MRPC/train.tsv', { textA: '#1 String', textB: '#2 String', label: 'Quality' }, false],
      ['MRPC/test.tsv', { textA: '#1 String', textB: '#2 String', id: 'index' }, false],
      ['STS-B/dev.tsv', { id: 'index', textA: 'sentence1', textB: 'sentence2', label: 'score' }, true],
      ['STS-B/test.tsv', { id: 'index', textA: 'sentence1', textB: 'sentence2' }, false],
      ['QNLI/dev.tsv', { id: 'index', textA: 'question', textB: 'sentence', label: 'label' }, false],
      ['CoLA/dev.tsv', { textA: 3, label: 1 }, false]
    ]
    for (const [path, mapping, regression] of cases) {
      const r = await loadWithReport(join(GLUE_DIR, path))
      expect(r.layout.mappingGuessed, path).toBe(true)
      expect(r.layout.mapping, path).toMatchObject(mapping)
      expect(r.dataset.hasLabels, path).toBe('label' in mapping)
      expect(r.dataset.isRegression, path).toBe(regression)
      expect(r.errors, path).toBe(0)
    }
  })

  it('counts token lengths, label balance, duplicates and train/dev overlap', async () => {
    const train = await loadGlueSplit(GLUE_DIR, 'sst2', 'train')
    const dev = await loadGlueSplit(GLUE_DIR, 'sst2', 'dev')
    const s = datasetStats(dev)
    expect(s.size).toBe(872)
    expect(s.labels).toEqual([
      { index: 0, name: '0', count: 428, fraction: 428 / 872 },
      { index: 1, name: '1', count: 444, fraction: 444 / 872 }
    ])
    expect(s.lengthUnit).toBe('whitespace tokens')
    expect(s.lengths.histogram.counts.reduce((a, b) => a + b, 0)).toBe(872)
    expect(s.lengths.min).toBeGreaterThanOrEqual(1)
    expect(s.lengths.min).toBeLessThanOrEqual(s.lengths.median)
    expect(s.lengths.median).toBeLessThanOrEqual(s.lengths.p95)
    expect(s.lengths.p95).toBeLessThanOrEqual(s.lengths.max)
    expect(s.lengths.max).toBe(47) // awk: longest SST-2 dev sentence has 47 space-separated tokens
    // A caller-supplied length (here characters) replaces the whitespace count.
    const c = datasetStats(dev, (a) => a.length)
    expect(c.lengthUnit).toBe('caller')
    expect(c.lengths.max).toBeGreaterThan(s.lengths.max)
    const trainStats = datasetStats(train)
    expect(trainStats.duplicates).toBe(371)
    const n = overlap(train, dev)
    const v = validateDataset(dev, { against: train })
    expect(v.counts.train_dev_overlap ?? 0).toBe(n)
    console.log(`SST-2: train duplicates ${trainStats.duplicates}, dev rows also in train ${n}; dev lengths (whitespace tokens) min ${s.lengths.min} median ${s.lengths.median} p95 ${s.lengths.p95} max ${s.lengths.max}`)
  })

  it('loads SST-2 train (67,349 rows) fast', async () => {
    const file = join(GLUE_DIR, 'SST-2/train.tsv')
    await loadGlueFile(file, 'sst2', 'train') // warm-up: module JIT
    const times: number[] = []
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now()
      const ds = await loadGlueFile(file, 'sst2', 'train')
      times.push(performance.now() - t0)
      expect(ds.examples.length).toBe(67349)
    }
    console.log(`SST-2 train load (read, decode, parse, labels, duplicate check): ${times.map((t) => `${t.toFixed(0)} ms`).join(', ')}`)
  })
})

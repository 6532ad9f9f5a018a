/**
 * Importing user files: TSV / CSV / JSON Lines with mappings, sniffing, and every kind of broken file
 * (fixtures in test/fixtures/data, byte-level ones written to a temp dir), each giving its specific
 * problem at the right line and column.
 */
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  checkDataRef, dataRef, DatasetError, datasetStats, glueLoadOptions, loadDataset, loadWithReport, overlap, previewFile,
  readDatasetBytes, sha256File, validateDataset, type LoadReport, type Problem, type ProblemCode
} from '../../../src/engine/data'
import { FIXTURES_DIR } from '../../helpers/shared-data'

const FIX = join(FIXTURES_DIR, 'data')
const fx = (name: string) => join(FIX, name)
const TMP = mkdtempSync(join(tmpdir(), 'ird-data-'))
afterAll(() => rmSync(TMP, { recursive: true, force: true }))
const tmp = (name: string, content: string | Uint8Array) => {
  const f = join(TMP, name)
  writeFileSync(f, content)
  return f
}

function only(r: LoadReport, code: ProblemCode): Problem[] {
  return r.problems.filter((p) => p.code === code)
}

describe('well-formed imports', () => {
  it('CSV (RFC 4180): quoted delimiters, doubled quotes, line breaks in a field, with line numbers kept', async () => {
    const r = await loadWithReport(fx('quoted-multiline.csv'), { mapping: { id: 'id', textA: 'text', label: 'label' } })
    expect(r.usable, r.verdict).toBe(true)
    expect(r.problems).toEqual([])
    expect(r.layout).toMatchObject({ format: 'csv', delimiter: ',', quoting: 'rfc4180', header: true })
    expect(r.dataset.labelNames).toEqual(['neg', 'pos'])
    expect(r.dataset.examples).toEqual([
      { id: '1', line: 2, textA: 'first line\nsecond line', label: 1 },
      { id: '2', line: 4, textA: 'she said "hi"', label: 0 },
      { id: '3', line: 5, textA: 'a, b and c', label: 1 },
      { id: '4', line: 6, textA: 'plain', label: 0 }
    ])
  })

  it('sniffs a semicolon CSV, its header and a mapping; numbers become classes unless regression is asked', async () => {
    const p = await previewFile(fx('semicolon.csv'))
    expect(p.layout).toMatchObject({ format: 'csv', delimiter: ';', header: true })
    expect(p.columns).toEqual(['review', 'stars'])
    expect(p.guessedMapping).toEqual({ textA: 'review', label: 'stars' })
    expect(p.labelGuess).toMatchObject({ kind: 'classification', values: ['1', '3', '5'] })
    expect(p.detectedTask).toBeNull()
    const cls = await loadDataset(fx('semicolon.csv'))
    expect(cls.labelNames).toEqual(['1', '3', '5'])
    expect(cls.examples.map((e) => e.label)).toEqual([2, 0, 1, 1])
    const reg = await loadDataset(fx('semicolon.csv'), { labelType: 'regression' })
    expect(reg.isRegression).toBe(true)
    expect(reg.examples.map((e) => e.label)).toEqual([5, 1, 3, 3])
    expect(reg.examples[0].textA).toBe('Great phone, works well')
  })

  it('header-less files map columns by index; dev files take the train label names', async () => {
    const train = tmp('nohdr-train.tsv', 'great film\tpos\nawful film\tneg\nso so\tmeh\n')
    const dev = tmp('nohdr-dev.tsv', 'lovely\tpos\nterrible\tbad\n')
    const t = await loadWithReport(train, { mapping: { textA: 0, label: 1 } })
    expect(t.layout.header).toBe(false)
    expect(t.dataset.labelNames).toEqual(['meh', 'neg', 'pos'])
    const d = await loadWithReport(dev, { mapping: { textA: 0, label: 1 }, labelNames: t.dataset.labelNames, against: t.dataset })
    expect(d.dataset.examples[0].label).toBe(2)
    const p = only(d, 'unknown_label')
    expect(p).toHaveLength(1)
    expect(p[0]).toMatchObject({ line: 2, column: 1, field: 'label', severity: 'error' })
    expect(p[0].message).toMatch(/"bad".*"meh", "neg", "pos".*training/)
    // A header name on a header-less file is explained, not just "not found".
    const bad = await loadWithReport(train, { header: false, mapping: { textA: 'sentence' } })
    expect(only(bad, 'missing_column')[0].message).toMatch(/no header row.*by index/)
  })

  it('JSON Lines with string, number and boolean labels', async () => {
    const f = tmp('ok.jsonl', '{"q": "is it?", "a": "yes", "y": 1, "uid": 7}\n{"q": "why?", "a": "because", "y": 0, "uid": 8}\n\n')
    const r = await loadWithReport(f, { mapping: { textA: 'q', textB: 'a', label: 'y', id: 'uid' } })
    expect(r.usable).toBe(true)
    expect(r.layout.format).toBe('jsonl')
    expect(r.dataset.examples).toEqual([
      { id: '7', line: 1, textA: 'is it?', textB: 'yes', label: 1 },
      { id: '8', line: 2, textA: 'why?', textB: 'because', label: 0 }
    ])
    const b = tmp('bool.jsonl', '{"text": "a", "label": true}\n{"text": "b", "label": false}\n')
    const rb = await loadWithReport(b)
    expect(rb.layout.mappingGuessed).toBe(true)
    expect(rb.dataset.labelNames).toEqual(['false', 'true'])
  })

  it('CRLF line ends, UTF-16 with a BOM, and Windows-1252 on request', async () => {
    const crlf = await loadDataset(tmp('crlf.tsv', 'sentence\tlabel\r\nfine\t1\r\nbad\t0\r\n'), { task: 'sst2' })
    expect(crlf.examples).toEqual([{ id: '0', line: 2, textA: 'fine', label: 1 }, { id: '1', line: 3, textA: 'bad', label: 0 }])
    const u16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('sentence\tlabel\nnaïve\t1\n', 'utf16le')])
    const r16 = await loadWithReport(tmp('u16.tsv', u16), { task: 'sst2' })
    expect(r16.usable).toBe(true)
    expect(r16.dataset.examples[0].textA).toBe('naïve')
    expect(only(r16, 'encoding')[0]).toMatchObject({ severity: 'warning' })
    const cp = await loadDataset(tmp('cp1252.tsv', Buffer.from('sentence\tlabel\ncaf\xe9 \x93quoted\x94\t1\n', 'latin1')), { task: 'sst2', encoding: 'windows-1252' })
    expect(cp.examples[0].textA).toBe('café \u201cquoted\u201d')
  })

  it('the file hash ties a dataset to its bytes', async () => {
    const f = tmp('hash.tsv', 'sentence\tlabel\nfine\t1\n')
    const ds = await loadDataset(f, { task: 'sst2' })
    expect(ds.sha256).toBe(await sha256File(f))
    expect(ds.sha256).toBe(createHash('sha256').update('sentence\tlabel\nfine\t1\n').digest('hex'))
    const ref = dataRef(ds)
    expect(ref).toMatchObject({ rows: 1, task: 'sst2' })
    expect(await checkDataRef(ref)).toBeNull()
    writeFileSync(f, 'sentence\tlabel\nfine\t0\n')
    expect(await checkDataRef(ref)).toMatch(/has changed/)
  })
})

describe('broken files give the specific problem, line and column', () => {
  it('wrong column count', async () => {
    const r = await loadWithReport(fx('wrong-columns.tsv'), { task: 'sst2' })
    expect(r.usable).toBe(false)
    const p = only(r, 'column_count')
    expect(p.map((x) => [x.line, x.column, x.severity])).toEqual([[3, 'label', 'error'], [4, 2, 'error']])
    expect(p[0].message).toMatch(/line 3 has 1 column \(tab-separated\), expected 2/)
    expect(p[1].message).toMatch(/4 columns.*holds a tab/)
    // No follow-up noise (missing label) for a row already faulted.
    expect(r.counts.missing_label).toBeUndefined()
    expect(r.verdict).toMatch(/2 errors in 2 rows.*dropBadRows/)
    const dropped = await loadWithReport(fx('wrong-columns.tsv'), { task: 'sst2', dropBadRows: true })
    expect(dropped.usable).toBe(true)
    expect(dropped.droppedLines).toEqual([3, 4])
    expect(dropped.dataset.examples.map((e) => e.line)).toEqual([2, 5])
    // Without dropBadRows, loadDataset refuses and carries the report.
    const err = await loadDataset(fx('wrong-columns.tsv'), { task: 'sst2' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DatasetError)
    expect((err as DatasetError).message).toMatch(/wrong-columns\.tsv:3, column "label": error column_count/)
    expect((err as DatasetError).report.counts.column_count).toBe(2)
  })

  it('empty text', async () => {
    const r = await loadWithReport(fx('empty-text.tsv'), glueLoadOptions('rte', 'train'))
    const p = only(r, 'empty_text')
    expect(p.map((x) => [x.line, x.column, x.field])).toEqual([[3, 'sentence1', 'textA'], [4, 'sentence2', 'textB']])
    expect(p[0].message).toMatch(/textA \(column "sentence1"\) is empty/)
  })

  it('unknown, missing and out-of-range labels', async () => {
    const r = await loadWithReport(fx('unknown-label.tsv'), { task: 'sst2' })
    expect(r.problems.map((x) => [x.line, x.code, x.column])).toEqual([
      [3, 'unknown_label', 'label'], [4, 'missing_label', 'label'], [5, 'unknown_label', 'label']
    ])
    expect(r.problems[0].message).toMatch(/"7" is not one of SST-2's labels \("0", "1"\).*from 0 to 1/)
    // "1.0" is the number 1: accepted for numbered labels.
    expect(r.dataset.examples[4]).toMatchObject({ line: 6, label: 1 })
    const mnli = await loadWithReport(fx('mnli-int-labels.tsv'), { task: 'mnli', mapping: { textA: 'premise', textB: 'hypothesis', label: 'label' } })
    expect(only(mnli, 'unknown_label')[0].message).toMatch(/entailment=0, neutral=1, contradiction=2/)
    const st = await loadWithReport(fx('stsb-range.tsv'), glueLoadOptions('stsb', 'train'))
    expect(st.problems.map((x) => [x.line, x.code, x.severity, x.column])).toEqual([
      [3, 'label_out_of_range', 'warning', 'score'], [4, 'bad_label_value', 'error', 'score']
    ])
    expect(st.dataset.examples[1].label).toBeCloseTo(7.2)
  })

  it('bad UTF-8 is located to its line, byte and column', async () => {
    const f = tmp('latin1.tsv', Buffer.concat([Buffer.from('sentence\tlabel\nplain\t0\ncaf'), Buffer.from([0xe9]), Buffer.from(' au lait\t1\nok\t1\n')]))
    const r = await loadWithReport(f, { task: 'sst2' })
    const p = only(r, 'encoding')
    expect(p).toHaveLength(1)
    expect(p[0]).toMatchObject({ line: 3, offset: 4, column: 'sentence', severity: 'error' })
    expect(p[0].message).toMatch(/byte 4: invalid UTF-8 \(byte 0xE9\).*windows-1252/)
    expect(r.dataset.examples).toHaveLength(3)
    const d = await loadWithReport(f, { task: 'sst2', dropBadRows: true })
    expect(d.dataset.examples.map((e) => e.textA)).toEqual(['plain', 'ok'])
  })

  it('binary files, NUL bytes and UTF-16 without a BOM', async () => {
    const png = tmp('img.tsv', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]))
    const r1 = await loadWithReport(png)
    expect(r1.problems).toHaveLength(1)
    expect(r1.problems[0]).toMatchObject({ code: 'binary_file', line: 1 })
    expect(r1.problems[0].message).toMatch(/PNG image.*Export/)
    const blob = Buffer.alloc(4096)
    for (let i = 0; i < blob.length; i++) blob[i] = (i * 7919) % 256
    blob.write('sentence\tlabel\nfine\t1\n', 0)
    const r2 = await loadWithReport(tmp('blob.tsv', blob))
    const nul = blob.indexOf(0)
    const lineOfNul = 1 + [...blob.subarray(0, nul)].filter((c) => c === 0x0a).length
    expect(r2.problems[0]).toMatchObject({ code: 'binary_file', line: lineOfNul, offset: nul - blob.lastIndexOf(0x0a, nul) })
    expect(r2.usable).toBe(false)
    // A single NUL far into an otherwise fine text file is a row error, not a binary file.
    const rows = Array.from({ length: 600 }, (_, i) => `sentence number ${i}\t${i % 2}`)
    rows[499] = `sentence\u0000 number 499\t1`
    const r3 = await loadWithReport(tmp('nul.tsv', `sentence\tlabel\n${rows.join('\n')}\n`), { task: 'sst2' })
    expect(only(r3, 'nul_byte')).toMatchObject([{ line: 501, offset: 9, column: 'sentence' }])
    const r4 = await loadWithReport(tmp('u16nobom.tsv', Buffer.from('sentence\tlabel\nfine\t1\n', 'utf16le')))
    expect(r4.problems[0]).toMatchObject({ code: 'encoding', severity: 'error' })
    expect(r4.problems[0].message).toMatch(/UTF-16 .*without a byte-order mark/)
  })

  it('empty files, whitespace-only files and header-only files', async () => {
    const e = await loadWithReport(tmp('empty.tsv', ''))
    expect(e.problems).toMatchObject([{ code: 'empty_file', line: 1, severity: 'error' }])
    expect(e.usable).toBe(false)
    expect((await loadWithReport(tmp('ws.tsv', '\ufeff \n\n  \n'))).problems[0].code).toBe('empty_file')
    const h = await loadWithReport(tmp('hdr.tsv', 'sentence\tlabel\n'), { task: 'sst2' })
    expect(h.problems).toMatchObject([{ code: 'no_rows', line: 1 }])
    const missing = await loadWithReport(join(TMP, 'does-not-exist.tsv'))
    expect(missing.problems[0]).toMatchObject({ code: 'unreadable_file' })
    expect(missing.problems[0].message).toMatch(/no such file/)
  })

  it('an enormous line is reported and skipped in one linear pass', async () => {
    const huge = 'x'.repeat(24 << 20)
    const f = tmp('huge.tsv', `sentence\tlabel\nok\t1\n${huge}\t1\nfine\t0\n`)
    const t0 = performance.now()
    const r = await loadWithReport(f, { task: 'sst2' })
    const ms = performance.now() - t0
    console.log(`24 MiB line: reported in ${ms.toFixed(0)} ms`)
    const p = only(r, 'line_too_long')
    expect(p).toHaveLength(1)
    expect(p[0]).toMatchObject({ line: 3, severity: 'error' })
    expect(p[0].message).toMatch(/25,165,826 bytes long, over the limit of 1,048,576/)
    expect(r.dataset.examples.map((e) => e.line)).toEqual([2, 4])
    expect(r.usable).toBe(false)
    expect((await loadWithReport(f, { task: 'sst2', dropBadRows: true })).usable).toBe(true)
    // The limit is adjustable.
    const small = await loadWithReport(tmp('small-limit.tsv', 'sentence\tlabel\nabcdefghijklmnopqrstuvwxyz\t1\n'), { task: 'sst2', maxLineBytes: 20 })
    expect(only(small, 'line_too_long')[0].line).toBe(2)
  })

  it('CSV with an unbalanced quote: the error points at the quote, later rows still read', async () => {
    const r = await loadWithReport(fx('unbalanced-quote.csv'), { mapping: { id: 'id', textA: 'text', label: 'label' } })
    const p = only(r, 'unbalanced_quote')
    expect(p).toHaveLength(1)
    expect(p[0]).toMatchObject({ line: 3, column: 'text', offset: 3, severity: 'error' })
    expect(p[0].message).toMatch(/never closes.*end of the file/)
    expect(r.dataset.examples.map((e) => [e.id, e.line, e.textA])).toEqual([
      ['1', 2, 'a quoted, fine text'], ['2', 3, '"this quote never closes'], ['3', 4, 'plain text'], ['4', 5, 'another plain text']
    ])
    expect(r.dataset.examples[1].label).toBe(0) // neg
    // A quote that swallows more than maxQuotedLines lines is taken for unbalanced as well.
    const many = ['id,text,label', '1,"opens here,pos', ...Array.from({ length: 150 }, (_, i) => `${i + 2},row ${i},neg`), '999,"closes here",pos']
    const rm = await loadWithReport(tmp('swallow.csv', many.join('\n')), { mapping: { textA: 'text', label: 'label' } })
    expect(only(rm, 'unbalanced_quote')[0].line).toBe(2)
    expect(rm.dataset.examples).toHaveLength(152)
  })

  it('JSON Lines with bad lines', async () => {
    const r = await loadWithReport(fx('bad-line.jsonl'), { mapping: { textA: 'text', label: 'label' } })
    expect(r.problems.map((x) => [x.line, x.code, x.column])).toEqual([
      [3, 'bad_json', undefined], [4, 'bad_json', undefined], [6, 'bad_text_value', 'text']
    ])
    expect(r.problems[0].message).toMatch(/line 3 is not valid JSON/)
    expect(r.problems[1].message).toMatch(/an array, expected a JSON object/)
    expect(r.dataset.examples.map((e) => e.line)).toEqual([1, 2, 5, 6])
    const arr = await loadWithReport(tmp('array.json', '[{"text": "a",\n "label": 1}]\n'), { format: 'jsonl' })
    expect(arr.problems[0].message).toMatch(/one JSON array.*jq/)
  })

  it('duplicates within a file, with conflicting labels told apart', async () => {
    const r = await loadWithReport(fx('duplicates.tsv'), { task: 'sst2' })
    expect(r.problems.map((x) => [x.line, x.code, x.severity])).toEqual([[4, 'duplicate', 'warning'], [5, 'conflicting_duplicate', 'warning']])
    expect(r.problems[0].message).toMatch(/repeats line 2/)
    expect(r.problems[1].message).toMatch(/same text as line 2 but label "0" instead of "1"/)
    expect(r.usable).toBe(true)
    const d = await loadWithReport(fx('duplicates.tsv'), { task: 'sst2', dropDuplicates: true })
    expect(d.droppedLines).toEqual([4])
    expect(datasetStats(r.dataset).duplicates).toBe(2)
  })

  it('overlap between train and dev', async () => {
    const train = await loadDataset(fx('overlap-train.tsv'), { task: 'sst2' })
    const r = await loadWithReport(fx('overlap-dev.tsv'), { task: 'sst2', against: train })
    expect(r.problems).toHaveLength(1)
    expect(r.problems[0]).toMatchObject({ code: 'train_dev_overlap', line: 3, file: fx('overlap-dev.tsv'), severity: 'warning' })
    expect(r.problems[0].message).toMatch(/overlap-train\.tsv \(line 3\)/)
    expect(overlap(train, r.dataset)).toBe(1)
  })

  it('caps stored problems per code but counts them all', () => {
    const rows = Array.from({ length: 3000 }, (_, i) => `text ${i}\t9`).join('\n')
    const r = readDatasetBytes(Buffer.from(`sentence\tlabel\n${rows}\n`), 'many.tsv', { task: 'sst2' })
    expect(r.counts.unknown_label).toBe(3000)
    expect(r.errors).toBe(3000)
    expect(r.problems).toHaveLength(1000)
    expect(r.truncated).toBe(true)
    expect(r.summary).toMatch(/3000 × unknown_label/)
  })

  it('validateDataset checks data built in memory', () => {
    const r = validateDataset({
      name: 'ui', file: 'ui', format: 'jsonl', sha256: '', isRegression: false, hasLabels: true, labelNames: ['a', 'b'],
      examples: [{ id: '0', line: 1, textA: 'x', label: 0 }, { id: '1', line: 2, textA: ' ', label: 5 }, { id: '2', line: 3, textA: 'y' }]
    }, { dropBadRows: true })
    expect(r.problems.map((p) => [p.line, p.code])).toEqual([[2, 'empty_text'], [2, 'unknown_label'], [3, 'missing_label']])
    expect(r.dataset.examples.map((e) => e.id)).toEqual(['0'])
    expect(r.usable).toBe(true)
  })
})

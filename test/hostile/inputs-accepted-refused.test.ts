/**
 * Issue 18, class 7: inputs that were accepted or refused wrongly. A CSV as Python's csv module writes it
 * (CRLF, quoted commas, doubled quotes, newlines inside quotes) loads, with the delimiter chosen by the
 * extension, then the content; a header that fails says which delimiter was assumed; a repeated column
 * name, a repeated flag, an integer beyond exact range or bound are refused; a keep ratio of 1 reads 100%.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseArgs, UsageError, type FlagSpec } from '../../src/cli/args'
import { loadWithReport } from '../../src/engine/data'
import { sniffFormat } from '../../src/engine/data/sniff'
import { keepRatioText, runsTable } from '../../src/engine/runs/compare'
import type { RunSummary } from '../../src/engine/runs/store'
import { REPO_ROOT } from '../helpers/shared-data'
import { writeTinyModel } from '../helpers/tiny-model'

const tmp = mkdtempSync(join(tmpdir(), 'ird-inputs-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
const PY = '/usr/bin/python3'
const BIN = join(REPO_ROOT, 'bin/ird-studio.js')
const model = join(tmp, 'model')

/** What Python's csv.writer writes (its default dialect "excel": CRLF, minimal quoting, doubled quotes). */
const PY_CSV = 'sentence,label\r\n"good, very good",1\r\n"he said ""hi""",0\r\n"line one\nline two, again",1\r\nplain,0\r\n'

beforeAll(() => {
  writeTinyModel(model, { vocabDir: join(tmp, 'vocab'), maxPositions: 64 })
})

describe('CSV by RFC 4180', () => {
  it('the bytes Python\'s csv module writes are what this test reads (when python3 is there)', () => {
    const r = spawnSync(PY, ['-c', 'import csv,sys; w=csv.writer(sys.stdout); w.writerows([("sentence","label"),("good, very good",1),(\'he said "hi"\',0),("line one\\nline two, again",1),("plain",0)])'], { encoding: 'utf8' })
    if (r.status !== 0) return
    expect(r.stdout).toBe(PY_CSV)
  })

  it('loads CRLF, quoted commas, doubled quotes and newlines inside quotes, with or without a task', async () => {
    const f = join(tmp, 'py.csv')
    writeFileSync(f, PY_CSV)
    for (const opts of [{}, { task: 'sst2' as const }]) {
      const r = await loadWithReport(f, opts)
      expect(r.usable, JSON.stringify(r.problems)).toBe(true)
      expect(r.layout).toMatchObject({ format: 'csv', delimiter: ',', header: true, columns: ['sentence', 'label'] })
      expect(r.dataset.examples.map((e) => [e.textA, e.label])).toEqual([['good, very good', 1], ['he said "hi"', 0], ['line one\nline two, again', 1], ['plain', 0]])
    }
  })

  it('the CLI reads it as SST-2 data although its header is SST-2\'s (it used to force the tab layout)', () => {
    writeFileSync(join(tmp, 'py.csv'), PY_CSV)
    const r = spawnSync(process.execPath, [BIN, 'eval', '--model', model, '--task', 'sst2', '--dev', 'py.csv', '--backend', 'wasm'], { cwd: tmp, encoding: 'utf8', timeout: 120_000 })
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/SST-2 dev \(4 examples\)/)
  })

  it('the extension chooses the delimiter first, then the content', async () => {
    // by content alone tab wins (every line has one, only half have a comma)
    const lines = ['text\tnote,label', 'a\tb,1', 'c\td', 'e\tf']
    expect(sniffFormat(lines, 'x.txt').delimiter).toBe('\t')
    const csv = sniffFormat(lines, 'x.csv')
    expect(csv.delimiter).toBe(',')
    expect(csv.reason).toContain('the .csv extension')
    expect(sniffFormat(['a,b\tc', 'd,e\tf', 'g,h', 'i,j'], 'x.tsv').delimiter).toBe('\t')
    // a .csv that is really ;-separated still sniffs by content (comma splits no line)
    expect(sniffFormat(['a;b', 'c;d', 'e;f'], 'x.csv').delimiter).toBe(';')
    // no telling extension: the content decides (a semicolon file named .txt)
    writeFileSync(join(tmp, 'semi.txt'), 'text;label\nfoo bar;1\nbaz qux;0\nquux;1\n')
    expect((await loadWithReport(join(tmp, 'semi.txt'), {})).layout.delimiter).toBe(';')
  })

  it('a header that does not fit says which delimiter was assumed and why', async () => {
    writeFileSync(join(tmp, 'wrong.tsv'), 'review\tstars\nnice\t1\nbad\t0\n')
    const r = await loadWithReport(join(tmp, 'wrong.tsv'), { mapping: { textA: 'sentence', label: 'label' } })
    expect(r.usable).toBe(false)
    const p = r.problems.find((x) => x.code === 'missing_column')!
    expect(p.message).toMatch(/read as tab-separated: .*tab splits 100% of the sampled lines into 2 columns/)
  })
})

describe('refused inputs', () => {
  it('a header that names one column twice is refused, naming it', async () => {
    writeFileSync(join(tmp, 'dup.tsv'), 'sentence\tlabel\tsentence\nfoo\t1\tbar\n')
    const r = await loadWithReport(join(tmp, 'dup.tsv'), { task: 'sst2' })
    expect(r.usable).toBe(false)
    const p = r.problems.find((x) => x.code === 'duplicate_column')!
    expect(p.message).toBe('the header on line 1 names two columns "sentence" (columns 1 and 3), so a mapping by name cannot tell them apart. Rename one of them.')
    expect(p.column).toBe('sentence')
  })

  const specs: Record<string, FlagSpec> = { epochs: { type: 'int', help: '', min: 1, max: 1000 }, seed: { type: 'int', help: '', min: 0 }, lr: { type: 'number', help: '' }, json: { type: 'bool', help: '' } }
  const parse = (...a: string[]) => () => parseArgs(a, specs, 'run')

  it('a flag given twice is refused (the last one used to win)', () => {
    expect(parse('--epochs', '3', '--epochs', '5')).toThrow(UsageError)
    expect(parse('--epochs', '3', '--epochs', '5')).toThrow('--epochs is given twice (3 and 5): give it once')
    expect(parse('--lr=1e-3', '--lr', '2e-3')).toThrow(/--lr is given twice/)
    expect(parse('--json', '--json')).toThrow(/--json is given twice/)
    expect(parse('--epochs', '3', '--seed', '3').call(null).flags).toEqual({ epochs: 3, seed: 3 })
  })

  it('integers beyond exact range or beyond the stated bound are refused', () => {
    expect(parse('--epochs', '99999999999999999999')).toThrow(/--epochs expects an integer ≥ 1 and ≤ 1000, got 99999999999999999999/)
    expect(parse('--seed', '99999999999999999999')).toThrow(/beyond the largest exact integer \(9007199254740991\)/)
    expect(parse('--epochs', '1001')).toThrow(/≤ 1000, got 1001/)
  })

  it('the real CLI refuses both with exit 2 before any work', () => {
    for (const args of [['run', '--epochs', '99999999999999999999'], ['run', '--seed', '1', '--seed', '2'], ['eval', '--batch-size', '8', '--batch-size', '8']]) {
      const r = spawnSync(process.execPath, [BIN, ...args], { cwd: tmp, encoding: 'utf8', timeout: 60_000 })
      expect(r.status, args.join(' ')).toBe(2)
      expect(r.stderr).not.toContain('internal error')
    }
  })
})

describe('keep ratio shown as a percentage', () => {
  it('1 is 100%, never 1.0e+2%', () => {
    expect(keepRatioText(1)).toBe('100%')
    expect(keepRatioText(0.005)).toBe('0.50%')
    expect(keepRatioText(0.02)).toBe('2.0%')
    expect(keepRatioText(0.5)).toBe('50%')
    const run: RunSummary = { id: 'r', task: 'sst2', method: 'fish', status: 'completed', model: 'm', keepRatio: 1, seed: 0, startedAt: '' }
    expect(runsTable([run]).rows[0]).toContain('100%')
  })
})

/**
 * Every export read back and compared: the Hugging Face folder (by our loader, and by the PyTorch
 * restatement of transformers' BertForSequenceClassification with logits against the engine's), mask,
 * delta, samples, GLUE submission zip, tables, and run bundles through import-run.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { initBackend } from '../../../src/engine/backend'
import {
  exportBundle,
  exportDelta,
  exportGlueSubmission,
  exportHfModel,
  exportMask,
  exportSamples,
  exportTable,
  importRunBundle,
  readZipSafe,
  runExport,
  submissionTsv,
  writeGlueSubmission
} from '../../../src/engine/export'
import { loadModelFolder } from '../../../src/engine/io/model-folder'
import { readSafetensors, readSafetensorsHeader, writeSafetensors } from '../../../src/engine/io/safetensors'
import { loadMask } from '../../../src/engine/mask'
import { BertForSequenceClassification } from '../../../src/engine/model/bert'
import { csvCell, latexCell, markdownCell, renderTable } from '../../../src/engine/runs/compare'
import { loadRunModel, readDelta } from '../../../src/engine/runs/run-model'
import { RunStore } from '../../../src/engine/runs/store'
import { BertTokenizer } from '../../../src/engine/tokenizer'
import { REPO_ROOT } from '../../helpers/shared-data'
import { makeBaseModel, makeCompletedRun, type FakeRun } from './helpers'

const tmp = mkdtempSync(join(tmpdir(), 'ird-export-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const PY = '/usr/bin/python3'
const HF_CHECK = join(REPO_ROOT, 'test/reference/hf_load_check.py')
const hasTorch = existsSync(PY) && spawnSync(PY, ['-c', 'import torch'], { timeout: 60_000 }).status === 0
if (!hasTorch) console.warn(`hf_load_check.py skipped: ${PY} with torch is not installed (apt-get install python3-torch)`)

const store = new RunStore(join(tmp, 'runs'))
let cls: FakeRun
let reg: FakeRun
const SENTENCES: Array<[string, string | null]> = [
  ['the movie was surprisingly good .', null],
  ['a dull , lifeless plot', null],
  ['A man is playing a guitar.', 'Someone plays an instrument.']
]

beforeAll(async () => {
  await initBackend({ force: 'wasm' })
  makeBaseModel(join(tmp, 'base2'), 2)
  makeBaseModel(join(tmp, 'base1'), 1)
  cls = makeCompletedRun(store, join(tmp, 'base2'), 'rte', { name: 'rte, "quoted" & 50%' })
  reg = makeCompletedRun(store, join(tmp, 'base1'), 'stsb')
})

/** The engine's logits of the run's fine-tuned model, and the padded inputs, for the python check. */
function engineCases(runId: string) {
  const rm = loadRunModel(store.open(runId))
  const tok = BertTokenizer.fromFolder(rm.modelDir)
  const model = BertForSequenceClassification.fromState(rm.config, rm.state)
  try {
    const batch = tok.pad(SENTENCES.map(([a, b]) => tok.encode(a, b, { maxLength: 64 })))
    const logits = model.logits(batch)
    const v = Array.from(logits.dataSync())
    logits.dispose()
    const rows = (a: Int32Array) => Array.from({ length: batch.batchSize }, (_, i) => Array.from(a.subarray(i * batch.seqLen, (i + 1) * batch.seqLen)))
    const C = rm.config.num_labels
    return { input_ids: rows(batch.inputIds), token_type_ids: rows(batch.tokenTypeIds), attention_mask: rows(batch.attentionMask), logits: Array.from({ length: batch.batchSize }, (_, i) => v.slice(i * C, (i + 1) * C)) }
  } finally {
    model.dispose()
  }
}

function pythonCheck(folder: string, runId: string, zip?: { path: string; expected: Record<string, string> }) {
  const cases = join(tmp, `cases-${Math.random().toString(36).slice(2)}.json`)
  writeFileSync(cases, JSON.stringify({ tol: 1e-4, cases: [engineCases(runId)] }))
  const args = [HF_CHECK, folder, cases]
  if (zip) {
    const exp = `${cases}.zip.json`
    writeFileSync(exp, JSON.stringify(zip.expected))
    args.push('--zip', zip.path, exp)
  }
  const r = spawnSync(PY, args, { encoding: 'utf8', timeout: 120_000 })
  expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0)
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { ok: boolean; max_abs_diff: number; files: string[]; keys: number; labels: string[]; zip_entries?: string[] }
}

describe('Hugging Face model folder', () => {
  it('round-trips: our loader reads back exactly the run\'s fine-tuned weights, with labels and tokenizer files', () => {
    const out = join(tmp, 'hf-rte')
    const r = exportHfModel(store, cls.run.id, out)
    expect(r.files.sort()).toEqual(['config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer_config.json', 'vocab.txt'])
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'))
    expect(cfg.architectures).toEqual(['BertForSequenceClassification'])
    expect(cfg.id2label).toEqual({ 0: 'entailment', 1: 'not_entailment' })
    expect(cfg.label2id).toEqual({ entailment: 0, not_entailment: 1 })
    expect(cfg.problem_type).toBe('single_label_classification')
    expect(readSafetensorsHeader(join(out, 'model.safetensors')).metadata).toEqual({ format: 'pt' })
    const back = loadModelFolder(out)
    const want = loadRunModel(store.open(cls.run.id)).state
    expect(back.report.initialized).toEqual([])
    for (const [name, t] of want) expect(Buffer.from(back.state.get(name)!.data.buffer).equals(Buffer.from(t.data.buffer)), name).toBe(true)
    // the delta really changed the base model
    expect(Buffer.from(loadModelFolder(join(tmp, 'base2'), { numLabels: 2 }).state.get('classifier.weight')!.data.buffer).equals(Buffer.from(want.get('classifier.weight')!.data.buffer))).toBe(false)
  })

  it('shards above the size threshold (model-0000i-of-0000N + index) and marks regression', () => {
    const out = join(tmp, 'hf-stsb')
    const r = exportHfModel(store, reg.run.id, out, { shardBytes: 600_000 })
    const shards = r.files.filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f))
    expect(shards.length).toBeGreaterThan(1)
    expect(r.files).toContain('model.safetensors.index.json')
    expect(existsSync(join(out, 'model.safetensors'))).toBe(false)
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'))
    expect(cfg.problem_type).toBe('regression')
    expect(cfg.num_labels).toBe(1)
    const back = loadModelFolder(out)
    for (const [name, t] of loadRunModel(store.open(reg.run.id)).state) expect(Array.from(back.state.get(name)!.data), name).toEqual(Array.from(t.data))
  })

  it('refuses an existing folder and an output outside the chosen folder, writing nothing', () => {
    expect(() => exportHfModel(store, cls.run.id, join(tmp, 'hf-rte'))).toThrow(/already exists and is not empty/)
    const within = join(tmp, 'exports')
    mkdirSync(within)
    expect(() => exportHfModel(store, cls.run.id, '../escaped', { within })).toThrow(/not inside the export folder/)
    expect(() => exportHfModel(store, cls.run.id, join(tmp, 'elsewhere'), { within })).toThrow(/not inside the export folder/)
    expect(existsSync(join(tmp, 'escaped'))).toBe(false)
    expect(existsSync(join(tmp, 'elsewhere'))).toBe(false)
    expect(readdirSync(within)).toEqual([])
  })

  it.skipIf(!hasTorch)('loads as BertForSequenceClassification by Hugging Face key names (strict) with the engine\'s logits (PyTorch check)', () => {
    const a = pythonCheck(join(tmp, 'hf-rte'), cls.run.id)
    expect(a.ok).toBe(true)
    expect(a.max_abs_diff).toBeLessThanOrEqual(1e-4)
    expect(a.labels).toEqual(['entailment', 'not_entailment'])
    expect(a.files).toEqual(['model.safetensors'])
    const b = pythonCheck(join(tmp, 'hf-stsb'), reg.run.id)
    expect(b.ok).toBe(true)
    expect(b.files.length).toBeGreaterThan(1)
  })

  it.skipIf(!hasTorch)('the python check fails on a folder with a missing key (it can fail)', () => {
    const out = join(tmp, 'hf-broken')
    exportHfModel(store, cls.run.id, out)
    const { tensors, metadata } = readSafetensors(join(out, 'model.safetensors'))
    tensors.delete('bert.pooler.dense.bias')
    rmSync(join(out, 'model.safetensors'))
    writeSafetensors(join(out, 'model.safetensors'), tensors, metadata)
    const cases = join(tmp, 'cases-broken.json')
    writeFileSync(cases, JSON.stringify({ cases: [engineCases(cls.run.id)] }))
    const r = spawnSync(PY, [HF_CHECK, out, cases], { encoding: 'utf8', timeout: 120_000 })
    expect(r.status).toBe(1)
    expect(r.stdout).toContain("missing keys ['bert.pooler.dense.bias']")
  })
})

describe('mask, delta and samples', () => {
  it('mask: safetensors keyed by HF names with format pt, method, budgets, seed, dataset hash; reads back as the same mask', () => {
    const out = join(tmp, 'rte-mask.safetensors')
    exportMask(store, cls.run.id, out)
    const { metadata, tensors } = readSafetensors(out)
    expect(metadata).toMatchObject({ format: 'pt', method: 'ird', keep_ratio: '0.05', k: '250', n_samples: '4', seed: '7', dataset_sha256: 'ab'.repeat(32), task: 'rte', ird_studio_run: cls.run.id })
    expect(tensors.has('bert.encoder.layer.1.attention.self.query.weight')).toBe(true)
    // loadMask reads it (with a sidecar beside it) and finds the run's mask
    const dir = join(tmp, 'mask-check')
    mkdirSync(dir)
    writeFileSync(join(dir, 'mask.safetensors'), readFileSync(out))
    writeFileSync(join(dir, 'mask.json'), readFileSync(cls.run.path('mask/mask.json')))
    const back = loadMask(dir, cls.config).mask
    expect([...back.keys()].sort()).toEqual([...cls.mask.keys()].sort())
    for (const [k, v] of cls.mask) expect(v === 'all' ? v : Array.from(v)).toEqual(back.get(k) === 'all' ? 'all' : Array.from(back.get(k) as Int32Array))
    expect(() => exportMask(store, cls.run.id, out)).toThrow(/already exists/)
  })

  it('delta: <hf name>.delta_indices/.delta_values with metadata; reads back to the same delta', () => {
    const out = join(tmp, 'rte-delta.safetensors')
    exportDelta(store, cls.run.id, out)
    const { metadata } = readSafetensors(out)
    expect(metadata).toMatchObject({ format: 'pt', kind: 'ird-studio-sparse-delta', method: 'ird', seed: '7', dataset_sha256: 'ab'.repeat(32), base_model: join(tmp, 'base2') })
    const base = loadModelFolder(join(tmp, 'base2'), { numLabels: 2 }).state
    const back = readDelta(out, base)
    expect([...back.keys()].sort()).toEqual([...cls.delta.keys()].sort())
    for (const [k, d] of cls.delta) {
      const b = back.get(k)!
      expect(b.indices === 'all' ? 'all' : Array.from(b.indices)).toEqual(d.indices === 'all' ? 'all' : Array.from(d.indices))
      expect(Array.from(b.values)).toEqual(Array.from(d.values))
    }
  })

  it('samples: the Fisher sample ids and IRD rounds as JSON', () => {
    const out = join(tmp, 'rte-samples.json')
    exportSamples(store, cls.run.id, out)
    const doc = JSON.parse(readFileSync(out, 'utf8'))
    expect(doc).toMatchObject({ format: 'ird-studio-samples', run: cls.run.id, task: 'rte', method: 'ird', seed: 7, nSamples: 4, selectedSampleIds: ['3', '17', '42', '99'] })
    expect(doc.dataset.sha256).toBe('ab'.repeat(32))
    expect(doc.ird.rounds.map((r: { samplesAfter: number }) => r.samplesAfter)).toEqual([8, 4])
    expect(doc.ird.poolIds).toEqual(['3', '17', '42', '99', '5'])
  })
})

describe('GLUE submission', () => {
  it('writes index/prediction files with GLUE label names, STS-B clipped to 0..5, zipped; reads back', () => {
    const out = join(tmp, 'glue.zip')
    const r = writeGlueSubmission(out, [
      { task: 'rte', ids: ['0', '1', '2'], logits: Float32Array.from([2, 1, 0, 3, 5, -1]) },
      { task: 'stsb', ids: ['0', '1', '2'], logits: Float32Array.from([-0.7, 2.3456, 7.9]) },
      { task: 'mnli', ids: ['0', '1'], logits: Float32Array.from([0, 1, 2, 3, 2, 1]) },
      { task: 'cola', ids: ['0', '1'], logits: Float32Array.from([1, 0, 0, 1]) }
    ])
    expect(r.files).toEqual({ 'RTE.tsv': 3, 'STS-B.tsv': 3, 'MNLI-m.tsv': 2, 'CoLA.tsv': 2 })
    expect(r.missing).toContain('SST-2.tsv')
    const z = readZipSafe(out)
    const text = (n: string) => Buffer.from(z.get(n)!).toString('utf8')
    expect(text('RTE.tsv')).toBe('index\tprediction\n0\tentailment\n1\tnot_entailment\n2\tentailment\n')
    expect(text('STS-B.tsv')).toBe('index\tprediction\n0\t0.000\n1\t2.346\n2\t5.000\n')
    expect(text('MNLI-m.tsv')).toBe('index\tprediction\n0\tneutral\n1\tcontradiction\n')
    expect(text('CoLA.tsv')).toBe('index\tprediction\n0\t0\n1\t1\n')
    expect(() => submissionTsv({ task: 'rte', ids: ['0', '0'], logits: new Float32Array(4) })).toThrow(/appears twice/)
    expect(() => submissionTsv({ task: 'stsb', ids: ['0'], logits: Float32Array.from([NaN]) })).toThrow(/NaN/)
    if (hasTorch) {
      const expected = Object.fromEntries([...z].map(([n, b]) => [n, Buffer.from(b).toString('utf8')]))
      const hf = join(tmp, 'hf-for-zip-check')
      exportHfModel(store, cls.run.id, hf)
      const py = pythonCheck(hf, cls.run.id, { path: out, expected })
      expect(py.zip_entries).toEqual(Object.keys(expected).sort())
    }
  })

  it('predicts a run\'s test file end to end', async () => {
    const test = join(tmp, 'rte-test.tsv')
    writeFileSync(test, 'index\tsentence1\tsentence2\n0\tA dog runs.\tAn animal moves.\n1\tIt rains.\tThe sun shines.\n2\tx\ty\n')
    const out = join(tmp, 'glue-run.zip')
    const r = await exportGlueSubmission(store, [cls.run.id], out, { testFiles: { rte: test } })
    expect(r!.files).toEqual({ 'RTE.tsv': 3 })
    const lines = Buffer.from(readZipSafe(out).get('RTE.tsv')!).toString('utf8').trim().split('\n')
    expect(lines[0]).toBe('index\tprediction')
    expect(lines.slice(1).map((l) => l.split('\t')[0])).toEqual(['0', '1', '2'])
    for (const l of lines.slice(1)) expect(['entailment', 'not_entailment']).toContain(l.split('\t')[1])
  })
})

describe('tables', () => {
  /** A strict RFC 4180 reader, to read the CSV back. */
  function parseCsv(s: string): string[][] {
    const rows: string[][] = []
    let row: string[] = []
    let cell = ''
    let q = false
    for (let i = 0; i < s.length; i++) {
      const c = s[i]
      if (q) {
        if (c === '"' && s[i + 1] === '"') {
          cell += '"'
          i++
        } else if (c === '"') q = false
        else cell += c
      } else if (c === '"') q = true
      else if (c === ',') {
        row.push(cell)
        cell = ''
      } else if (c === '\r' && s[i + 1] === '\n') {
        row.push(cell)
        rows.push(row)
        row = []
        cell = ''
        i++
      } else cell += c
    }
    return rows
  }

  it('CSV quoting, LaTeX and Markdown escaping of hostile cells', () => {
    const t = { header: ['run', 'value'], rows: [['a,b', '1'], ['say "hi"', '2'], ['two\nlines', '3'], [' padded ', '4'], ['plain', '5']] }
    const csv = renderTable(t, 'csv')
    expect(parseCsv(csv)).toEqual([t.header, ...t.rows])
    expect(csvCell('x')).toBe('x')
    expect(csvCell('a"b')).toBe('"a""b"')
    expect(latexCell('50% of $x_1$ & {y} #2 ~ ^ \\ <a|b> –')).toBe(
      '50\\% of \\$x\\_1\\$ \\& \\{y\\} \\#2 \\textasciitilde{} \\textasciicircum{} \\textbackslash{} \\textless{}a\\textbar{}b\\textgreater{} --'
    )
    expect(markdownCell('a|b\\|c\nd')).toBe('a\\|b\\\\\\|c d')
  })

  it('writes CSV, Markdown and LaTeX tables of saved runs', () => {
    const csv = exportTable(store, join(tmp, 't.csv'), { format: 'csv' })
    const rows = parseCsv(readFileSync(join(tmp, 't.csv'), 'utf8'))
    expect(csv).toContain('"rte, ""quoted"" & 50%"')
    expect(rows.map((r) => r[0])).toContain('rte, "quoted" & 50%')
    const tex = exportTable(store, join(tmp, 't.tex'), { format: 'latex' })
    expect(tex).toContain('rte, "quoted" \\& 50\\%')
    expect(tex).toMatch(/^\\begin\{tabular\}/)
    const md = exportTable(store, join(tmp, 't.md'), { format: 'markdown', glue: true })
    expect(md).toContain('GLUE score')
    expect(() => exportTable(store, join(tmp, 't.csv'), { format: 'csv' })).toThrow(/already exists/)
  })
})

describe('run bundles', () => {
  it('exports a run and imports it into another store, byte for byte; a taken id gets a new one', () => {
    const zip = join(tmp, 'bundle.zip')
    const m = exportBundle(store, cls.run.id, zip)
    expect(Object.keys(m.files)).toEqual(expect.arrayContaining(['config.json', 'events.jsonl', 'results.json', 'summary.json', 'status.json', 'delta.safetensors', 'mask/mask.safetensors', 'mask/mask.json']))
    const other = new RunStore(join(tmp, 'runs-other'))
    const r = importRunBundle(other, zip)
    expect(r).toMatchObject({ id: cls.run.id, renamed: false, baseModelFound: true })
    for (const f of Object.keys(m.files)) expect(readFileSync(join(r.dir, f)).equals(readFileSync(cls.run.path(f))), f).toBe(true)
    const [listed] = other.list()
    expect(listed).toMatchObject({ id: cls.run.id, status: 'completed', task: 'rte' })
    // the imported run works: its model is the same
    const a = loadRunModel(other.open(cls.run.id)).state
    const b = loadRunModel(store.open(cls.run.id)).state
    expect(Array.from(a.get('classifier.weight')!.data)).toEqual(Array.from(b.get('classifier.weight')!.data))
    // again: the id is taken, so the run comes in under a new one, and the first stays untouched
    const again = importRunBundle(other, zip)
    expect(again.renamed).toBe(true)
    expect(again.id).toMatch(new RegExp(`^${cls.run.id}-imported-[0-9a-f]{6}$`))
    expect(other.open(again.id).summary.id).toBe(again.id)
    expect(other.list()).toHaveLength(2)
    expect(() => importRunBundle(other, zip, { as: cls.run.id })).toThrow(/already exists/)
  })

  it('leaves a completed run\'s training checkpoint out unless asked, and skips temp files', () => {
    mkdirSync(cls.run.path('checkpoint'))
    writeFileSync(join(cls.run.path('checkpoint'), 'checkpoint.json'), '{}')
    writeFileSync(cls.run.path('.results.json.tmp-1-abc'), 'partial')
    try {
      const without = exportBundle(store, cls.run.id, join(tmp, 'bundle-nock.zip'))
      expect(Object.keys(without.files).filter((f) => f.startsWith('checkpoint') || f.includes('.tmp-'))).toEqual([])
      const withCk = exportBundle(store, cls.run.id, join(tmp, 'bundle-ck.zip'), { checkpoint: true })
      expect(Object.keys(withCk.files)).toContain('checkpoint/checkpoint.json')
      const r = importRunBundle(new RunStore(join(tmp, 'runs-ck')), join(tmp, 'bundle-ck.zip'))
      expect(readFileSync(join(r.dir, 'checkpoint/checkpoint.json'), 'utf8')).toBe('{}')
    } finally {
      rmSync(cls.run.path('checkpoint'), { recursive: true })
      rmSync(cls.run.path('.results.json.tmp-1-abc'))
    }
  })
})

describe('runExport (the app\'s entry point)', () => {
  it('dispatches each kind and keeps every output inside the chosen folder', async () => {
    const within = join(tmp, 'app-exports')
    mkdirSync(within)
    const a = await runExport(store, { kind: 'delta', runId: cls.run.id, out: 'd.safetensors' }, { within })
    expect(a.path).toBe(join(within, 'd.safetensors'))
    expect(readSafetensors(a.path!).metadata?.kind).toBe('ird-studio-sparse-delta')
    const b = await runExport(store, { kind: 'table', out: 't.md', format: 'markdown' }, { within })
    expect(readFileSync(b.path!, 'utf8')).toMatch(/^\| run \|/)
    const c = await runExport(store, { kind: 'hf-model', runId: reg.run.id, out: 'hf', dtype: 'F16' }, { within })
    expect(readSafetensorsHeader(join(c.path!, 'model.safetensors')).tensors.get('classifier.weight')!.dtype).toBe('F16')
    await expect(runExport(store, { kind: 'bundle', runId: cls.run.id, out: '../b.zip' }, { within })).rejects.toThrow(/not inside the export folder/)
    expect(existsSync(join(tmp, 'b.zip'))).toBe(false)
  })
})

describe('ird-studio export / import-run', () => {
  /** In-process (one spawn costs seconds on a shared machine); returns the exit code and stderr. */
  async function cli(...args: string[]): Promise<{ code: number; err: string; out: string }> {
    const { main } = await import('../../../src/cli/main')
    let err = ''
    let out = ''
    const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true))
    const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true))
    const cwd = process.cwd()
    process.chdir(tmp)
    try {
      return { code: await main(args), err, out }
    } finally {
      process.chdir(cwd)
      e.mockRestore()
      o.mockRestore()
    }
  }

  it('exports each kind it can without a backend, and imports a bundle', async () => {
    const id = cls.run.id.slice(0, 24)
    const mask = await cli('export', 'mask', '--runs', 'runs', '--run', id, '--out', 'cli-mask.safetensors')
    expect(mask.code, mask.err).toBe(0)
    expect(readSafetensors(join(tmp, 'cli-mask.safetensors')).metadata?.method).toBe('ird')
    const table = await cli('export', 'table', '--runs', 'runs', '--out', 'cli.tex')
    expect(table.code, table.err).toBe(0)
    expect(readFileSync(join(tmp, 'cli.tex'), 'utf8')).toContain('\\begin{tabular}')
    const bundle = await cli('export', 'bundle', '--runs', 'runs', '--run', id, '--out', 'cli-bundle.zip')
    expect(bundle.code, bundle.err).toBe(0)
    const bad = await cli('export', 'weights', '--run', id)
    expect(bad.code).toBe(2)
    expect(bad.err).toContain('unknown export kind "weights"')
    const escape = await cli('export', 'samples', '--runs', 'runs', '--run', id, '--out', '../x.json', '--within', '.')
    expect(escape.code).toBe(1)
    expect(escape.err).toContain('not inside the export folder')
    expect((await cli('export', '--help')).out).toContain('glue-submission')
  })

  it('the installed command line imports a bundle', () => {
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/ird-studio.js'), 'import-run', 'cli-bundle.zip', '--runs', 'runs-cli'], { cwd: tmp, encoding: 'utf8', timeout: 120_000 })
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toContain(`imported run ${cls.run.id}`)
  })
})

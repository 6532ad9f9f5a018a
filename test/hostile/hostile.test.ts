/**
 * The hostile-input corpus: bad files and names as users and attackers hand them over. Each must give
 * one specific error (which file, which offset/row/column/field, what was expected) and change nothing
 * on disk. Files are generated here (tiny, deterministic); the folder snapshot before and after proves
 * "nothing changed". Lower-level cases (every safetensors header fault) live in test/engine/io.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { zipSync } from 'fflate'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DatasetError, loadDataset } from '../../src/engine/data'
import { BundleError, exportBundle, exportMask, exportSamples, ExportPathError, importRunBundle, readZipSafe, ZipError } from '../../src/engine/export'
import { loadModelFolder, ModelFolderError } from '../../src/engine/io/model-folder'
import { readSafetensors, SafetensorsError, serializeSafetensors, writeSafetensors } from '../../src/engine/io/safetensors'
import { loadMask } from '../../src/engine/mask'
import { ConfigError, parseBertConfig } from '../../src/engine/model/config'
import { readDelta } from '../../src/engine/runs/run-model'
import { RunStore, RunStoreError } from '../../src/engine/runs/store'
import { makeBaseModel, makeCompletedRun, tinyConfig, type FakeRun } from '../engine/export/helpers'
import { rawSafetensors, snapshot } from '../engine/io/helpers'

const tmp = mkdtempSync(join(tmpdir(), 'ird-hostile-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

/** Run `f`, expect it to throw `cls` with a message matching every pattern, and `dir` to be unchanged. */
async function refused(dir: string, f: () => unknown, cls: abstract new (...a: never[]) => Error, ...patterns: RegExp[]): Promise<Error> {
  const before = snapshot(dir)
  let err: unknown
  try {
    await f()
  } catch (e) {
    err = e
  }
  expect(err, 'expected an error').toBeInstanceOf(cls)
  for (const p of patterns) expect((err as Error).message).toMatch(p)
  expect(snapshot(dir), 'the folder changed').toEqual(before)
  return err as Error
}

let model: string
let run: FakeRun
let store: RunStore
beforeAll(() => {
  model = join(tmp, 'model')
  makeBaseModel(model, 2)
  store = new RunStore(join(tmp, 'runs'))
  run = makeCompletedRun(store, model, 'sst2')
})

describe('safetensors', () => {
  const good = () => Buffer.concat(serializeSafetensors({ a: { dtype: 'F32', shape: [4], data: new Float32Array(4) }, b: { dtype: 'F32', shape: [2], data: new Float32Array(2) } }, { format: 'pt' }).chunks)
  const cases: Array<[string, () => Buffer, RegExp[]]> = [
    ['truncated in the data', () => good().subarray(0, good().length - 3), [/tensor "[ab]": data ends at byte \d+ of the data section, but the file holds only \d+ bytes/, /file offset \d+/]],
    ['truncated in the header', () => good().subarray(0, 20), [/header length \d+ runs past the end of the 20-byte file/]],
    ['oversized header length', () => rawSafetensors({}, 0, { length: 2n ** 40n }), [/header length 1099511627776 exceeds the 100 MB limit/]],
    ['overlapping offsets', () => rawSafetensors({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 12), [/tensor "b": data_offsets \[4, 12\] overlap tensor "a"/]],
    ['unknown dtype', () => rawSafetensors({ a: { dtype: 'F33', shape: [1], data_offsets: [0, 4] } }, 4), [/tensor "a": unknown dtype "F33" \(supported: F64, F32/]],
    ['a shape the bytes do not fit', () => rawSafetensors({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8), [/tensor "a": dtype F32 with shape \[3\] needs 12 bytes, but data_offsets \[0, 8\] span 8 bytes/]],
    ['a billion-element shape in a tiny file', () => rawSafetensors({ a: { dtype: 'F32', shape: [1_000_000_000], data_offsets: [0, 4_000_000_000] } }, 8), [/tensor "a": data ends at byte 4000000000/]]
  ]
  for (const [what, bytes, patterns] of cases) {
    it(`${what}: names the file and the fault; nothing written`, async () => {
      const dir = join(tmp, `st-${what.replace(/\W+/g, '-')}`)
      mkdirSync(dir)
      const file = join(dir, 'model.safetensors')
      writeFileSync(file, bytes())
      const e = await refused(dir, () => readSafetensors(file), SafetensorsError, ...patterns)
      expect(e.message.startsWith(file)).toBe(true)
    })
  }

  it('wrong dtypes where a consumer expects others: model weights, mask and delta', async () => {
    // model weights stored as I32
    const dir = join(tmp, 'int-weights')
    makeBaseModel(dir, 2)
    const { tensors } = readSafetensors(join(dir, 'model.safetensors'))
    const w = tensors.get('bert.pooler.dense.bias')!
    tensors.set('bert.pooler.dense.bias', { dtype: 'I32', shape: w.shape, data: new Int32Array(w.data.length) })
    writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' })
    await refused(dir, () => loadModelFolder(dir), ModelFolderError, /model\.safetensors: "bert\.pooler\.dense\.bias" is stored as I32; parameters must be F32, F16, BF16 or F64/)
    // a mask tensor stored as F32
    const maskDir = join(tmp, 'bad-mask')
    mkdirSync(maskDir)
    const m = readSafetensors(run.run.path('mask/mask.safetensors'))
    m.tensors.set('classifier.bias', { dtype: 'F32', shape: [2], data: new Float32Array(2) })
    writeSafetensors(join(maskDir, 'mask.safetensors'), m.tensors, { format: 'pt' })
    writeFileSync(join(maskDir, 'mask.json'), '{}')
    await refused(maskDir, () => loadMask(maskDir, tinyConfig(2)), Error, /mask\.safetensors: tensor "classifier\.bias" has dtype F32; a mask tensor is U8 \(dense 0\/1\) or I32 \(flat indices\)/)
    // delta values stored as F16, and indices as F32
    const d = readSafetensors(run.run.path('delta.safetensors'))
    const base = loadModelFolder(model, { numLabels: 2 }).state
    const deltaDir = join(tmp, 'bad-delta')
    mkdirSync(deltaDir)
    const v = d.tensors.get('classifier.weight.delta_values')!
    writeSafetensors(join(deltaDir, 'd1.safetensors'), new Map([...d.tensors, ['classifier.weight.delta_values', { dtype: 'F16', shape: v.shape, data: new Uint16Array(v.data.length) }]]))
    await refused(deltaDir, () => readDelta(join(deltaDir, 'd1.safetensors'), base), Error, /d1\.safetensors: tensor "classifier\.weight\.delta_values" must be F32, found F16/)
    const key = [...d.tensors.keys()].find((k) => k.endsWith('.delta_indices'))!
    const ix = d.tensors.get(key)!
    writeSafetensors(join(deltaDir, 'd2.safetensors'), new Map([...d.tensors, [key, { dtype: 'F32', shape: ix.shape, data: new Float32Array(ix.data.length) }]]))
    await refused(deltaDir, () => readDelta(join(deltaDir, 'd2.safetensors'), base), Error, new RegExp(`tensor "${key.replace(/\./g, '\\.')}" must be 1-D I32 flat indices, found F32`))
  })

  it('a shard index that points outside the model folder', async () => {
    const dir = join(tmp, 'escape-index')
    mkdirSync(dir)
    writeFileSync(join(dir, 'config.json'), JSON.stringify(tinyConfig(2)))
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { 'classifier.bias': '../model/model.safetensors' } }))
    await refused(dir, () => loadModelFolder(dir), ModelFolderError, /weight_map\["classifier\.bias"\] must be a file name in the model folder, found "\.\.\/model\/model\.safetensors"/)
  })
})

describe('config.json with absurd sizes: refused before anything is allocated', () => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['hidden_size 10^9', { hidden_size: 1e9 }, /"hidden_size" = 1000000000 is larger than the supported maximum 8192/],
    ['vocab_size 10^10', { vocab_size: 1e10 }, /"vocab_size" = 10000000000 is larger than the supported maximum/],
    ['negative layers', { num_hidden_layers: -2 }, /"num_hidden_layers" must be a positive integer, found -2/],
    ['fractional layers', { num_hidden_layers: 2.5 }, /"num_hidden_layers" must be a positive integer, found 2\.5/],
    ['layers as a string', { num_hidden_layers: '12' }, /"num_hidden_layers" must be a positive integer, found "12"/],
    ['within each limit, too many parameters together', { vocab_size: 1_000_000, hidden_size: 8192, num_attention_heads: 64 }, /config describes [\d,]+ parameters, more than the supported 2,000,000,000/],
    ['a pad token outside the vocabulary', { pad_token_id: 1e6 }, /"pad_token_id" must be an integer token id below vocab_size 30522, found 1000000/],
    ['a fractional pad token', { pad_token_id: 0.5 }, /"pad_token_id" must be an integer token id/],
    ['heads that do not divide hidden_size', { hidden_size: 100, num_attention_heads: 3 }, /hidden_size 100 is not a multiple of num_attention_heads 3/],
    ['not BERT', { model_type: 'gpt2' }, /unsupported architecture: model_type "gpt2"/]
  ]
  for (const [what, fields, pattern] of cases) {
    it(`${what}: ConfigError naming config.json and the field; folder untouched; no allocation`, async () => {
      const dir = join(tmp, `cfg-${what.replace(/\W+/g, '-')}`)
      mkdirSync(dir)
      // the weights are tiny: a loader that trusted the config would have to allocate what it says
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'bert', ...fields }))
      writeFileSync(join(dir, 'model.safetensors'), rawSafetensors({ __metadata__: { format: 'pt' } }))
      const rss = process.memoryUsage().rss
      const e = (await refused(dir, () => loadModelFolder(dir), ConfigError, pattern)) as ConfigError
      expect(e.message.startsWith(join(dir, 'config.json'))).toBe(true)
      expect(process.memoryUsage().rss - rss).toBeLessThan(200 * 1024 * 1024)
    })
  }
  it('parseBertConfig alone refuses the same (the app validates configs it is sent)', () => {
    expect(() => parseBertConfig({ hidden_size: 1e9 })).toThrow(ConfigError)
  })
})

describe('data files', () => {
  const cases: Array<[string, string, Buffer | string, RegExp[]]> = [
    ['non-UTF-8 bytes', 'latin1.tsv', Buffer.concat([Buffer.from('sentence\tlabel\ngood\t1\ncaf'), Buffer.from([0xe9]), Buffer.from(' au lait\t0\n')]), [/latin1\.tsv:3, column "sentence": error encoding: line 3, byte 4: invalid UTF-8 \(byte 0xE9\)/]],
    ['a binary file', 'data.tsv', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]), [/data\.tsv is a PNG image, not a text file/]],
    ['an empty file', 'empty.tsv', '', [/empty\.tsv is empty \(0 bytes\)/]],
    ['an enormous line', 'long.tsv', `sentence\tlabel\n${'x'.repeat(1_200_000)}\t1\nfine\t0\n`, [/long\.tsv:2: error line_too_long: line 2 is 1,200,002 bytes long, over the limit of 1,048,576 bytes per line/]],
    ['one enormous line without a line break', 'blob.jsonl', '{"sentence": "' + 'y'.repeat(1_100_000), [/blob\.jsonl:1: error line_too_long/]],
    ['a CSV with an unbalanced quote', 'q.csv', 'sentence,label\n"never closed,1\nok,0\n', [/q\.csv:2, column "sentence": error unbalanced_quote: line 2, column 0: a quoted field opens at byte 1 and never closes/]],
    ['labels outside the task', 'labels.tsv', 'sentence\tlabel\ngood\t1\nbad\t7\n', [/labels\.tsv:3, column "label": error unknown_label: line 3: label "7" is not one of SST-2's labels \("0", "1"\)/]]
  ]
  for (const [what, name, bytes, patterns] of cases) {
    it(`${what}: DatasetError with file, line, column; file untouched`, async () => {
      const dir = join(tmp, `data-${what.replace(/\W+/g, '-')}`)
      mkdirSync(dir)
      writeFileSync(join(dir, name), bytes)
      await refused(dir, () => loadDataset(join(dir, name), { task: 'sst2', split: 'train' }), DatasetError, ...patterns)
    })
  }
})

describe('names and paths that try to leave their folder', () => {
  it('run ids with "..", slashes or absolute paths are refused', () => {
    for (const id of ['..', '../x', 'a/../../b', '/etc/passwd', 'C:\\x', 'a\\b']) expect(() => store.dir(id), id).toThrow(RunStoreError)
    expect(() => run.run.path('../../outside.json')).toThrow(/invalid file name/)
  })

  it('a run name with ".." or an absolute path stays a label: the run folder is inside the store', () => {
    const r = makeCompletedRun(store, model, 'sst2', { name: '../../../etc/evil' })
    expect(r.run.dir.startsWith(store.root)).toBe(true)
    expect(r.run.summary.name).toBe('../../../etc/evil')
  })

  it('export paths with ".." or absolute paths outside the chosen folder write nothing', async () => {
    const within = join(tmp, 'exports')
    mkdirSync(within)
    for (const out of ['../escaped.json', join(tmp, 'abs.json'), 'sub/../../escaped.json', '/tmp/ird-abs.json']) {
      await refused(tmp, () => exportSamples(store, run.run.id, out, { within }), ExportPathError, /is not inside the export folder/)
    }
    await refused(tmp, () => exportMask(store, run.run.id, 'x\0y', { within }), ExportPathError, /NUL character/)
    // inside is fine, including a ".." that stays inside
    exportSamples(store, run.run.id, 'a/../samples.json', { within })
  })
})

describe('run bundles that attack the importer', () => {
  let good: Map<string, Uint8Array>
  beforeAll(() => {
    exportBundle(store, run.run.id, join(tmp, 'good.zip'))
    good = readZipSafe(join(tmp, 'good.zip'))
  })
  const zipOf = (entries: Record<string, Uint8Array | string>) => zipSync(Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, typeof v === 'string' ? Buffer.from(v) : v])))

  const cases: Array<[string, () => Uint8Array, RegExp]> = [
    ['an entry climbing out with ..', () => zipOf({ ...Object.fromEntries(good), 'run/../../evil.txt': 'x' }), /entry "run\/\.\.\/\.\.\/evil\.txt" is refused: the name climbs out of its folder/],
    ['an absolute entry', () => zipOf({ ...Object.fromEntries(good), '/etc/evil': 'x' }), /entry "\/etc\/evil" is refused: the name is an absolute path/],
    ['a backslash entry', () => zipOf({ ...Object.fromEntries(good), 'run\\..\\evil': 'x' }), /the name holds a backslash/],
    ['a drive-letter entry', () => zipOf({ ...Object.fromEntries(good), 'C:/evil': 'x' }), /the name starts with a drive letter/],
    ['an entry not in the manifest', () => zipOf({ ...Object.fromEntries(good), 'run/extra.json': '{}' }), /entry "run\/extra\.json" is not listed in bundle\.json/],
    ['a tampered file', () => zipOf({ ...Object.fromEntries(good), 'run/results.json': '{"final": {"accuracy": 1}}' }), /entry "run\/results\.json" does not match the size\/SHA-256 in bundle\.json/],
    ['a manifest run id with ..', () => zipOf({ ...Object.fromEntries(good), 'bundle.json': JSON.stringify({ ...JSON.parse(Buffer.from(good.get('bundle.json')!).toString()), run: '../../x' }) }), /"run" is "\.\.\/\.\.\/x", not a valid run id/],
    ['no manifest', () => zipOf({ 'run/config.json': '{}' }), /no bundle\.json in the archive: not an IRD Studio run bundle/],
    ['not a zip', () => Buffer.from('PK but not really a zip archive at all, just text'), /not a readable zip archive/],
    ['a truncated zip', () => readZipBytes().subarray(0, 300), /not a readable zip archive|too short/]
  ]
  const readZipBytes = () => Buffer.from(zipOf(Object.fromEntries(good)))
  for (const [what, bytes, pattern] of cases) {
    it(`${what}: BundleError naming the archive and entry; the store unchanged`, async () => {
      const file = join(tmp, `bundle-${what.replace(/\W+/g, '-')}.zip`)
      writeFileSync(file, bytes())
      const target = new RunStore(join(tmp, 'import-target'))
      mkdirSync(target.root, { recursive: true })
      const e = await refused(target.root, () => importRunBundle(target, file), BundleError, pattern)
      expect(e.message.startsWith(file)).toBe(true)
    })
  }

  it('size caps: an entry that unpacks beyond the limit is refused before it is unpacked', async () => {
    const file = join(tmp, 'bomb.zip')
    writeFileSync(file, zipOf({ ...Object.fromEntries(good), 'run/zeros.bin': new Uint8Array(5_000_000) }))
    const target = new RunStore(join(tmp, 'import-bomb'))
    mkdirSync(target.root)
    await refused(target.root, () => importRunBundle(target, file, { maxEntryBytes: 1_000_000 }), BundleError, /entry "run\/zeros\.bin" unpacks to 5000000 bytes, above the 1000000-byte limit per entry/)
    await refused(target.root, () => importRunBundle(target, file, { maxTotalBytes: 2_000_000 }), BundleError, /unpack to more than 2000000 bytes in all/)
    expect(() => readZipSafe(file, { maxEntries: 3 })).toThrow(ZipError)
  })

  it('a zip whose header under-declares an entry\'s size is caught', () => {
    const bytes = Buffer.from(zipSync({ 'a.txt': Buffer.from('x'.repeat(1000)) }))
    // central directory record: uncompressed size at offset 24 from its signature
    const cd = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]))
    bytes.writeUInt32LE(10, cd + 24)
    const file = join(tmp, 'liar.zip')
    writeFileSync(file, bytes)
    expect(() => readZipSafe(file)).toThrow(/liar\.zip: entry "a\.txt" unpacks to more than the 10 bytes its header declares/)
  })

  it('a run that is still running cannot be bundled, and a bundle of one cannot be imported', async () => {
    const live = store.create({ task: 'sst2', method: 'fish', config: {}, summary: { task: 'sst2', method: 'fish', model, seed: 0 } })
    await refused(tmp, () => exportBundle(store, live.id, join(tmp, 'live.zip')), Error, /is still running/)
    const manifest = JSON.parse(Buffer.from(good.get('bundle.json')!).toString())
    const status = Buffer.from(JSON.stringify({ status: 'running', pid: 1, startedAt: 'x', updatedAt: 'x' }))
    const { createHash } = await import('node:crypto')
    manifest.files['status.json'] = { bytes: status.length, sha256: createHash('sha256').update(status).digest('hex') }
    const file = join(tmp, 'running.zip')
    writeFileSync(file, zipOf({ ...Object.fromEntries(good), 'bundle.json': JSON.stringify(manifest), 'run/status.json': status }))
    const target = new RunStore(join(tmp, 'import-running'))
    mkdirSync(target.root)
    await refused(target.root, () => importRunBundle(target, file), BundleError, /run\/status\.json says "running"; only finished runs/)
  })
})

/**
 * Hugging Face model folders: every checkpoint variant PyTorch wrote (test/reference/make_checkpoints.py)
 * loads with the values torch reported; load → save → load is bit-identical for F32, F16, BF16 and
 * sharded folders; each broken folder gives its own error and is left exactly as it was.
 */
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { bertParameterSpec, ConfigError, numel, type StateDict } from '../../../src/engine/model/config'
import { loadModelFolder, ModelFolderError, saveModelFolder, type LoadedModel } from '../../../src/engine/io/model-folder'
import { readSafetensors, readSafetensorsHeader, SafetensorsError, writeSafetensors, type TensorInput } from '../../../src/engine/io/safetensors'
import { cleanTempDirs, IO_FIXTURES, sameBits, snapshot, tempDir } from './helpers'

afterAll(cleanTempDirs)

interface RefTensor {
  dtype: string
  shape: number[]
  sum: number
  wsum: number
  first: number[]
  canonical: string | null
}
interface RefVariant {
  architecture: string | null
  initialized: string[]
  tensors: Record<string, RefTensor>
}
const REF = JSON.parse(readFileSync(join(IO_FIXTURES, 'reference.json'), 'utf8')) as { variants: Record<string, RefVariant> }

function sums(data: Float32Array): { sum: number; wsum: number } {
  let sum = 0
  let wsum = 0
  for (let i = 0; i < data.length; i++) {
    sum += data[i]
    wsum += data[i] * ((i % 7) + 1)
  }
  return { sum, wsum }
}

function expectSameState(a: StateDict, b: StateDict): void {
  expect([...b.keys()]).toEqual([...a.keys()])
  for (const [k, t] of a) {
    expect(b.get(k)!.shape, k).toEqual(t.shape)
    expect(sameBits(t.data, b.get(k)!.data), k).toBe(true)
  }
}

/** A writable copy of a fixture folder, and a check that a failing call left it untouched. */
function copyFixture(name: string): string {
  const dir = join(tempDir(), name)
  cpSync(join(IO_FIXTURES, name), dir, { recursive: true })
  return dir
}

function expectFailsUntouched(dir: string, load: () => unknown, kind: new (...a: never[]) => Error, message: RegExp): Error {
  const before = snapshot(join(dir, '..'))
  let err: Error | undefined
  try {
    load()
  } catch (e) {
    err = e as Error
  }
  expect(err, 'expected an error').toBeInstanceOf(kind)
  expect(err!.message).toMatch(message)
  expect(snapshot(join(dir, '..'))).toEqual(before)
  return err!
}

describe('loading PyTorch-written checkpoints', () => {
  for (const [name, v] of Object.entries(REF.variants)) {
    it(`${name}: every tensor holds the values torch reported; report says what was mapped`, () => {
      const m = loadModelFolder(join(IO_FIXTURES, name))
      const specs = bertParameterSpec(m.config)
      expect([...m.state.keys()]).toEqual(specs.map((s) => s.name))
      for (const s of specs) {
        expect(m.state.get(s.name)!.shape, s.name).toEqual(s.shape)
        expect(m.state.get(s.name)!.data).toBeInstanceOf(Float32Array)
        expect(m.state.get(s.name)!.data.length).toBe(numel(s.shape))
      }
      for (const [src, r] of Object.entries(v.tensors)) {
        if (r.canonical === null) {
          expect(m.report.ignored, src).toContain(src)
          continue
        }
        const t = m.state.get(r.canonical)!
        expect(t.shape, src).toEqual(r.shape)
        expect(Array.from(t.data.subarray(0, 4)), src).toEqual(r.first)
        const { sum, wsum } = sums(t.data)
        expect(Math.abs(sum - r.sum), src).toBeLessThan(1e-9 * (1 + Math.abs(r.sum)))
        expect(Math.abs(wsum - r.wsum), src).toBeLessThan(1e-9 * (1 + Math.abs(r.wsum)))
        expect(m.report.sourceDtypes[r.canonical], src).toBe(r.dtype)
        if (src !== r.canonical) expect(m.report.renamed).toContainEqual([src, r.canonical])
      }
      expect([...m.report.initialized].sort()).toEqual([...v.initialized].sort())
      expect(m.report.unexpected).toEqual([])
      expect(m.report.sourceArchitecture).toBe(v.architecture ?? 'BertForPreTraining')
      for (const n of m.report.initialized) expect(m.report.sourceDtypes[n]).toBeUndefined()
    })
  }

  it('initialises a missing head like Hugging Face: weight ~ N(0, initializer_range) from the seed, bias 0', () => {
    const a = loadModelFolder(join(IO_FIXTURES, 'maskedlm-f16'), { seed: 5 })
    const b = loadModelFolder(join(IO_FIXTURES, 'maskedlm-f16'), { seed: 5 })
    const c = loadModelFolder(join(IO_FIXTURES, 'maskedlm-f16'), { seed: 6 })
    for (const n of ['classifier.weight', 'bert.pooler.dense.weight']) {
      expect(sameBits(a.state.get(n)!.data, b.state.get(n)!.data)).toBe(true)
      expect(sameBits(a.state.get(n)!.data, c.state.get(n)!.data)).toBe(false)
    }
    const w = a.state.get('bert.pooler.dense.weight')!.data
    const std = Math.sqrt(w.reduce((s, x) => s + x * x, 0) / w.length)
    expect(std).toBeGreaterThan(0.01)
    expect(std).toBeLessThan(0.03)
    expect(a.state.get('classifier.bias')!.data.every((x) => x === 0)).toBe(true)
    expect(a.state.get('bert.pooler.dense.bias')!.data.every((x) => x === 0)).toBe(true)
    expect(a.report.ignored.filter((n) => n.startsWith('cls.')).length).toBe(5)
  })

  it('keeps a classifier of the requested size, replaces one of another size and reports it', () => {
    const same = loadModelFolder(join(IO_FIXTURES, 'seqcls-f32'), { numLabels: 3 })
    expect(same.report.initialized).toEqual([])
    expect(same.config.extra.id2label).toBeUndefined()
    const other = loadModelFolder(join(IO_FIXTURES, 'seqcls-f32'), { numLabels: 5 })
    expect(other.config.num_labels).toBe(5)
    expect(other.state.get('classifier.weight')!.shape).toEqual([5, 8])
    expect(other.report.initialized).toEqual(['classifier.weight', 'classifier.bias'])
    expect(other.report.ignored).toEqual(expect.arrayContaining(['classifier.weight', 'classifier.bias']))
    expect(other.report.unexpected).toEqual([])
    const plain = loadModelFolder(join(IO_FIXTURES, 'seqcls-f32'))
    expect(plain.config.num_labels).toBe(3)
    expect(plain.config.extra.id2label).toEqual({ 0: 'neg', 1: 'neu', 2: 'pos' })
    expect(plain.report.ignored).toEqual(['bert.embeddings.position_ids'])
    expect(Object.keys(plain.vocabFiles).sort()).toEqual(['specialTokensMap', 'tokenizerConfig', 'vocabTxt'])
    expect(plain.vocabFiles.vocabTxt).toBe(join(IO_FIXTURES, 'seqcls-f32', 'vocab.txt'))
    expect(plain.report.files).toEqual([join(IO_FIXTURES, 'seqcls-f32', 'config.json'), join(IO_FIXTURES, 'seqcls-f32', 'model.safetensors')])
  })

  it('reads the shards through the index', () => {
    const m = loadModelFolder(join(IO_FIXTURES, 'seqcls-sharded'))
    expect(m.report.files.map((f) => f.split('/').pop())).toEqual([
      'config.json',
      'model.safetensors.index.json',
      'model-00001-of-00003.safetensors',
      'model-00002-of-00003.safetensors',
      'model-00003-of-00003.safetensors'
    ])
    expectSameState(loadModelFolder(join(IO_FIXTURES, 'seqcls-f32')).state, m.state)
  })

  it('reports tensors it does not know as unexpected (and ignores them)', () => {
    const dir = copyFixture('seqcls-f32')
    const t = readSafetensors(join(dir, 'model.safetensors')).tensors as Map<string, TensorInput>
    t.set('bert.encoder.layer.7.output.dense.weight', { dtype: 'F32', shape: [2], data: new Float32Array(2) })
    t.set('adapter.lora_A', { dtype: 'F32', shape: [1], data: new Float32Array(1) })
    writeSafetensors(join(dir, 'model.safetensors'), t)
    const m = loadModelFolder(dir)
    expect([...m.report.unexpected].sort()).toEqual(['adapter.lora_A', 'bert.encoder.layer.7.output.dense.weight'])
    expect(m.report.ignored).toEqual(expect.arrayContaining(['bert.embeddings.position_ids', 'adapter.lora_A']))
  })
})

describe('broken folders: a specific error, and the folder untouched', () => {
  it('no folder / no config.json', () => {
    expect(() => loadModelFolder(join(tempDir(), 'nope'))).toThrow(/nope: model folder not found/)
    const dir = copyFixture('seqcls-f32')
    rmSync(join(dir, 'config.json'))
    expectFailsUntouched(dir, () => loadModelFolder(dir), ModelFolderError, /config\.json: not found\. A Hugging Face model folder needs config\.json/)
  })

  it('config.json that is not JSON, or not BERT', () => {
    const dir = copyFixture('seqcls-f32')
    writeFileSync(join(dir, 'config.json'), '{\n  "hidden_size": 8,\n  oops\n}')
    expectFailsUntouched(dir, () => loadModelFolder(dir), ModelFolderError, /config\.json: invalid JSON at line 3, column 3/)
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'gpt2' }))
    const e = expectFailsUntouched(dir, () => loadModelFolder(dir), ConfigError, /config\.json: unsupported architecture: model_type "gpt2"/)
    expect((e as ConfigError).file).toBe(join(dir, 'config.json'))
    writeFileSync(join(dir, 'config.json'), '{"hidden_size": 8, "hidden_size": 16}')
    expectFailsUntouched(dir, () => loadModelFolder(dir), ModelFolderError, /duplicate key "hidden_size"/)
  })

  it('only pytorch_model.bin: not supported, with the conversion one-liner', () => {
    const dir = copyFixture('seqcls-f32')
    renameSync(join(dir, 'model.safetensors'), join(dir, 'pytorch_model.bin'))
    const e = expectFailsUntouched(dir, () => loadModelFolder(dir), ModelFolderError, /only PyTorch pickle weights \(pytorch_model\.bin\)/)
    expect(e.message).toContain("from safetensors.torch import save_file; sd = torch.load('pytorch_model.bin', map_location='cpu')")
    expect(e.message).toContain('save_pretrained(dir, safe_serialization=True)')
    rmSync(join(dir, 'pytorch_model.bin'))
    expectFailsUntouched(dir, () => loadModelFolder(dir), ModelFolderError, /no weights found: expected model\.safetensors or model\.safetensors\.index\.json/)
  })

  it('sharded: a missing shard, a tensor not in its shard, a shard name leaving the folder, an unlisted tensor', () => {
    const dir = copyFixture('seqcls-sharded')
    const indexFile = join(dir, 'model.safetensors.index.json')
    const index = JSON.parse(readFileSync(indexFile, 'utf8'))
    rmSync(join(dir, 'model-00002-of-00003.safetensors'))
    expectFailsUntouched(dir, () => loadModelFolder(dir), ModelFolderError, /1 shard file\(s\) listed in weight_map are missing from .*: model-00002-of-00003\.safetensors/)

    const dir2 = copyFixture('seqcls-sharded')
    const wm = { ...index.weight_map, 'classifier.bias': 'model-00001-of-00003.safetensors' }
    writeFileSync(join(dir2, 'model.safetensors.index.json'), JSON.stringify({ ...index, weight_map: wm }))
    const e = expectFailsUntouched(dir2, () => loadModelFolder(dir2), ModelFolderError, /model-00001-of-00003\.safetensors: 1 tensor\(s\) that model\.safetensors\.index\.json places in this shard are not in it: classifier\.bias/)
    expect((e as ModelFolderError).tensor).toBe('classifier.bias')

    writeFileSync(join(dir2, 'model.safetensors.index.json'), JSON.stringify({ ...index, weight_map: { ...index.weight_map, 'classifier.bias': '../evil.safetensors' } }))
    expectFailsUntouched(dir2, () => loadModelFolder(dir2), ModelFolderError, /weight_map\["classifier\.bias"\] must be a file name in the model folder, found "\.\.\/evil\.safetensors"/)

    const partial = { ...index.weight_map }
    delete partial['classifier.bias']
    writeFileSync(join(dir2, 'model.safetensors.index.json'), JSON.stringify({ ...index, weight_map: partial }))
    expectFailsUntouched(dir2, () => loadModelFolder(dir2), ModelFolderError, /holds 1 tensor\(s\) that model\.safetensors\.index\.json does not map to this shard: classifier\.bias/)

    writeFileSync(join(dir2, 'model.safetensors.index.json'), JSON.stringify({ metadata: {} }))
    expectFailsUntouched(dir2, () => loadModelFolder(dir2), ModelFolderError, /"weight_map" must be an object/)
  })

  it('missing encoder tensors: lists the first few and the count', () => {
    const dir = copyFixture('seqcls-f32')
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, num_hidden_layers: 3 }))
    const e = expectFailsUntouched(
      dir,
      () => loadModelFolder(dir),
      ModelFolderError,
      /the weights lack 16 of the 57 parameters config\.json describes \(num_hidden_layers 3, hidden_size 8\): bert\.encoder\.layer\.2\.attention\.self\.query\.weight, .* … and 11 more\. Check that config\.json belongs to these weights/
    )
    expect((e as ModelFolderError).tensor).toBe('bert.encoder.layer.2.attention.self.query.weight')
  })

  it('shape mismatch names the tensor, expected and found', () => {
    const dir = copyFixture('pretraining-tfnames-f32')
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, intermediate_size: 32 }))
    expectFailsUntouched(
      dir,
      () => loadModelFolder(dir),
      ModelFolderError,
      /6 tensor\(s\) do not fit config\.json: model\.safetensors: "bert\.encoder\.layer\.0\.intermediate\.dense\.weight" has shape \[16, 8\], expected \[32, 8\]; model\.safetensors: "bert\.encoder\.layer\.0\.intermediate\.dense\.bias" has shape \[16\], expected \[32\];.* … and 2 more/
    )
  })

  it('config.json\'s num_labels that disagrees with its own classifier is refused, with or without numLabels (as transformers refuses it)', () => {
    const dir = copyFixture('seqcls-f32')
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))
    delete cfg.id2label
    delete cfg.label2id
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, num_labels: 4 }))
    const msg = /config\.json says num_labels = 4, but the classifier "classifier\.weight" in model\.safetensors has 3 outputs: the config and the weights disagree\. Set num_labels to 3/
    expectFailsUntouched(dir, () => loadModelFolder(dir), ModelFolderError, msg)
    expectFailsUntouched(dir, () => loadModelFolder(dir, { numLabels: 4 }), ModelFolderError, msg)
    // a consistent checkpoint for another label count is still re-headed when the caller asks
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, num_labels: 3 }))
    expect(loadModelFolder(dir, { numLabels: 4 }).report.initialized).toEqual(['classifier.weight', 'classifier.bias'])
  })

  it('num_labels that transformers would refuse (−5, 1e9, 2.5) is refused even when a task replaces it', () => {
    const dir = copyFixture('seqcls-f32')
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))
    delete cfg.id2label
    delete cfg.label2id
    for (const [v, re] of [[-5, /"num_labels" must be a positive integer, found -5/], [1e9, /"num_labels" = 1000000000 is larger than the supported maximum 10000/], [2.5, /"num_labels" must be a positive integer, found 2\.5/]] as const) {
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, num_labels: v }))
      for (const opts of [{}, { numLabels: 2 }]) {
        let err: Error | undefined
        try {
          loadModelFolder(dir, opts)
        } catch (e) {
          err = e as Error
        }
        expect(err?.message, `num_labels ${v}, ${JSON.stringify(opts)}`).toMatch(re)
      }
    }
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, num_labels: 3, id2label: { 0: 'a', 1: 'b' } }))
    expect(() => loadModelFolder(dir)).toThrow(/"num_labels" = 3 disagrees with id2label, which names 2 classes/)
  })

  it('two tensors for one parameter, integer weights, and a checkpoint that is not BERT', () => {
    const dir = copyFixture('bertmodel-f32')
    const file = join(dir, 'model.safetensors')
    const t = readSafetensors(file).tensors as Map<string, TensorInput>
    const we = t.get('embeddings.word_embeddings.weight')!
    t.set('bert.embeddings.word_embeddings.weight', we)
    writeSafetensors(file, t)
    expectFailsUntouched(dir, () => loadModelFolder(dir), ModelFolderError, /tensors "bert\.embeddings\.word_embeddings\.weight" and "embeddings\.word_embeddings\.weight" both map to parameter "bert\.embeddings\.word_embeddings\.weight"|tensors "embeddings\.word_embeddings\.weight" and "bert\.embeddings\.word_embeddings\.weight" both map/)

    t.delete('bert.embeddings.word_embeddings.weight')
    t.set('embeddings.LayerNorm.bias', { dtype: 'I32', shape: [8], data: new Int32Array(8) })
    writeSafetensors(file, t)
    expectFailsUntouched(dir, () => loadModelFolder(dir), ModelFolderError, /"embeddings\.LayerNorm\.bias" \(→ bert\.embeddings\.LayerNorm\.bias\) is stored as I32; parameters must be F32, F16, BF16 or F64/)

    writeSafetensors(file, { 'model.decoder.weight': { dtype: 'F32', shape: [2], data: new Float32Array(2) } })
    expectFailsUntouched(dir, () => loadModelFolder(dir), ModelFolderError, /none of the 1 tensors is a BERT parameter \(names like model\.decoder\.weight\); is this a BERT checkpoint\?/)
  })

  it('a corrupt weights file: the safetensors error, naming the file', () => {
    const dir = copyFixture('seqcls-bf16')
    const file = join(dir, 'model.safetensors')
    writeFileSync(file, readFileSync(file).subarray(0, 6000))
    const e = expectFailsUntouched(dir, () => loadModelFolder(dir), SafetensorsError, /model\.safetensors: tensor ".*": data ends at byte \d+ of the data section, but the file holds only \d+ bytes after the header: the file is truncated/)
    expect((e as SafetensorsError).file).toBe(file)
  })
})

describe('saving', () => {
  function saveAndReload(m: LoadedModel, opts: Partial<Parameters<typeof saveModelFolder>[1]> = {}): { dir: string; again: LoadedModel } {
    const dir = join(tempDir(), 'out')
    saveModelFolder(dir, { config: m.config, state: m.state, sourceDtypes: m.report.sourceDtypes, ...opts })
    return { dir, again: loadModelFolder(dir) }
  }

  it('F32: load → save → load is bit-identical; config, tokenizer files and HF layout written; saving again gives the same bytes', () => {
    const m = loadModelFolder(join(IO_FIXTURES, 'seqcls-f32'))
    const { dir, again } = saveAndReload(m, { vocab: join(IO_FIXTURES, 'seqcls-f32') })
    expectSameState(m.state, again.state)
    expect(readdirSync(dir).sort()).toEqual(['config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer_config.json', 'vocab.txt'])
    expect(readFileSync(join(dir, 'vocab.txt'))).toEqual(readFileSync(join(IO_FIXTURES, 'seqcls-f32', 'vocab.txt')))
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))
    expect(cfg).toMatchObject({ architectures: ['BertForSequenceClassification'], model_type: 'bert', num_labels: 3, hidden_size: 8, torch_dtype: 'float32' })
    expect(cfg.id2label).toEqual({ 0: 'neg', 1: 'neu', 2: 'pos' })
    const h = readSafetensorsHeader(join(dir, 'model.safetensors'))
    expect(h.metadata).toEqual({ format: 'pt' })
    expect([...h.tensors.values()].every((t) => t.dtype === 'F32')).toBe(true)
    expect(again.report.sourceArchitecture).toBe('BertForSequenceClassification')
    expect(again.report.renamed).toEqual([])
    expect(again.report.ignored).toEqual([])
    expect(again.config).toEqual({ ...m.config, extra: { ...m.config.extra, architectures: ['BertForSequenceClassification'] } })

    const second = saveAndReload(again, { vocab: dir })
    for (const f of readdirSync(dir)) expect(readFileSync(join(second.dir, f)).equals(readFileSync(join(dir, f))), f).toBe(true)
  })

  it('F16: a half checkpoint keeps its dtype; what came from the file is bit-identical, and a second round trip is exact', () => {
    const m = loadModelFolder(join(IO_FIXTURES, 'maskedlm-f16'))
    const { dir, again } = saveAndReload(m)
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).torch_dtype).toBe('float16')
    expect(new Set(Object.values(again.report.sourceDtypes))).toEqual(new Set(['F16']))
    for (const [k, t] of m.state) {
      if (m.report.initialized.includes(k)) continue
      expect(sameBits(t.data, again.state.get(k)!.data), k).toBe(true)
    }
    // The freshly initialised head was float32 and is now stored in float16: rounded once, then stable.
    expectSameState(again.state, saveAndReload(again).again.state)
    // Asked for F32, everything (the fresh head included) survives exactly.
    expectSameState(m.state, saveAndReload(m, { dtype: 'F32' }).again.state)
    // float32 weights written as float16 and read back: one rounding, then a fixed point.
    const f32 = loadModelFolder(join(IO_FIXTURES, 'seqcls-f32'))
    const half = saveAndReload(f32, { dtype: 'F16' }).again
    expectSameState(half.state, saveAndReload(half).again.state)
  })

  it('BF16: load → save → load is bit-identical', () => {
    const m = loadModelFolder(join(IO_FIXTURES, 'seqcls-bf16'))
    const { dir, again } = saveAndReload(m)
    expectSameState(m.state, again.state)
    expect(readSafetensorsHeader(join(dir, 'model.safetensors')).tensors.get('classifier.weight')!.dtype).toBe('BF16')
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).torch_dtype).toBe('bfloat16')
  })

  it('sharded: HF file names, index with total_size and weight_map, every shard within the limit, bit-identical', () => {
    const m = loadModelFolder(join(IO_FIXTURES, 'seqcls-sharded'))
    const { dir, again } = saveAndReload(m, { shardBytes: 2000 })
    expectSameState(m.state, again.state)
    const shards = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort()
    const n = shards.length
    expect(n).toBeGreaterThan(2)
    expect(shards).toEqual(Array.from({ length: n }, (_, i) => `model-${String(i + 1).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`))
    const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8'))
    const specs = bertParameterSpec(m.config)
    expect(Object.keys(index.weight_map)).toEqual(specs.map((s) => s.name))
    expect(index.metadata.total_size).toBe(specs.reduce((s, p) => s + numel(p.shape) * 4, 0))
    for (const f of shards) {
      const h = readSafetensorsHeader(join(dir, f))
      const bytes = h.dataLength
      expect(bytes <= 2000 || h.tensors.size === 1, f).toBe(true)
      for (const name of h.tensors.keys()) expect(index.weight_map[name]).toBe(f)
    }
    expect(again.report.files.length).toBe(2 + n)
    // One shard's worth of bytes: a single model.safetensors and no index.
    const single = saveAndReload(again, { shardBytes: 10_000_000 })
    expect(readdirSync(single.dir).sort()).toEqual(['config.json', 'model.safetensors'])
    expectSameState(m.state, single.again.state)
  })

  it('refuses to overwrite a non-empty folder unless asked; a bad state or option writes nothing', () => {
    const m = loadModelFolder(join(IO_FIXTURES, 'seqcls-f32'))
    const root = tempDir()
    const dir = join(root, 'out')
    saveModelFolder(dir, { config: m.config, state: m.state })
    const before = snapshot(root)
    expect(() => saveModelFolder(dir, { config: m.config, state: m.state, dtype: 'F16' })).toThrow(/already exists and is not empty/)
    expect(snapshot(root)).toEqual(before)

    const broken: StateDict = new Map(m.state)
    broken.delete('bert.pooler.dense.bias')
    broken.set('classifier.weight', { shape: [2, 8], data: new Float32Array(16) })
    broken.set('extra.weight', { shape: [1], data: new Float32Array(1) })
    expect(() => saveModelFolder(join(root, 'x'), { config: m.config, state: broken })).toThrow(
      /the state does not match the config: 1 parameter\(s\) missing: bert\.pooler\.dense\.bias; 1 name\(s\) that are not BERT parameters for this config: extra\.weight; "classifier\.weight" has shape \[2, 8\], expected \[3, 8\]/
    )
    expect(() => saveModelFolder(join(root, 'x'), { config: m.config, state: m.state, dtype: 'F8' as 'F16' })).toThrow(/cannot save as dtype "F8"/)
    expect(() => saveModelFolder(join(root, 'x'), { config: m.config, state: m.state, shardBytes: 0 })).toThrow(/shardBytes must be a positive integer/)
    expect(() => saveModelFolder(join(root, 'x'), { config: m.config, state: m.state, vocab: join(IO_FIXTURES, 'bertmodel-f32') })).toThrow(/no tokenizer files/)
    expect(snapshot(root)).toEqual(before)

    saveModelFolder(dir, { config: m.config, state: m.state, dtype: 'BF16', overwrite: true })
    expect(readSafetensorsHeader(join(dir, 'model.safetensors')).tensors.get('classifier.bias')!.dtype).toBe('BF16')
    expect(readdirSync(root)).toEqual(['out'])
    expect(existsSync(join(dir, 'config.json'))).toBe(true)
  })
})

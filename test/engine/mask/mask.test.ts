/** ParamMask helpers and the mask artefact (mask.safetensors + mask.json): round trip, encodings, refusals. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { bertParameterSpec, countParameters, makeConfig } from '../../../src/engine/model/config'
import { readSafetensors, writeSafetensors } from '../../../src/engine/io/safetensors'
import {
  checkMask,
  chooseEncoding,
  compactMask,
  headParams,
  loadMask,
  maskCount,
  maskEquals,
  maskOverlap,
  maskToDense,
  maskUnion,
  saveMask,
  type ParamMask
} from '../../../src/engine/mask'
import { randomTheta } from '../../../src/engine/selection'

const cfg = makeConfig({ vocab_size: 100, hidden_size: 8, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 20 })
const spec = bertParameterSpec(cfg)
const tmp = mkdtempSync(join(tmpdir(), 'mask-test-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const W = 'bert.encoder.layer.0.attention.self.query.weight' // 64 entries
const E = 'bert.embeddings.word_embeddings.weight' // 800 entries
const LN = 'bert.encoder.layer.1.output.LayerNorm.weight'

describe('ParamMask helpers', () => {
  const a: ParamMask = new Map<string, Int32Array | 'all'>([
    [W, Int32Array.from([1, 5, 9])],
    ['classifier.bias', 'all']
  ])
  const b: ParamMask = new Map<string, Int32Array | 'all'>([
    [W, Int32Array.from([5, 6])],
    [E, Int32Array.from([0, 799])]
  ])
  it('count, union, overlap, dense', () => {
    expect(maskCount(a, spec)).toBe(5)
    const u = maskUnion(a, b, spec)
    expect([...(u.get(W) as Int32Array)]).toEqual([1, 5, 6, 9])
    expect(maskCount(u, spec)).toBe(8)
    expect(maskOverlap(a, b, spec)).toEqual({ intersection: 1, sizeA: 5, sizeB: 4, fractionOfA: 0.2, jaccard: 1 / 8 })
    expect(maskOverlap(a, new Map(), spec).fractionOfA).toBe(0)
    const d = maskToDense(a, W, spec)
    expect(d.length).toBe(64)
    expect([...d.keys()].filter((i) => d[i])).toEqual([1, 5, 9])
    expect([...maskToDense(a, 'classifier.bias', spec)]).toEqual([1, 1])
    expect(maskCount(headParams(spec), spec)).toBe(2 * 8 + 2)
  })
  it('canonical form and checks', () => {
    const full = new Map<string, Int32Array | 'all'>([['classifier.bias', Int32Array.from([0, 1])], [W, new Int32Array(0)]])
    expect(compactMask(full, spec)).toEqual(new Map([['classifier.bias', 'all']]))
    expect(maskEquals(full, new Map([['classifier.bias', 'all']]), spec)).toBe(true)
    expect(checkMask(new Map([['nope', 'all']]), spec)).toMatch(/"nope" is not a parameter/)
    expect(checkMask(new Map([[W, Int32Array.from([3, 3])]]), spec)).toMatch(/sorted and distinct/)
    expect(checkMask(new Map([[W, Int32Array.from([64])]]), spec)).toMatch(/outside \[0, 64\)/)
    expect(() => maskUnion(new Map([['nope', 'all']]), new Map(), spec)).toThrow(/not a parameter/)
  })
})

describe('mask artefact', () => {
  it('round-trips mask and sidecar, choosing the smaller encoding per tensor', () => {
    const theta = randomTheta(spec, 300, 9)
    theta.set('bert.pooler.dense.bias', 'all')
    theta.delete(LN)
    theta.set(W, Int32Array.from({ length: 20 }, (_, i) => 3 * i)) // 20·4 = 80 > 64 bytes → dense
    const mask = maskUnion(theta, headParams(spec), spec)
    const dir = join(tmp, 'rt')
    const side = saveMask(dir, mask, { method: 'random', seed: 9, keepRatio: 0.02, k: 300, datasetSha256: 'ab'.repeat(32), selectedSampleIds: ['x', 'y'], stats: { a: 1 }, settings: { s: 1 } }, cfg)
    const back = loadMask(dir, cfg)
    expect(maskEquals(back.mask, mask, spec)).toBe(true)
    expect(back.sidecar).toEqual(side)
    expect(back.sidecar.budgets).toEqual({ keepRatio: 0.02, k: 300, headSize: 18, totalParams: countParameters(cfg), thetaSize: countParameters(cfg) - 18, maskCount: maskCount(mask, spec), nSamples: null })
    expect(back.sidecar.selectedSampleIds).toEqual(['x', 'y'])

    const { tensors, metadata } = readSafetensors(join(dir, 'mask.safetensors'))
    expect(metadata).toMatchObject({ format: 'pt', method: 'random', keep_ratio: '0.02', k: '300', seed: '9', dataset_sha256: 'ab'.repeat(32) })
    const enc = JSON.parse(metadata!.encoding) as Record<string, string>
    expect(Object.keys(enc)).toEqual(spec.map((s) => s.name))
    for (const s of spec) {
      const t = tensors.get(s.name)!
      const size = s.shape.reduce((x, y) => x * y, 1)
      const e = mask.get(s.name)
      const count = e === undefined ? 0 : e === 'all' ? size : e.length
      expect(enc[s.name]).toBe(chooseEncoding(count, size))
      // the stored bytes are the smaller of the two encodings
      expect(t.data.byteLength).toBe(Math.min(size, 4 * count))
      if (enc[s.name] === 'dense_u8') expect(t).toMatchObject({ dtype: 'U8', shape: s.shape })
      else expect(t).toMatchObject({ dtype: 'I32', shape: [count] })
    }
    expect(enc[W]).toBe('dense_u8')
    expect(enc[E]).toBe('indices_i32')
    expect(enc['bert.pooler.dense.bias']).toBe('dense_u8')
    expect(tensors.get(LN)).toMatchObject({ dtype: 'I32', shape: [0] }) // untrainable: an empty index list
  })

  it('refuses a mask made for another model, with the names', () => {
    const dir = join(tmp, 'other')
    saveMask(dir, headParams(spec), { method: 'full' }, cfg)
    const fewer = makeConfig({ ...cfg, num_hidden_layers: 1 })
    expect(() => loadMask(dir, fewer)).toThrow(/not parameters of this model.*"bert\.encoder\.layer\.1\./)
    const more = makeConfig({ ...cfg, num_hidden_layers: 3 })
    expect(() => loadMask(dir, more)).toThrow(/lacks \d+ parameter\(s\) of this model: "bert\.encoder\.layer\.2\./)
    const labels = makeConfig({ ...cfg, num_labels: 3 })
    expect(() => loadMask(dir, labels)).toThrow(/"classifier\.weight" \(dense U8\) has shape \[2, 8\], but the parameter has shape \[3, 8\]/)
  })

  it('refuses bad indices, a foreign sidecar and missing files', () => {
    const dir = join(tmp, 'bad')
    saveMask(dir, headParams(spec), { method: 'x' }, cfg)
    const file = join(dir, 'mask.safetensors')
    const { tensors, metadata } = readSafetensors(file)
    const edit = (name: string, data: Int32Array) => {
      const t = new Map([...tensors].map(([k, v]) => [k, { ...v }]))
      t.set(name, { dtype: 'I32', shape: [data.length], data })
      const meta = { ...metadata! }
      delete meta.digest
      writeSafetensors(file, t, meta)
    }
    edit(W, Int32Array.from([2, 64]))
    expect(() => loadMask(dir, cfg)).toThrow(/index 64 at position 1 is outside the parameter's 64 entries/)
    edit(W, Int32Array.from([5, 2]))
    expect(() => loadMask(dir, cfg)).toThrow(/sorted and distinct/)
    edit(W, Int32Array.from([2, 5]))
    expect(() => loadMask(dir, cfg)).toThrow(/mask\.json: belongs to another mask/)

    saveMask(dir, headParams(spec), { method: 'x' }, cfg)
    const side = JSON.parse(readFileSync(join(dir, 'mask.json'), 'utf8'))
    writeFileSync(join(dir, 'mask.json'), JSON.stringify({ ...side, format: 'other' }))
    expect(() => loadMask(dir, cfg)).toThrow(/"format" is "other"/)
    expect(() => loadMask(join(tmp, 'none'), cfg)).toThrow(/mask\.safetensors: not found/)
  })

  it('refuses to save an invalid mask', () => {
    expect(() => saveMask(join(tmp, 'inv'), new Map([[W, Int32Array.from([9, 1])]]), { method: 'x' }, cfg)).toThrow(/cannot save mask: .*sorted and distinct/)
  })
})

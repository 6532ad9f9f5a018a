/**
 * Sharded FISH Fisher (engine/fisher/sharded.ts): the canonical block tree gives bit for bit the same F
 * and mask for any shard count; the shards of one split are checked (missing, overlapping, foreign).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../src/engine/backend'
import { loadDataset } from '../../../src/engine/data'
import { checkShardSet, combineShards, computeShardNodes, coverNodes, FISHER_SHARD_FORMAT, FISHER_SHARD_VERSION, idsSha256, readFisherShard, shardBlockRange, writeFisherShard, type ShardMeta } from '../../../src/engine/fisher/sharded'
import { openModelFolder } from '../../../src/engine/jobs/run-job'
import { BertForSequenceClassification } from '../../../src/engine/model/bert'
import { drawSamples, encodeExamples, globalTopK, fisherPass } from '../../../src/engine/selection'
import { thetaNames } from '../../../src/engine/selection/common'
import { makeFixture } from '../jobs/fixture'

const tmp = mkdtempSync(join(tmpdir(), 'ird-sharded-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('the canonical tree', () => {
  it('the shards of every split cover every block exactly once', () => {
    for (let B = 1; B <= 13; B++) {
      for (let N = 1; N <= B; N++) {
        const seen = new Array<number>(B).fill(0)
        for (let i = 1; i <= N; i++) {
          const [a, b] = shardBlockRange(B, i, N)
          expect(b, `B ${B} N ${N} i ${i}`).toBeGreaterThan(a)
          for (const { level, index } of coverNodes(a, b, B)) for (let m = index << level; m < Math.min((index + 1) << level, B); m++) seen[m]++
        }
        expect(seen, `B ${B} N ${N}`).toEqual(new Array<number>(B).fill(1))
      }
    }
    expect(coverNodes(0, 10, 10)).toEqual([{ level: 4, index: 0 }]) // one shard stores the root alone
    expect(() => shardBlockRange(3, 1, 4)).toThrow(/4 shards for 3 blocks/)
  })
})

describe('sharded Fisher', () => {
  const f = makeFixture(tmp)
  let model: BertForSequenceClassification
  let samples: ReturnType<typeof encodeExamples>
  let positions: number[]
  beforeAll(async () => {
    await initBackend({ force: 'wasm' })
    const { loaded, tokenizer } = openModelFolder(f.modelDir, 'sst2', 1)
    model = BertForSequenceClassification.fromState(loaded.config, loaded.state)
    const data = await loadDataset(f.trainFile, { task: 'sst2', split: 'train' })
    samples = encodeExamples(tokenizer, data.examples, { maxLength: 32 })
    positions = drawSamples(samples.length, 40, 1)
  })
  afterAll(() => model?.dispose())

  async function shardFiles(N: number, over: Partial<ShardMeta['settings']> = {}): Promise<string[]> {
    const files: string[] = []
    const settings = { task: 'sst2', seed: 1, maxLength: 32, maxTrain: null, fisher: { variant: 'label' as const, power: 'square' as const }, batchSize: 2, blockSamples: 4, nSamples: 40, ...over }
    for (let i = 1; i <= N; i++) {
      const r = await computeShardNodes({ model, samples, positions, shard: { index: i, count: N }, blockSamples: 4, batchSize: 2, fisher: settings.fisher, workers: 0 })
      const ids = positions.map((p) => samples[p].id)
      const meta: ShardMeta = {
        format: FISHER_SHARD_FORMAT, version: FISHER_SHARD_VERSION, shard: { index: i, count: N }, blocks: r.blocks, blockRange: r.blockRange, sampleRange: r.sampleRange,
        sampleIds: ids.slice(...r.sampleRange), allSampleIdsSha256: idsSha256(ids), model: { dir: f.modelDir, sha256: 'm' }, data: { file: f.trainFile, sha256: 'd', rows: samples.length },
        settings, nodes: r.cover, gradientEvaluations: r.gradientEvaluations, backend: 'wasm', createdAt: ''
      }
      const file = join(tmp, `F-${N}-${i}-${JSON.stringify(over).length}.safetensors`)
      writeFisherShard(file, meta, r.nodes)
      files.push(file)
    }
    return files
  }

  it('gives bit-identical F and mask for 1, 2, 3 and 7 shards (10 blocks of 4 samples)', async () => {
    const F1 = await combineShards((await shardFiles(1)).map(readFisherShard))
    const k = 300
    const mask1 = globalTopK(F1, thetaNames(model.spec), k).mask
    for (const N of [2, 3, 7]) {
      const files = await shardFiles(N)
      // given in any order
      const FN = await combineShards(files.reverse().map(readFisherShard))
      for (const [name, v] of F1) expect(Buffer.compare(Buffer.from(v.buffer, v.byteOffset, v.byteLength), Buffer.from(FN.get(name)!.buffer, FN.get(name)!.byteOffset, FN.get(name)!.byteLength)), `${N} shards: ${name}`).toBe(0)
      const maskN = globalTopK(FN, thetaNames(model.spec), k).mask
      expect([...maskN.entries()].map(([n, e]) => [n, Array.from(e as Int32Array)])).toEqual([...mask1.entries()].map(([n, e]) => [n, Array.from(e as Int32Array)]))
    }
    // the same samples as one unsharded Fisher pass: F agrees to float32 rounding (batches are formed per
    // block, so padding and the summation order differ)
    // (relative to the largest F: key biases have a zero gradient in exact arithmetic, their F is rounding noise)
    const plain = (await fisherPass(model, samples, positions, { batchSize: 2 })).F
    let diff = 0
    let max = 0
    for (const [name, v] of plain) {
      const w = F1.get(name)!
      for (let i = 0; i < v.length; i++) {
        diff = Math.max(diff, Math.abs(w[i] - v[i]))
        max = Math.max(max, Math.abs(v[i]))
      }
    }
    expect(diff / max).toBeLessThan(1e-5)
  })

  it('(why the tree) adding per-shard sums in shard order would not be bit-identical on this data', async () => {
    // each block's F alone (10 shards of 1 block each), then two plain left folds: one process vs 3 shards
    const blocks = (await shardFiles(10)).map(readFisherShard).map((s) => [...s.nodes.values()][0])
    const fold = (parts: Map<string, Float32Array>[]) => {
      const out = new Map([...parts[0]].map(([k, v]) => [k, new Float32Array(v)]))
      for (const p of parts.slice(1)) for (const [k, v] of p) { const o = out.get(k)!; for (let i = 0; i < o.length; i++) o[i] += v[i] }
      return out
    }
    const single = fold(blocks)
    const sharded = fold([fold(blocks.slice(0, 3)), fold(blocks.slice(3, 6)), fold(blocks.slice(6))])
    let differ = 0
    for (const [k, v] of single) { const w = sharded.get(k)!; for (let i = 0; i < v.length; i++) if (v[i] !== w[i]) differ++ }
    expect(differ, 'entries whose float32 bits depend on the grouping').toBeGreaterThan(0)
  })

  it('refuses a missing shard, a shard given twice and a shard of another split or settings, naming the file', async () => {
    const three = await shardFiles(3)
    expect(() => checkShardSet([three[0], three[2]].map(readFisherShard))).toThrow(/shard 2\/3 missing .*samples 12–23 have no Fisher/)
    expect(() => checkShardSet([three[0], three[1], three[1], three[2]].map(readFisherShard))).toThrow(new RegExp(`${three[1]} and ${three[1]} are both shard 2/3: their samples overlap`))
    const two = await shardFiles(2)
    expect(() => checkShardSet([three[0], two[1]].map(readFisherShard))).toThrow(new RegExp(`${two[1]} is shard 2/2, but ${three[0]} is shard 1/3`))
    const other = await shardFiles(3, { batchSize: 4 })
    expect(() => checkShardSet([three[0], other[1], three[2]].map(readFisherShard))).toThrow(new RegExp(`${other[1]} does not belong with ${three[0]}: its settings differ`))
    expect(() => readFisherShard(f.trainFile)).toThrow(/not a readable safetensors file/)
  })
})

/**
 * `ird-studio fisher --shard i/N --out F.safetensors`: the FISH Fisher sums of the i-th contiguous slice
 * of the drawn samples (engine/fisher/sharded.ts), and `ird-studio mask --from-fisher f1 … fN`
 * (maskFromFisher, called by the mask command): the FISH mask from all N shards, bit-identical for any N.
 * For FISH only: IRD's rounds depend on each other, so its Fisher passes cannot be split this way.
 * Must not: hold Fisher logic (src/engine/fisher/sharded.ts).
 */
import { availableParallelism } from 'node:os'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { basename, dirname, resolve } from 'node:path'
import { TASK_NAMES } from '../../engine/data'
import { checkSelectionInputs, openModelFolder, trainSubset, type RunJobConfig } from '../../engine/jobs/run-job'
import { saveMask, headParams, maskUnion, maskCountsPerTensor } from '../../engine/mask'
import { BertForSequenceClassification } from '../../engine/model/bert'
import { bertParameterSpec } from '../../engine/model/config'
import { computeBudget, DEFAULT_KEEP_RATIO, DEFAULT_N_SAMPLES, drawSamples, encodeExamples, fisherStats, globalTopK, SelectionCancelled } from '../../engine/selection'
import { thetaNames } from '../../engine/selection/common'
import {
  checkShardSet,
  combineShards,
  computeShardNodes,
  DEFAULT_BLOCK_SAMPLES,
  FISHER_SHARD_FORMAT,
  FISHER_SHARD_VERSION,
  FisherShardError,
  idsSha256,
  readFisherShard,
  stateSha256,
  writeFisherShard,
  type ShardMeta
} from '../../engine/fisher/sharded'
import type { Flags } from '../args'
import { BACKEND_FLAG, type CommandTable } from '../command'
import { CliError, loadTaskData, requireFile, requireModelDir, requireTask } from '../common'
import { cancelExitCode, isCancelRequested, startBackend } from '../job-support'
import type { Progress } from '../progress'

export const IRD_NOT_SHARDABLE =
  'IRD cannot be sharded: each IRD round scores samples and parameters within the previous round\'s ranges, so its Fisher passes depend on each other; sharded Fisher is for FISH (one pass over a uniform random draw of samples). Run IRD as one task (`ird-studio mask --method ird` or `run`)'

/** "i/N" → { index, count }. */
export function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim())
  if (!m) throw new CliError(`--shard expects i/N (e.g. 2/3: the second of three shards), got "${text}"`, 2)
  const index = Number(m[1])
  const count = Number(m[2])
  if (count < 1 || index < 1 || index > count || !Number.isSafeInteger(count)) throw new CliError(`--shard ${text}: i must be 1 … N and N ≥ 1`, 2)
  return { index, count }
}

export const fisherCommands: CommandTable = {
  fisher: {
    summary: 'FISH Fisher sums of one shard of the drawn samples (--shard i/N), for `mask --from-fisher`',
    flags: {
      model: { type: 'string', help: 'Hugging Face model folder', metavar: 'DIR' },
      task: { type: 'string', help: `GLUE task (${TASK_NAMES.join(', ')})`, metavar: 'NAME' },
      data: { type: 'string', help: 'training file (TSV/CSV/JSONL with labels)', metavar: 'FILE' },
      method: { type: 'string', help: 'only fish: IRD cannot be sharded (its rounds depend on each other)', default: 'fish', choices: ['fish', 'ird'] },
      shard: { type: 'string', help: 'which shard: i/N = the i-th of N contiguous slices of the drawn samples', default: '1/1', metavar: 'i/N' },
      out: { type: 'string', help: 'shard file to write (safetensors; written atomically)', metavar: 'FILE' },
      samples: { type: 'int', help: `sample budget n (default ${DEFAULT_N_SAMPLES}, capped at the data size unless given)`, min: 1 },
      seed: { type: 'int', help: 'random seed (the sample draw and the classifier head)', default: 0, min: 0 },
      'max-length': { type: 'int', help: 'maximum tokens per example', default: 128, min: 8, max: 4096 },
      'max-train': { type: 'int', help: 'use at most N training examples (seeded subset)', min: 1 },
      'fisher-variant': { type: 'string', help: 'empirical Fisher with the true label, or expected over the model\'s distribution', default: 'label', choices: ['label', 'expect'] },
      'fisher-power': { type: 'string', help: 'f = g² or |g|', default: 'square', choices: ['square', 'absolute'] },
      'fisher-batch-size': { type: 'int', help: 'samples per Fisher batch', default: 16, min: 1, max: 1024 },
      'block-samples': { type: 'int', help: 'samples per summation block (the same for every shard of a split; N ≤ blocks)', default: DEFAULT_BLOCK_SAMPLES, min: 1 },
      workers: { type: 'int', help: 'Fisher worker threads (default one per core on wasm/cpu); the result does not depend on it', min: 0, max: 256 },
      backend: BACKEND_FLAG,
      json: { type: 'bool', help: 'stream events as JSON lines on stdout' }
    },
    async run(flags, progress) {
      if (flags.method === 'ird') throw new CliError(IRD_NOT_SHARDABLE, 2)
      const task = requireTask(flags.task)
      const dataFile = requireFile('data', flags.data)
      const modelDir = requireModelDir(flags.model)
      const shard = parseShard(String(flags.shard))
      if (typeof flags.out !== 'string' || !flags.out) throw new CliError('--out FILE is required: the shard file (e.g. fisher-1-of-3.safetensors)', 2)
      const out = resolve(flags.out)
      if (!existsSync(dirname(out)) || !statSync(dirname(out)).isDirectory()) throw new CliError(`--out ${flags.out}: the folder ${dirname(out)} does not exist (create it first)`)
      const backend = await startBackend(flags, progress)
      const seed = Number(flags.seed)
      const cfg = {
        task,
        modelDir,
        trainFile: dataFile,
        method: 'fish',
        keepRatio: DEFAULT_KEEP_RATIO,
        nSamples: flags.samples !== undefined ? Number(flags.samples) : DEFAULT_N_SAMPLES,
        nSamplesExplicit: flags.samples !== undefined,
        seed,
        maxLength: Number(flags['max-length']),
        maxTrainExamples: flags['max-train'] !== undefined ? Number(flags['max-train']) : null
      } as RunJobConfig
      const { loaded, tokenizer } = openModelFolder(modelDir, task, seed)
      const data = await loadTaskData(dataFile, task, 'train')
      if (!data.hasLabels) throw new CliError(`${dataFile} has no labels: the Fisher needs labelled training data`)
      const examples = trainSubset(data.examples, cfg)
      checkSelectionInputs(cfg, loaded.config, examples.length)
      const samples = encodeExamples(tokenizer, examples, { maxLength: cfg.maxLength })
      const n = Math.min(cfg.nSamples, samples.length)
      const positions = drawSamples(samples.length, n, seed)
      const settings = {
        task,
        seed,
        maxLength: cfg.maxLength,
        maxTrain: cfg.maxTrainExamples,
        fisher: { variant: flags['fisher-variant'] as 'label' | 'expect', power: flags['fisher-power'] as 'square' | 'absolute' },
        batchSize: Number(flags['fisher-batch-size']),
        blockSamples: Number(flags['block-samples']),
        nSamples: n
      }
      const modelSha = stateSha256(loaded.config, loaded.state)
      const allIds = positions.map((p) => samples[p].id)
      if (existsSync(out)) {
        // a resubmitted or requeued shard task: keep a finished identical shard, refuse anything else
        let prev
        try {
          prev = readFisherShard(out)
        } catch (e) {
          throw new CliError(`--out ${flags.out} exists and is not a usable Fisher shard (${(e as Error).message}): choose a new file or remove it`)
        }
        const same = prev.meta.shard.index === shard.index && prev.meta.shard.count === shard.count && prev.meta.model.sha256 === modelSha && prev.meta.data.sha256 === data.sha256 && JSON.stringify(prev.meta.settings) === JSON.stringify(settings)
        if (!same) throw new CliError(`--out ${flags.out} exists and holds another Fisher shard (${prev.meta.shard.index}/${prev.meta.shard.count} with other inputs or settings): choose a new file (shards are never overwritten)`)
        progress.log(`${flags.out}: shard ${shard.index}/${shard.count} already computed with the same model, data and settings; kept`)
        return 0
      }
      const model = BertForSequenceClassification.fromState(loaded.config, loaded.state)
      const workers = flags.workers !== undefined ? Number(flags.workers) : backend === 'wasm' || backend === 'cpu' ? availableParallelism() : 0
      let r
      try {
        r = await computeShardNodes({
          model,
          samples,
          positions,
          shard,
          blockSamples: settings.blockSamples,
          batchSize: settings.batchSize,
          fisher: settings.fisher,
          workers,
          onProgress: (done, total) => progress.update({ phase: `fisher shard ${shard.index}/${shard.count}`, done, total }),
          shouldCancel: isCancelRequested
        })
      } catch (e) {
        if (e instanceof SelectionCancelled) return cancelExitCode()
        if (e instanceof FisherShardError) throw new CliError(e.message, 2)
        throw e
      } finally {
        model.dispose()
      }
      progress.end()
      const meta: ShardMeta = {
        format: FISHER_SHARD_FORMAT,
        version: FISHER_SHARD_VERSION,
        shard,
        blocks: r.blocks,
        blockRange: r.blockRange,
        sampleRange: r.sampleRange,
        sampleIds: allIds.slice(r.sampleRange[0], r.sampleRange[1]),
        allSampleIdsSha256: idsSha256(allIds),
        model: { dir: resolve(modelDir), sha256: modelSha },
        data: { file: resolve(dataFile), sha256: data.sha256, rows: examples.length },
        settings,
        nodes: r.cover,
        gradientEvaluations: r.gradientEvaluations,
        backend,
        createdAt: new Date().toISOString()
      }
      writeFisherShard(out, meta, r.nodes)
      const text = `fisher shard ${shard.index}/${shard.count}: samples ${r.sampleRange[0]}–${r.sampleRange[1] - 1} of ${n} (blocks ${r.blockRange[0]}–${r.blockRange[1] - 1} of ${r.blocks}), ${r.cover.length} tree node${r.cover.length === 1 ? '' : 's'}; written to ${out}`
      if (flags.json) progress.update({ phase: 'done', out, shard, sampleRange: r.sampleRange })
      else process.stdout.write(text + '\n')
      return 0
    }
  }
}

/** `mask --from-fisher f1 … fN`: combine the shards, check them against the model, write the FISH mask. */
export async function maskFromFisher(flags: Flags, files: string[], progress: Progress): Promise<number> {
  if (flags.method !== undefined && flags.method !== 'fish') throw new CliError(flags.method === 'ird' ? `--from-fisher: ${IRD_NOT_SHARDABLE}` : `--from-fisher makes a FISH mask; --method ${String(flags.method)} needs no Fisher`, 2)
  for (const f of ['data', 'samples', 'max-train', 'rounds']) {
    if (flags[f] !== undefined) throw new CliError(`--from-fisher takes the samples and settings from the shard files: drop --${f}`, 2)
  }
  if (typeof flags.out !== 'string' || !flags.out) throw new CliError('--out DIR is required: the folder that receives mask.safetensors and mask.json', 2)
  if (existsSync(flags.out) && readdirSync(flags.out).length) throw new CliError(`--out ${flags.out} exists and is not empty: choose a new folder (masks are never overwritten)`)
  let shards
  try {
    shards = checkShardSet(files.map((f) => readFisherShard(f)))
  } catch (e) {
    if (e instanceof FisherShardError) throw new CliError(e.message)
    throw e
  }
  const meta = shards[0].meta
  if (flags.task !== undefined && requireTask(flags.task) !== meta.settings.task) throw new CliError(`the shards are for ${meta.settings.task}, not --task ${String(flags.task)}`)
  const modelDir = flags.model !== undefined ? requireModelDir(flags.model) : meta.model.dir
  const { loaded } = openModelFolder(modelDir, meta.settings.task as RunJobConfig['task'], meta.settings.seed)
  if (stateSha256(loaded.config, loaded.state) !== meta.model.sha256) {
    throw new CliError(`the model in ${modelDir} is not the one the shards were computed with (${meta.model.dir}; weights SHA-256 ${meta.model.sha256.slice(0, 12)}…): give --model the shards' model`)
  }
  progress.log(`combining ${shards.length} Fisher shard${shards.length === 1 ? '' : 's'} (${meta.blocks} blocks of ${meta.settings.blockSamples} samples, ${meta.settings.nSamples} samples)`)
  const F = await combineShards(shards)
  const spec = bertParameterSpec(loaded.config)
  const keepRatio = Number(flags['keep-ratio'] ?? DEFAULT_KEEP_RATIO)
  let budget
  try {
    budget = computeBudget(spec, keepRatio)
  } catch (e) {
    throw new CliError((e as Error).message, 2)
  }
  const top = globalTopK(F, thetaNames(spec), budget.k)
  const mask = maskUnion(top.mask, headParams(spec), spec)
  const ids = shards.flatMap((s) => s.meta.sampleIds)
  const sidecar = saveMask(
    String(flags.out),
    mask,
    {
      method: 'fish',
      seed: meta.settings.seed,
      datasetSha256: meta.data.sha256,
      datasetName: basename(meta.data.file),
      datasetRows: meta.data.rows,
      keepRatio: budget.keepRatio,
      k: budget.k,
      nSamples: meta.settings.nSamples,
      settings: {
        method: 'fish',
        keepRatio: budget.keepRatio,
        nSamples: meta.settings.nSamples,
        fisher: meta.settings.fisher,
        batchSize: meta.settings.batchSize,
        maxLength: meta.settings.maxLength,
        truncation: 'longest_first',
        tieBreak: 'larger F first, then lower (tensor spec order, flat index)',
        sharded: { shards: shards.length, blocks: meta.blocks, blockSamples: meta.settings.blockSamples, summation: 'fixed blocks added along one canonical pairwise tree (bit-identical for any shard count)', files: shards.map((s) => resolve(s.file)) }
      },
      selectedSampleIds: ids,
      gradientEvaluations: shards.reduce((n, s) => n + s.meta.gradientEvaluations, 0),
      stats: { selectedPerTensor: maskCountsPerTensor(mask, spec), fisher: fisherStats(F, spec, `F over the ${meta.settings.nSamples} FISH samples (${shards.length} shards)`, mask) },
      notes: [`Fisher from ${shards.length} shard${shards.length === 1 ? '' : 's'}: ${shards.map((s) => basename(s.file)).join(', ')}`]
    },
    loaded.config
  )
  if (flags.json) progress.update({ phase: 'done', k: budget.k, maskCount: sidecar.budgets.maskCount, digest: sidecar.digest, out: resolve(String(flags.out)) })
  else process.stdout.write(`fish mask from ${shards.length} Fisher shard${shards.length === 1 ? '' : 's'}: k = ${budget.k} of ${budget.thetaSize} (+ head ${budget.headSize}), ${((100 * sidecar.budgets.maskCount) / budget.totalParams).toFixed(3)} % of ${budget.totalParams} parameters; digest ${sidecar.digest.slice(0, 16)}; written to ${resolve(String(flags.out))}\n`)
  return isCancelRequested() ? cancelExitCode() : 0
}

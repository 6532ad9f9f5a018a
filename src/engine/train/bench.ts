/**
 * Masked-training benchmark: steps/s of the trainer on a given model size for a FISH-like sparse mask and a
 * dense one, and the cost of the masked update alone (gather + clip + AdamW + write-back). Not wired into
 * scripts/bench.ts yet; call benchMaskedTraining() from there or from a one-off script.
 * Must not: run at import time (tests and the engine import this folder).
 */
import * as tf from '@tensorflow/tfjs'
import { BertForSequenceClassification } from '../model/bert'
import { bertParameterSpec, numel, type BertConfig } from '../model/config'
import { initState } from '../model/init'
import { Rng } from '../util/rng'
import { SparseAdamW, clipGradNorm } from './adamw'
import { MaskedParams, type TrainMask } from './masked-params'
import { train, type TrainOptions, type TrainResult } from './trainer'

export interface MaskedTrainBench {
  mask: string
  trainableEntries: number
  trainableFraction: number
  optimizerStateBytes: number
  /** Mean over the steps after the first. */
  stepMs: number
  stepsPerSec: number
  samplesPerSec: number
  /** gather + clip + AdamW + write-back, with random gradients. */
  updateMs: number
}

/** keep-ratio mask spread uniformly over every non-head tensor (as a global top-k of noise would be), head 'all'. */
/**
 * Run train() once and time its steps from the step events; the first step (warm-up: kernel compilation,
 * pool start) is left out of the mean when there are more.
 */
export async function timeTrainSteps(opts: Omit<TrainOptions, 'onEvent' | 'eventIntervalMs'>): Promise<{ result: TrainResult; stepMs: number }> {
  const times: number[] = []
  let last = performance.now()
  const result = await train({
    ...opts,
    eventIntervalMs: 0,
    onEvent: (e) => {
      if (e.type !== 'step') return
      const now = performance.now()
      times.push(now - last)
      last = now
    }
  })
  const steady = times.length > 1 ? times.slice(1) : times
  return { result, stepMs: steady.reduce((a, b) => a + b, 0) / Math.max(1, steady.length) }
}

export function randomKeepMask(cfg: BertConfig, keepRatio: number, seed = 9): TrainMask {
  const rng = new Rng(seed)
  const mask: TrainMask = new Map()
  for (const p of bertParameterSpec(cfg)) {
    const n = numel(p.shape)
    if (p.head || keepRatio >= 1) {
      mask.set(p.name, 'all')
      continue
    }
    mask.set(p.name, Int32Array.from(rng.sample(n, Math.max(1, Math.round(n * keepRatio)))).sort())
  }
  return mask
}

export async function benchMaskedTraining(
  cfg: BertConfig,
  opts: { keepRatios?: number[]; batchSize?: number; seqLen?: number; steps?: number } = {}
): Promise<MaskedTrainBench[]> {
  const keepRatios = opts.keepRatios ?? [0.005, 1]
  const B = opts.batchSize ?? 16
  const T = opts.seqLen ?? 128
  const steps = opts.steps ?? 5
  const state = initState(cfg, 1)
  const total = [...state.values()].reduce((s, t) => s + t.data.length, 0)
  const rng = new Rng(5)
  const examples = Array.from({ length: B * steps }, (_, i) => ({
    inputIds: [1, ...Array.from({ length: T - 2 }, () => 3 + rng.int(cfg.vocab_size - 3)), 2],
    label: i % cfg.num_labels
  }))
  const out: MaskedTrainBench[] = []
  for (const ratio of keepRatios) {
    const mask = randomKeepMask(cfg, ratio)
    const model = BertForSequenceClassification.fromState(cfg, state)
    try {
      const { result: r, stepMs } = await timeTrainSteps({ model, mask, train: examples, epochs: 1, batchSize: B, maxLength: T })
      const params = await MaskedParams.create(model, mask)
      const opt = new SparseAdamW(params.slots.map((s) => ({ name: s.name, values: s.values, decay: false })))
      const grads = new Map(params.slots.map((s) => [s.name, tf.randomNormal(s.shape)]))
      let updateMs = 0
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now()
        const g = await params.gather(grads)
        clipGradNorm(g, 1)
        opt.step(g, 5e-5)
        params.writeBack()
        if (i > 0) updateMs += (performance.now() - t0) / 2
      }
      for (const t of grads.values()) t.dispose()
      params.dispose()
      out.push({
        mask: ratio >= 1 ? 'all' : `${(100 * ratio).toFixed(2)} %`,
        trainableEntries: r.trainableEntries,
        trainableFraction: r.trainableEntries / total,
        optimizerStateBytes: r.optimizerStateBytes,
        stepMs,
        stepsPerSec: 1000 / stepMs,
        samplesPerSec: (1000 * B) / stepMs,
        updateMs
      })
    } finally {
      model.dispose()
    }
  }
  return out
}

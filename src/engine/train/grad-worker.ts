/**
 * A data-parallel training worker thread: its own TensorFlow.js + wasm instance (its own core) and its
 * own copy of the model. Per step it runs forward + backward on its share of the batch and returns the
 * masked gradient entries (slot order, as MaskedParams); after the parent's optimizer step it receives
 * the new values of the masked entries and writes them into its model.
 *
 * Protocol (grad-pool.ts is the other side):
 *   init   { config, weights (SharedArrayBuffer), mask, denseThreshold, backend }  → ready | error
 *   step   { id, batch, labels, scale, dropoutSeed, sparseGradients }                → grads { id, grads, lossSum } | error
 *   update { id, values }                                                            → updated { id } | error
 * Must not: run anything when imported outside a worker thread.
 */
import * as tf from '@tensorflow/tfjs'
import { isMainThread, parentPort } from 'node:worker_threads'
import { initBackend } from '../backend'
import { unpackState, type PackedTensors } from '../fisher/units'
import { BertForSequenceClassification, disposeCache, type BertBatch } from '../model/bert'
import type { BertConfig } from '../model/config'
import { MaskedParams, type TrainMask } from './masked-params'

export type GradWorkerMessage =
  | { type: 'init'; config: BertConfig; weights: PackedTensors<'f32'>; mask: Array<[string, Int32Array | 'all']>; denseThreshold?: number; backend: 'wasm' | 'cpu' }
  | { type: 'step'; id: number; batch: BertBatch; labels: number[]; scale: number; dropoutSeed: number; sparseGradients: boolean }
  | { type: 'update'; id: number; values: Float32Array[] }

export type GradWorkerReply =
  | { type: 'ready' }
  | { type: 'grads'; id: number; grads: Float32Array[]; lossSum: number }
  | { type: 'updated'; id: number }
  | { type: 'error'; id?: number; message: string }

if (!isMainThread && parentPort) {
  const port = parentPort
  let model: BertForSequenceClassification | null = null
  let params: MaskedParams | null = null
  port.on('message', async (m: GradWorkerMessage) => {
    try {
      if (m.type === 'init') {
        await initBackend({ force: m.backend })
        model = BertForSequenceClassification.fromState(m.config, unpackState(m.weights))
        params = await MaskedParams.create(model, new Map(m.mask) as TrainMask, { denseThreshold: m.denseThreshold })
        port.postMessage({ type: 'ready' } satisfies GradWorkerReply)
      } else if (m.type === 'step') {
        const p = params!
        const mdl = model!
        const { logits, cache } = mdl.forward(m.batch, { training: true, dropoutSeed: m.dropoutSeed })
        let grads: Map<string, tf.Tensor>
        let lossT: tf.Tensor
        try {
          // loss summed over this share; scale = 1 / (whole batch size) makes the shares add up to the mean
          const { loss, dLogits } = mdl.lossAndGrad(logits, m.labels, { reduction: 'sum' })
          const scaled = tf.mul(dLogits, m.scale)
          lossT = loss
          try {
            grads = mdl.backward(cache, scaled, { wantGrad: (n) => p.has(n), gradEntries: m.sparseGradients ? (n) => p.sparseIndices(n) : undefined })
          } catch (e) {
            loss.dispose()
            throw e
          } finally {
            tf.dispose([dLogits, scaled])
          }
        } finally {
          logits.dispose()
          disposeCache(cache)
        }
        let g: Float32Array[]
        let lossSum: number
        try {
          lossSum = (await lossT.data())[0]
          g = (await p.gather(grads)).map((a) => Float32Array.from(a))
        } finally {
          lossT.dispose()
          for (const t of grads.values()) t.dispose()
        }
        port.postMessage({ type: 'grads', id: m.id, grads: g, lossSum } satisfies GradWorkerReply, g.map((a) => a.buffer as ArrayBuffer))
      } else if (m.type === 'update') {
        const p = params!
        p.slots.forEach((s, i) => s.values.set(m.values[i]))
        p.writeBack()
        port.postMessage({ type: 'updated', id: m.id } satisfies GradWorkerReply)
      }
    } catch (e) {
      port.postMessage({ type: 'error', id: 'id' in m ? m.id : undefined, message: e instanceof Error ? e.message : String(e) } satisfies GradWorkerReply)
    }
  })
}

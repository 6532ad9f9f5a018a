/**
 * Data-parallel masked fine-tuning: W worker threads (grad-worker.ts), each with its own copy of the
 * model, compute the gradients of their share of every batch; the parent adds the masked entries up in
 * worker order, clips, runs AdamW once, and sends the new values of the masked entries back. Only the
 * masked entries cross threads (k floats each way per step), so a 0.5 % mask costs next to nothing to
 * exchange. Shares are contiguous slices of the batch; each pads to its own longest row.
 *
 * With dropout off, the result equals single-thread training up to float32 summation order. With dropout
 * on, each share draws its own masks (seed + worker index), so a run depends on the worker count — it is
 * recorded with the run.
 * Must not: outlive its trainer (close() terminates every worker; errors terminate them too).
 */
import type { Worker } from 'node:worker_threads'
import { packState } from '../fisher/units'
import type { BertBatch } from '../model/bert'
import type { BertConfig, StateDict } from '../model/config'
import { resolveWorkerEntry, startWorker } from '../util/worker-thread'
import type { GradWorkerMessage, GradWorkerReply } from './grad-worker'
import type { TrainMask } from './masked-params'

export interface GradShare {
  batch: BertBatch
  labels: number[]
}

export class GradWorkerPool {
  private constructor(
    private readonly workers: Worker[],
    private nextId = 0
  ) {}

  static async create(opts: { config: BertConfig; state: StateDict; mask: TrainMask; denseThreshold?: number; workers: number; backend: 'wasm' | 'cpu'; entry?: string }): Promise<GradWorkerPool> {
    const entry = opts.entry ?? resolveWorkerEntry(import.meta.url, 'grad-worker.ts', 'train-worker.js', 'Training')
    const weights = packState(opts.config, opts.state)
    const workers: Worker[] = []
    try {
      for (let w = 0; w < opts.workers; w++) workers.push(startWorker(entry))
      await Promise.all(
        workers.map((wk, i) => {
          const init: GradWorkerMessage = { type: 'init', config: opts.config, weights, mask: [...opts.mask], denseThreshold: opts.denseThreshold, backend: opts.backend }
          return request(wk, i, init, 'ready')
        })
      )
    } catch (e) {
      await Promise.all(workers.map((w) => w.terminate()))
      throw e
    }
    return new GradWorkerPool(workers)
  }

  get size(): number {
    return this.workers.length
  }

  /** Gradients of the masked entries for the whole batch (shares summed in worker order), and the summed loss. */
  async step(shares: GradShare[], batchSize: number, dropoutSeed: number, sparseGradients: boolean): Promise<{ grads: Float32Array[]; lossSum: number }> {
    if (shares.length > this.workers.length) throw new Error(`${shares.length} shares for ${this.workers.length} workers`)
    const id = this.nextId++
    const replies = await Promise.all(
      shares.map((s, w) => request(this.workers[w], w, { type: 'step', id, batch: s.batch, labels: s.labels, scale: 1 / batchSize, dropoutSeed: dropoutSeed + w, sparseGradients }, 'grads'))
    )
    const first = replies[0] as Extract<GradWorkerReply, { type: 'grads' }>
    const grads = first.grads
    let lossSum = first.lossSum
    for (let w = 1; w < replies.length; w++) {
      const r = replies[w] as Extract<GradWorkerReply, { type: 'grads' }>
      lossSum += r.lossSum
      r.grads.forEach((g, i) => {
        const acc = grads[i]
        for (let j = 0; j < acc.length; j++) acc[j] += g[j]
      })
    }
    return { grads, lossSum }
  }

  /** Send the masked entries' new values to every worker and wait until all have written them. */
  async update(values: Float32Array[]): Promise<void> {
    const id = this.nextId++
    await Promise.all(this.workers.map((w, i) => request(w, i, { type: 'update', id, values }, 'updated')))
  }

  async close(): Promise<void> {
    const ws = this.workers.splice(0)
    await Promise.all(ws.map((w) => w.terminate()))
  }
}

function request(worker: Worker, index: number, msg: GradWorkerMessage, expect: GradWorkerReply['type']): Promise<GradWorkerReply> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      worker.off('message', onMessage)
      worker.off('error', onError)
      worker.off('exit', onExit)
    }
    const onMessage = (r: GradWorkerReply) => {
      if (r.type === 'error') {
        cleanup()
        reject(new Error(`training worker ${index + 1} failed: ${r.message}`))
      } else if (r.type === expect && (!('id' in r) || !('id' in msg) || r.id === msg.id)) {
        cleanup()
        resolve(r)
      }
    }
    const onError = (e: Error) => {
      cleanup()
      reject(new Error(`training worker ${index + 1} crashed: ${e.message}`))
    }
    const onExit = (code: number) => {
      cleanup()
      reject(new Error(`training worker ${index + 1} exited unexpectedly (code ${code})`))
    }
    worker.on('message', onMessage)
    worker.on('error', onError)
    worker.on('exit', onExit)
    worker.postMessage(msg)
  })
}

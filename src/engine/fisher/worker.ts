/**
 * A Fisher worker thread (worker_threads): its own TensorFlow.js and wasm instance, hence its own core.
 *
 * Protocol (parallel.ts is the other side):
 *   parent → worker  { type: 'init', config, weights, backend }   once: weights in a SharedArrayBuffer
 *   worker → parent  { type: 'ready', backend, description }  |  { type: 'error', phase: 'init', message }
 *   parent → worker  { type: 'unit', run, unit, firstBatch, batches, settings? }   one unit at a time; the
 *                    first unit of a run that this worker gets carries the run's settings (variant, power,
 *                    scores, params, score range in a SharedArrayBuffer), later units of that run omit them
 *   worker → parent  { type: 'result', run, result }  (buffers transferred)  |  { type: 'error', phase: 'unit', run, unit, batch, message }
 * One worker serves many runs (passes) of a pool: the model is built once, from the weights of the init.
 * The parent ends the worker with terminate(); the worker never exits on its own.
 * Built as its own entry of the main build (out/main/fisher-worker.js); runs from source under tsx.
 * Must not: do anything when imported outside a worker thread, or let an error escape unreported.
 */
import { isMainThread, parentPort } from 'node:worker_threads'
import { describeBackend, initBackend, type BackendInfo } from '../backend'
import { BertForSequenceClassification } from '../model/bert'
import type { BertConfig } from '../model/config'
import {
  computeUnit,
  transferList,
  unpackMasks,
  unpackState,
  UnitError,
  type FisherUnitSettings,
  type FisherWorkBatch,
  type PackedTensors,
  type UnitResult
} from './units'

export interface WorkerInitMessage {
  type: 'init'
  config: BertConfig
  weights: PackedTensors<'f32'>
  backend: 'auto' | 'wasm' | 'cpu'
}
/** A run's unit settings as they travel (the score range packed in a SharedArrayBuffer). */
export type WorkerRunSettings = Omit<FisherUnitSettings, 'scoreRange'> & { scoreRange?: PackedTensors<'u8'> }
export interface WorkerUnitMessage {
  type: 'unit'
  /** The pool's run (pass) this unit belongs to. */
  run: number
  /** Present on the first unit of a run that this worker computes. */
  settings?: WorkerRunSettings
  unit: number
  firstBatch: number
  batches: FisherWorkBatch[]
}
export type ParentToWorker = WorkerInitMessage | WorkerUnitMessage

export type WorkerToParent =
  | { type: 'ready'; backend: string; description: string }
  | { type: 'result'; run: number; result: UnitResult }
  | { type: 'error'; phase: 'init' | 'unit'; run?: number; unit?: number; batch?: number; message: string; stack?: string }

/**
 * 'auto' here means the fastest one-core backend: wasm, else cpu. The native tfjs-node backends already
 * use every core (one per worker would only compete), and a CUDA context per worker would be wrong.
 */
async function startBackend(choice: WorkerInitMessage['backend']): Promise<BackendInfo> {
  if (choice !== 'auto') return initBackend({ force: choice })
  try {
    return await initBackend({ force: 'wasm' })
  } catch (e) {
    const info = await initBackend({ force: 'cpu' })
    info.skipped.push({ name: 'wasm', reason: e instanceof Error ? e.message : String(e) })
    return info
  }
}

function run(port: NonNullable<typeof parentPort>): void {
  let model: BertForSequenceClassification | null = null
  let settings: FisherUnitSettings | null = null
  let settingsRun = -1
  const send = (m: WorkerToParent, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer)

  port.on('message', async (m: ParentToWorker) => {
    if (m.type === 'init') {
      void (async () => {
        try {
          const info = await startBackend(m.backend)
          model = BertForSequenceClassification.fromState(m.config, unpackState(m.weights))
          send({ type: 'ready', backend: info.name, description: describeBackend(info) })
        } catch (e) {
          send({ type: 'error', phase: 'init', message: e instanceof Error ? e.message : String(e), stack: e instanceof Error ? e.stack : undefined })
        }
      })()
      return
    }
    if (m.type === 'unit') {
      try {
        if (!model) throw new UnitError('unit sent before the worker was ready', m.firstBatch)
        if (m.settings) {
          settings = { ...m.settings, scoreRange: m.settings.scoreRange ? unpackMasks(m.settings.scoreRange) : undefined }
          settingsRun = m.run
        }
        if (!settings || settingsRun !== m.run) throw new UnitError(`unit of run ${m.run} sent without that run's settings`, m.firstBatch)
        const result = await computeUnit(model, m.unit, m.firstBatch, m.batches, settings)
        send({ type: 'result', run: m.run, result }, transferList(result))
      } catch (e) {
        send({
          type: 'error',
          phase: 'unit',
          run: m.run,
          unit: m.unit,
          batch: e instanceof UnitError ? e.batch : m.firstBatch,
          message: e instanceof Error ? e.message : String(e),
          stack: e instanceof Error ? e.stack : undefined
        })
      }
    }
  })
}

if (!isMainThread && parentPort) run(parentPort)

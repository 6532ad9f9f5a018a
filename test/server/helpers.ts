/**
 * A test AppHost on the real engine process (src/engine/process.ts under tsx, wasm), a tiny model and
 * helpers to call it as a renderer does and to wait for events. Used by app-host and engine-crash tests.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { AppHost } from '../../src/engine/host/app-host'
import { createCallRouter } from '../../src/engine/host/call-router'
import { EngineHost } from '../../src/engine/host/engine-host'
import { defaultRunConfig, type CallName, type CallParams, type CallResult, type ContractEvent, type RunConfig } from '../../src/shared/contract'
import { GLUE_DIR } from '../helpers/shared-data'
import { writeTinyModel } from '../helpers/tiny-model'

const ENGINE_ENTRY = fileURLToPath(new URL('../../src/engine/process.ts', import.meta.url))

export function createTestHost(prefix: string) {
  const tmp = mkdtempSync(join(tmpdir(), prefix))
  const model = join(tmp, 'model')
  const runsDir = join(tmp, 'runs')
  const SST = (f: string) => join(GLUE_DIR, 'SST-2', f)
  const engine = new EngineHost({ modulePath: ENGINE_ENTRY, execArgv: ['--import', 'tsx'], env: { ...process.env, IRD_RUNS_DIR: runsDir, IRD_BACKEND: 'wasm' }, stopTimeoutMs: 20_000 })
  const host = new AppHost({ mode: 'browser', dataDir: join(tmp, 'data'), runsDir, engine, version: () => ({ app: 'test', node: process.versions.node, tfjs: '4.22.0' }) })
  const route = createCallRouter({ engine, handlers: host.handlers, isTrustedSender: () => true })
  const events: ContractEvent[] = []
  host.onEvent((e) => events.push(e))

  /** A call as the renderer makes it; throws with the serialised error when it fails. */
  async function call<M extends CallName>(method: M, ...params: CallParams<M> extends void ? [] : [CallParams<M>]): Promise<CallResult<M>> {
    const r = await route(method, 'test', params[0])
    if (!r.ok) throw Object.assign(new Error(`${method}: ${r.error.message}`), { code: r.error.code })
    return r.value
  }
  async function failure(method: CallName, params?: unknown): Promise<{ code?: string; message: string }> {
    const r = await route(method, 'test', params)
    if (r.ok) throw new Error(`${method} succeeded`)
    return r.error
  }

  function nextEvent<E extends ContractEvent['event']>(event: E, where: (p: Extract<ContractEvent, { event: E }>['payload']) => boolean = () => true, timeoutMs = 90_000) {
    return new Promise<Extract<ContractEvent, { event: E }>['payload']>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${event} within ${timeoutMs} ms`)), timeoutMs)
      const off = host.onEvent((e) => {
        if (e.event === event && where(e.payload as never)) {
          clearTimeout(timer)
          off()
          resolve(e.payload as never)
        }
      })
    })
  }

  function quickConfig(over: Partial<RunConfig> = {}): RunConfig {
    return { ...defaultRunConfig('sst2'), modelDir: model, trainFile: SST('train.tsv'), devFile: SST('dev.tsv'), maxTrainExamples: 96, nSamples: 32, nSamplesExplicit: true, epochs: 1, keepRatio: 0.01, ...over }
  }

  async function start(): Promise<void> {
    writeTinyModel(model, { vocabDir: join(tmp, 'vocab') })
    await host.start()
  }
  async function stop(): Promise<void> {
    await host.stop()
    rmSync(tmp, { recursive: true, force: true })
  }

  return { tmp, model, runsDir, SST, engine, host, events, call, failure, nextEvent, quickConfig, start, stop }
}

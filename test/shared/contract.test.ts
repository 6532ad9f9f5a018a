/** The shared contract: validators accept good input, reject bad input naming the field; errors round-trip. */
import { describe, expect, it } from 'vitest'
import type { BackendInfo as EngineBackendInfo, BackendName as EngineBackendName } from '../../src/engine/backend'
import {
  BACKEND_CHOICES,
  CALL_NAMES,
  ENGINE_CALL_NAMES,
  EVENT_NAMES,
  MAX_UPLOAD_CHARS,
  ValidationError,
  createWindowApi,
  dataSource,
  datasetRef,
  defaultRunConfig,
  problemOf,
  runConfig,
  type RunConfig,
  backendInfo,
  isCallName,
  isEventName,
  parseEngineMessage,
  parseHostMessage,
  validateParams,
  type BackendInfo,
  type BackendName
} from '../../src/shared/contract'
import { CodedError, RemoteError, serializeError } from '../../src/shared/errors'
import { json } from '../../src/shared/validate'

// Compile-time: the contract's copy of the engine's backend types must stay identical to the original.
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
const backendInfoMatches: Equal<BackendInfo, EngineBackendInfo> = true
const backendNameMatches: Equal<BackendName, EngineBackendName> = true

function rejection(fn: () => unknown): ValidationError {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError)
    return e as ValidationError
  }
  throw new Error('expected a ValidationError')
}

describe('contract', () => {
  it('mirrors the engine backend types', () => {
    expect(backendInfoMatches && backendNameMatches).toBe(true)
  })

  it('names every call domain:verb and every engine call is a call', () => {
    for (const name of [...CALL_NAMES, ...EVENT_NAMES]) expect(name).toMatch(/^[a-z]+:[a-zA-Z]+$/)
    for (const name of ENGINE_CALL_NAMES) expect(isCallName(name)).toBe(true)
    expect(isCallName('engine:nope')).toBe(false)
    expect(isCallName('__proto__')).toBe(false)
    expect(isEventName('engine:log')).toBe(true)
    expect(isEventName('toString')).toBe(false)
  })

  it('accepts good arguments', () => {
    expect(validateParams('engine:info', undefined)).toBeUndefined()
    expect(validateParams('app:version', undefined)).toBeUndefined()
    for (const backend of BACKEND_CHOICES) {
      expect(validateParams('engine:setBackend', { backend })).toEqual({ backend })
    }
  })

  it('rejects bad arguments and names the field', () => {
    let e = rejection(() => validateParams('engine:setBackend', { backend: 'gpu' }))
    expect(e.field).toBe('params.backend')
    expect(e.code).toBe('INVALID_ARGUMENT')
    expect(e.message).toBe('params.backend must be one of auto, tensorflow-gpu, webgpu, tensorflow, wasm, cpu (got "gpu")')

    e = rejection(() => validateParams('engine:setBackend', {}))
    expect(e.field).toBe('params.backend')
    expect(e.message).toContain('got undefined')

    e = rejection(() => validateParams('engine:setBackend', 'cpu'))
    expect(e.field).toBe('params')
    expect(e.message).toContain('an object')

    e = rejection(() => validateParams('engine:setBackend', { backend: 'cpu', extra: 1 }))
    expect(e.field).toBe('params.extra')

    e = rejection(() => validateParams('engine:setBackend', null))
    expect(e.field).toBe('params')

    e = rejection(() => validateParams('engine:setBackend', Object.create({ backend: 'cpu' })))
    expect(e.field).toBe('params')

    e = rejection(() => validateParams('engine:info', { anything: true }))
    expect(e.field).toBe('params')

    e = rejection(() => validateParams('engine:nope' as 'engine:info', undefined))
    expect(e.field).toBe('method')
  })

  it('parses engine wire messages strictly', () => {
    expect(parseHostMessage({ type: 'shutdown' })).toEqual({ type: 'shutdown' })
    expect(parseHostMessage({ id: 3, method: 'engine:info' })).toEqual({ id: 3, method: 'engine:info' })
    expect(rejection(() => parseHostMessage({ id: -1, method: 'x' })).field).toBe('message.id')
    expect(rejection(() => parseHostMessage({ id: 1.5, method: 'x' })).field).toBe('message.id')

    expect(parseEngineMessage({ id: 1, result: { a: 1 } })).toEqual({ id: 1, result: { a: 1 } })
    expect(parseEngineMessage({ event: 'engine:status', payload: { state: 'ready' } })).toEqual({
      event: 'engine:status',
      payload: { state: 'ready' }
    })
    expect(rejection(() => parseEngineMessage({ event: 'engine:status', payload: { state: 'fine' } })).field).toBe(
      'message.payload.state'
    )
    expect(rejection(() => parseEngineMessage({ event: 'engine:log', payload: { level: 'info', message: 'x' } })).field).toBe(
      'message.payload.time'
    )
    expect(rejection(() => parseEngineMessage({ event: 'engine:nope', payload: {} })).field).toBe('message.event')
    expect(rejection(() => parseEngineMessage({ id: 1, error: { message: 'x' } })).field).toBe('message.error.name')
    expect(rejection(() => parseEngineMessage({ id: 1 })).field).toBe('message')
  })

  it('validates BackendInfo', () => {
    const good: BackendInfo = {
      name: 'wasm',
      tfBackend: 'wasm',
      forced: false,
      skipped: [{ name: 'tensorflow', reason: 'not installed' }],
      details: { wasmSimd: true, wasmThreads: 1, tfjsVersion: '4.22.0' }
    }
    expect(backendInfo(good, 'info')).toEqual(good)
    expect(rejection(() => backendInfo({ ...good, skipped: [{ name: 'x', reason: '' }] }, 'info')).field).toBe('info.skipped[0].name')
    expect(rejection(() => backendInfo({ ...good, details: { a: {} } }, 'info')).field).toBe('info.details.a')
    const adapter = { vendor: 'mesa', architecture: 'software', device: '', description: 'llvmpipe', software: true, maxBufferSize: 2 ** 32 - 1, maxStorageBufferBindingSize: 2 ** 27 }
    const gpu: BackendInfo = { ...good, name: 'webgpu', tfBackend: 'webgpu', forced: true, adapter }
    expect(backendInfo(gpu, 'info')).toEqual(gpu)
    expect(rejection(() => backendInfo({ ...gpu, adapter: { ...adapter, software: 'yes' } }, 'info')).field).toBe('info.adapter.software')
  })
})

describe('errors across boundaries', () => {
  it('serialises errors as plain data and keeps code and details', () => {
    const v = rejection(() => validateParams('engine:setBackend', { backend: 1 }))
    const s = serializeError(v)
    expect(s).toEqual({ name: 'ValidationError', message: v.message, code: 'INVALID_ARGUMENT', details: { field: 'params.backend' } })
    expect(JSON.parse(JSON.stringify(s))).toEqual(s)
    expect(structuredClone(s)).toEqual(s)
  })

  it('handles odd throwables and unserialisable details', () => {
    expect(serializeError('boom')).toEqual({ name: 'Error', message: 'boom' })
    expect(serializeError(42, 'INTERNAL')).toEqual({ name: 'Error', message: 'non-Error value thrown: 42', code: 'INTERNAL' })
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(serializeError(new CodedError('INTERNAL', 'x', cyclic))).toEqual({ name: 'CodedError', message: 'x', code: 'INTERNAL' })
    expect(serializeError(new TypeError('t'), 'INTERNAL')).toEqual({ name: 'TypeError', message: 't', code: 'INTERNAL' })
  })

  it('round-trips through RemoteError', () => {
    const s = { name: 'CodedError', message: 'no backend', code: 'BACKEND_UNAVAILABLE', details: { backend: 'tensorflow' } }
    const r = new RemoteError(s)
    expect(r).toBeInstanceOf(Error)
    expect(r.message).toBe('no backend')
    expect(r.code).toBe('BACKEND_UNAVAILABLE')
    expect(serializeError(r)).toEqual(s)
  })
})

describe('contract: datasets, models and runs', () => {
  it('builds window.api from the calls: api.<domain>.<verb>(params) invokes domain:verb', async () => {
    const seen: Array<[string, unknown]> = []
    const api = createWindowApi(
      async (method, params) => {
        seen.push([method, params])
        return { ok: true, value: method }
      },
      () => () => undefined
    )
    for (const method of CALL_NAMES) {
      const [domain, verb] = method.split(':')
      const fn = (api as unknown as Record<string, Record<string, (p?: unknown) => Promise<unknown>>>)[domain][verb]
      expect(await fn({ x: 1 }), method).toEqual({ ok: true, value: method })
    }
    expect(seen.map(([m]) => m)).toEqual(CALL_NAMES)
    expect(() => api.on('run:nope' as 'run:progress', () => undefined)).toThrow(/unknown event/)
  })

  it('accepts the CLI defaults as a run config and names the first bad field', () => {
    const good: RunConfig = { ...defaultRunConfig('rte'), modelDir: '/m', trainFile: '/d/train.tsv' }
    expect(runConfig(good, 'config')).toEqual(good)
    expect(good.batchSize).toBe(8)
    expect(rejection(() => runConfig({ ...good, modelDir: '' }, 'config')).field).toBe('config.modelDir')
    expect(rejection(() => runConfig({ ...good, keepRatio: 0 }, 'config')).field).toBe('config.keepRatio')
    expect(rejection(() => runConfig({ ...good, epochs: 2.5 }, 'config')).field).toBe('config.epochs')
    expect(rejection(() => runConfig({ ...good, ird: { ...good.ird, alphaS: 1.5 } }, 'config')).field).toBe('config.ird.alphaS')
    expect(rejection(() => runConfig({ ...good, trainOptions: { mapping: { textA: -1 } } }, 'config')).field).toBe('config.trainOptions.mapping.textA')
    expect(rejection(() => runConfig({ ...good, method: 'lora' }, 'config')).field).toBe('config.method')
    expect(rejection(() => runConfig({ ...good, surprise: true }, 'config')).field).toBe('config.surprise')
    expect(problemOf(rejection(() => runConfig({ ...good, lr: -1 }, 'config')))).toMatchObject({ field: 'config.lr' })
  })

  it('takes a data source by path or as uploaded content, never a path as a name', () => {
    expect(dataSource({ path: '/d/train.tsv' }, 's')).toEqual({ path: '/d/train.tsv' })
    expect(dataSource({ name: 'train.tsv', content: 'a\tb\n' }, 's')).toEqual({ name: 'train.tsv', content: 'a\tb\n' })
    for (const name of ['../x.tsv', 'a/b.tsv', 'a\\b.tsv', '..', '']) expect(rejection(() => dataSource({ name, content: '' }, 's')).field).toBe('s.name')
    expect(rejection(() => dataSource({ name: 'x.tsv' }, 's')).field).toBe('s.content')
    expect(rejection(() => dataSource({}, 's')).field).toBe('s')
    expect(rejection(() => dataSource({ name: 'big.tsv', content: 'x'.repeat(MAX_UPLOAD_CHARS + 1) }, 's')).field).toBe('s.content')
    expect(rejection(() => datasetRef({ id: '../etc' }, 'r')).field).toBe('r.id')
  })

  it('bounds free-form JSON: depth, size, non-finite numbers, non-plain objects', () => {
    const j = json({ maxDepth: 3, maxNodes: 10 })
    expect(j({ a: [1, 'x', null, true] }, 'v')).toEqual({ a: [1, 'x', null, true] })
    expect(rejection(() => j([[[[1]]]], 'v')).message).toContain('nested')
    expect(rejection(() => j(Array.from({ length: 20 }, () => 1), 'v')).message).toContain('at most 10')
    expect(rejection(() => j({ a: Infinity }, 'v')).field).toBe('v.a')
    expect(rejection(() => j({ d: new Date() }, 'v')).field).toBe('v.d')
    expect(validateParams('runs:validateConfig', { config: { anything: [1, 2] } })).toEqual({ config: { anything: [1, 2] } })
  })

  it('checks run events from the engine', () => {
    const progress = { runId: 'r1', phase: 'train', done: 3, total: 10, elapsedMs: 1200, loss: 0.7 }
    expect(parseEngineMessage({ event: 'run:progress', payload: progress })).toEqual({ event: 'run:progress', payload: progress })
    expect(rejection(() => parseEngineMessage({ event: 'run:progress', payload: { ...progress, runId: '../x' } })).field).toBe('message.payload.runId')
    expect(rejection(() => parseEngineMessage({ event: 'run:finished', payload: { runId: 'r1', status: 'running' } })).field).toBe('message.payload.status')
    expect(rejection(() => parseEngineMessage({ event: 'run:fisher', payload: { runId: 'r1', method: 'ird' } })).field).toBe('message.payload.irdRounds')
    for (const name of EVENT_NAMES) expect(name).toMatch(/^(engine|run):[a-zA-Z]+$/)
  })
})

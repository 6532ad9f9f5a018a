/** Main's call routing: sender check, argument validation, engine vs main handlers, errors as Results. */
import { describe, expect, it, vi } from 'vitest'
import { createCallRouter, type EngineRequester, type HostHandlers } from '../../src/main/ipc-router'
import { CALL_NAMES, isEngineCallName, type BackendInfo } from '../../src/shared/contract'
import { RemoteError } from '../../src/shared/errors'

const APP = 'file:///app/out/renderer/index.html'

/** A handler for every call main answers, each failing loudly if a test reaches it unexpectedly. */
function stubs(): HostHandlers {
  const out: Record<string, () => Promise<never>> = {}
  for (const m of CALL_NAMES) if (!isEngineCallName(m)) out[m] = async () => Promise.reject(new Error(`unexpected call ${m}`))
  return out as unknown as HostHandlers
}
const wasm: BackendInfo = { name: 'wasm', tfBackend: 'wasm', forced: false, skipped: [], details: {} }

function setup(request: EngineRequester['request'] = vi.fn(async () => wasm) as never) {
  const engine = { request: vi.fn(request) }
  const onInternalError = vi.fn()
  const route = createCallRouter({
    engine: engine as unknown as EngineRequester,
    isTrustedSender: (url) => url === APP,
    onInternalError,
    handlers: {
      ...stubs(),
      'engine:getStatus': async () => ({ state: 'ready' }),
      'engine:restart': async () => {
        throw new Error('boom')
      },
      'app:version': async () => ({ app: '0.1.0', node: '20', tfjs: '4.22.0' }),
      // a host-side handler for an engine call pre-empts the relay
      'datasets:detect': async ({ ref }) => ({ task: 'rte', confidence: 1, reason: `host saw ${JSON.stringify(ref)}` })
    } as HostHandlers
  })
  return { route, engine, onInternalError }
}

describe('call router', () => {
  it('lets a host handler answer an engine call, and refuses unknown methods by name', async () => {
    const { route, engine } = setup()
    expect(await route('datasets:detect', APP, { ref: { id: 'ds-1' } })).toMatchObject({ ok: true, value: { task: 'rte', reason: 'host saw {"id":"ds-1"}' } })
    expect(engine.request).not.toHaveBeenCalled()
    const unknown = await route('runs:explode' as 'runs:list', APP, undefined)
    expect(unknown).toMatchObject({ ok: false, error: { code: 'UNKNOWN_METHOD' } })
    expect((unknown as { error: { message: string } }).error.message).toContain('runs:explode')
  })

  it('refuses oversized and malformed arguments with the field named, before any handler runs', async () => {
    const { route, engine } = setup()
    const long = 'x'.repeat(5_000)
    const r = await route('models:inspect', APP, { path: long })
    expect(r).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT', details: { field: 'params.path' } } })
    const upload = await route('datasets:import', APP, { source: { name: '../../etc/passwd', content: 'a\tb' } })
    expect(upload).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT', details: { field: 'params.source.name' } } })
    const run = await route('runs:start', APP, { config: { modelDir: 'm' } })
    expect(run).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } })
    const deep = await route('runs:validateConfig', APP, { config: JSON.parse('['.repeat(100) + ']'.repeat(100)) })
    expect(deep).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } })
    expect(engine.request).not.toHaveBeenCalled()
  })

  it('relays engine calls with validated params and answers main calls itself', async () => {
    const { route, engine } = setup()
    expect(await route('engine:setBackend', APP, { backend: 'cpu' })).toEqual({ ok: true, value: wasm })
    expect(engine.request).toHaveBeenCalledWith('engine:setBackend', { backend: 'cpu' })
    expect(await route('app:version', APP, undefined)).toEqual({ ok: true, value: { app: '0.1.0', node: '20', tfjs: '4.22.0' } })
    expect(engine.request).toHaveBeenCalledTimes(1)
  })

  it('rejects bad arguments before anything is relayed, naming the field', async () => {
    const { route, engine } = setup()
    const r = await route('engine:setBackend', APP, { backend: 'gpu', x: 1 })
    expect(r).toMatchObject({ ok: false, error: { name: 'ValidationError', code: 'INVALID_ARGUMENT', details: { field: 'params.x' } } })
    expect(engine.request).not.toHaveBeenCalled()
  })

  it('refuses calls from other pages', async () => {
    const { route, engine } = setup()
    const r = await route('engine:info', 'https://evil.example/', undefined)
    expect(r).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } })
    expect((await route('engine:info', undefined, undefined)).ok).toBe(false)
    expect(engine.request).not.toHaveBeenCalled()
  })

  it('passes engine errors through as plain data and reports internal ones', async () => {
    const { route, onInternalError } = setup(async () => {
      throw new RemoteError({ name: 'CodedError', message: 'no', code: 'BACKEND_UNAVAILABLE' })
    })
    expect(await route('engine:info', APP, undefined)).toEqual({
      ok: false,
      error: { name: 'CodedError', message: 'no', code: 'BACKEND_UNAVAILABLE' }
    })
    expect(onInternalError).not.toHaveBeenCalled()
    const r = await route('engine:restart', APP, undefined)
    expect(r).toEqual({ ok: false, error: { name: 'Error', message: 'boom', code: 'INTERNAL' } })
    expect(onInternalError).toHaveBeenCalledTimes(1)
  })
})

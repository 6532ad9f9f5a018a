/** Main's call routing: sender check, argument validation, engine vs main handlers, errors as Results. */
import { describe, expect, it, vi } from 'vitest'
import { createCallRouter, type EngineRequester } from '../../src/main/ipc-router'
import type { BackendInfo } from '../../src/shared/contract'
import { RemoteError } from '../../src/shared/errors'

const APP = 'file:///app/out/renderer/index.html'
const wasm: BackendInfo = { name: 'wasm', tfBackend: 'wasm', forced: false, skipped: [], details: {} }

function setup(request: EngineRequester['request'] = vi.fn(async () => wasm) as never) {
  const engine = { request: vi.fn(request) }
  const onInternalError = vi.fn()
  const route = createCallRouter({
    engine: engine as unknown as EngineRequester,
    isTrustedSender: (url) => url === APP,
    onInternalError,
    handlers: {
      'engine:getStatus': async () => ({ state: 'ready' }),
      'engine:restart': async () => {
        throw new Error('boom')
      },
      'app:version': async () => ({ app: '0.1.0', node: '20', tfjs: '4.22.0' })
    }
  })
  return { route, engine, onInternalError }
}

describe('call router', () => {
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

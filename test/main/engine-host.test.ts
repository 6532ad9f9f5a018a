/**
 * EngineHost against the real engine process (src/engine/process.ts forked with plain Node + tsx), and
 * against a scripted fake child for the timing paths (request timeout, kill after a stuck shutdown).
 */
import { afterAll, describe, expect, it } from 'vitest'
import { fileURLToPath } from 'node:url'
import { EngineHost, type EngineChild, type EngineExit } from '../../src/engine/host/engine-host'
import type { ContractEvent, EngineStatus, HostToEngineMessage } from '../../src/shared/contract'
import { RemoteError } from '../../src/shared/errors'

const ENGINE_ENTRY = fileURLToPath(new URL('../../src/engine/process.ts', import.meta.url))

function nextStatus(host: EngineHost, state: EngineStatus['state']): Promise<EngineStatus> {
  return new Promise((resolve) => {
    const off = host.onEvent((e) => {
      if (e.event === 'engine:status' && e.payload.state === state) {
        off()
        resolve(e.payload)
      }
    })
  })
}

async function rejectionOf(promise: Promise<unknown>): Promise<RemoteError> {
  try {
    await promise
  } catch (e) {
    return e as RemoteError
  }
  throw new Error('expected a rejection')
}

describe('EngineHost with the real engine process', () => {
  const env = { ...process.env }
  delete env.IRD_BACKEND // the test expects auto selection
  const host = new EngineHost({ modulePath: ENGINE_ENTRY, execArgv: ['--import', 'tsx'], env, stopTimeoutMs: 5_000 })
  const events: ContractEvent[] = []
  host.onEvent((e) => events.push(e))
  afterAll(() => host.stop())

  it('starts, reports the backend and why faster ones were skipped', async () => {
    const started = host.start()
    expect(host.status.state).toBe('starting')
    const info = host.request('engine:info', undefined) // sent once ready
    await started
    expect(host.status).toEqual({ state: 'ready' })
    const result = await info
    expect(result.name).toBe('wasm')
    expect(result.tfBackend).toBe('wasm')
    expect(result.forced).toBe(false)
    expect(result.skipped.map((s) => s.name)).toEqual(['tensorflow-gpu', 'webgpu', 'tensorflow'])
    for (const s of result.skipped) expect(s.reason).toMatch(/not installed|failed|software rasteriser|found no WebGPU adapter/)
    // the engine process selects as the CLI does: a software WebGPU adapter is named, not used
    if (result.adapter) expect(result.adapter.software).toBe(true)
    const statuses = events.filter((e) => e.event === 'engine:status').map((e) => e.payload.state)
    expect(statuses).toEqual(['starting', 'ready'])
    expect(events.some((e) => e.event === 'engine:log' && e.payload.message.startsWith('backend: wasm'))).toBe(true)
  })

  it('switches backend, and answers bad params and unavailable backends with serialised errors', async () => {
    const cpu = await host.request('engine:setBackend', { backend: 'cpu' })
    expect(cpu).toMatchObject({ name: 'cpu', tfBackend: 'cpu', forced: true })

    const bad = await rejectionOf(host.request('engine:setBackend', { backend: 'gpu' } as never))
    expect(bad).toBeInstanceOf(RemoteError)
    expect(bad).toMatchObject({ name: 'ValidationError', code: 'INVALID_ARGUMENT', details: { field: 'params.backend' } })
    expect(bad.message).toContain('params.backend must be one of')

    const unknown = await rejectionOf(host.request('engine:nope' as 'engine:info', undefined))
    expect(unknown.code).toBe('UNKNOWN_METHOD')

    const unavailable = await rejectionOf(host.request('engine:setBackend', { backend: 'tensorflow' }))
    expect(unavailable.code).toBe('BACKEND_UNAVAILABLE')
    expect(unavailable.message).toContain('not installed')
    // the failed switch left the previous backend running, and the engine is still alive
    expect(await host.request('engine:info', undefined)).toMatchObject({ name: 'cpu' })
    expect(await host.request('engine:setBackend', { backend: 'auto' })).toMatchObject({ name: 'wasm', forced: false })
  })

  it('detects kill -9 as a crash with its reason, refuses calls, and starts again', async () => {
    const pid = host.pid!
    const crashed = nextStatus(host, 'crashed')
    process.kill(pid, 'SIGKILL')
    const status = await crashed
    expect(status.reason).toContain('killed by signal SIGKILL')
    expect(host.status.state).toBe('crashed')
    expect(host.pid).toBeUndefined()
    const refused = await rejectionOf(host.request('engine:info', undefined))
    expect(refused.code).toBe('ENGINE_NOT_RUNNING')
    expect(refused.message).toContain('SIGKILL')

    await host.start()
    expect(host.pid).not.toBe(pid)
    expect(await host.request('engine:info', undefined)).toMatchObject({ name: 'wasm' })
  })

  it('stops gracefully: the engine exits by itself with code 0', async () => {
    const stopped = nextStatus(host, 'stopped')
    const logsBefore = events.length
    await host.stop()
    expect(await stopped).toEqual({ state: 'stopped', reason: 'stopped by the host' })
    // no "killing it" warning: the shutdown message was enough
    expect(events.slice(logsBefore).some((e) => e.event === 'engine:log' && e.payload.message.includes('killing'))).toBe(false)
    expect((await rejectionOf(host.request('engine:info', undefined))).code).toBe('ENGINE_NOT_RUNNING')
  })
})

/** A child that does what the test tells it to. */
class FakeChild implements EngineChild {
  pid: number | undefined = 4242
  sent: HostToEngineMessage[] = []
  killed = 0
  onOutput?: EngineChild['onOutput']
  private messageListeners: Array<(m: unknown) => void> = []
  private exitListeners: Array<(e: EngineExit) => void> = []
  constructor(private readonly onSend: (child: FakeChild, m: HostToEngineMessage) => void = () => undefined) {}
  send(m: HostToEngineMessage): void {
    this.sent.push(m)
    this.onSend(this, m)
  }
  kill(): void {
    this.killed++
    queueMicrotask(() => this.exit({ code: null, signal: 'SIGKILL' }))
  }
  onMessage(l: (m: unknown) => void): void {
    this.messageListeners.push(l)
  }
  onExit(l: (e: EngineExit) => void): void {
    this.exitListeners.push(l)
  }
  message(m: unknown): void {
    for (const l of this.messageListeners) l(m)
  }
  exit(e: EngineExit): void {
    this.pid = undefined
    for (const l of this.exitListeners.splice(0)) l(e)
  }
  ready(): void {
    this.message({ event: 'engine:status', payload: { state: 'ready' } })
  }
}

describe('EngineHost timing paths (fake child)', () => {
  it('times out a call that gets no answer and ignores the late answer', async () => {
    const child = new FakeChild()
    const host = new EngineHost({ spawn: () => child, requestTimeoutMs: 30 })
    const started = host.start()
    child.ready()
    await started
    const e = await rejectionOf(host.request('engine:info', undefined))
    expect(e.code).toBe('TIMEOUT')
    child.message({ id: 1, result: { name: 'wasm' } }) // late: nobody waits for it any more
    expect(host.status.state).toBe('ready')
  })

  it('kills an engine that ignores shutdown, and reports stopped', async () => {
    const child = new FakeChild()
    const host = new EngineHost({ spawn: () => child, stopTimeoutMs: 30 })
    const started = host.start()
    child.ready()
    await started
    await host.stop()
    expect(child.sent).toContainEqual({ type: 'shutdown' })
    expect(child.killed).toBe(1)
    expect(host.status).toEqual({ state: 'stopped', reason: 'stopped by the host' })
  })

  it('reports an engine that never gets ready as crashed', async () => {
    const child = new FakeChild()
    const host = new EngineHost({ spawn: () => child, startTimeoutMs: 30 })
    const e = await rejectionOf(host.start())
    expect(e.code).toBe('ENGINE_NOT_RUNNING')
    expect(host.status.state).toBe('crashed')
    expect(host.status.reason).toContain('did not become ready')
    expect(child.killed).toBe(1)
  })

  it('puts the last stderr lines into the crash reason, fails in-flight calls, ignores an old child after restart', async () => {
    const children: FakeChild[] = []
    let output: ((s: 'stdout' | 'stderr', t: string) => void) | undefined
    const host = new EngineHost({
      spawn: () => {
        const c = new FakeChild()
        c.onOutput = (l) => (output = l)
        children.push(c)
        return c
      }
    })
    const started = host.start()
    children[0].ready()
    await started
    const inFlight = rejectionOf(host.request('engine:info', undefined))
    output!('stderr', 'Error: out of memory\n    at thing\n')
    children[0].exit({ code: 134, signal: null })
    expect((await inFlight).code).toBe('ENGINE_EXITED')
    expect(host.status.state).toBe('crashed')
    expect(host.status.reason).toBe('engine process exited with code 134: Error: out of memory | at thing')

    const restarted = host.start()
    children[1].ready()
    await restarted
    children[0].message({ event: 'engine:status', payload: { state: 'starting' } })
    children[0].exit({ code: 1, signal: null })
    expect(host.status).toEqual({ state: 'ready' })
  })
})

/** A stand-in for the renderer's transport in store tests: scripted call handlers and pushed events. */
import type { CallName, CallParams, CallResult, EventMap, EventName } from '../../src/shared/contract'
import { setTransport, type Transport } from '../../src/renderer/src/client'

type Handler<M extends CallName> = (params: CallParams<M>) => CallResult<M> | Promise<CallResult<M>>

export class FakeTransport implements Transport {
  readonly calls: Array<{ method: CallName; params: unknown }> = []
  private handlers = new Map<CallName, (p: unknown) => unknown>()
  private listeners = new Map<string, Set<(payload: unknown) => void>>()

  handle<M extends CallName>(method: M, h: Handler<M>): this {
    this.handlers.set(method, h as (p: unknown) => unknown)
    return this
  }

  async call<M extends CallName>(method: M, params: CallParams<M>): Promise<CallResult<M>> {
    this.calls.push({ method, params })
    const h = this.handlers.get(method)
    if (!h) throw Object.assign(new Error(`no handler for ${method}`), { code: 'UNKNOWN_METHOD' })
    return (await h(params)) as CallResult<M>
  }

  on<E extends EventName>(event: E, listener: (payload: EventMap[E]) => void): () => void {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set())
    this.listeners.get(event)!.add(listener as (p: unknown) => void)
    return () => this.listeners.get(event)?.delete(listener as (p: unknown) => void)
  }

  emit<E extends EventName>(event: E, payload: EventMap[E]): void {
    for (const l of this.listeners.get(event) ?? []) l(payload)
  }

  listenerCount(event: EventName): number {
    return this.listeners.get(event)?.size ?? 0
  }

  callsOf(method: CallName): unknown[] {
    return this.calls.filter((c) => c.method === method).map((c) => c.params)
  }
}

export function installFake(): FakeTransport {
  const t = new FakeTransport()
  setTransport(t)
  return t
}

/** A promise resolved from outside (to hold a call in flight). */
export function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<T>((a, b) => {
    resolve = a
    reject = b
  })
  return { promise, resolve, reject }
}

export const flush = () => new Promise((r) => setTimeout(r, 0))

/**
 * Routes calls from the untrusted side (renderer over Electron IPC, a browser over the WebSocket): check
 * the sender, validate the argument with the contract's validators, then answer with the host's handler
 * or relay to the engine process, and always resolve to a Result (never a throw: errors cross the boundary
 * as plain data).
 *
 * Owns: the routing rule (a host handler wins; other ENGINE_CALL_NAMES go to the engine as validated;
 * every call that is not an engine call needs a host handler — the compiler enforces it) and the trust
 * boundary for arguments.
 * Must not: import electron (used by src/main and src/server, unit-tested under plain Node), or pass
 * anything the validators have not seen to a handler or the engine.
 */
import {
  isCallName,
  isEngineCallName,
  validateParams,
  CALL_NAMES,
  type CallName,
  type CallParams,
  type CallResult,
  type EngineCallName,
  type Result
} from '../../shared/contract'
import { CodedError, serializeError } from '../../shared/errors'

export type MainCallName = Exclude<CallName, EngineCallName>

type Handler<M extends CallName> = (params: CallParams<M>) => Promise<CallResult<M>>

/** One handler per call that main answers itself. */
export type MainHandlers = { [M in MainCallName]: Handler<M> }
/** Main's handlers plus, optionally, host-side handlers for engine calls (resolving ids, …). */
export type HostHandlers = MainHandlers & { [M in EngineCallName]?: Handler<M> }

export interface EngineRequester {
  request<M extends EngineCallName>(method: M, params: CallParams<M>): Promise<CallResult<M>>
}

export interface CallRouterOptions {
  engine: EngineRequester
  handlers: HostHandlers
  /** Whether the frame that sent the call is the app's own page. */
  isTrustedSender(senderUrl: string | undefined): boolean
  /** Where unexpected failures (code INTERNAL) are reported; the renderer gets only the message. */
  onInternalError?(method: CallName, error: unknown): void
}

export type CallRouter = <M extends CallName>(
  method: M,
  senderUrl: string | undefined,
  rawParams: unknown
) => Promise<Result<CallResult<M>>>

export function createCallRouter(opts: CallRouterOptions): CallRouter {
  return async <M extends CallName>(method: M, senderUrl: string | undefined, rawParams: unknown) => {
    try {
      if (!opts.isTrustedSender(senderUrl)) {
        throw new CodedError('FORBIDDEN', `${String(method)}: refused a call from a page that is not the app (${senderUrl ?? 'unknown sender'})`)
      }
      if (!isCallName(method)) {
        throw new CodedError('UNKNOWN_METHOD', `no call "${String(method).slice(0, 100)}"; the calls are ${CALL_NAMES.join(', ')}`, { method: String(method).slice(0, 100) })
      }
      const params = validateParams(method, rawParams)
      const handler = Object.hasOwn(opts.handlers, method) ? (opts.handlers as Record<string, (p: unknown) => Promise<unknown>>)[method] : undefined
      let value: unknown
      if (handler) value = await handler(params)
      else if (isEngineCallName(method)) value = await opts.engine.request(method, params as CallParams<typeof method>)
      else throw new CodedError('UNKNOWN_METHOD', `${method} has no handler`)
      return { ok: true, value: value as CallResult<M> }
    } catch (e) {
      const error = serializeError(e, 'INTERNAL')
      if (error.code === 'INTERNAL') opts.onInternalError?.(method, e)
      return { ok: false, error }
    }
  }
}

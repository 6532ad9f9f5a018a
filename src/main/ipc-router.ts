/**
 * Routes renderer calls: check the sender, validate the argument with the contract's validators, then
 * answer in main or relay to the engine process, and always resolve to a Result (never a throw: errors
 * cross contextBridge as plain data).
 *
 * Owns: the routing rule (ENGINE_CALL_NAMES go to the engine, every other call needs a MainHandlers entry;
 * the compiler enforces both) and the trust boundary for arguments.
 * Must not: import electron (unit-tested under plain Node; src/main/index.ts wires it to ipcMain), or pass
 * anything the validators have not seen to the engine.
 */
import {
  isEngineCallName,
  validateParams,
  type CallName,
  type CallParams,
  type CallResult,
  type EngineCallName,
  type Result
} from '../shared/contract'
import { CodedError, serializeError } from '../shared/errors'

export type MainCallName = Exclude<CallName, EngineCallName>

/** One handler per call that main answers itself. */
export type MainHandlers = { [M in MainCallName]: (params: CallParams<M>) => Promise<CallResult<M>> }

export interface EngineRequester {
  request<M extends EngineCallName>(method: M, params: CallParams<M>): Promise<CallResult<M>>
}

export interface CallRouterOptions {
  engine: EngineRequester
  handlers: MainHandlers
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
        throw new CodedError('FORBIDDEN', `${method}: refused a call from a page that is not the app (${senderUrl ?? 'unknown sender'})`)
      }
      const params = validateParams(method, rawParams)
      const value = isEngineCallName(method)
        ? await opts.engine.request(method, params as CallParams<typeof method>)
        : await (opts.handlers[method as MainCallName] as (p: unknown) => Promise<unknown>)(params)
      return { ok: true, value: value as CallResult<M> }
    } catch (e) {
      const error = serializeError(e, 'INTERNAL')
      if (error.code === 'INTERNAL') opts.onInternalError?.(method, e)
      return { ok: false, error }
    }
  }
}

/**
 * Errors across process boundaries: turn anything thrown into the contract's plain SerializedError, and
 * back into a throwable RemoteError on the receiving side.
 *
 * Owns: serializeError / RemoteError. Must not: send stacks or arbitrary objects across (stacks stay in
 * the process that threw and go to its log), or import node, electron or DOM APIs.
 */
import type { ErrorCode, SerializedError } from './contract'
import { isPlainObject } from './validate'

/** A SerializedError received from another process, thrown again on this side. */
export class RemoteError extends Error {
  readonly code?: string
  readonly details?: Record<string, unknown>
  constructor(error: SerializedError) {
    super(error.message)
    this.name = error.name
    if (error.code !== undefined) this.code = error.code
    if (error.details !== undefined) this.details = error.details
  }
}

/** An error this app raises on purpose, with a contract error code. */
export class CodedError extends Error {
  readonly code: ErrorCode
  readonly details?: Record<string, unknown>
  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message)
    this.name = 'CodedError'
    this.code = code
    if (details !== undefined) this.details = details
  }
}

function jsonSafe(value: Record<string, unknown>): Record<string, unknown> | undefined {
  try {
    const copy = JSON.parse(JSON.stringify(value)) as unknown
    return isPlainObject(copy) ? copy : undefined
  } catch {
    return undefined // cyclic or BigInt: drop details rather than fail to report the error
  }
}

export function isSerializedError(value: unknown): value is SerializedError {
  return isPlainObject(value) && typeof value.name === 'string' && typeof value.message === 'string'
}

/** Anything thrown → plain data. `fallbackCode` applies when the error carries no string `code`. */
export function serializeError(error: unknown, fallbackCode?: ErrorCode): SerializedError {
  let out: SerializedError
  if (error instanceof Error || isSerializedError(error)) {
    out = { name: error.name || 'Error', message: error.message }
    const { code, details } = error as { code?: unknown; details?: unknown }
    if (typeof code === 'string') out.code = code
    if (isPlainObject(details)) {
      const safe = jsonSafe(details)
      if (safe) out.details = safe
    }
  } else {
    out = { name: 'Error', message: typeof error === 'string' ? error : `non-Error value thrown: ${String(error)}` }
  }
  if (out.code === undefined && fallbackCode) out.code = fallbackCode
  return out
}

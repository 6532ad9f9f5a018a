/**
 * Tiny runtime validators for data that crosses a process boundary (renderer → main → engine).
 *
 * Owns: a handful of composable checks that return the typed value or throw a ValidationError naming
 * the offending field by its path (`params.backend`), what was expected and what arrived.
 * Must not: import node, electron or DOM APIs (this file is bundled into every process), coerce values
 * (a string "3" is not a number), or accept unknown object keys (the renderer is untrusted).
 */

/** Thrown by a validator; `field` is the dotted path of the offending value. */
export class ValidationError extends Error {
  readonly code = 'INVALID_ARGUMENT'
  readonly field: string
  readonly details: { field: string }
  constructor(field: string, expected: string, value: unknown) {
    super(`${field} must be ${expected} (got ${describe(value)})`)
    this.name = 'ValidationError'
    this.field = field
    this.details = { field }
  }
}

/** Returns the value typed as T, or throws ValidationError naming `path`. */
export type Validator<T> = (value: unknown, path: string) => T

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return typeof value
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** No argument at all: calls like `engine:info` take none. */
export const none: Validator<void> = (value, path) => {
  if (value !== undefined) throw new ValidationError(path, 'absent (this call takes no argument)', value)
}

export function string(opts: { maxLength?: number; nonEmpty?: boolean } = {}): Validator<string> {
  const max = opts.maxLength ?? 10_000
  return (value, path) => {
    if (typeof value !== 'string') throw new ValidationError(path, 'a string', value)
    if (opts.nonEmpty && value.length === 0) throw new ValidationError(path, 'a non-empty string', value)
    if (value.length > max) throw new ValidationError(path, `a string of at most ${max} characters`, value)
    return value
  }
}

export function number(opts: { min?: number; max?: number; integer?: boolean } = {}): Validator<number> {
  return (value, path) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new ValidationError(path, 'a finite number', value)
    if (opts.integer && !Number.isInteger(value)) throw new ValidationError(path, 'an integer', value)
    if (opts.min !== undefined && value < opts.min) throw new ValidationError(path, `≥ ${opts.min}`, value)
    if (opts.max !== undefined && value > opts.max) throw new ValidationError(path, `≤ ${opts.max}`, value)
    return value
  }
}

export const boolean: Validator<boolean> = (value, path) => {
  if (typeof value !== 'boolean') throw new ValidationError(path, 'true or false', value)
  return value
}

export function oneOf<const T extends readonly (string | number)[]>(values: T): Validator<T[number]> {
  return (value, path) => {
    if (!values.includes(value as T[number])) throw new ValidationError(path, `one of ${values.join(', ')}`, value)
    return value as T[number]
  }
}

export function optional<T>(inner: Validator<T>): Validator<T | undefined> {
  return (value, path) => (value === undefined ? undefined : inner(value, path))
}

export function array<T>(item: Validator<T>, opts: { maxLength?: number } = {}): Validator<T[]> {
  const max = opts.maxLength ?? 10_000
  return (value, path) => {
    if (!Array.isArray(value)) throw new ValidationError(path, 'an array', value)
    if (value.length > max) throw new ValidationError(path, `an array of at most ${max} items`, value)
    return value.map((v, i) => item(v, `${path}[${i}]`))
  }
}

type Shape = Record<string, Validator<unknown>>
type ObjectOf<S extends Shape> = { [K in keyof S as undefined extends ReturnType<S[K]> ? never : K]: ReturnType<S[K]> } & {
  [K in keyof S as undefined extends ReturnType<S[K]> ? K : never]?: ReturnType<S[K]>
}

/** A plain object with exactly these keys (optional ones may be missing); unknown keys are rejected. */
export function object<S extends Shape>(shape: S): Validator<ObjectOf<S>> {
  return (value, path) => {
    if (!isPlainObject(value)) throw new ValidationError(path, 'an object', value)
    for (const key of Object.keys(value)) {
      if (!Object.hasOwn(shape, key)) throw new ValidationError(`${path}.${key}`, 'absent (unknown field)', value[key])
    }
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(shape)) {
      const v = shape[key](value[key], `${path}.${key}`)
      if (v !== undefined) out[key] = v
    }
    return out as ObjectOf<S>
  }
}

/** A plain object whose values all pass `item` (for free-form maps such as backend details). */
export function record<T>(item: Validator<T>, opts: { maxKeys?: number } = {}): Validator<Record<string, T>> {
  const max = opts.maxKeys ?? 1_000
  return (value, path) => {
    if (!isPlainObject(value)) throw new ValidationError(path, 'an object', value)
    const keys = Object.keys(value)
    if (keys.length > max) throw new ValidationError(path, `an object with at most ${max} keys`, value)
    const out: Record<string, T> = {}
    for (const key of keys) out[key] = item(value[key], `${path}.${key}`)
    return out
  }
}

/** A string, finite number or boolean: the values plain-data maps are made of. */
export const scalar: Validator<string | number | boolean> = (value, path) => {
  if (typeof value === 'string' || typeof value === 'boolean') return value
  if (typeof value === 'number' && Number.isFinite(value)) return value
  throw new ValidationError(path, 'a string, finite number or boolean', value)
}

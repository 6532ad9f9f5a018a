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

export function nullable<T>(inner: Validator<T>): Validator<T | null> {
  return (value, path) => (value === null ? null : inner(value, path))
}

/**
 * The first of several object shapes whose discriminating key is present: `{ path }` or `{ name, content }`.
 * `keyOf` names, per alternative, a key that only that alternative has.
 */
export function either<A, B>(keyA: string, a: Validator<A>, keyB: string, b: Validator<B>, expected: string): Validator<A | B> {
  return (value, path) => {
    if (!isPlainObject(value)) throw new ValidationError(path, 'an object', value)
    if (Object.hasOwn(value, keyA)) return a(value, path)
    if (Object.hasOwn(value, keyB)) return b(value, path)
    throw new ValidationError(path, expected, value)
  }
}

/** JSON data as it crossed the boundary: plain objects, arrays, strings, finite numbers, booleans, null. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }

/**
 * Any JSON value, bounded: nesting depth, total nodes and string length (a hostile or buggy sender cannot
 * make the receiver walk an unbounded structure). Rejects functions, class instances, NaN and Infinity.
 */
export function json(opts: { maxDepth?: number; maxNodes?: number; maxStringLength?: number } = {}): Validator<JsonValue> {
  const maxDepth = opts.maxDepth ?? 32
  const maxNodes = opts.maxNodes ?? 200_000
  const maxString = opts.maxStringLength ?? 1_000_000
  return (value, path) => {
    let nodes = 0
    const walk = (v: unknown, p: string, depth: number): JsonValue => {
      if (++nodes > maxNodes) throw new ValidationError(path, `JSON of at most ${maxNodes} values`, value)
      if (depth > maxDepth) throw new ValidationError(p, `JSON nested at most ${maxDepth} levels deep`, v)
      if (v === null || typeof v === 'boolean') return v
      if (typeof v === 'number') {
        if (!Number.isFinite(v)) throw new ValidationError(p, 'a finite number', v)
        return v
      }
      if (typeof v === 'string') {
        if (v.length > maxString) throw new ValidationError(p, `a string of at most ${maxString} characters`, v)
        return v
      }
      if (Array.isArray(v)) return v.map((x, i) => walk(x, `${p}[${i}]`, depth + 1))
      if (isPlainObject(v)) {
        const out: Record<string, JsonValue> = {}
        for (const k of Object.keys(v)) out[k] = walk(v[k], `${p}.${k}`, depth + 1)
        return out
      }
      throw new ValidationError(p, 'JSON data (object, array, string, number, boolean or null)', v)
    }
    return walk(value, path, 0)
  }
}

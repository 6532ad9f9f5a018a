/**
 * JSON parsing for files we do not trust (safetensors headers, index files, config.json).
 *
 * Owns: turning JSON.parse's "at position N" into line/column, and rejecting duplicate object keys,
 * which JSON.parse silently resolves to the last one (a file could then mean two different things to
 * two different readers).
 * Must not: read files or know any schema.
 */

export class JsonError extends Error {
  constructor(
    message: string,
    readonly line?: number,
    readonly column?: number
  ) {
    super(message)
    this.name = 'JsonError'
  }
}

export function lineCol(text: string, pos: number): { line: number; column: number } {
  let line = 1
  let last = -1
  for (let i = 0; i < pos && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++
      last = i
    }
  }
  return { line, column: pos - last }
}

const isWs = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d

/** First duplicate key (and the offset of its second occurrence) in text that is already valid JSON. */
export function findDuplicateKey(text: string): { key: string; pos: number } | null {
  // One entry per open container: the keys seen so far for an object, null for an array.
  const stack: Array<Set<string> | null> = []
  const n = text.length
  let i = 0
  while (i < n) {
    const c = text.charCodeAt(i)
    if (c === 0x22) {
      const start = i
      let escaped = false
      i++
      while (i < n && text.charCodeAt(i) !== 0x22) {
        if (text.charCodeAt(i) === 0x5c) {
          escaped = true
          i++
        }
        i++
      }
      i++
      const keys = stack[stack.length - 1]
      if (keys) {
        let j = i
        while (j < n && isWs(text.charCodeAt(j))) j++
        if (text.charCodeAt(j) === 0x3a) {
          // Keys compare after unescaping: "a" and "\u0061" are the same key.
          const key = escaped ? (JSON.parse(text.slice(start, i)) as string) : text.slice(start + 1, i - 1)
          if (keys.has(key)) return { key, pos: start }
          keys.add(key)
        }
      }
      continue
    }
    if (c === 0x7b) stack.push(new Set())
    else if (c === 0x5b) stack.push(null)
    else if (c === 0x7d || c === 0x5d) stack.pop()
    i++
  }
  return null
}

/**
 * JSON.parse that also rejects duplicate keys and reports line and column. `what` names the source
 * for the message, e.g. "/models/bert/config.json".
 */
export function parseJsonStrict(text: string, what: string): unknown {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    const msg = (e as Error).message
    const m = /position (\d+)/.exec(msg)
    if (m) {
      const { line, column } = lineCol(text, Number(m[1]))
      throw new JsonError(`${what}: invalid JSON at line ${line}, column ${column}: ${msg}`, line, column)
    }
    throw new JsonError(`${what}: invalid JSON: ${msg}`)
  }
  const dup = findDuplicateKey(text)
  if (dup) {
    const { line, column } = lineCol(text, dup.pos)
    throw new JsonError(`${what}: duplicate key "${dup.key}" at line ${line}, column ${column} (each key may appear once per object)`, line, column)
  }
  return value
}

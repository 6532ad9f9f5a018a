/**
 * A small strict argument parser for the ird-studio CLI: declared flags only, typed values, clear
 * errors ("--keep-ratio expects a number in (0, 1], got "abc""). No dependency; every command declares
 * its flags so `--help` is generated from the same table.
 * Must not: exit the process (throws UsageError; main decides the exit code).
 */

export type FlagType = 'string' | 'int' | 'number' | 'bool'

export interface FlagSpec {
  type: FlagType
  help: string
  default?: string | number | boolean
  /** Allowed values for strings. */
  choices?: readonly string[]
  min?: number
  max?: number
  /** Exclusive lower bound. */
  gt?: number
  metavar?: string
}

export type Flags = Record<string, string | number | boolean | undefined>

export class UsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

export function parseArgs(argv: string[], specs: Record<string, FlagSpec>, command: string): { flags: Flags; positional: string[] } {
  const flags: Flags = {}
  const positional: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (!a.startsWith('--')) {
      positional.push(a)
      continue
    }
    let name = a.slice(2)
    let value: string | undefined
    const eq = name.indexOf('=')
    if (eq >= 0) {
      value = name.slice(eq + 1)
      name = name.slice(0, eq)
    }
    const spec = specs[name]
    if (spec && Object.prototype.hasOwnProperty.call(flags, name)) {
      throw new UsageError(`--${name} is given twice (${formatValue(flags[name])} and ${value ?? (spec.type === 'bool' ? 'again' : argv[i + 1] ?? 'again')}): give it once`)
    }
    if (!spec) {
      const close = Object.keys(specs).filter((k) => k.startsWith(name.slice(0, 3)))
      throw new UsageError(`unknown option --${name} for "${command}"${close.length ? ` (did you mean ${close.map((c) => `--${c}`).join(', ')}?)` : ''}; see \`ird-studio ${command} --help\``)
    }
    if (spec.type === 'bool') {
      if (value !== undefined && !['true', 'false', '1', '0'].includes(value)) throw new UsageError(`--${name} is a switch: give it alone or as --${name}=true|false`)
      flags[name] = value === undefined ? true : value === 'true' || value === '1'
      continue
    }
    if (value === undefined) {
      value = argv[++i]
      if (value === undefined || (value.startsWith('--') && spec.type === 'string')) throw new UsageError(`--${name} needs a value (${spec.metavar ?? spec.type})`)
    }
    flags[name] = convert(name, value, spec)
  }
  for (const [name, spec] of Object.entries(specs)) if (flags[name] === undefined && spec.default !== undefined) flags[name] = spec.default
  return { flags, positional }
}

function formatValue(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v)
}

function convert(name: string, raw: string, spec: FlagSpec): string | number {
  if (spec.type === 'string') {
    if (spec.choices && !spec.choices.includes(raw)) throw new UsageError(`--${name} must be one of ${spec.choices.join(', ')}, got "${raw}"`)
    return raw
  }
  const v = Number(raw)
  const range = [spec.gt !== undefined ? `> ${spec.gt}` : '', spec.min !== undefined ? `≥ ${spec.min}` : '', spec.max !== undefined ? `≤ ${spec.max}` : ''].filter(Boolean).join(' and ')
  const what = `${spec.type === 'int' ? 'an integer' : 'a number'}${range ? ` ${range}` : ''}`
  if (raw.trim() === '' || !Number.isFinite(v) || (spec.type === 'int' && !Number.isInteger(v))) throw new UsageError(`--${name} expects ${what}, got "${raw}"`)
  // 99999999999999999999 parses as 1e20: not a safe integer, and not what was typed
  if (spec.type === 'int' && !Number.isSafeInteger(v)) throw new UsageError(`--${name} expects ${what}, got ${raw}, which is beyond the largest exact integer (${Number.MAX_SAFE_INTEGER})`)
  if ((spec.min !== undefined && v < spec.min) || (spec.max !== undefined && v > spec.max) || (spec.gt !== undefined && v <= spec.gt)) {
    throw new UsageError(`--${name} expects ${what}, got ${raw}`)
  }
  return v
}

export function usage(command: string, summary: string, specs: Record<string, FlagSpec>): string {
  const rows = Object.entries(specs).map(([k, s]) => {
    const left = `  --${k}${s.type === 'bool' ? '' : ` ${s.metavar ?? (s.choices ? s.choices.join('|') : s.type.toUpperCase())}`}`
    const def = s.default !== undefined && s.default !== false ? ` (default ${s.default})` : ''
    return `${left.padEnd(34)} ${s.help}${def}`
  })
  return `ird-studio ${command}: ${summary}\n\n${rows.join('\n')}\n`
}

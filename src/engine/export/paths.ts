/**
 * Where exports may write, and what names from outside (bundle entries, run ids, file names typed by a
 * user) may become paths.
 *
 * Owns: refusing `..`, absolute paths, drive letters, backslashes, NUL and empty segments before any
 * byte is written; resolving an output path inside a chosen folder (the app passes its export folder),
 * by its text and through symbolic links (io/confine.ts: a link that leaves the folder is refused).
 * Must not: create or delete anything.
 */
import { isAbsolute, relative, resolve, sep } from 'node:path'
import { confinePath, ConfinementError } from '../io/confine'

export class ExportPathError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ExportPathError'
  }
}

/**
 * Why a relative name from an untrusted source (a zip entry, a run name) cannot be used as a path below
 * a folder, or null when it can: forward slashes only, no empty, `.` or `..` segment, not absolute, no
 * drive letter, no backslash, no control character.
 */
export function unsafeRelativeName(name: string): string | null {
  if (name === '') return 'the name is empty'
  if (name.length > 1024) return `the name is ${name.length} characters long (at most 1024)`
  if (/[\u0000-\u001f]/.test(name)) return 'the name holds a control character'
  if (name.includes('\\')) return 'the name holds a backslash (only / separates folders)'
  if (name.startsWith('/') || isAbsolute(name)) return 'the name is an absolute path'
  if (/^[A-Za-z]:/.test(name)) return 'the name starts with a drive letter'
  const parts = name.split('/')
  if (parts.some((p) => p === '..')) return 'the name climbs out of its folder with ".."'
  if (parts.some((p, i) => p === '' && i < parts.length - 1) || parts.some((p) => p === '.')) return 'the name has an empty or "." segment'
  return null
}

/**
 * The absolute path of `out`, which must lie inside `within` (when given). `out` may be relative (to
 * `within`, else to the working directory) or absolute; `..` that stays inside is allowed, one that
 * leaves is not, and so is a symbolic link anywhere on the way (`within/link` → elsewhere, or `out`
 * itself a link) whose real path leaves `within`.
 */
export function resolveExportPath(out: string, within?: string): string {
  if (typeof out !== 'string' || out === '') throw new ExportPathError('no output path given')
  if (out.includes('\0')) throw new ExportPathError(`output path ${JSON.stringify(out)} holds a NUL character`)
  if (within === undefined) return resolve(out)
  const root = resolve(within)
  const target = resolve(root, out)
  const rel = relative(root, target)
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new ExportPathError(`output path ${JSON.stringify(out)} resolves to ${target}, which is not inside the export folder ${root}; choose a name inside it`)
  }
  try {
    return confinePath(root, target, { what: 'the export folder' })
  } catch (e) {
    if (e instanceof ConfinementError) throw new ExportPathError(`output path ${JSON.stringify(out)}: ${e.message}`)
    throw e
  }
}

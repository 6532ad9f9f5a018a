/**
 * Filesystem faults as user errors, found before the work: can this folder be created and written,
 * can this file be written — checked by really creating the folders and a probe file (then removing
 * the probe), because permissions, read-only mounts, full disks and quotas can only be known by trying.
 * Every failure becomes a FsWriteError: one line that names the path, says what is wrong in words
 * (read-only file system, permission denied, disk full, …) and what to do.
 *
 * Owns: ensureDir (mkdir -p that reports the real cause — Node's recursive mkdir answers ENOENT where the
 * file system said EROFS or EACCES), checkWritableDir / checkWritableFile (the probes), and
 * describeFsError (errno → words), used by the CLI's catch-all so that no filesystem condition ends in
 * "internal error".
 * Must not: leave anything behind but the folders it was asked to create, or delete what it did not make.
 * Fault hook (tests): IRD_FS_FAULT=<code>[@<path prefix>] makes every probe under that prefix fail with
 * that errno code (ENOSPC, EROFS, …), for conditions a test cannot make (a full disk without root).
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, rmdirSync, statSync, unlinkSync, writeSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { basename, dirname, join, resolve } from 'node:path'

const PROBE_PREFIX = '.ird-write-probe-'

/** The errno codes that mean "this path cannot be written as asked" (a user's problem, not a bug). */
export const FS_ERROR_CODES = ['EROFS', 'EACCES', 'EPERM', 'ENOSPC', 'EDQUOT', 'ENOENT', 'ENOTDIR', 'EEXIST', 'EISDIR', 'ENAMETOOLONG', 'EMFILE', 'ENFILE', 'EIO', 'ELOOP', 'EBUSY', 'ETXTBSY'] as const
export type FsErrorCode = (typeof FS_ERROR_CODES)[number]

const WHAT: Record<FsErrorCode, [string, string]> = {
  EROFS: ['the file system is read-only', 'choose a folder on a writable disk'],
  EACCES: ['permission denied', 'choose a folder you may write to, or change its permissions'],
  EPERM: ['the operation is not permitted there', 'choose a folder you may write to'],
  ENOSPC: ['the disk is full', 'free some space or choose another disk'],
  EDQUOT: ['the disk quota is exhausted', 'free some space or choose another disk'],
  ENOENT: ['a folder on the way does not exist', 'create the folder first or check the path'],
  ENOTDIR: ['a part of the path is a file, not a folder', 'check the path'],
  EEXIST: ['it already exists', 'choose another name, or remove it first'],
  EISDIR: ['it is a folder, not a file', 'give a file name'],
  ENAMETOOLONG: ['the name is too long', 'choose a shorter path'],
  EMFILE: ['too many files are open', 'close other programs and try again'],
  ENFILE: ['too many files are open on this system', 'close other programs and try again'],
  EIO: ['the disk reported an input/output error', 'check the disk'],
  ELOOP: ['the path has too many symbolic links', 'check the path'],
  EBUSY: ['it is busy (in use by another program)', 'try again when it is free'],
  ETXTBSY: ['it is busy (in use by another program)', 'try again when it is free']
}

export class FsWriteError extends Error {
  constructor(
    message: string,
    readonly path: string,
    readonly code: string
  ) {
    super(message)
    this.name = 'FsWriteError'
  }
}

/** Is `e` an operating-system error about a path that the user can fix (read-only, full, missing, …)? */
export function isFsError(e: unknown): e is NodeJS.ErrnoException & { code: FsErrorCode } {
  if (e instanceof FsWriteError) return true
  const code = (e as NodeJS.ErrnoException | null)?.code
  return typeof code === 'string' && (FS_ERROR_CODES as readonly string[]).includes(code) && typeof (e as NodeJS.ErrnoException).syscall === 'string'
}

/** One line for an errno error: "cannot write PATH: <what> (CODE); <what to do>". */
export function describeFsError(e: unknown, path?: string, verb = 'write'): string {
  if (e instanceof FsWriteError) return e.message
  const err = e as NodeJS.ErrnoException
  const code = (err?.code ?? 'EIO') as FsErrorCode
  const [what, todo] = WHAT[code] ?? [err?.message ?? String(e), 'check the path']
  if (path === undefined && err?.path === undefined) return `a file operation (${err?.syscall ?? 'unknown'}) failed: ${what} (${code}); ${todo}`
  const where = resolve(path ?? err.path!)
  const other = err?.path && resolve(err.path) !== where && !basename(err.path).startsWith(PROBE_PREFIX) ? ` (at ${err.path})` : ''
  return `cannot ${verb} ${where}: ${what}${other} (${code}); ${todo}`
}

/** A FsWriteError for errno error `e` about `path`. */
export function fsWriteError(e: unknown, path: string, verb = 'write'): FsWriteError {
  if (e instanceof FsWriteError) return e
  return new FsWriteError(describeFsError(e, path, verb), resolve(path), String((e as NodeJS.ErrnoException)?.code ?? 'EIO'))
}

function injected(path: string): NodeJS.ErrnoException | null {
  const spec = process.env.IRD_FS_FAULT
  if (!spec) return null
  for (const part of spec.split(',')) {
    const m = /^([A-Z]+)(?:@(.+))?$/.exec(part.trim())
    if (!m || (m[2] !== undefined && !resolve(path).startsWith(resolve(m[2])))) continue
    const e = new Error(`${m[1]}: injected by IRD_FS_FAULT, open '${path}'`) as NodeJS.ErrnoException
    e.code = m[1]
    e.syscall = 'open'
    e.path = path
    return e
  }
  return null
}

/**
 * mkdir -p that names the real cause: creates each missing level in turn (non-recursive mkdir), so a
 * read-only or forbidden parent reports EROFS/EACCES, and a file in the way ENOTDIR — never the ENOENT
 * that Node's recursive mkdir gives for all of them. Throws FsWriteError; returns the folders it made.
 */
export function ensureDir(dirPath: string): string[] {
  const dir = resolve(dirPath)
  const missing: string[] = []
  let cur = dir
  for (;;) {
    let st
    try {
      st = statSync(cur)
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      // ENOTDIR: a file further up; walk up to name it
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw fsWriteError(e, cur, 'create the folder')
      missing.unshift(cur)
      const up = dirname(cur)
      if (up === cur) break
      cur = up
      continue
    }
    if (!st.isDirectory()) {
      const e = Object.assign(new Error('not a directory'), { code: 'ENOTDIR', syscall: 'mkdir', path: cur })
      throw new FsWriteError(`cannot create the folder ${dir}: ${cur} is a file, not a folder (ENOTDIR); check the path`, dir, e.code)
    }
    break
  }
  const made: string[] = []
  for (const d of missing) {
    try {
      mkdirSync(d)
      made.push(d)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && statSync(d).isDirectory()) continue
      removeMade(made)
      throw fsWriteError(e, d, 'create the folder')
    }
  }
  return made
}

/** Remove folders this module made (innermost first), as long as they are still empty. */
function removeMade(made: string[]): void {
  for (const d of [...made].reverse()) {
    try {
      rmdirSync(d)
    } catch {
      return
    }
  }
}

/**
 * Prove that files can be created in `dir` (created first when `create`, else it must exist): write a
 * small probe file there, fsync it, remove it. Throws FsWriteError naming the folder and the cause.
 * Folders made for the probe are removed again when it fails, and also when it succeeds unless `keep`
 * (a check before the work leaves no trace if the work is then refused for another reason).
 */
export function checkWritableDir(dirPath: string, opts: { create?: boolean; keep?: boolean; probeBytes?: number } = {}): void {
  const dir = resolve(dirPath)
  const made = opts.create ? ensureDir(dir) : []
  let ok = false
  try {
    probeDir(dir, opts.probeBytes)
    ok = true
  } finally {
    if (!ok || !opts.keep) removeMade(made)
  }
}

function probeDir(dir: string, probeBytes: number | undefined): void {
  if (!existsSync(dir)) {
    throw new FsWriteError(`cannot write into ${dir}: the folder does not exist (ENOENT); create it first or check the path`, dir, 'ENOENT')
  } else if (!statSync(dir).isDirectory()) {
    throw new FsWriteError(`cannot write into ${dir}: it is a file, not a folder (ENOTDIR); give a folder`, dir, 'ENOTDIR')
  }
  const probe = join(dir, `${PROBE_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`)
  const fault = injected(probe)
  if (fault) throw fsWriteError(fault, dir, 'write into')
  let fd: number | undefined
  try {
    fd = openSync(probe, 'wx', 0o644)
    // A few kilobytes: a disk with no free block refuses them even where an empty file is allowed.
    const buf = Buffer.alloc(probeBytes ?? 4096, 0x20)
    let off = 0
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off)
    fsyncSync(fd)
  } catch (e) {
    throw fsWriteError(e, dir, 'write into')
  } finally {
    if (fd !== undefined) closeSync(fd)
    try {
      unlinkSync(probe)
    } catch {
      // never created
    }
  }
}

/**
 * Check that `file` can be written: its folder exists (or is created when `createParents`) and takes a
 * probe file; the name is not a folder; an existing file is refused unless `overwrite`.
 */
export function checkWritableFile(filePath: string, opts: { createParents?: boolean; keep?: boolean; overwrite?: boolean } = {}): void {
  const file = resolve(filePath)
  if (existsSync(file)) {
    if (statSync(file).isDirectory()) throw new FsWriteError(`cannot write ${file}: it is a folder, not a file (EISDIR); give a file name`, file, 'EISDIR')
    if (opts.overwrite === false) throw new FsWriteError(`cannot write ${file}: it already exists (EEXIST); choose another name, or remove it first`, file, 'EEXIST')
  }
  const dir = dirname(file)
  if (!opts.createParents && !existsSync(dir)) {
    throw new FsWriteError(`cannot write ${file}: its folder ${dir} does not exist (ENOENT); create the folder first or check the path`, file, 'ENOENT')
  }
  checkWritableDir(dir, { create: opts.createParents, keep: opts.keep })
}

/**
 * Check that folder `dir` can be made as an output: an existing folder takes a probe file, else its
 * parent does (created when `createParents`). Whether an existing folder may be filled is the caller's call.
 */
export function checkWritableOutputDir(dirPath: string, opts: { createParents?: boolean; keep?: boolean } = {}): void {
  const dir = resolve(dirPath)
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new FsWriteError(`cannot write the folder ${dir}: a file with that name exists (EEXIST); choose another name or remove the file`, dir, 'EEXIST')
    checkWritableDir(dir)
    return
  }
  checkWritableDir(dirname(dir), { create: opts.createParents, keep: opts.keep })
}

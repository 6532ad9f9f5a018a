/**
 * Atomic writes for everything the engine persists (checkpoints, run logs' snapshots, exports).
 *
 * Owns: the write-to-temp, fsync, rename, fsync-the-directory dance for single files, and the
 * write-into-a-sibling-folder-then-rename dance for whole folders. A process killed at any moment
 * leaves either the old content or the complete new content under the final name, never a prefix;
 * at worst a `*.tmp-*` sibling stays behind.
 * Must not: know what is being written (no safetensors, no JSON schemas), or delete anything it did
 * not create itself, except the previous folder when the caller asked to overwrite it.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  rmdirSync,
  statSync,
  unlinkSync,
  writeSync
} from 'node:fs'
import { randomBytes } from 'node:crypto'
import { basename, dirname, join, resolve } from 'node:path'
import { FsWriteError } from './writable'

export type FileData = string | Uint8Array | readonly Uint8Array[]

function tempSuffix(): string {
  return `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`
}

/**
 * Flush a directory entry change (a rename, a new file) to disk. Linux and macOS allow fsync on a
 * directory fd; Windows refuses to open one, and its rename is already journaled, so errors here are
 * ignored: this is "where possible".
 */
export function fsyncDir(dir: string): void {
  let fd: number | undefined
  try {
    fd = openSync(dir, 'r')
    fsyncSync(fd)
  } catch {
    // not supported on this platform / file system
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

function writeAll(fd: number, chunk: Uint8Array): void {
  let off = 0
  // writeSync may write less than asked (large buffers, some file systems).
  while (off < chunk.byteLength) off += writeSync(fd, chunk, off, chunk.byteLength - off)
}

/**
 * Write `data` to `path` atomically: a temp file in the same directory (so the rename cannot cross
 * file systems), fsync, rename over the final name, fsync the directory. `data` may be a list of
 * chunks so that large tensors are written from their own buffers without concatenating them.
 */
export function writeFileAtomic(path: string, data: FileData): void {
  const target = resolve(path)
  const dir = dirname(target)
  if (!existsSync(dir)) {
    throw new FsWriteError(`cannot write ${target}: the folder ${dir} does not exist (create it first)`, target, 'ENOENT')
  }
  const tmp = join(dir, `.${basename(target)}${tempSuffix()}`)
  // 'wx': never clobber something that happens to have the temp name.
  const fd = openSync(tmp, 'wx', 0o644)
  let ok = false
  try {
    if (typeof data === 'string') writeAll(fd, Buffer.from(data, 'utf8'))
    else if (data instanceof Uint8Array) writeAll(fd, data)
    else for (const chunk of data) writeAll(fd, chunk)
    fsyncSync(fd)
    ok = true
  } finally {
    closeSync(fd)
    if (!ok) tryUnlink(tmp)
  }
  try {
    renameSync(tmp, target)
  } catch (e) {
    tryUnlink(tmp)
    throw new FsWriteError(`cannot write ${target}: renaming the finished temp file into place failed (${(e as Error).message})`, target, String((e as NodeJS.ErrnoException).code ?? 'EIO'))
  }
  fsyncDir(dir)
}

/** JSON with a trailing newline, written atomically. */
export function writeJsonAtomic(path: string, value: unknown, indent = 2): void {
  writeFileAtomic(path, JSON.stringify(value, null, indent) + '\n')
}

function tryUnlink(path: string): void {
  try {
    unlinkSync(path)
  } catch {
    // already gone
  }
}

export interface FolderWriteOptions {
  /** Replace an existing non-empty folder. Default false: such a folder is an error and stays untouched. */
  overwrite?: boolean
}

function isEmptyDir(path: string): boolean {
  return readdirSync(path).length === 0
}

/** Checks done before any work, so that a refused write costs nothing. */
function checkFolderTarget(target: string, opts: FolderWriteOptions): void {
  const parent = dirname(target)
  if (!existsSync(parent)) {
    throw new FsWriteError(`cannot write folder ${target}: its parent folder ${parent} does not exist (create it first)`, target, 'ENOENT')
  }
  if (!existsSync(target)) return
  if (!statSync(target).isDirectory()) {
    throw new FsWriteError(`cannot write folder ${target}: a file with that name exists (choose another name or remove the file)`, target, 'EEXIST')
  }
  if (!opts.overwrite && !isEmptyDir(target)) {
    throw new FsWriteError(`cannot write folder ${target}: it already exists and is not empty (choose another folder, or pass overwrite: true to replace it)`, target, 'EEXIST')
  }
}

/**
 * Move the finished temp folder into place. The old folder (if any) is first renamed aside, so a
 * crash between the two renames leaves no folder under the final name (and both the old and the new
 * one beside it) rather than a mix of old and new files.
 */
function commitFolder(tmp: string, target: string, opts: FolderWriteOptions): void {
  fsyncDir(tmp)
  let aside: string | undefined
  if (existsSync(target)) {
    if (isEmptyDir(target)) {
      // An empty folder holds nothing to lose (users often create the export folder first), and
      // Windows cannot rename onto an existing folder.
      rmdirSync(target)
    } else if (opts.overwrite) {
      aside = `${target}.old${tempSuffix()}`
      renameSync(target, aside)
    } else {
      throw new Error(`cannot write folder ${target}: it appeared while writing and is not empty; it was left untouched`)
    }
  }
  try {
    renameSync(tmp, target)
  } catch (e) {
    if (aside) renameSync(aside, target)
    throw e
  }
  fsyncDir(dirname(target))
  if (aside) rmSync(aside, { recursive: true, force: true })
}

function startFolder(dir: string, opts: FolderWriteOptions): { target: string; tmp: string } {
  const target = resolve(dir)
  checkFolderTarget(target, opts)
  const tmp = `${target}${tempSuffix()}`
  mkdirSync(tmp)
  return { target, tmp }
}

/**
 * Create folder `dir` atomically: `fill` writes into a fresh `<dir>.tmp-*` sibling, which is renamed
 * to `dir` only when `fill` returns. If `fill` throws, the temp folder is removed and `dir` is
 * untouched. Files written by `fill` should be fsynced (writeFileAtomic does) before it returns.
 */
export function writeFolderAtomicSync(dir: string, fill: (tmpDir: string) => void, opts: FolderWriteOptions = {}): void {
  const { target, tmp } = startFolder(dir, opts)
  try {
    fill(tmp)
    commitFolder(tmp, target, opts)
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true })
    throw e
  }
}

/** writeFolderAtomicSync for an asynchronous `fill`. */
export async function writeFolderAtomic(dir: string, fill: (tmpDir: string) => Promise<void> | void, opts: FolderWriteOptions = {}): Promise<void> {
  const { target, tmp } = startFolder(dir, opts)
  try {
    await fill(tmp)
    commitFolder(tmp, target, opts)
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true })
    throw e
  }
}

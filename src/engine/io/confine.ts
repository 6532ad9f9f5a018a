/**
 * Confinement that sees through symbolic links: the one check every place uses that keeps a read or a
 * write inside a folder (`export --within`, the run store's run folders and their files, bundle import,
 * the server's static files, dataset uploads).
 *
 * A path is inside its folder when it is inside by its text *and* when the real path of its deepest
 * existing ancestor (the path itself when it exists), with every link resolved — dangling ones followed
 * by hand — lies inside the folder's own real path. So `DIR/link/x` with `DIR/link` → `/tmp` is refused
 * before anything is written, and a folder that is itself a link (a runs folder on another disk) works.
 * Must not: create, write or delete anything.
 */
import { lstatSync, readlinkSync, realpathSync } from 'node:fs'
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path'

export class ConfinementError extends Error {
  constructor(
    message: string,
    readonly path: string,
    readonly root: string
  ) {
    super(message)
    this.name = 'ConfinementError'
  }
}

/** Links followed by hand before giving up (the kernel's own limit is 40). */
const MAX_LINKS = 40

function isInside(root: string, p: string, allowRoot: boolean): boolean {
  const rel = relative(root, p)
  if (rel === '') return allowRoot
  return !(rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel))
}

/**
 * The real path `p` leads to: the real path of its deepest existing ancestor (links resolved; a dangling
 * link followed to where it points) joined with the names below it that do not exist yet.
 */
export function realPathOfDeepest(p: string, links = 0): string {
  if (links > MAX_LINKS) throw new ConfinementError(`${p}: more than ${MAX_LINKS} symbolic links in a chain (a loop?)`, p, p)
  let cur = resolve(p)
  const rest: string[] = []
  for (;;) {
    let isLink: boolean
    try {
      isLink = lstatSync(cur).isSymbolicLink()
    } catch {
      const parent = dirname(cur)
      if (parent === cur) return join(cur, ...rest)
      rest.unshift(basename(cur))
      cur = parent
      continue
    }
    try {
      return join(realpathSync(cur), ...rest)
    } catch (e) {
      if (!isLink) throw e
      // a dangling link: where it would lead is where a write through it would land
      const parentReal = realpathSync(dirname(cur))
      return realPathOfDeepest(join(resolve(parentReal, readlinkSync(cur)), ...rest), links + 1)
    }
  }
}

/** The first link on the way from `root` down to `target` whose real path leaves `rootReal`, for the message. */
function escapingLink(root: string, target: string, rootReal: string): { link: string; to: string } | null {
  const parts = relative(root, target).split(sep).filter(Boolean)
  let cur = root
  for (const part of parts) {
    cur = join(cur, part)
    let st
    try {
      st = lstatSync(cur)
    } catch {
      return null
    }
    if (st.isSymbolicLink()) {
      const to = realPathOfDeepest(cur)
      if (!isInside(rootReal, to, true)) return { link: cur, to }
    }
  }
  return null
}

export interface ConfineOptions {
  /** What the folder is, for messages ("the export folder"). Default "the folder". */
  what?: string
  /** Accept the folder itself as the path. Default false. */
  allowRoot?: boolean
}

/**
 * The absolute path of `target` (relative to `root`, or absolute), refused with ConfinementError when it
 * lies outside `root` by its text or through any symbolic link. Returns the path as given (resolved), not
 * its real path, so messages show what the user typed.
 */
export function confinePath(root: string, target: string, opts: ConfineOptions = {}): string {
  const what = opts.what ?? 'the folder'
  const rootAbs = resolve(root)
  const abs = resolve(rootAbs, target)
  if (!isInside(rootAbs, abs, opts.allowRoot ?? false)) {
    throw new ConfinementError(`${abs} is not inside ${what} ${rootAbs}; choose a path inside it`, abs, rootAbs)
  }
  const rootReal = realPathOfDeepest(rootAbs)
  const real = realPathOfDeepest(abs)
  if (!isInside(rootReal, real, opts.allowRoot ?? false)) {
    const via = escapingLink(rootAbs, abs, rootReal)
    throw new ConfinementError(
      `${abs} leads outside ${what} ${rootAbs}${via ? ` through the symbolic link ${via.link} (→ ${via.to})` : ` (its real path is ${real})`}; refused: nothing is read or written through a link that leaves the folder`,
      abs,
      rootAbs
    )
  }
  return abs
}

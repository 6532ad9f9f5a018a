/** io/confine.ts: text and links both keep a path inside its folder. Real links in a temp folder. */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { confinePath, ConfinementError, realPathOfDeepest } from '../../../src/engine/io/confine'

const tmp = realpathSync(mkdtempSync(join(tmpdir(), 'ird-confine-')))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('confinePath', () => {
  it('the root itself only with allowRoot; relative and absolute paths; ".." that stays inside', () => {
    const root = join(tmp, 'r')
    mkdirSync(root)
    expect(() => confinePath(root, '.')).toThrow(ConfinementError)
    expect(confinePath(root, '.', { allowRoot: true })).toBe(root)
    expect(confinePath(root, 'a/../b')).toBe(join(root, 'b'))
    expect(confinePath(root, join(root, 'x'))).toBe(join(root, 'x'))
    expect(() => confinePath(root, join(tmp, 'rx'))).toThrow(/is not inside the folder/)
    expect(() => confinePath(root, 'x', { what: 'the export folder' })).not.toThrow()
  })

  it('a root that does not exist yet, below a link: resolved through it', () => {
    const real = join(tmp, 'real')
    mkdirSync(real)
    symlinkSync(real, join(tmp, 'lnk'))
    expect(realPathOfDeepest(join(tmp, 'lnk', 'new', 'deeper'))).toBe(join(real, 'new', 'deeper'))
    expect(confinePath(join(tmp, 'lnk', 'new'), 'f.txt')).toBe(join(tmp, 'lnk', 'new', 'f.txt'))
  })

  it('a relative link that climbs out is refused, one that stays is fine', () => {
    const root = join(tmp, 'rel')
    mkdirSync(join(root, 'in'), { recursive: true })
    symlinkSync('../..', join(root, 'in', 'up'))
    symlinkSync('..', join(root, 'in', 'parent'))
    expect(() => confinePath(root, 'in/up/x')).toThrow(/through the symbolic link .*in\/up/)
    expect(confinePath(root, 'in/parent/x')).toBe(join(root, 'in', 'parent', 'x'))
  })
})

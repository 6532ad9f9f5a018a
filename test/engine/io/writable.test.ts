/** Writable probes and errno → words (src/engine/io/writable.ts); the CLI matrix is test/hostile/fs-errors.test.ts. */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { checkWritableDir, checkWritableFile, checkWritableOutputDir, describeFsError, ensureDir, FS_ERROR_CODES, FsWriteError, isFsError } from '../../../src/engine/io/writable'

const tmp = mkdtempSync(join(tmpdir(), 'ird-writable-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
afterEach(() => delete process.env.IRD_FS_FAULT)

const errno = (code: string, path?: string) => Object.assign(new Error(`${code}: x`), { code, syscall: 'open', ...(path ? { path } : {}) })

describe('describeFsError', () => {
  it('every code gives one line with the path, the cause in words, the code and what to do', () => {
    for (const code of FS_ERROR_CODES) {
      const line = describeFsError(errno(code, '/data/out.json'))
      expect(line, code).toMatch(new RegExp(`^cannot write /data/out\\.json: [a-z].* \\(${code}\\); [a-z]`))
      expect(line).not.toContain('\n')
    }
    expect(describeFsError(errno('EROFS', '/m/x'))).toBe('cannot write /m/x: the file system is read-only (EROFS); choose a folder on a writable disk')
    expect(describeFsError(errno('ENOSPC'))).toBe('a file operation (open) failed: the disk is full (ENOSPC); free some space or choose another disk')
  })
  it('isFsError: errno errors from the file system and FsWriteError, not bugs', () => {
    expect(isFsError(errno('EACCES', '/x'))).toBe(true)
    expect(isFsError(new FsWriteError('m', '/x', 'EROFS'))).toBe(true)
    expect(isFsError(new TypeError('x'))).toBe(false)
    expect(isFsError(Object.assign(new Error('x'), { code: 'ERR_INVALID_ARG_TYPE' }))).toBe(false)
  })
})

describe('probes', () => {
  it('ensureDir makes every level, and names a file in the way (ENOTDIR)', () => {
    expect(ensureDir(join(tmp, 'a', 'b', 'c'))).toEqual([join(tmp, 'a'), join(tmp, 'a', 'b'), join(tmp, 'a', 'b', 'c')])
    writeFileSync(join(tmp, 'f'), 'x')
    expect(() => ensureDir(join(tmp, 'f', 'g'))).toThrow(`cannot create the folder ${join(tmp, 'f', 'g')}: ${join(tmp, 'f')} is a file, not a folder (ENOTDIR)`)
  })
  it('checkWritableDir leaves no probe file, and removes the folders it made unless kept', () => {
    checkWritableDir(join(tmp, 'p', 'q'), { create: true })
    expect(existsSync(join(tmp, 'p'))).toBe(false)
    checkWritableDir(join(tmp, 'p', 'q'), { create: true, keep: true })
    expect(readdirSync(join(tmp, 'p', 'q'))).toEqual([])
    expect(() => checkWritableDir(join(tmp, 'nope'))).toThrow(/does not exist \(ENOENT\)/)
  })
  it('an injected fault (IRD_FS_FAULT) fails the probe under its prefix only, and the made folders go', () => {
    process.env.IRD_FS_FAULT = `ENOSPC@${join(tmp, 'full')}`
    expect(() => checkWritableDir(join(tmp, 'full', 'x'), { create: true, keep: true })).toThrow(/disk is full \(ENOSPC\)/)
    expect(existsSync(join(tmp, 'full'))).toBe(false)
    checkWritableDir(join(tmp, 'other'), { create: true })
  })
  it('checkWritableFile and checkWritableOutputDir: folder for a file (EISDIR), existing file (EEXIST)', () => {
    mkdirSync(join(tmp, 'd'))
    expect(() => checkWritableFile(join(tmp, 'd'))).toThrow(/it is a folder, not a file \(EISDIR\)/)
    writeFileSync(join(tmp, 'e'), 'x')
    checkWritableFile(join(tmp, 'e'))
    expect(() => checkWritableFile(join(tmp, 'e'), { overwrite: false })).toThrow(/already exists \(EEXIST\)/)
    expect(() => checkWritableOutputDir(join(tmp, 'e'))).toThrow(/a file with that name exists \(EEXIST\)/)
    expect(() => checkWritableFile(join(tmp, 'no', 'x.json'))).toThrow(/its folder .* does not exist \(ENOENT\)/)
  })
})

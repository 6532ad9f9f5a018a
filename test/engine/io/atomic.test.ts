/**
 * Atomic writes: the final name only ever holds complete content, even when the writer is SIGKILLed
 * mid-write (tested with a real child process), and refused or failed folder writes change nothing.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { writeFileAtomic, writeFolderAtomic, writeFolderAtomicSync, writeJsonAtomic } from '../../../src/engine/io/atomic'
import { cleanTempDirs, snapshot, tempDir } from './helpers'

afterAll(cleanTempDirs)

const CHILD = resolve(dirname(fileURLToPath(import.meta.url)), 'atomic-child.ts')
const BIG = 32 << 20

/** Start the child, let it write for `ms` after it is ready, SIGKILL it. */
function killMidWrite(mode: 'file' | 'folder', target: string, ms: number): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, mode, target], { stdio: ['ignore', 'pipe', 'pipe'] })
    let err = ''
    child.stderr.on('data', (d) => (err += d))
    child.stdout.once('data', () => setTimeout(() => child.kill('SIGKILL'), ms))
    child.on('exit', (_code, signal) => (signal === 'SIGKILL' ? done() : fail(new Error(`child exited on its own: ${err}`))))
  })
}

function isUniform(buf: Buffer): boolean {
  return buf.length === BIG && buf.equals(Buffer.alloc(BIG, buf[0]))
}

describe('writeFileAtomic', () => {
  it('replaces content, leaves no temp file, and names a missing folder', () => {
    const dir = tempDir()
    const f = join(dir, 'a.json')
    writeFileSync(f, 'old')
    writeJsonAtomic(f, { x: 1 })
    expect(readFileSync(f, 'utf8')).toBe('{\n  "x": 1\n}\n')
    writeFileAtomic(f, [Buffer.from('ab'), new Uint8Array([0x63])])
    expect(readFileSync(f, 'utf8')).toBe('abc')
    expect(readdirSync(dir)).toEqual(['a.json'])
    expect(() => writeFileAtomic(join(dir, 'no', 'b.txt'), 'x')).toThrow(/the folder .*no does not exist/)
  })

  it('a writer killed mid-write leaves the old or the complete new file, never a partial one', async () => {
    const dir = tempDir()
    const f = join(dir, 'big.bin')
    writeFileSync(f, 'old content')
    let interrupted = 0
    for (const ms of [150, 320, 470, 650]) {
      await killMidWrite('file', f, ms)
      const buf = readFileSync(f)
      expect(buf.toString() === 'old content' || isUniform(buf), `after ${ms} ms: ${buf.length} bytes`).toBe(true)
      if (readdirSync(dir).some((n) => n.includes('.tmp-'))) interrupted++
    }
    // Evidence that at least one kill landed inside a write (its temp file was left behind).
    expect(interrupted).toBeGreaterThan(0)
  }, 60_000)
})

describe('folder writes', () => {
  it('creates the folder at once; refuses a non-empty one untouched; accepts an empty one; overwrites on request', () => {
    const root = tempDir()
    const target = join(root, 'model')
    writeFolderAtomicSync(target, (tmp) => {
      expect(tmp.startsWith(`${target}.tmp-`)).toBe(true)
      expect(existsSync(target)).toBe(false)
      writeFileAtomic(join(tmp, 'a.txt'), 'one')
    })
    expect(readFileSync(join(target, 'a.txt'), 'utf8')).toBe('one')
    const before = snapshot(root)
    expect(() => writeFolderAtomicSync(target, () => {})).toThrow(/model: it already exists and is not empty .*overwrite: true/)
    expect(snapshot(root)).toEqual(before)

    writeFolderAtomicSync(target, (tmp) => writeFileAtomic(join(tmp, 'b.txt'), 'two'), { overwrite: true })
    expect(readdirSync(target)).toEqual(['b.txt'])
    expect(readdirSync(root)).toEqual(['model'])

    const empty = join(root, 'empty')
    mkdirSync(empty)
    writeFolderAtomicSync(empty, (tmp) => writeFileAtomic(join(tmp, 'c.txt'), 'three'))
    expect(readdirSync(empty)).toEqual(['c.txt'])

    writeFileSync(join(root, 'file'), 'x')
    expect(() => writeFolderAtomicSync(join(root, 'file'), () => {})).toThrow(/a file with that name exists/)
    expect(() => writeFolderAtomicSync(join(root, 'no', 'x'), () => {})).toThrow(/parent folder .*no does not exist/)
  })

  it('a failing fill leaves nothing behind, and the old folder untouched', async () => {
    const root = tempDir()
    const target = join(root, 'out')
    expect(() =>
      writeFolderAtomicSync(target, (tmp) => {
        writeFileAtomic(join(tmp, 'half.txt'), 'x')
        throw new Error('disk full')
      })
    ).toThrow('disk full')
    expect(readdirSync(root)).toEqual([])
    mkdirSync(target)
    writeFileSync(join(target, 'keep.txt'), 'keep')
    const before = snapshot(root)
    await expect(
      writeFolderAtomic(
        target,
        async (tmp) => {
          writeFileAtomic(join(tmp, 'new.txt'), 'new')
          await new Promise((r) => setTimeout(r, 5))
          throw new Error('cancelled')
        },
        { overwrite: true }
      )
    ).rejects.toThrow('cancelled')
    expect(snapshot(root)).toEqual(before)
    await writeFolderAtomic(target, async (tmp) => writeFileAtomic(join(tmp, 'new.txt'), 'new'), { overwrite: true })
    expect(readdirSync(target)).toEqual(['new.txt'])
  })

  it('a writer killed mid-way leaves the old or the new folder complete (or, between the two renames, the old one beside it)', async () => {
    const root = tempDir()
    const target = join(root, 'ckpt')
    mkdirSync(target)
    writeFileSync(join(target, 'a.bin'), 'old')
    writeFileSync(join(target, 'b.bin'), 'old')
    for (const ms of [200, 450, 700]) {
      await killMidWrite('folder', target, ms)
      let folder = target
      if (!existsSync(target)) {
        const aside = readdirSync(root).filter((n) => n.startsWith('ckpt.old.tmp-'))
        expect(aside.length).toBe(1)
        folder = join(root, aside[0])
      }
      const a = readFileSync(join(folder, 'a.bin'))
      const b = readFileSync(join(folder, 'b.bin'))
      expect(a.equals(b)).toBe(true)
      expect(a.toString() === 'old' || isUniform(a)).toBe(true)
      expect(readdirSync(folder).sort()).toEqual(['a.bin', 'b.bin'])
      if (folder !== target) break
    }
  }, 60_000)
})

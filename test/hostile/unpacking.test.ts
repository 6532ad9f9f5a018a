/**
 * Bounded unpacking (issue 18, class 1): a run bundle's entries are inflated as a stream, capped at the
 * size bundle.json declares and at the limits, refused at the first byte over, naming the entry, with
 * memory flat whatever the archive claims. The 1 GiB bombs are built by concatenating one deflate block
 * run (~1 MB on disk, never 1 GiB in memory); peak memory is measured in a child process.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BundleError, exportBundle, importRunBundle, readZipSafe, ZipError, ZipReader } from '../../src/engine/export'
import { RunStore } from '../../src/engine/runs/store'
import { makeBaseModel, makeCompletedRun } from '../engine/export/helpers'
import { REPO_ROOT } from '../helpers/shared-data'
import { deflatedEntry, writeRawZip, zeroBomb, type RawEntry } from './zip-bomb'

const tmp = mkdtempSync(join(tmpdir(), 'ird-unpack-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const GiB_CHUNKS = 64 // × 16 MiB = 1 GiB
let good: Map<string, Uint8Array>
beforeAll(() => {
  const model = join(tmp, 'model')
  makeBaseModel(model, 2)
  const store = new RunStore(join(tmp, 'runs'))
  const run = makeCompletedRun(store, model, 'sst2')
  exportBundle(store, run.run.id, join(tmp, 'good.zip'), { checkpoint: false })
  good = readZipSafe(join(tmp, 'good.zip'))
})

/** The good bundle's entries with `name` replaced by a bomb; `lie` makes its headers declare `lie` bytes. */
function bombBundle(file: string, name: string, chunks: number, lie?: number): void {
  if (!good.has(name)) throw new Error(`the good bundle has no ${name}`)
  const entries: RawEntry[] = [...good].map(([n, b]) => (n === name ? { ...zeroBomb(n, chunks), ...(lie !== undefined ? { size: lie } : {}) } : deflatedEntry(n, b)))
  writeRawZip(file, entries)
}

function child(bundle: string, runs: string): { id: string | null; error: string | null; maxRssBytes: number } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test/hostile/import-child.ts'), bundle, runs], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 })
  if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`)
  return JSON.parse(r.stdout.trim().split('\n').pop()!)
}

const MB = 1024 * 1024
const declared = (name: string) => good.get(name)!.byteLength

describe('a 1 GiB zip bomb in a run bundle', () => {
  it('honest headers (1 GiB declared), bundle.json unchanged: refused naming the entry, peak RSS < 200 MB, nothing imported', () => {
    const file = join(tmp, 'bomb-honest.zip')
    bombBundle(file, 'run/events.jsonl', GiB_CHUNKS)
    const runs = join(tmp, 'runs-honest')
    const r = child(file, runs)
    expect(r.id).toBeNull()
    expect(r.error).toMatch(/^BundleError: .*bomb-honest\.zip: entry "run\/events\.jsonl" does not match the size\/SHA-256 in bundle\.json \(the archive declares 1073741824 bytes/)
    expect(r.maxRssBytes).toBeLessThan(200 * MB)
    expect(existsSync(runs) ? readdirSync(runs) : []).toEqual([])
  })

  it('headers that lie (they declare what bundle.json does): inflation stops at the first byte over, peak RSS < 200 MB', () => {
    const file = join(tmp, 'bomb-liar.zip')
    const n = declared('run/events.jsonl')
    bombBundle(file, 'run/events.jsonl', GiB_CHUNKS, n)
    const runs = join(tmp, 'runs-liar')
    const r = child(file, runs)
    expect(r.id).toBeNull()
    expect(r.error).toMatch(new RegExp(`entry "run/events\\.jsonl" unpacks to more than the ${n} bytes (its header declares|bundle\\.json declares for it).*refused at byte ${n + 1}`))
    expect(r.maxRssBytes).toBeLessThan(200 * MB)
    expect(existsSync(runs) ? readdirSync(runs) : []).toEqual([])
  })

  it('the CLI: `ird-studio import-run` refuses it with exit 1 and one line naming the entry; memory does not grow with the bomb', () => {
    const file = join(tmp, 'bomb-cli.zip')
    bombBundle(file, 'run/events.jsonl', GiB_CHUNKS, declared('run/events.jsonl'))
    const runs = join(tmp, 'runs-cli')
    const timed = existsSync('/usr/bin/time')
    const cli = (args: string[]) => {
      const cmd = timed ? '/usr/bin/time' : process.execPath
      const argv = timed ? ['-v', process.execPath, join(REPO_ROOT, 'bin/ird-studio.js'), ...args] : [join(REPO_ROOT, 'bin/ird-studio.js'), ...args]
      const r = spawnSync(cmd, argv, { cwd: tmp, encoding: 'utf8', timeout: 120_000 })
      const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)
      return { code: r.status, err: r.stderr, rssBytes: rss ? Number(rss[1]) * 1024 : null }
    }
    const bomb = cli(['import-run', file, '--runs', runs])
    expect(bomb.code).toBe(1)
    expect(bomb.err).toMatch(/bomb-cli\.zip: entry "run\/events\.jsonl" unpacks to more than the \d+ bytes/)
    expect(bomb.err).not.toMatch(/internal error|at .*\.ts:\d+/)
    expect(existsSync(runs) ? readdirSync(runs) : []).toEqual([])
    if (timed) {
      // The CLI's own footprint (tfjs, tsx) is measured on a refusal that unpacks nothing.
      const base = cli(['import-run', join(tmp, 'no-such.zip'), '--runs', runs])
      expect(base.code).toBe(1)
      expect(bomb.rssBytes! - base.rssBytes!).toBeLessThan(100 * MB)
    }
  }, 120_000)
})

describe('every entry kind is capped while it is inflated (in process, 256 MiB bombs)', () => {
  const kinds = ['bundle.json', 'run/config.json', 'run/results.json', 'run/events.jsonl', 'run/delta.safetensors', 'run/mask/mask.safetensors']
  for (const name of kinds) {
    it(`${name}: lying headers, refused at the first byte over the cap, the store unchanged`, () => {
      const file = join(tmp, `kind-${name.replace(/\W+/g, '-')}.zip`)
      const n = declared(name)
      bombBundle(file, name, 16, n)
      const target = new RunStore(join(tmp, `kind-target-${name.replace(/\W+/g, '-')}`))
      mkdirSync(target.root)
      const rss = process.memoryUsage().rss
      let err: unknown
      try {
        importRunBundle(target, file)
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(BundleError)
      expect((err as BundleError).entry).toBe(name)
      expect((err as Error).message).toMatch(new RegExp(`entry "${name.replace(/[./]/g, '\\$&')}" unpacks to more than the ${n} bytes .*refused at byte ${n + 1}`))
      expect(process.memoryUsage().rss - rss).toBeLessThan(100 * MB)
      expect(readdirSync(target.root)).toEqual([])
    })
  }
})

describe('ZipReader caps', () => {
  it('hands the sink exactly the capped bytes, then refuses; declared sizes over the limits are refused before inflating', () => {
    const file = join(tmp, 'plain-bomb.zip')
    writeRawZip(file, [{ ...zeroBomb('a.bin', 2), size: 100 }, zeroBomb('b.bin', 1)])
    const zip = ZipReader.open(file)
    let got = 0
    expect(() => zip.extract('a.bin', (p) => (got += p.byteLength))).toThrow(/entry "a\.bin" unpacks to more than the 100 bytes its header declares: .*refused at byte 101/)
    expect(got).toBe(100)
    got = 0
    expect(() => zip.extract('b.bin', (p) => (got += p.byteLength), { bytes: 5000, by: 'the caller allows' })).toThrow(/entry "b\.bin" unpacks to more than the 5000 bytes the caller allows/)
    expect(got).toBe(5000)
    zip.close()
    // declared sizes over a limit: refused before anything is inflated
    expect(() => ZipReader.open(file, { maxEntryBytes: 1024 * 1024 })).toThrow(/entry "b\.bin" unpacks to 16777216 bytes, above the 1048576-byte limit per entry/)
    expect(() => ZipReader.open(file, { maxTotalBytes: 1024 * 1024 })).toThrow(/unpack to more than 1048576 bytes in all/)
  })

  it('a truncated deflate stream and a same-size CRC change are damage, named', () => {
    const bytes = Buffer.from('hello world '.repeat(500))
    const e = deflatedEntry('t.txt', bytes)
    const short = join(tmp, 'short.zip')
    writeRawZip(short, [{ ...e, data: (e.data as Uint8Array).subarray(0, 20) }])
    expect(() => readZipSafe(short)).toThrow(/entry "t\.txt" cannot be inflated \(unexpected EOF\)/)
    const flipped = join(tmp, 'flipped.zip')
    writeRawZip(flipped, [{ name: 'f.txt', data: Buffer.from('abcd'), stored: true, crc: deflatedEntry('x', Buffer.from('abce')).crc, size: 4 }])
    expect(() => readZipSafe(flipped)).toThrow(ZipError)
    expect(() => readZipSafe(flipped)).toThrow(/entry "f\.txt" fails its CRC-32 check/)
  })
})

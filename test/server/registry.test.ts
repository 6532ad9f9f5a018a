/** The dataset and model registries in the app data folder: persistence, uploads, and what removal deletes. */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { DatasetRegistry, ModelRegistry } from '../../src/engine/host/registry'

const tmp = mkdtempSync(join(tmpdir(), 'ird-registry-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('dataset registry', () => {
  it('survives a restart, dedupes, and deletes only its own upload copies', async () => {
    const data = join(tmp, 'data')
    const mine = join(tmp, 'mine.tsv')
    writeFileSync(mine, 'sentence\tlabel\ngood\t1\n')
    const reg = new DatasetRegistry(data)
    const byPath = await reg.import({ path: mine })
    expect(byPath).toMatchObject({ uploaded: false, path: mine, name: 'mine.tsv', size: 22 })
    const renamed = await reg.import({ path: mine }, 'Mine', { dropBadRows: true })
    expect(renamed).toMatchObject({ id: byPath.id, name: 'Mine', options: { dropBadRows: true } })
    const upload = await reg.import({ name: 'up.tsv', content: 'sentence\tlabel\nfine\t0\n' })
    expect(upload.uploaded).toBe(true)
    expect(await reg.import({ name: 'up.tsv', content: 'sentence\tlabel\nfine\t0\n' })).toEqual(upload)

    const again = new DatasetRegistry(data) // a restart
    expect(again.list().map((e) => e.id).sort()).toEqual([byPath.id, upload.id].sort())
    expect(again.remove(byPath.id)).toBe(true)
    expect(existsSync(mine)).toBe(true) // the user's file stays
    expect(again.remove(upload.id)).toBe(true)
    expect(existsSync(upload.path)).toBe(false)
    expect(readdirSync(join(data, 'uploads'))).toEqual([])
    expect(again.remove(upload.id)).toBe(false)
    expect(() => again.get('ds-nope')).toThrow(/no dataset "ds-nope"/)
    await expect(again.import({ path: join(tmp, 'missing.tsv') })).rejects.toThrow(/no such file/)
    await expect(again.import({ path: tmp })).rejects.toThrow(/is a folder/)
  })

  it('keeps an unreadable registry file aside instead of overwriting it', async () => {
    const data = join(tmp, 'broken')
    const reg = new DatasetRegistry(data)
    await reg.import({ name: 'a.tsv', content: 'x\n' })
    writeFileSync(join(data, 'datasets.json'), '{ not json')
    expect(reg.list()).toEqual([])
    const aside = readdirSync(data).find((f) => f.startsWith('datasets.json.unreadable-'))
    expect(aside && readFileSync(join(data, aside), 'utf8')).toBe('{ not json')
  })
})

describe('model registry', () => {
  it('adds each folder once and removes by id', () => {
    const reg = new ModelRegistry(join(tmp, 'models'))
    const a = reg.add(join(tmp, 'm1'), 'one')
    expect(reg.add(join(tmp, 'm1'))).toEqual(a)
    expect(new ModelRegistry(join(tmp, 'models')).list()).toEqual([a])
    expect(reg.remove(a.id)).toBe(true)
    expect(reg.remove(a.id)).toBe(false)
  })
})

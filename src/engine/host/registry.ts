/**
 * The app's registries in its data folder, so imported datasets and added models survive restarts:
 *
 *   <data>/datasets.json            DatasetEntry[] (atomic writes)
 *   <data>/uploads/<id>/<name>      the content of files uploaded in browser mode
 *   <data>/models.json              model folders the user added
 *
 * Must not: hold tfjs or engine work (the host runs in Electron main / the browser-mode server), or
 * delete anything outside <data>/uploads (a dataset registered by path stays where the user keeps it).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { basename, dirname, join, resolve, sep } from 'node:path'
import { writeFileAtomic, writeJsonAtomic } from '../io/atomic'
import { confinePath, ConfinementError } from '../io/confine'
import { detectTask, sha256File } from '../data'
import { CodedError } from '../../shared/errors'
import type { DataSource, DatasetEntry, DatasetOptions } from '../../shared/contract'

function readList<T>(file: string): T[] {
  if (!existsSync(file)) return []
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown
    return Array.isArray(parsed) ? (parsed as T[]) : []
  } catch {
    // A registry the app cannot read is kept aside rather than overwritten with an empty list.
    const aside = `${file}.unreadable-${Date.now()}`
    try {
      mkdirSync(dirname(aside), { recursive: true })
      writeFileAtomic(aside, readFileSync(file))
    } catch {
      /* nothing more to save */
    }
    return []
  }
}

function newId(prefix: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-')
  return `${prefix}-${stamp}-${randomBytes(3).toString('hex')}`
}

export class DatasetRegistry {
  private readonly file: string
  private readonly uploads: string

  constructor(readonly dataDir: string) {
    this.file = join(dataDir, 'datasets.json')
    this.uploads = join(dataDir, 'uploads')
  }

  list(): DatasetEntry[] {
    return readList<DatasetEntry>(this.file).sort((a, b) => (a.addedAt < b.addedAt ? 1 : a.addedAt > b.addedAt ? -1 : 0))
  }

  get(id: string): DatasetEntry {
    const entry = this.list().find((e) => e.id === id)
    if (!entry) throw new CodedError('NOT_FOUND', `no dataset "${id}" in the registry (${this.file}); import the file again`, { id })
    return entry
  }

  /** `p` inside the data folder by its text and through every link, else a FORBIDDEN error naming the link. */
  private confined(p: string): string {
    try {
      return confinePath(this.dataDir, p, { what: "the app's data folder" })
    } catch (e) {
      if (e instanceof ConfinementError) throw new CodedError('INVALID_INPUT', e.message, { path: p })
      throw e
    }
  }

  private save(entries: DatasetEntry[]): void {
    mkdirSync(this.dataDir, { recursive: true })
    writeJsonAtomic(this.file, entries)
  }

  /** Registers a file by path, or stores uploaded content under <data>/uploads first. */
  async import(source: DataSource, name?: string, options: DatasetOptions = {}): Promise<DatasetEntry> {
    let path: string
    let uploaded = false
    let id = newId('ds')
    if ('path' in source) {
      path = resolve(source.path)
      let st
      try {
        st = statSync(path)
      } catch {
        throw new CodedError('INVALID_INPUT', `${path}: there is no such file`)
      }
      if (!st.isFile()) throw new CodedError('INVALID_INPUT', `${path} is a folder; choose a TSV, CSV or JSONL file`)
      const existing = this.list().find((e) => e.path === path)
      // Importing a registered file again updates what the user gave this time.
      if (existing) return name !== undefined || Object.keys(options).length ? this.update(existing.id, { ...(name !== undefined ? { name } : {}), ...(Object.keys(options).length ? { options: { ...existing.options, ...options } } : {}) }) : existing
    } else {
      const bytes = Buffer.from(source.content, 'utf8')
      const sha = (await import('node:crypto')).createHash('sha256').update(bytes).digest('hex')
      const existing = this.list().find((e) => e.uploaded && e.sha256 === sha && basename(e.path) === source.name)
      if (existing) return existing
      // The upload lands in the app's data folder, never through a link that leads out of it.
      path = this.confined(join(this.uploads, id, source.name))
      mkdirSync(join(this.uploads, id), { recursive: true })
      writeFileAtomic(path, bytes)
      uploaded = true
    }
    const size = statSync(path).size
    const sha256 = await sha256File(path)
    const detectedTask = await detectTask(path).catch(() => null)
    const entry: DatasetEntry = {
      id,
      name: name ?? (uploaded && 'name' in source ? source.name : basename(path)),
      path,
      uploaded,
      size,
      sha256,
      addedAt: new Date().toISOString(),
      detectedTask,
      options: { ...(detectedTask && !options.task ? { task: detectedTask.task, ...(detectedTask.split ? { split: detectedTask.split } : {}) } : {}), ...options }
    }
    // Ids are unique by construction; a clash would only come from a hand-edited registry.
    const entries = this.list()
    while (entries.some((e) => e.id === id)) id = newId('ds')
    entry.id = id
    this.save([...entries, entry])
    return entry
  }

  update(id: string, patch: { name?: string; options?: DatasetOptions; lastReport?: DatasetEntry['lastReport'] }): DatasetEntry {
    const entries = this.list()
    const i = entries.findIndex((e) => e.id === id)
    if (i < 0) throw new CodedError('NOT_FOUND', `no dataset "${id}" in the registry; import the file again`, { id })
    const next: DatasetEntry = { ...entries[i] }
    if (patch.name !== undefined) next.name = patch.name
    if (patch.options !== undefined) next.options = patch.options
    if (patch.lastReport !== undefined) next.lastReport = patch.lastReport
    entries[i] = next
    this.save(entries)
    return next
  }

  remove(id: string): boolean {
    const entries = this.list()
    const entry = entries.find((e) => e.id === id)
    if (!entry) return false
    this.save(entries.filter((e) => e.id !== id))
    if (entry.uploaded) {
      const folder = resolve(entry.path, '..')
      // Only ever the upload's own folder under <data>/uploads, and not through a link leading elsewhere.
      if (folder.startsWith(resolve(this.uploads) + sep)) rmSync(this.confined(folder), { recursive: true, force: true })
    }
    return true
  }
}

export interface ModelRecord {
  id: string
  name: string
  path: string
  addedAt: string
}

export class ModelRegistry {
  private readonly file: string

  constructor(readonly dataDir: string) {
    this.file = join(dataDir, 'models.json')
  }

  list(): ModelRecord[] {
    return readList<ModelRecord>(this.file)
  }

  add(path: string, name?: string): ModelRecord {
    const dir = resolve(path)
    const entries = this.list()
    const existing = entries.find((e) => e.path === dir)
    if (existing) return existing
    const record: ModelRecord = { id: newId('model'), name: name ?? basename(dir), path: dir, addedAt: new Date().toISOString() }
    mkdirSync(this.dataDir, { recursive: true })
    writeJsonAtomic(this.file, [...entries, record])
    return record
  }

  remove(id: string): boolean {
    const entries = this.list()
    if (!entries.some((e) => e.id === id)) return false
    writeJsonAtomic(this.file, entries.filter((e) => e.id !== id))
    return true
  }
}

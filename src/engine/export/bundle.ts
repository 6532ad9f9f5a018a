/**
 * Run bundles: one zip with everything a run recorded (config, status, summary, event log, results,
 * mask, delta, Fisher statistics, dev predictions), which another installation imports into its own
 * run store.
 *
 * Layout: `bundle.json` ({format "ird-studio-run-bundle", version, run id, created, files: {name: {bytes,
 * sha256}}}) and the run's files under `run/` (its checkpoint/ only for runs that did not complete, or
 * when asked: it is what `ird-studio resume` needs, and several times the delta's size). The base model is not included (it is usually a public
 * checkpoint); the importing side needs it at the recorded modelDir, or a model folder it points at.
 *
 * Owns: writing bundles, and importing them with every check made before the run appears: entry names
 * (no path traversal), size caps, the manifest's hashes, JSON and safetensors validity, the run id
 * (a collision gets a fresh id, never overwrites). The run folder appears atomically or not at all.
 * Must not: import a run that is still running, or write outside the store's root.
 */
import { createHash, randomBytes } from 'node:crypto'
import { closeSync, existsSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { writeFileAtomic, writeFolderAtomicSync } from '../io/atomic'
import { readSafetensors } from '../io/safetensors'
import { parseJsonStrict } from '../io/strict-json'
import { RunStoreError, type RunStore, type RunSummary, type StatusFile } from '../runs/store'
import { ExportError } from './artifacts'
import { resolveExportPath, unsafeRelativeName } from './paths'
import { writeZipAtomic, ZipError, ZipReader, type ZipLimits } from './zip'

export const BUNDLE_FORMAT = 'ird-studio-run-bundle'
export const BUNDLE_VERSION = 1
const MANIFEST = 'bundle.json'
const PREFIX = 'run/'

export interface BundleManifest {
  format: typeof BUNDLE_FORMAT
  version: number
  run: string
  createdAt: string
  files: Record<string, { bytes: number; sha256: string }>
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

/**
 * Files of a run folder, relative, forward slashes. Temp files and folders of interrupted atomic writes
 * (`*.tmp-*`) are skipped, and the training checkpoint unless asked for.
 */
function runFiles(dir: string, withCheckpoint: boolean, rel = ''): string[] {
  const out: string[] = []
  for (const name of readdirSync(join(dir, rel)).sort()) {
    if (name.startsWith('.') || name.includes('.tmp-')) continue
    if (!rel && (name === 'checkpoint' || name === 'checkpoint.prev') && !withCheckpoint) continue
    const r = rel ? `${rel}/${name}` : name
    const st = statSync(join(dir, r))
    if (st.isDirectory()) out.push(...runFiles(dir, withCheckpoint, r))
    else if (st.isFile()) out.push(r)
  }
  return out
}

export interface BundleExportOptions {
  within?: string
  overwrite?: boolean
  /**
   * Include the training checkpoint (checkpoint/: optimizer state, data order), so that the importing side
   * can resume the run. Default: only for runs that did not complete (a completed run's delta is final).
   */
  checkpoint?: boolean
}

/** Write run `runId` as a bundle zip. Returns the manifest. */
export function exportBundle(store: RunStore, runId: string, out: string, opts: BundleExportOptions = {}): BundleManifest {
  const dest = resolveExportPath(out, opts.within)
  if (!opts.overwrite && existsSync(dest)) throw new ExportError(`${dest} already exists: choose another name (or overwrite)`)
  const run = store.open(runId)
  const status = store.list().find((r) => r.id === run.id)?.status
  if (status === 'running') throw new ExportError(`run ${run.id} is still running: bundle it when it has finished (or been cancelled)`)
  const entries: Array<{ name: string; data: Uint8Array; store: boolean }> = []
  const files: BundleManifest['files'] = {}
  for (const f of runFiles(run.dir, opts.checkpoint ?? status !== 'completed')) {
    const data = readFileSync(join(run.dir, f))
    entries.push({ name: PREFIX + f, data, store: f.endsWith('.safetensors') })
    files[f] = { bytes: data.byteLength, sha256: sha256(data) }
  }
  const manifest: BundleManifest = { format: BUNDLE_FORMAT, version: BUNDLE_VERSION, run: run.id, createdAt: new Date().toISOString(), files }
  writeZipAtomic(dest, [{ name: MANIFEST, data: JSON.stringify(manifest, null, 2) + '\n' }, ...entries])
  return manifest
}

export class BundleError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly entry?: string
  ) {
    super(message)
    this.name = 'BundleError'
  }
}

export interface ImportOptions extends ZipLimits {
  /** Import under this id instead of the bundle's. */
  as?: string
}

export interface ImportResult {
  id: string
  /** The id in the bundle. */
  originalId: string
  /** True when the bundle's id was taken and a new one was given. */
  renamed: boolean
  dir: string
  files: number
  /** True when the recorded base model folder exists here (needed for eval, predict and the HF export). */
  baseModelFound: boolean
  modelDir: string | null
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

function parseJsonEntry(file: string, name: string, data: Uint8Array): unknown {
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(data)
  } catch {
    throw new BundleError(`${file}: entry "${name}" is not valid UTF-8 text`, file, name)
  }
  try {
    return parseJsonStrict(text, `${file}: entry "${name}"`)
  } catch (e) {
    throw new BundleError((e as Error).message, file, name)
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/** The largest JSON entry read into memory to be parsed (config, summary, results, statistics …). */
const MAX_JSON_ENTRY_BYTES = 256 * 1024 ** 2
/** The largest bundle.json read. */
const MAX_MANIFEST_BYTES = 16 * 1024 ** 2

/** Write one piece-wise stream to a new file (inside the import's temp folder), fsynced. */
function streamToFile(path: string, fill: (write: (piece: Uint8Array) => void) => void): void {
  const fd = openSync(path, 'wx', 0o644)
  try {
    fill((piece) => {
      let off = 0
      while (off < piece.byteLength) off += writeSync(fd, piece, off, piece.byteLength - off)
    })
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/**
 * Import a run bundle into `store`. Every check runs before the run appears: the archive's directory and
 * bundle.json first (names, sizes, nothing inflated), then each entry is inflated as a stream — capped
 * at the size bundle.json declares for it and at the limits, refused at the first byte over — into a
 * temp folder, hashed on the way; the run folder then appears atomically. A bundle whose id exists
 * already is imported under `<id>-imported-<hex>` (or `opts.as`), never over the existing run.
 */
export function importRunBundle(store: RunStore, bundlePath: string, opts: ImportOptions = {}): ImportResult {
  const file = resolveExportPath(bundlePath)
  const { as: _as, ...limits } = opts
  let zip: ZipReader
  try {
    zip = ZipReader.open(file, limits)
  } catch (e) {
    if (e instanceof ZipError) throw new BundleError(e.message, file, e.entry)
    throw e
  }
  try {
    return importFrom(store, file, zip, opts)
  } catch (e) {
    if (e instanceof ZipError) throw new BundleError(e.message, file, e.entry)
    throw e
  } finally {
    zip.close()
  }
}

function importFrom(store: RunStore, file: string, zip: ZipReader, opts: ImportOptions): ImportResult {
  if (!zip.get(MANIFEST)) throw new BundleError(`${file}: no ${MANIFEST} in the archive: not an IRD Studio run bundle`, file)
  const m = parseJsonEntry(file, MANIFEST, zip.read(MANIFEST, { bytes: MAX_MANIFEST_BYTES, by: `a ${MANIFEST} may hold` }))
  if (!isObject(m) || m.format !== BUNDLE_FORMAT) throw new BundleError(`${file}: ${MANIFEST} "format" must be "${BUNDLE_FORMAT}"`, file, MANIFEST)
  if (typeof m.version !== 'number' || m.version > BUNDLE_VERSION) {
    throw new BundleError(`${file}: bundle version ${JSON.stringify(m.version)} is newer than this IRD Studio reads (${BUNDLE_VERSION}); update IRD Studio`, file, MANIFEST)
  }
  if (typeof m.run !== 'string' || !ID_RE.test(m.run) || m.run.includes('..')) {
    throw new BundleError(`${file}: ${MANIFEST} "run" is ${JSON.stringify(m.run)}, not a valid run id (letters, digits, '.', '_', '-')`, file, MANIFEST)
  }
  if (!isObject(m.files)) throw new BundleError(`${file}: ${MANIFEST} "files" must be an object {name: {bytes, sha256}}`, file, MANIFEST)
  const listed = m.files
  // Every entry is listed, every listed file is present with the size the archive's directory declares —
  // all before a byte of run data is inflated.
  for (const { name } of zip.entries) {
    if (name === MANIFEST) continue
    if (!name.startsWith(PREFIX)) throw new BundleError(`${file}: entry "${name}" lies outside run/ (a bundle holds bundle.json and run/…)`, file, name)
    if (!Object.prototype.hasOwnProperty.call(listed, name.slice(PREFIX.length))) throw new BundleError(`${file}: entry "${name}" is not listed in ${MANIFEST}`, file, name)
  }
  const files: Array<{ rel: string; bytes: number; sha256: string }> = []
  for (const [rel, info] of Object.entries(listed)) {
    const why = unsafeRelativeName(rel)
    if (why) throw new BundleError(`${file}: ${MANIFEST} lists ${JSON.stringify(rel)}: ${why}`, file, MANIFEST)
    const entry = zip.get(PREFIX + rel)
    if (!entry) throw new BundleError(`${file}: ${MANIFEST} lists "${rel}", which the archive lacks`, file, PREFIX + rel)
    if (!isObject(info) || typeof info.sha256 !== 'string' || typeof info.bytes !== 'number' || !Number.isSafeInteger(info.bytes) || info.bytes < 0) {
      throw new BundleError(`${file}: ${MANIFEST} entry "${rel}" must be {bytes, sha256}`, file, MANIFEST)
    }
    if (entry.size !== info.bytes) {
      throw new BundleError(
        `${file}: entry "${PREFIX}${rel}" does not match the size/SHA-256 in ${MANIFEST} (the archive declares ${entry.size} bytes, ${MANIFEST} ${info.bytes}): the bundle is damaged; nothing was unpacked`,
        file,
        PREFIX + rel
      )
    }
    files.push({ rel, bytes: info.bytes, sha256: info.sha256 })
  }
  const cap = (rel: string) => ({ bytes: (listed[rel] as { bytes: number }).bytes, by: `${MANIFEST} declares for it` })
  const mismatch = (rel: string, n: number) =>
    new BundleError(`${file}: entry "${PREFIX}${rel}" does not match the size/SHA-256 in ${MANIFEST} (${n} bytes): the bundle is damaged`, file, PREFIX + rel)
  // JSON entries are read into memory (bounded), checked against their hash and parsed.
  const json = new Map<string, { bytes: Uint8Array; value: unknown }>()
  for (const f of files) {
    if (!f.rel.endsWith('.json')) continue
    if (f.bytes > MAX_JSON_ENTRY_BYTES) throw new BundleError(`${file}: entry "${PREFIX}${f.rel}" is a ${f.bytes}-byte JSON file, more than the ${MAX_JSON_ENTRY_BYTES} bytes read`, file, PREFIX + f.rel)
    const bytes = zip.read(PREFIX + f.rel, cap(f.rel))
    if (bytes.byteLength !== f.bytes || sha256(bytes) !== f.sha256) throw mismatch(f.rel, bytes.byteLength)
    json.set(f.rel, { bytes, value: parseJsonEntry(file, PREFIX + f.rel, bytes) })
  }
  for (const need of ['config.json', 'summary.json', 'status.json']) {
    if (!json.has(need)) throw new BundleError(`${file}: the run lacks ${need}; a run bundle holds at least config.json, summary.json and status.json`, file, PREFIX + need)
  }
  const config = json.get('config.json')!.value
  const summary = json.get('summary.json')!.value
  const status = json.get('status.json')!.value
  if (!isObject(config) || !isObject(summary) || !isObject(status)) throw new BundleError(`${file}: config.json, summary.json and status.json must each hold a JSON object`, file)
  if (typeof summary.task !== 'string' || typeof summary.method !== 'string' || typeof summary.startedAt !== 'string') {
    throw new BundleError(`${file}: run/summary.json lacks "task", "method" or "startedAt"`, file, `${PREFIX}summary.json`)
  }
  const st = (status as unknown as StatusFile).status
  if (!['completed', 'cancelled', 'failed'].includes(st)) {
    throw new BundleError(`${file}: run/status.json says ${JSON.stringify(st)}; only finished runs (completed, cancelled, failed) can be imported`, file, `${PREFIX}status.json`)
  }

  // The id: the bundle's, the caller's, or a fresh one on collision.
  const originalId = m.run
  let id = opts.as ?? originalId
  try {
    store.dir(id)
  } catch (e) {
    throw new BundleError(`${file}: cannot import as "${id}": ${(e as RunStoreError).message}`, file)
  }
  let renamed = false
  if (lexists(store.dir(id))) {
    if (opts.as !== undefined) throw new BundleError(`${file}: a run "${id}" already exists in ${store.root}; choose another id`, file)
    do id = `${originalId.slice(0, 100)}-imported-${randomBytes(3).toString('hex')}`
    while (lexists(store.dir(id)))
    renamed = true
  }
  const newSummary: RunSummary = { ...(summary as unknown as RunSummary), id }

  mkdirSync(store.root, { recursive: true })
  writeFolderAtomicSync(store.dir(id), (tmp) => {
    for (const f of files) {
      const target = join(tmp, ...f.rel.split('/'))
      const parent = join(tmp, ...f.rel.split('/').slice(0, -1))
      if (!existsSync(parent)) mkdirSync(parent, { recursive: true })
      const j = json.get(f.rel)
      if (f.rel === 'summary.json') writeFileAtomic(target, JSON.stringify(newSummary, null, 2) + '\n')
      else if (j) writeFileAtomic(target, j.bytes)
      else {
        const hash = createHash('sha256')
        let n = 0
        streamToFile(target, (write) =>
          zip.extract(
            PREFIX + f.rel,
            (piece) => {
              hash.update(piece)
              n += piece.byteLength
              write(piece)
            },
            cap(f.rel)
          )
        )
        if (n !== f.bytes || hash.digest('hex') !== f.sha256) throw mismatch(f.rel, n)
      }
    }
    // Safetensors are checked where they will live (the reader takes files): a bad one aborts the import.
    for (const { rel } of files) {
      if (!rel.endsWith('.safetensors')) continue
      try {
        readSafetensors(join(tmp, ...rel.split('/')))
      } catch (e) {
        throw new BundleError(`${file}: entry "${PREFIX}${rel}" is not a valid safetensors file: ${(e as Error).message.replace(tmp, `<${id}>`)}`, file, PREFIX + rel)
      }
    }
  })
  const modelDir = typeof config.modelDir === 'string' ? config.modelDir : null
  return { id, originalId, renamed, dir: store.dir(id), files: files.length, baseModelFound: modelDir !== null && existsSync(modelDir), modelDir }
}

/** Whether anything — a file, a folder, a link (even a dangling one) — has this name. */
function lexists(path: string): boolean {
  try {
    lstatSync(path)
    return true
  } catch {
    return false
  }
}

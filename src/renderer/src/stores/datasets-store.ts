/**
 * Datasets: the registry (datasets:list), importing a file (by path, or its content from drag and drop /
 * the file picker), and for the selected dataset the workflow preview → column mapping → check (the whole
 * file's validation report, optionally dropping bad rows) → statistics, with its reading options saved.
 *
 * Owns: the workflow's state, and the rule that a stale answer never overwrites a newer one (every request
 * about the selected dataset takes a sequence number; selecting another dataset or changing the options
 * makes older answers stale). Must not: parse files itself (the engine does) or touch window.api.
 */
import { defineStore } from 'pinia'
import { computed, ref, shallowRef } from 'vue'
import { call, pathForFile } from '../client'
import type { ColumnMapping, DataSource, DatasetEntry, DatasetOptions, DatasetPreview, DatasetReport, DatasetStatistics, Split, TaskName } from '../domain'

/** Largest file read into the page for drag and drop (the contract's MAX_UPLOAD_CHARS; bigger: type the path). */
export const MAX_UPLOAD_BYTES = 32 * 1024 * 1024

export const useDatasetsStore = defineStore('datasets', () => {
  const list = ref<DatasetEntry[]>([])
  const listError = shallowRef<unknown>(null)
  const listLoaded = ref(false)

  const importing = ref(false)
  const importError = shallowRef<unknown>(null)

  const selectedId = ref<string | null>(null)
  const selected = computed(() => list.value.find((d) => d.id === selectedId.value) ?? null)

  // The selected dataset's reading options being edited.
  const task = ref<TaskName | ''>('')
  const split = ref<Split>('train')
  const mapping = ref<ColumnMapping | null>(null)
  const dropBadRows = ref(false)
  const dropDuplicates = ref(false)
  /** A training set to measure train/dev overlap against (dev/test splits). */
  const pairWithId = ref<string>('')
  /** A model whose tokenizer counts lengths in the statistics. */
  const modelDir = ref<string>('')

  const preview = shallowRef<DatasetPreview | null>(null)
  const previewError = shallowRef<unknown>(null)
  const previewing = ref(false)
  const report = shallowRef<DatasetReport | null>(null)
  const stats = shallowRef<DatasetStatistics | null>(null)
  const checkError = shallowRef<unknown>(null)
  const statsError = shallowRef<unknown>(null)
  const checking = ref(false)

  const trainSets = computed(() => list.value.filter((d) => d.options.split !== 'dev' && d.options.split !== 'test' && d.id !== selectedId.value))

  let seq = 0

  function options(): DatasetOptions {
    const o: DatasetOptions = { split: split.value }
    if (task.value) o.task = task.value
    if (mapping.value) o.mapping = { ...mapping.value }
    if (dropBadRows.value) o.dropBadRows = true
    if (dropDuplicates.value) o.dropDuplicates = true
    return o
  }

  async function refresh(): Promise<void> {
    try {
      list.value = await call('datasets:list')
      listError.value = null
    } catch (e) {
      listError.value = e
    } finally {
      listLoaded.value = true
    }
  }

  function clearResults(): void {
    seq++
    preview.value = null
    previewError.value = null
    report.value = null
    stats.value = null
    checkError.value = null
    statsError.value = null
    previewing.value = false
    checking.value = false
  }

  /** Shows a dataset: its saved options go into the editor, then preview (and the saved report's check). */
  async function select(id: string | null): Promise<void> {
    clearResults()
    selectedId.value = id
    const d = selected.value
    if (!d) return
    task.value = d.options.task ?? d.detectedTask?.task ?? ''
    split.value = d.options.split ?? d.detectedTask?.split ?? 'train'
    mapping.value = d.options.mapping ? { ...d.options.mapping } : null
    dropBadRows.value = d.options.dropBadRows ?? false
    dropDuplicates.value = d.options.dropDuplicates ?? false
    await runPreview()
    if (d.lastReport) await check({ save: false })
  }

  async function runPreview(): Promise<void> {
    const id = selectedId.value
    if (!id) return
    const mine = ++seq
    previewing.value = true
    previewError.value = null
    try {
      const p = await call('datasets:preview', { ref: { id }, rows: 20, options: options() })
      if (mine !== seq) return
      preview.value = p
      if (!mapping.value && p.guessedMapping) mapping.value = { ...p.guessedMapping }
      if (!task.value && p.detectedTask && p.detectedTask.confidence >= 0.75) {
        task.value = p.detectedTask.task
        if (p.detectedTask.split) split.value = p.detectedTask.split
      }
    } catch (e) {
      if (mine !== seq) return
      preview.value = null
      previewError.value = e
    } finally {
      if (mine === seq) previewing.value = false
    }
  }

  /** Registers a file and selects it. */
  async function importSource(source: DataSource): Promise<DatasetEntry | null> {
    importing.value = true
    importError.value = null
    try {
      const entry = await call('datasets:import', { source })
      list.value = [entry, ...list.value.filter((d) => d.id !== entry.id)]
      await select(entry.id)
      return entry
    } catch (e) {
      importError.value = e
      return null
    } finally {
      importing.value = false
    }
  }

  async function importPath(path: string): Promise<DatasetEntry | null> {
    const p = path.trim()
    if (!p) {
      importError.value = new Error('type the path of a TSV, CSV or JSON Lines file on the machine that runs the engine')
      return null
    }
    return importSource({ path: p })
  }

  /**
   * A dropped or picked file. Inside Electron it has a path on disk: imported by path (no size limit, no
   * copy). In a browser it is read in the page and uploaded as text (up to MAX_UPLOAD_BYTES).
   */
  async function importFile(file: File): Promise<DatasetEntry | null> {
    importError.value = null
    const onDisk = pathForFile(file)
    if (onDisk) return importSource({ path: onDisk })
    if (file.size > MAX_UPLOAD_BYTES) {
      importError.value = new Error(`${file.name} is ${Math.round(file.size / 2 ** 20)} MiB; files over ${MAX_UPLOAD_BYTES / 2 ** 20} MiB cannot be uploaded from the page: type its path instead`)
      return null
    }
    let content: string
    try {
      content = await file.text()
    } catch (e) {
      importError.value = new Error(`could not read ${file.name} in the page: ${(e as Error).message}`)
      return null
    }
    return importSource({ name: file.name, content })
  }

  /**
   * Checks the whole file with the current options (validation report), then its statistics when usable;
   * `save` stores the options with the dataset first, so runs read it the same way.
   */
  async function check(opts: { save?: boolean } = {}): Promise<DatasetReport | null> {
    const id = selectedId.value
    if (!id) return null
    const mine = ++seq
    checking.value = true
    checkError.value = null
    statsError.value = null
    const o = options()
    const against = (split.value === 'dev' || split.value === 'test') && pairWithId.value ? { ref: { id: pairWithId.value } } : undefined
    try {
      if (opts.save !== false) {
        const entry = await call('datasets:update', { id, options: o })
        list.value = list.value.map((d) => (d.id === id ? entry : d))
      }
      const r = await call('datasets:validate', { ref: { id }, options: o, against })
      if (mine !== seq) return null
      report.value = r
      stats.value = null
      if (r.usable) {
        try {
          const s = await call('datasets:stats', { ref: { id }, options: o, dev: against ? { ref: against.ref } : undefined, modelDir: modelDir.value || undefined })
          if (mine === seq) stats.value = s
        } catch (e) {
          if (mine === seq) statsError.value = e
        }
      }
      // The registry's lastReport changed: fetch it so the list shows the new verdict.
      void refresh()
      return r
    } catch (e) {
      if (mine === seq) checkError.value = e
      return null
    } finally {
      if (mine === seq) checking.value = false
    }
  }

  async function remove(id: string): Promise<void> {
    try {
      await call('datasets:remove', { id })
      list.value = list.value.filter((d) => d.id !== id)
      if (selectedId.value === id) await select(null)
    } catch (e) {
      listError.value = e
    }
  }

  /** A changed option makes the current report stale: preview again and drop the old report. */
  function optionsChanged(): void {
    report.value = null
    stats.value = null
    void runPreview()
  }

  return {
    list, listError, listLoaded, importing, importError, selectedId, selected,
    task, split, mapping, dropBadRows, dropDuplicates, pairWithId, modelDir,
    preview, previewError, previewing, report, stats, checkError, statsError, checking, trainSets,
    options, refresh, select, runPreview, importSource, importPath, importFile, check, remove, optionsChanged
  }
})

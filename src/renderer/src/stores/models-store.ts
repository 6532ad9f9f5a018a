/**
 * Models: the embedded demo model (when this build has it) and the Hugging Face folders the user added,
 * each with the engine's summary (layers, hidden, parameters, vocabulary) and what is wrong with it.
 * Must not: read folders itself or touch window.api.
 */
import { defineStore } from 'pinia'
import { computed, ref, shallowRef } from 'vue'
import { call } from '../client'
import type { ModelEntry, ModelInfo } from '../domain'

export const useModelsStore = defineStore('models', () => {
  const list = ref<ModelEntry[]>([])
  const listError = shallowRef<unknown>(null)
  const listLoaded = ref(false)
  const adding = ref(false)
  const addError = shallowRef<unknown>(null)
  /** The folder just inspected, before or after adding it. */
  const inspected = shallowRef<ModelInfo | null>(null)
  const lastAdded = ref<string | null>(null)

  const demo = computed(() => list.value.find((m) => m.kind === 'demo') ?? null)
  /** The demo model first, then the user's in the order added. */
  const sorted = computed(() => [...list.value].sort((a, b) => Number(b.kind === 'demo') - Number(a.kind === 'demo')))
  const usable = computed(() => sorted.value.filter((m) => m.info?.usable))

  async function refresh(): Promise<void> {
    try {
      list.value = await call('models:list')
      listError.value = null
    } catch (e) {
      listError.value = e
    } finally {
      listLoaded.value = true
    }
  }

  /** Inspects a folder and, when a run could use it, adds it. */
  async function add(path: string): Promise<ModelEntry | null> {
    const p = path.trim()
    addError.value = null
    inspected.value = null
    if (!p) {
      addError.value = new Error('type the path of a Hugging Face model folder (config.json, vocab.txt and model.safetensors or pytorch_model.bin)')
      return null
    }
    adding.value = true
    try {
      const info = await call('models:inspect', { path: p })
      inspected.value = info
      if (!info.usable) {
        addError.value = new Error(`${p} cannot be used for training: ${info.problems.join('; ') || 'the engine gave no reason'}`)
        return null
      }
      const entry = await call('models:add', { path: p })
      list.value = [...list.value.filter((m) => m.id !== entry.id), entry]
      lastAdded.value = entry.id
      return entry
    } catch (e) {
      addError.value = e
      return null
    } finally {
      adding.value = false
    }
  }

  async function remove(id: string): Promise<void> {
    try {
      await call('models:remove', { id })
      list.value = list.value.filter((m) => m.id !== id)
    } catch (e) {
      listError.value = e
    }
  }

  function byPath(path: string): ModelEntry | undefined {
    return list.value.find((m) => m.path === path)
  }

  return { list, listError, listLoaded, adding, addError, inspected, lastAdded, demo, sorted, usable, refresh, add, remove, byPath }
})

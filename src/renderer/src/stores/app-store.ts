/**
 * What this shell is and can do (app:info): Electron or browser mode, native file dialogs or not, the
 * upload limit, the demo model and data folders. Fetched once; views ask it before offering a dialog.
 * Must not: touch window.api.
 */
import { defineStore } from 'pinia'
import { ref, shallowRef } from 'vue'
import { call } from '../client'
import type { AppInfo } from '../../../shared/contract'

export const useAppStore = defineStore('app', () => {
  const info = shallowRef<AppInfo | null>(null)
  const error = shallowRef<unknown>(null)
  const loaded = ref(false)
  let pendingLoad: Promise<void> | null = null

  function load(): Promise<void> {
    pendingLoad ??= (async () => {
      try {
        info.value = await call('app:info')
        error.value = null
      } catch (e) {
        error.value = e
      } finally {
        loaded.value = true
      }
    })()
    return pendingLoad
  }

  return { info, error, loaded, load }
})

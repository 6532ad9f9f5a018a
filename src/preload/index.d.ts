/** Declares the preload's `window.api` for the renderer (src/renderer/src/api.ts is its only user). */
import type { WindowApi } from '../shared/contract'

declare global {
  interface Window {
    api: WindowApi
  }
}

export {}

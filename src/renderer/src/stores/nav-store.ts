/**
 * Which screen shows, kept in the URL hash (#/datasets, #/runs/<id>, …) so that a reload, the back button
 * and a bookmarked link all come back to the same screen. Owns: parsing and writing the hash.
 * Must not: load data (each view's store does, when the view opens).
 */
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'

export const SCREENS = ['datasets', 'models', 'new-run', 'monitor', 'runs', 'engine'] as const
export type Screen = (typeof SCREENS)[number]

export const SCREEN_LABELS: Record<Screen, string> = {
  datasets: 'Datasets',
  models: 'Models',
  'new-run': 'New run',
  monitor: 'Run monitor',
  runs: 'Runs & comparison',
  engine: 'Engine'
}

export interface Route {
  screen: Screen
  /** The screen's subject: a run id for the monitor. */
  id?: string
}

export function parseHash(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent)
  const screen = (SCREENS as readonly string[]).includes(parts[0] ?? '') ? (parts[0] as Screen) : 'datasets'
  return parts[1] ? { screen, id: parts[1] } : { screen }
}

export function formatHash(r: Route): string {
  return `#/${r.screen}${r.id ? `/${encodeURIComponent(r.id)}` : ''}`
}

/** The bits of the browser this store uses; absent under Node (store tests), where the hash is not kept. */
interface BrowserBits {
  location?: { hash: string }
  history?: { pushState(data: unknown, unused: string, url: string): void }
  addEventListener?(type: string, listener: () => void): void
  removeEventListener?(type: string, listener: () => void): void
}
const browser = globalThis as unknown as BrowserBits

export const useNavStore = defineStore('nav', () => {
  const route = ref<Route>(browser.location ? parseHash(browser.location.hash) : { screen: 'datasets' })
  const screen = computed(() => route.value.screen)

  function go(screen: Screen, id?: string): void {
    route.value = id ? { screen, id } : { screen }
    const hash = formatHash(route.value)
    if (browser.location && browser.history && browser.location.hash !== hash) browser.history.pushState(null, '', hash)
  }

  function syncFromLocation(): void {
    if (browser.location) route.value = parseHash(browser.location.hash)
  }

  let listening = false
  function listen(): () => void {
    if (listening || !browser.addEventListener || !browser.removeEventListener) return () => {}
    const { addEventListener: add, removeEventListener: remove } = browser
    listening = true
    add.call(globalThis, 'popstate', syncFromLocation)
    add.call(globalThis, 'hashchange', syncFromLocation)
    return () => {
      listening = false
      remove.call(globalThis, 'popstate', syncFromLocation)
      remove.call(globalThis, 'hashchange', syncFromLocation)
    }
  }

  return { route, screen, go, listen }
})

/** The preload's window.api against a mocked electron: one method per call, events without IPC internals. */
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { CALL_NAMES, type WindowApi } from '../../src/shared/contract'

const electron = vi.hoisted(() => {
  const listeners = new Map<string, Set<(...args: unknown[]) => void>>()
  return {
    listeners,
    exposed: {} as Record<string, unknown>,
    contextBridge: { exposeInMainWorld: (key: string, value: unknown) => void (electron.exposed[key] = value) },
    ipcRenderer: {
      invoke: vi.fn(async (channel: string, params: unknown) => ({ ok: true, value: { channel, params } })),
      on: (channel: string, l: (...args: unknown[]) => void) => {
        if (!listeners.has(channel)) listeners.set(channel, new Set())
        listeners.get(channel)!.add(l)
      },
      removeListener: (channel: string, l: (...args: unknown[]) => void) => listeners.get(channel)?.delete(l)
    },
    webUtils: { getPathForFile: vi.fn((file: { name: string }) => `/dropped/${file.name}`) }
  }
})
vi.mock('electron', () => ({ contextBridge: electron.contextBridge, ipcRenderer: electron.ipcRenderer, webUtils: electron.webUtils }))

let api: WindowApi
beforeAll(async () => {
  await import('../../src/preload/index')
  api = electron.exposed.api as WindowApi
})

describe('preload window.api', () => {
  it('exposes the api and the file-path helper, nothing else', () => {
    expect(Object.keys(electron.exposed)).toEqual(['api', 'electronFiles'])
    const files = electron.exposed.electronFiles as { pathForFile(f: unknown): string }
    expect(Object.keys(files)).toEqual(['pathForFile'])
    expect(files.pathForFile({ name: 'train.tsv' })).toBe('/dropped/train.tsv')
    expect(electron.webUtils.getPathForFile).toHaveBeenCalledWith({ name: 'train.tsv' })
  })

  it('has a method for every contract call, invoking the call by name', async () => {
    for (const method of CALL_NAMES) {
      const [domain, verb] = method.split(':')
      const fn = (api as unknown as Record<string, Record<string, (p?: unknown) => Promise<unknown>>>)[domain][verb]
      expect(typeof fn, method).toBe('function')
      await fn({ probe: method })
    }
    const channels = electron.ipcRenderer.invoke.mock.calls.map((c) => c[0])
    expect([...channels].sort()).toEqual([...CALL_NAMES].sort())
    await api.engine.setBackend({ backend: 'cpu' })
    expect(electron.ipcRenderer.invoke).toHaveBeenCalledWith('engine:setBackend', { backend: 'cpu' })
    await api.runs.stop({ runId: 'r1' })
    expect(electron.ipcRenderer.invoke).toHaveBeenLastCalledWith('runs:stop', { runId: 'r1' })
  })

  it('delivers only the payload to listeners and unsubscribes', () => {
    const got: unknown[] = []
    const off = api.on('engine:status', (p) => got.push(p))
    const [relay] = electron.listeners.get('engine:status')!
    relay({ sender: 'ipc internals' }, { state: 'ready' })
    expect(got).toEqual([{ state: 'ready' }])
    off()
    expect(electron.listeners.get('engine:status')!.size).toBe(0)
  })

  it('rejects unknown events', () => {
    expect(() => api.on('engine:nope' as 'engine:log', () => undefined)).toThrow(/unknown event/)
  })
})

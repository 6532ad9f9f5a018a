/**
 * Training never depends on a window (src/main/index.ts with a fake electron and the real engine): closing
 * the last window while a run is live keeps the app and the run going; launching the app again opens a
 * window that gets the live run's snapshot and then its events; once the run ends with no window open,
 * the app quits (stopping the engine gracefully).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { defaultRunConfig, type Result, type RunConfig, type RunSnapshot } from '../../src/shared/contract'
import { GLUE_DIR } from '../helpers/shared-data'
import { createFakeElectron } from './fake-electron'
import { writeTinyModel } from '../helpers/tiny-model'

const fake = vi.hoisted(() => ({ current: undefined as unknown as ReturnType<typeof createFakeElectron> }))
vi.mock('electron', async () => {
  const { createFakeElectron } = await import('./fake-electron')
  fake.current = createFakeElectron()
  return fake.current.electron
})
vi.mock('../../resources/icon.png?asset', () => ({ default: '/fake/resources/icon.png' }))

const tmp = mkdtempSync(join(tmpdir(), 'ird-window-'))
const model = join(tmp, 'model')
let f: ReturnType<typeof createFakeElectron>
let appUrl: string

async function call<T>(channel: string, params?: unknown): Promise<T> {
  const r = (await f.handlers.get(channel)!({ senderFrame: { url: appUrl } }, params)) as Result<T>
  if (!r.ok) throw new Error(`${channel}: ${r.error.message}`)
  return r.value
}

/** Resolves when `webContents` has been sent `channel` with a payload that passes `where`. */
function sentTo(index: number, channel: string, where: (p: Record<string, unknown>) => boolean, timeoutMs = 60_000): Promise<Record<string, unknown>> {
  const start = Date.now()
  return new Promise((resolve, reject) => {
    const poll = setInterval(() => {
      const hit = f.windows[index]?.webContents.sent.find(([c, p]) => c === channel && where(p as Record<string, unknown>))
      if (hit) {
        clearInterval(poll)
        resolve(hit[1] as Record<string, unknown>)
      } else if (Date.now() - start > timeoutMs) {
        clearInterval(poll)
        reject(new Error(`window ${index} got no ${channel} within ${timeoutMs} ms`))
      }
    }, 20)
  })
}

function longRun(): RunConfig {
  return { ...defaultRunConfig('sst2'), modelDir: model, trainFile: join(GLUE_DIR, 'SST-2', 'train.tsv'), method: 'random', maxTrainExamples: 2000, epochs: 50, keepRatio: 0.01 }
}

beforeAll(async () => {
  vi.spyOn(console, 'log').mockImplementation(() => undefined)
  vi.spyOn(console, 'warn').mockImplementation(() => undefined)
  writeTinyModel(model, { vocabDir: join(tmp, 'vocab') })
  await import('../../src/main/index')
  f = fake.current
  await new Promise((resolve) => setTimeout(resolve, 0))
  appUrl = pathToFileURL(f.windows[0].loaded!).href
})
afterAll(() => {
  vi.restoreAllMocks()
  rmSync(tmp, { recursive: true, force: true })
})

describe('runs outlive their window', () => {
  it('keeps a run going when the last window closes, and shows it live in a window opened later', async () => {
    const { runId } = await call<{ runId: string }>('runs:start', { config: longRun() })
    await sentTo(0, 'run:progress', (p) => p.runId === runId && p.phase === 'train')
    f.windows[0].close()
    expect(f.windows).toHaveLength(0)
    expect(f.calls.some((c) => c[0] === 'quit')).toBe(false)

    // launching the app again (second instance) opens a window on the same main process
    f.electron.app.emit('second-instance')
    expect(f.windows).toHaveLength(1)
    const snapshot = await call<RunSnapshot>('runs:get', { runId })
    expect(snapshot.summary).toMatchObject({ id: runId, live: true, status: 'running' })
    expect(snapshot.summary.progress?.phase).toBe('train')
    const later = await sentTo(0, 'run:progress', (p) => p.runId === runId && (p.done as number) > (snapshot.summary.progress?.done ?? 0))
    expect(later.runId).toBe(runId)

    expect(await call('runs:stop', { runId })).toEqual({ stopping: true })
    expect(await sentTo(0, 'run:finished', (p) => p.runId === runId)).toMatchObject({ status: 'cancelled' })
    expect(f.calls.some((c) => c[0] === 'quit')).toBe(false) // a window is open again
  })

  it('quits once the run ends when no window is open', async () => {
    const { runId } = await call<{ runId: string }>('runs:start', { config: longRun() })
    await sentTo(0, 'run:progress', (p) => p.runId === runId && p.phase === 'train')
    f.windows[0].close()
    expect(f.calls.some((c) => c[0] === 'quit')).toBe(false)
    const quit = new Promise((resolve) => f.electron.app.once('test:quit-done', resolve))
    await call('runs:stop', { runId })
    await quit
    expect(f.calls.filter((c) => c[0] === 'quit')).toEqual([
      ['quit', 'deferred'],
      ['quit', 'done']
    ])
  })
})

/**
 * Crash recovery with the real engine process: a SIGKILLed engine marks the live run failed with the
 * reason (the app keeps working), the next runs:start starts a fresh engine, and runs:stop cancels a run
 * at a batch boundary.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestHost } from './helpers'

const t = createTestHost('ird-crash-')
const { engine, call, failure, nextEvent, quickConfig } = t
beforeAll(() => t.start())
afterAll(() => t.stop())

describe('engine crash during a run', () => {
  it('marks a run failed with the reason when the engine dies, and starts the next run on a fresh engine', async () => {
    const { runId } = await call('runs:start', { config: quickConfig({ method: 'random', maxTrainExamples: 2000, epochs: 50 }) })
    await nextEvent('run:progress', (p) => p.runId === runId && p.phase === 'train')
    const failed = nextEvent('run:finished', (p) => p.runId === runId)
    process.kill(engine.pid!, 'SIGKILL')
    const end = await failed
    expect(end.status).toBe('failed')
    expect(end.reason).toContain('SIGKILL')
    const listed = (await call('runs:list')).find((r) => r.id === runId)
    expect(listed).toMatchObject({ status: 'failed', live: false })
    expect(listed?.reason).toContain('engine process ended')

    // the app keeps working: another run starts (the host restarts the engine) and stops on request
    const { runId: next } = await call('runs:start', { config: quickConfig({ method: 'random', maxTrainExamples: 2000, epochs: 50 }) })
    await nextEvent('run:progress', (p) => p.runId === next && p.phase === 'train')
    const cancelled = nextEvent('run:finished', (p) => p.runId === next)
    expect(await call('runs:stop', { runId: next })).toEqual({ stopping: true })
    expect(await cancelled).toMatchObject({ status: 'cancelled' })
    expect(await call('runs:stop', { runId: next })).toEqual({ stopping: false })

    // the killed run continues from its last checkpoint, live again under its own id
    const resumed = nextEvent('run:started', (p) => p.id === runId)
    expect(await call('runs:resume', { runId })).toEqual({ runId })
    await resumed
    expect((await call('runs:list')).find((r) => r.id === runId)).toMatchObject({ live: true, status: 'running' })
    await nextEvent('run:progress', (p) => p.runId === runId && p.phase === 'train')
    const stopped = nextEvent('run:finished', (p) => p.runId === runId)
    await call('runs:stop', { runId })
    expect(await stopped).toMatchObject({ status: 'cancelled' })
    const snap = await call('runs:get', { runId })
    expect(snap.events.some((e) => e.phase === 'resume')).toBe(true)
    expect(await failure('runs:resume', { runId: 'no-such-run' })).toMatchObject({ code: 'NOT_FOUND' })
  })})

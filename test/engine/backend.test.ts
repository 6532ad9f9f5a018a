import * as tf from '@tensorflow/tfjs'
import { describe, expect, it } from 'vitest'
import { describeBackend, initBackend } from '../../src/engine/backend'

describe('backend selection', () => {
  it('picks the fastest working backend and says why faster ones were skipped', async () => {
    const info = await initBackend({ force: 'auto' })
    expect(['tensorflow-gpu', 'tensorflow', 'wasm']).toContain(info.name)
    expect(tf.getBackend()).toBe(info.tfBackend)
    const order = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']
    // every backend before the chosen one is listed with a reason
    expect(info.skipped.map((s) => s.name)).toEqual(order.slice(0, order.indexOf(info.name)))
    for (const s of info.skipped) expect(s.reason.length).toBeGreaterThan(10)
    if (info.name === 'wasm') expect(info.details.wasmSimd).toBe(true)
    expect(describeBackend(info)).toContain(info.name)
  })
  it('can be forced, and a forced backend that cannot run is an error, not a silent fallback', async () => {
    const cpu = await initBackend({ force: 'cpu' })
    expect(cpu.name).toBe('cpu')
    expect(cpu.forced).toBe(true)
    expect(tf.getBackend()).toBe('cpu')
    let nodeInstalled = true
    try {
      await import(/* @vite-ignore */ '@tensorflow/tfjs-node' as string)
    } catch {
      nodeInstalled = false
    }
    if (!nodeInstalled) await expect(initBackend({ force: 'tensorflow' })).rejects.toThrow(/tfjs-node is not installed/)
    await expect(initBackend({ force: 'quantum' as never })).rejects.toThrow(/unknown backend "quantum"/)
  })
})

import * as tf from '@tensorflow/tfjs'
import { describe, expect, it } from 'vitest'
import { describeAdapterInfo, describeBackend, initBackend } from '../../src/engine/backend'
import { BACKEND_NAMES } from '../../src/shared/contract'

describe('backend selection', () => {
  it('picks the fastest working backend and says why faster ones were skipped', async () => {
    const info = await initBackend({ force: 'auto' })
    expect(['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm']).toContain(info.name)
    expect(tf.getBackend()).toBe(info.tfBackend)
    const order: string[] = [...BACKEND_NAMES]
    expect(order).toEqual(['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'])
    // auto never runs on a software rasteriser; passing over one says so
    if (info.name === 'webgpu') expect(info.adapter!.software).toBe(false)
    const wg = info.skipped.find((s) => s.name === 'webgpu')
    if (wg && info.adapter?.software) expect(wg.reason).toMatch(/software rasteriser .*used only when forced/)
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
  it('tells software adapters (lavapipe, SwiftShader, WARP, fallback) from hardware ones', () => {
    const limits = { maxBufferSize: 2 ** 32 - 1, maxStorageBufferBindingSize: 2 ** 27 }
    const sw = (info: Record<string, unknown>, extra: object = {}) => describeAdapterInfo({ info, limits, ...extra }).software
    expect(sw({ vendor: 'mesa', architecture: 'software', device: 'llvmpipe-llvm-15', description: 'llvmpipe: Mesa 25.0.7' })).toBe(true)
    expect(sw({ vendor: 'google', architecture: '', device: '', description: 'SwiftShader Device (Subzero)' })).toBe(true)
    expect(sw({ vendor: 'microsoft', architecture: '', device: '', description: 'Microsoft Basic Render Driver' })).toBe(true)
    expect(sw({ vendor: 'x', architecture: 'y', device: 'z', description: 'w', isFallbackAdapter: true })).toBe(true)
    expect(sw({ vendor: 'x', architecture: 'y', device: 'z', description: 'w' }, { isFallbackAdapter: true })).toBe(true)
    expect(sw({ vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H100 80GB HBM3' })).toBe(false)
    expect(sw({ vendor: 'amd', architecture: 'rdna-3', device: '', description: 'AMD Radeon RX 7900 XTX (RADV NAVI31)' })).toBe(false)
    expect(sw({ vendor: 'intel', architecture: 'gen-12lp', device: '', description: 'Intel(R) UHD Graphics 770 (ADL-S GT1)' })).toBe(false)
    const a = describeAdapterInfo({ info: { vendor: 'nvidia', architecture: 'ampere', description: 'NVIDIA RTX A6000' }, limits })
    expect(a).toEqual({ vendor: 'nvidia', architecture: 'ampere', device: '', description: 'NVIDIA RTX A6000', software: false, ...limits })
    expect(describeBackend({ name: 'webgpu', tfBackend: 'webgpu', forced: false, skipped: [], details: {}, adapter: a })).toBe(
      'webgpu (adapter nvidia / ampere / NVIDIA RTX A6000; maxBufferSize 4096 MiB, maxStorageBufferBindingSize 128 MiB)'
    )
  })
})

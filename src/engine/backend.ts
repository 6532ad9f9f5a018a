/**
 * Backend selection: the engine runs on the fastest TensorFlow.js backend that works here, and always
 * says which one runs and why each faster one was skipped.
 *
 * Order (BACKEND_NAMES in src/shared/contract.ts, the one list): tensorflow-gpu (@tensorflow/tfjs-node-gpu,
 * CUDA) → webgpu (@tensorflow/tfjs-backend-webgpu on Dawn from the `webgpu` package: Vulkan, Metal or
 * D3D12, whatever GPU the machine has) → tensorflow (@tensorflow/tfjs-node, native CPU) → wasm (XNNPACK,
 * SIMD, one thread) → cpu (pure JS). tfjs-node(-gpu) are optional dependencies: npm drops them silently
 * when their install-time download of libtensorflow fails (offline machines), so "not installed" is the
 * normal case here and is reported as such. webgpu is picked automatically only on a hardware adapter: a
 * software rasteriser (Mesa's lavapipe/llvmpipe, SwiftShader, WARP) runs only when forced, and says so.
 * Must not: pick a backend silently, or claim one that did not initialise (setBackend can resolve false).
 */
import * as tf from '@tensorflow/tfjs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { BACKEND_NAMES, type BackendInfo, type BackendName, type GpuAdapterInfo } from '../shared/contract'
import { installWasmKernels } from './wasm-kernels'

export type { BackendInfo, BackendName, GpuAdapterInfo }
export const BACKEND_ORDER: readonly BackendName[] = BACKEND_NAMES

let current: BackendInfo | null = null

export function currentBackend(): BackendInfo | null {
  return current
}

function errorText(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e)
  return msg.split('\n')[0].slice(0, 300)
}

async function tryNode(pkg: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node'): Promise<string | null> {
  try {
    await import(/* @vite-ignore */ pkg)
  } catch (e) {
    const code = (e as { code?: string }).code
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      return `${pkg} is not installed (optional dependency; its install downloads libtensorflow, see README "GPU training")`
    }
    return `${pkg} failed to load: ${errorText(e)}`
  }
  try {
    const ok = await tf.setBackend('tensorflow')
    if (!ok) return `${pkg} loaded but the "tensorflow" backend did not initialise`
    await tf.ready()
    return null
  } catch (e) {
    return `${pkg} loaded but failed to initialise: ${errorText(e)}`
  }
}

async function tryWasm(details: BackendInfo['details']): Promise<string | null> {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm')
    const require = createRequire(import.meta.url)
    const dist = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/'
    // Multithreaded wasm does not work in Node (setBackend resolves false and tfjs stays on cpu).
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false)
    wasm.setWasmPaths(dist)
    installWasmKernels()
    const ok = await tf.setBackend('wasm')
    if (!ok || tf.getBackend() !== 'wasm') return 'wasm backend did not initialise (setBackend resolved false)'
    await tf.ready()
    const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'))
    details.wasmSimd = simd
    details.wasmThreads = wasm.getThreadsCount()
    if (!simd) details.note = 'wasm runs without SIMD: expect it to be several times slower'
    return null
  } catch (e) {
    return `wasm backend failed: ${errorText(e)}`
  }
}

/** Software rasterisers: Mesa's lavapipe (llvmpipe), SwiftShader, Microsoft's WARP ("Basic Render Driver"). */
const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|softpipe|swiftshader|\bwarp\b|basic render|software/i

interface AdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean }
  isFallbackAdapter?: boolean
  limits: { maxBufferSize: number; maxStorageBufferBindingSize: number }
}

/** What the backend line and the interface show about an adapter; `software` decides whether auto may use it. */
export function describeAdapterInfo(a: AdapterLike): GpuAdapterInfo {
  const i = a.info ?? {}
  const vendor = String(i.vendor ?? '')
  const architecture = String(i.architecture ?? '')
  const device = String(i.device ?? '')
  const description = String(i.description ?? '')
  const software = Boolean(i.isFallbackAdapter || a.isFallbackAdapter) || SOFTWARE_ADAPTER.test([vendor, architecture, device, description].join(' '))
  return { vendor, architecture, device, description, software, maxBufferSize: Number(a.limits.maxBufferSize), maxStorageBufferBindingSize: Number(a.limits.maxStorageBufferBindingSize) }
}

let webgpuGpu: unknown = null

/**
 * Dawn's navigator.gpu (the `webgpu` package), set on globalThis before tfjs-backend-webgpu is imported
 * (it registers itself only when navigator.gpu exists). Created once per process.
 */
async function dawnGpu(): Promise<{ requestAdapter(o?: object): Promise<AdapterLike | null> }> {
  if (!webgpuGpu) {
    const { create, globals } = await import('webgpu')
    Object.assign(globalThis, globals)
    webgpuGpu = create([])
  }
  const nav = (globalThis as { navigator?: object }).navigator
  if (!nav) (globalThis as { navigator?: object }).navigator = { gpu: webgpuGpu }
  else if ((nav as { gpu?: unknown }).gpu !== webgpuGpu) Object.defineProperty(nav, 'gpu', { value: webgpuGpu, configurable: true, writable: true })
  return webgpuGpu as { requestAdapter(o?: object): Promise<AdapterLike | null> }
}

async function tryWebgpu(forced: boolean, found: { adapter?: GpuAdapterInfo }): Promise<string | null> {
  let gpu: Awaited<ReturnType<typeof dawnGpu>>
  try {
    gpu = await dawnGpu()
  } catch (e) {
    return `the webgpu package (Dawn) failed to load: ${errorText(e)}`
  }
  let adapter: AdapterLike | null
  try {
    // tfjs-backend-webgpu asks for the same adapter (high-performance) when it starts
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' })
  } catch (e) {
    return `Dawn's requestAdapter failed: ${errorText(e)}`
  }
  if (!adapter) {
    return 'Dawn found no WebGPU adapter (it needs a Vulkan driver on Linux — the GPU vendor\'s, or Mesa ≥ 24 — with the Vulkan loader libvulkan1; Metal on macOS; D3D12 on Windows)'
  }
  const info = describeAdapterInfo(adapter)
  found.adapter = info
  if (info.software && !forced) {
    return `the only WebGPU adapter is a software rasteriser (${adapterText(info)}): used only when forced (--backend webgpu or IRD_BACKEND=webgpu)`
  }
  try {
    await import('@tensorflow/tfjs-backend-webgpu')
    const ok = await tf.setBackend('webgpu')
    if (!ok || tf.getBackend() !== 'webgpu') return 'webgpu backend did not initialise (setBackend resolved false)'
    await tf.ready()
    return null
  } catch (e) {
    return `webgpu backend failed: ${errorText(e)}`
  }
}

const MiB = (n: number) => `${Math.round(n / 2 ** 20)} MiB`

function adapterText(a: GpuAdapterInfo): string {
  const parts = [a.vendor, a.architecture, a.description || a.device].filter((x) => x)
  return `${parts.join(' / ') || 'unnamed adapter'}${a.software ? ', software' : ''}`
}

/**
 * The limit that bounds one tensor on the running backend (webgpu: the device's maxStorageBufferBindingSize
 * and maxBufferSize, in bytes, or IRD_WEBGPU_BUFFER_LIMIT where that is lower: a cap on GPU memory per
 * tensor); null where the backend has no such limit.
 */
export function deviceBufferLimit(): number | null {
  if (tf.getBackend() !== 'webgpu') return null
  const limits = (tf.backend() as unknown as { device?: { limits?: { maxStorageBufferBindingSize?: number; maxBufferSize?: number } } }).device?.limits
  const cap = Number(process.env.IRD_WEBGPU_BUFFER_LIMIT)
  const out = Math.min(Number(limits?.maxStorageBufferBindingSize ?? Infinity), Number(limits?.maxBufferSize ?? Infinity), cap > 0 ? cap : Infinity)
  return Number.isFinite(out) ? out : null
}

/** Backends whose tensors the host can read synchronously (dataSync); webgpu in Node cannot. */
export function hasSyncReads(): boolean {
  return tf.getBackend() !== 'webgpu'
}

function parseForced(value: string | undefined): BackendName | undefined {
  if (!value) return undefined
  const v = value.trim().toLowerCase()
  if (v === 'auto' || v === '') return undefined
  if (v === 'gpu' || v === 'tensorflow-gpu' || v === 'cuda') return 'tensorflow-gpu'
  if (v === 'webgpu') return 'webgpu'
  if (v === 'tensorflow' || v === 'node' || v === 'tfjs-node') return 'tensorflow'
  if (v === 'wasm' || v === 'cpu') return v
  throw new Error(`unknown backend "${value}": use one of auto, ${BACKEND_ORDER.join(', ')}`)
}

/**
 * Pick and initialise the backend. `force` (or the IRD_BACKEND environment variable) names one backend;
 * if it cannot start, this throws with the reason instead of silently falling back.
 */
export async function initBackend(opts: { force?: BackendName | 'auto' } = {}): Promise<BackendInfo> {
  // PROD silences tfjs's console banner about installing tfjs-node; we report backends ourselves.
  tf.env().set('PROD', true)
  const forced = parseForced(opts.force ?? process.env.IRD_BACKEND)
  const skipped: BackendInfo['skipped'] = []
  const details: BackendInfo['details'] = { tfjsVersion: tf.version_core }
  const candidates = forced ? [forced] : BACKEND_ORDER
  const found: { adapter?: GpuAdapterInfo } = {}
  for (const name of candidates) {
    let reason: string | null
    if (name === 'tensorflow-gpu') reason = await tryNode('@tensorflow/tfjs-node-gpu')
    else if (name === 'webgpu') reason = await tryWebgpu(forced !== undefined, found)
    else if (name === 'tensorflow') reason = await tryNode('@tensorflow/tfjs-node')
    else if (name === 'wasm') reason = await tryWasm(details)
    else {
      const ok = await tf.setBackend('cpu')
      reason = ok ? null : 'cpu backend did not initialise'
    }
    if (reason === null) {
      current = { name, tfBackend: tf.getBackend(), forced: forced !== undefined, skipped, details }
      if (found.adapter) current.adapter = found.adapter
      return current
    }
    if (forced) throw new Error(`backend "${name}" was requested but cannot run: ${reason}`)
    skipped.push({ name, reason })
  }
  throw new Error(`no TensorFlow.js backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`)
}

/** One line for logs and the CLI: "wasm (SIMD, 1 thread); skipped tensorflow-gpu: not installed ...". */
export function describeBackend(info: BackendInfo): string {
  let extra = info.name === 'wasm' ? ` (${info.details.wasmSimd ? 'SIMD' : 'no SIMD'}, ${info.details.wasmThreads ?? 1} thread)` : ''
  const a = info.adapter
  if (info.name === 'webgpu' && a) {
    extra = ` (adapter ${adapterText(a)}; maxBufferSize ${MiB(a.maxBufferSize)}, maxStorageBufferBindingSize ${MiB(a.maxStorageBufferBindingSize)})`
    if (a.software) extra += ' — a software rasteriser, used because it was forced: for correctness checks, not speed'
  }
  const skipped = info.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')
  return `${info.name}${extra}${info.forced ? ' [forced]' : ''}${skipped ? ` — skipped ${skipped}` : ''}`
}

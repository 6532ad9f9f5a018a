/**
 * Backend selection: the engine runs on the fastest TensorFlow.js backend that works here, and always
 * says which one runs and why each faster one was skipped.
 *
 * Order: tensorflow-gpu (@tensorflow/tfjs-node-gpu, CUDA) → tensorflow (@tensorflow/tfjs-node, native
 * CPU) → wasm (XNNPACK, SIMD, one thread) → cpu (pure JS). tfjs-node(-gpu) are optional dependencies:
 * npm drops them silently when their install-time download of libtensorflow fails (offline machines),
 * so "not installed" is the normal case here and is reported as such.
 * Must not: pick a backend silently, or claim one that did not initialise (setBackend can resolve false).
 */
import * as tf from '@tensorflow/tfjs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { installWasmKernels } from './wasm-kernels'

export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu'
export const BACKEND_ORDER: BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']

export interface BackendInfo {
  /** The backend that runs. */
  name: BackendName
  /** tfjs's own name for it (tf.getBackend()). */
  tfBackend: string
  /** True when the user forced it (option or IRD_BACKEND). */
  forced: boolean
  /** Each faster backend that was not used, and why. */
  skipped: Array<{ name: BackendName; reason: string }>
  /** Details: wasm SIMD/threads, tfjs version, GPU devices where known. */
  details: Record<string, string | number | boolean>
}

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

function parseForced(value: string | undefined): BackendName | undefined {
  if (!value) return undefined
  const v = value.trim().toLowerCase()
  if (v === 'auto' || v === '') return undefined
  if (v === 'gpu' || v === 'tensorflow-gpu' || v === 'cuda') return 'tensorflow-gpu'
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
  for (const name of candidates) {
    let reason: string | null
    if (name === 'tensorflow-gpu') reason = await tryNode('@tensorflow/tfjs-node-gpu')
    else if (name === 'tensorflow') reason = await tryNode('@tensorflow/tfjs-node')
    else if (name === 'wasm') reason = await tryWasm(details)
    else {
      const ok = await tf.setBackend('cpu')
      reason = ok ? null : 'cpu backend did not initialise'
    }
    if (reason === null) {
      current = { name, tfBackend: tf.getBackend(), forced: forced !== undefined, skipped, details }
      return current
    }
    if (forced) throw new Error(`backend "${name}" was requested but cannot run: ${reason}`)
    skipped.push({ name, reason })
  }
  throw new Error(`no TensorFlow.js backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`)
}

/** One line for logs and the CLI: "wasm (SIMD, 1 thread); skipped tensorflow-gpu: not installed ...". */
export function describeBackend(info: BackendInfo): string {
  const extra = info.name === 'wasm' ? ` (${info.details.wasmSimd ? 'SIMD' : 'no SIMD'}, ${info.details.wasmThreads ?? 1} thread)` : ''
  const skipped = info.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')
  return `${info.name}${extra}${info.forced ? ' [forced]' : ''}${skipped ? ` — skipped ${skipped}` : ''}`
}

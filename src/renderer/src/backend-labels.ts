/** Human names for backends in the UI. Owns wording only; must not decide which backend runs. */
import type { BackendChoice, GpuAdapterInfo } from '../../shared/contract'

export const BACKEND_LABELS: Record<BackendChoice, string> = {
  auto: 'Automatic (fastest that works here)',
  'tensorflow-gpu': 'TensorFlow, CUDA GPU',
  webgpu: 'WebGPU (the GPU through Vulkan, Metal or D3D12)',
  tensorflow: 'TensorFlow, native CPU',
  wasm: 'WebAssembly (SIMD)',
  cpu: 'Plain JavaScript (slowest)'
}

/** The WebGPU adapter in one line: "nvidia / ampere / NVIDIA H100 (buffers up to 4096 MiB, bindings 128 MiB)". */
export function adapterLabel(a: GpuAdapterInfo): string {
  const mib = (n: number) => `${Math.round(n / 2 ** 20)} MiB`
  const name = [a.vendor, a.architecture, a.description || a.device].filter((x) => x).join(' / ') || 'unnamed adapter'
  return `${name}${a.software ? ' — a software rasteriser, used only when forced' : ''} (buffers up to ${mib(a.maxBufferSize)}, bindings up to ${mib(a.maxStorageBufferBindingSize)})`
}

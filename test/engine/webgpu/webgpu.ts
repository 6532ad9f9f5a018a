/**
 * The WebGPU tests' gate: start the webgpu backend (forced, so Mesa's lavapipe counts) once per file.
 * No adapter: skip with a message saying what is missing, except under CI=true, where that is a failure
 * (.ci/run installs lavapipe). Tests switch between webgpu and wasm with `use()`; tensors made on one
 * backend must not be used after switching (rebuild models per backend).
 */
import { initBackend, type BackendInfo } from '../../../src/engine/backend'

let webgpuInfo: BackendInfo | null = null
let reason = ''
try {
  webgpuInfo = await initBackend({ force: 'webgpu' })
} catch (e) {
  reason = e instanceof Error ? e.message : String(e)
}
if (!webgpuInfo) {
  const msg = `no WebGPU adapter, so the webgpu tests cannot run: ${reason}. Install Mesa >= 24's lavapipe (apt-get install -t bookworm-backports mesa-vulkan-drivers; .ci/run does).`
  if (process.env.CI === 'true') throw new Error(msg)
  console.warn(`SKIPPED: ${msg}`)
}

/** True when webgpu started: use with describe.skipIf(!HAVE_WEBGPU). */
export const HAVE_WEBGPU = webgpuInfo !== null
export const WEBGPU_INFO = webgpuInfo

export async function use(name: 'webgpu' | 'wasm'): Promise<BackendInfo> {
  return initBackend({ force: name })
}

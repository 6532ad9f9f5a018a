/** Human names for backends in the UI. Owns wording only; must not decide which backend runs. */
import type { BackendChoice } from '../../shared/contract'

export const BACKEND_LABELS: Record<BackendChoice, string> = {
  auto: 'Automatic (fastest that works here)',
  'tensorflow-gpu': 'TensorFlow, CUDA GPU',
  tensorflow: 'TensorFlow, native CPU',
  wasm: 'WebAssembly (SIMD)',
  cpu: 'Plain JavaScript (slowest)'
}

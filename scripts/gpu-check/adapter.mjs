// What Dawn (the `webgpu` package) sees: every adapter it offers (high-performance and low-power), with
// GPUAdapterInfo, isFallbackAdapter and the limits the engine cares about; then whether requestDevice works.
import { create, globals } from 'webgpu'
Object.assign(globalThis, globals)
const gpu = create([])
const seen = []
for (const powerPreference of ['high-performance', 'low-power']) {
  const a = await gpu.requestAdapter({ powerPreference })
  if (!a) {
    console.log(`${powerPreference}: no adapter`)
    continue
  }
  const i = a.info
  const row = { powerPreference, vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description, isFallbackAdapter: i.isFallbackAdapter ?? a.isFallbackAdapter, maxBufferSize: a.limits.maxBufferSize, maxStorageBufferBindingSize: a.limits.maxStorageBufferBindingSize }
  try {
    const d = await a.requestDevice()
    row.requestDevice = 'ok'
    d.destroy()
  } catch (e) {
    row.requestDevice = `failed: ${e.message}`
  }
  seen.push(row)
  console.log(JSON.stringify(row))
}
if (!seen.length) console.log('Dawn found no WebGPU adapter')
process.exit(0)

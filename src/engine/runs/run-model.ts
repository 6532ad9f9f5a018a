/**
 * The fine-tuned model of a saved run: the base model folder named in its config plus the run's sparse
 * delta (delta.safetensors: per tensor `<name>.delta_indices` (I32) + `<name>.delta_values` (F32), or
 * only `<name>.delta_values` holding the whole tensor), which reproduces the trained weights exactly.
 * Must not: write anything.
 */
import { existsSync } from 'node:fs'
import { getTask, type TaskName } from '../data'
import { loadModelFolder } from '../io/model-folder'
import { readSafetensors, toFloat32, type TensorInput } from '../io/safetensors'
import type { BertConfig, StateDict } from '../model/config'
import { applyDelta, type SparseDelta } from '../train'
import type { Run } from './store'
import { countNonFinite, firstNonFinite, nonFiniteName } from '../util/non-finite'

export interface RunModel {
  config: BertConfig
  state: StateDict
  modelDir: string
  task: TaskName
  devFile?: string
}

export function deltaToTensors(delta: SparseDelta): Map<string, TensorInput> {
  const out = new Map<string, TensorInput>()
  for (const [name, d] of delta) {
    if (d.indices === 'all') {
      out.set(`${name}.delta_values`, { dtype: 'F32', shape: d.shape, data: d.values })
    } else {
      out.set(`${name}.delta_indices`, { dtype: 'I32', shape: [d.indices.length], data: d.indices })
      out.set(`${name}.delta_values`, { dtype: 'F32', shape: [d.values.length], data: d.values })
    }
  }
  return out
}

export function readDelta(file: string, base: StateDict): SparseDelta {
  const { tensors } = readSafetensors(file)
  const delta: SparseDelta = new Map()
  for (const [key, t] of tensors) {
    if (key.endsWith('.delta_indices')) {
      if (!tensors.has(`${key.slice(0, -'.delta_indices'.length)}.delta_values`)) throw new Error(`${file}: tensor "${key}" has no matching ".delta_values" tensor`)
      if (t.dtype !== 'I32' || t.shape.length !== 1) throw new Error(`${file}: tensor "${key}" must be 1-D I32 flat indices, found ${t.dtype} [${t.shape.join(', ')}]`)
      continue
    }
    if (!key.endsWith('.delta_values')) throw new Error(`${file}: tensor "${key}" is neither "<parameter>.delta_values" nor "<parameter>.delta_indices"`)
    const name = key.slice(0, -'.delta_values'.length)
    const b = base.get(name)
    if (!b) throw new Error(`${file}: the delta names "${name}", which the base model lacks`)
    if (t.dtype !== 'F32') throw new Error(`${file}: tensor "${key}" must be F32, found ${t.dtype}`)
    const idx = tensors.get(`${name}.delta_indices`)
    const values = toFloat32(t)
    const bad = firstNonFinite(values)
    if (bad >= 0) throw new Error(`${file}: tensor "${key}" holds ${countNonFinite(values)} non-finite value(s) (the first, ${nonFiniteName(values[bad])}, at index ${bad}): the run's trained weights are damaged; train it again`)
    if (!idx) delta.set(name, { shape: b.shape, indices: 'all', values })
    else delta.set(name, { shape: b.shape, indices: idx.data as Int32Array, values })
  }
  return delta
}

export function loadRunModel(run: Run): RunModel {
  const cfg = run.readJson<{ modelDir: string; task: TaskName; seed: number; devFile?: string }>('config.json')
  if (!cfg) throw new Error(`run ${run.id} has no readable config.json`)
  if (run.summary.status !== 'completed' || !existsSync(run.path('delta.safetensors'))) {
    throw new Error(`run ${run.id} is ${run.summary.status}${run.summary.reason ? ` (${run.summary.reason})` : ''}: only completed runs have trained weights`)
  }
  if (!existsSync(cfg.modelDir)) throw new Error(`run ${run.id} was trained from ${cfg.modelDir}, which no longer exists: its weights are stored as a delta over that base model`)
  const base = loadModelFolder(cfg.modelDir, { numLabels: getTask(cfg.task).numLabels, seed: cfg.seed })
  const state = applyDelta(base.state, readDelta(run.path('delta.safetensors'), base.state))
  return { config: base.config, state, modelDir: cfg.modelDir, task: cfg.task, devFile: cfg.devFile }
}

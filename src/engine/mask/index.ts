/** Parameter masks and the mask artefact (mask.safetensors + mask.json). */
export * from './mask'
export * from './io'

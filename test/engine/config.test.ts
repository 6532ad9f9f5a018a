import { describe, expect, it } from 'vitest'
import { bertParameterSpec, ConfigError, countParameters, makeConfig, numel, parseBertConfig } from '../../src/engine/model/config'

describe('bert config', () => {
  it('counts bert-base parameters like Hugging Face (109,483,778 with 2 labels)', () => {
    const cfg = makeConfig()
    expect(countParameters(cfg)).toBe(109_483_778)
    expect(bertParameterSpec(cfg).reduce((s, p) => s + numel(p.shape), 0)).toBe(109_483_778)
  })
  it('refuses absurd sizes before allocating', () => {
    expect(() => parseBertConfig({ vocab_size: 1e12, hidden_size: 768 })).toThrow(/vocab_size/)
    expect(() => parseBertConfig({ hidden_size: 100, num_attention_heads: 12 })).toThrow(ConfigError)
    expect(() => parseBertConfig({ model_type: 'gpt2' })).toThrow(/unsupported architecture/)
  })
  it('takes num_labels from id2label', () => {
    expect(parseBertConfig({ id2label: { 0: 'a', 1: 'b', 2: 'c' } }).num_labels).toBe(3)
  })
})

import { describe, expect, it } from 'vitest'
import { findPeer, findRepoRoot, type PeerResult } from '../../../src/engine/bench/peer'
import { bestPeer, renderSideBySide, type SideBySideRow } from '../../../src/engine/bench/side-by-side'

const ours: SideBySideRow['ours'] = {
  side: 'engine',
  backend: 'wasm',
  workers: 2,
  cpus: 2,
  cpu: 'Test CPU',
  parameters: 4_386_178,
  seqLen: 128,
  fisher: { batchSize: 16, samples: 64, samplesPerSec: 40, poolStartSec: 2 },
  train: [
    { mask: 'fish', keepRatio: 0.005, trainable: 22_000, tensorsTouched: 30, lowestLayer: -1, samplesPerSec: 30, steps: 4, optimizerStateFloats: 44_000, exchangedBytesPerStep: 176_000 },
    { mask: 'random', keepRatio: 0.005, trainable: 22_000, tensorsTouched: 30, lowestLayer: -1, samplesPerSec: 25, steps: 4, optimizerStateFloats: 44_000, exchangedBytesPerStep: 176_000 }
  ]
}

describe('benchmark peer', () => {
  it('finds the repository root (scripts/bench/peer.py) from the module', () => {
    const root = findRepoRoot()
    expect(root).not.toBeNull()
  })

  it('says why there is no peer when python cannot import torch', () => {
    const { peer, reason } = findPeer({ python: '/nonexistent/python3' })
    expect(peer).toBeNull()
    expect(reason).toContain('/nonexistent/python3 cannot import torch')
    expect(reason).toContain('python3-torch')
  })

  it('renders absolute figures and says so without a peer', () => {
    const row: SideBySideRow = { model: 'tiny', layers: 2, hidden: 128, parameters: ours.parameters, seqLen: 128, ours, peer: [], fisherRatio: null, trainRatio: null, trainRatioRandom: null }
    const text = renderSideBySide([row], 'no torch here')
    expect(text).toContain('peer: none — no torch here; absolute figures only')
    expect(text).toContain('| tiny (2/128) | 4.4 M | 40.0 | – | – | 30.0 | 25.0 | – | – | – |')
  })

  it('renders every peer thread count, the best first, with the ratios against the best per metric', () => {
    const p = (threads: number, fisher: number, train: number) =>
      ({ side: 'pytorch', torch: '1.13', python: '3.11', model_class: 'hf', threads, interop_threads: 1, cpus: 2, cpu: 'Test CPU', env: {}, layers: 2, hidden: 128, parameters: ours.parameters, seq_len: 128, tokens_per_sample: 128, fisher: { batch_size: 1, samples_per_sec: fisher, iterations: 3 }, train: { batch_size: 16, samples_per_sec: train, iterations: 3, optimizer_state_floats: 2 * ours.parameters }, blas: 'OpenBLAS (/x/libopenblasp.so)', libs: [], torch_config: '' }) as PeerResult
    const peers = [p(2, 20, 60), p(1, 30, 40), p(2, 25, 50), p(1, 30, 40)]
    const row: SideBySideRow = { model: 'tiny', layers: 2, hidden: 128, parameters: ours.parameters, seqLen: 128, ours, peer: peers, fisherRatio: [40 / 30, 40 / 30], trainRatio: [30 / 60, 30 / 50], trainRatioRandom: [25 / 60, 25 / 50] }
    expect(bestPeer(peers, (x) => x.fisher!.samples_per_sec)).toEqual({ threads: 1, rates: [30, 30] })
    expect(bestPeer(peers, (x) => x.train!.samples_per_sec)).toEqual({ threads: 2, rates: [60, 50] })
    expect(bestPeer([], (x) => x.threads)).toBeNull()
    const text = renderSideBySide([row], null)
    expect(text).toContain('BLAS OpenBLAS (/x/libopenblasp.so)')
    expect(text).toContain('torch threads 2, 1')
    expect(text).toContain('| 30.0 (1 thr); 20.0–25.0 (2 thr) | 1.33× | 30.0 | 25.0 | 50.0–60.0 (2 thr); 40.0 (1 thr) | 0.50–0.60× | 0.42–0.50× | 44 k / 8.8 M | 172 KiB |')
  })
})

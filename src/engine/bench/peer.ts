/**
 * The PyTorch peer of the benchmark: finds Debian's python3 with torch, unpacks the vendored transformers
 * 4.4 source (the FISH reference's copy) into build/vendor/, and runs scripts/bench/peer.py for one model
 * size, returning its JSON. The peer's process runs without OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE (these
 * machines set them; OpenBLAS is faster without them): only that child process, never tests or CI.
 * Must not: be used by the app (benchmarks only), or assert anything.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export interface PeerResult {
  side: 'pytorch'
  torch: string
  python: string
  model_class: string
  threads: number
  interop_threads: number
  cpus: number
  cpu: string
  env: Record<string, string | null>
  layers: number
  hidden: number
  parameters: number
  seq_len: number
  tokens_per_sample: number
  fisher?: { batch_size: number; samples_per_sec: number; samples_per_cpu_sec?: number; iterations: number }
  train?: { batch_size: number; samples_per_sec: number; samples_per_cpu_sec?: number; iterations: number; optimizer_state_floats: number }
  blas: string
  libs: string[]
  torch_config: string
}

export interface PeerRunner {
  python: string
  script: string
  /** PYTHONPATH entry holding transformers 4.4 (null: peer.py falls back to test/reference/bert_reference.py). */
  transformersPath: string | null
  /** Why transformersPath is null, if it is. */
  note: string | null
  run(opts: { layers: number; hidden: number; seqLen: number; seconds: number; threads: number; what?: string }): PeerResult
}

/** The repository root: the nearest folder above this module holding scripts/bench/peer.py. */
export function findRepoRoot(from: string = dirname(fileURLToPath(import.meta.url))): string | null {
  let dir = resolve(from)
  for (;;) {
    if (existsSync(join(dir, 'scripts', 'bench', 'peer.py'))) return dir
    const up = dirname(dir)
    if (up === dir) return null
    dir = up
  }
}

/**
 * The peer, or the reason there is none (no python3 with torch, no source checkout). `vendorTarball`
 * defaults to <root>/../shared/vendor/transformers-4.4-src.tar.xz ($IRD_SHARED_VENDOR overrides the folder).
 */
export function findPeer(opts: { python?: string; root?: string; vendorTarball?: string } = {}): { peer: PeerRunner | null; reason: string | null } {
  const python = opts.python ?? process.env.IRD_PEER_PYTHON ?? '/usr/bin/python3'
  const root = opts.root ?? findRepoRoot()
  if (!root) return { peer: null, reason: 'scripts/bench/peer.py not found (the PyTorch peer runs from a source checkout)' }
  const probe = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' })
  if (probe.status !== 0) {
    return { peer: null, reason: `${python} cannot import torch (${(probe.error?.message ?? probe.stderr ?? '').trim().split('\n').pop() || 'no output'}); install python3-torch and libopenblas0-pthread` }
  }
  const tarball = opts.vendorTarball ?? join(process.env.IRD_SHARED_VENDOR ?? resolve(root, '../shared/vendor'), 'transformers-4.4-src.tar.xz')
  const dest = join(root, 'build', 'vendor')
  let transformersPath: string | null = join(dest, 'src')
  let note: string | null = null
  if (!existsSync(join(transformersPath, 'transformers', '__init__.py'))) {
    if (!existsSync(tarball)) {
      transformersPath = null
      note = `${tarball} not found: the peer uses test/reference/bert_reference.py`
    } else {
      // unpack into a temporary folder, then rename: an interrupted unpack never looks complete
      const tmp = `${dest}.tmp-${process.pid}`
      rmSync(tmp, { recursive: true, force: true })
      mkdirSync(tmp, { recursive: true })
      execFileSync('tar', ['-xJf', tarball, '-C', tmp])
      rmSync(dest, { recursive: true, force: true })
      renameSync(tmp, dest)
    }
  }
  const script = join(root, 'scripts', 'bench', 'peer.py')
  const runner: PeerRunner = {
    python,
    script,
    transformersPath,
    note,
    run(o) {
      const env: NodeJS.ProcessEnv = { ...process.env }
      delete env.OPENBLAS_CORETYPE
      delete env.OPENBLAS_L2_SIZE
      if (transformersPath) env.PYTHONPATH = env.PYTHONPATH ? `${transformersPath}:${env.PYTHONPATH}` : transformersPath
      const args = [script, '--layers', String(o.layers), '--hidden', String(o.hidden), '--seq', String(o.seqLen), '--seconds', String(o.seconds), '--threads', String(o.threads)]
      if (o.what) args.push('--what', o.what)
      const r = spawnSync(python, args, { env, encoding: 'utf8', maxBuffer: 64 << 20 })
      if (r.status !== 0) throw new Error(`the PyTorch peer failed (exit ${r.status}): ${(r.stderr || r.error?.message || '').trim().split('\n').slice(-3).join(' | ')}`)
      const line = r.stdout.trim().split('\n').pop() ?? ''
      return JSON.parse(line) as PeerResult
    }
  }
  return { peer: runner, reason: null }
}

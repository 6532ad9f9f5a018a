/**
 * Seeded pseudo-random numbers for everything that must be reproducible: sampling, shuffles,
 * initialisation, random masks. Owns: a small, fast, splittable generator (xoshiro128**) seeded
 * through splitmix32. Must not: use Math.random.
 */

function splitmix32(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
}

export class Rng {
  private s0: number
  private s1: number
  private s2: number
  private s3: number
  private spareNormal: number | null = null

  constructor(seed: number) {
    const sm = splitmix32(seed)
    this.s0 = sm()
    this.s1 = sm()
    this.s2 = sm()
    this.s3 = sm()
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0
    const t = (this.s1 << 9) >>> 0
    this.s2 ^= this.s0
    this.s3 ^= this.s1
    this.s1 ^= this.s2
    this.s0 ^= this.s3
    this.s2 ^= t
    this.s3 = rotl(this.s3, 11)
    return result
  }

  /**
   * Inverted-dropout mask: out[i] = scale with probability 1 − rate (a 32-bit draw ≥ rate·2³²), else 0.
   * One draw per element, the generator's state kept in locals (this is the hot loop of dropout).
   */
  fillKeepMask(out: Float32Array, rate: number, scale: number): void {
    const thr = Math.min(4294967295, Math.floor(rate * 4294967296))
    let s0 = this.s0
    let s1 = this.s1
    let s2 = this.s2
    let s3 = this.s3
    for (let i = 0; i < out.length; i++) {
      const m = Math.imul(s1, 5) >>> 0
      const r = Math.imul((m << 7) | (m >>> 25), 9) >>> 0
      const t = (s1 << 9) >>> 0
      s2 ^= s0
      s3 ^= s1
      s1 ^= s2
      s0 ^= s3
      s2 ^= t
      s3 = ((s3 << 11) | (s3 >>> 21)) >>> 0
      out[i] = r >= thr ? scale : 0
    }
    this.s0 = s0 >>> 0
    this.s1 = s1 >>> 0
    this.s2 = s2 >>> 0
    this.s3 = s3 >>> 0
  }

  /** Uniform in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextU32() >>> 5
    const lo = this.nextU32() >>> 6
    return (hi * 67108864 + lo) / 9007199254740992
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!(n > 0)) throw new RangeError(`Rng.int: n must be positive, got ${n}`)
    return Math.floor(this.next() * n)
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal
      this.spareNormal = null
      return v
    }
    let u = 0
    while (u === 0) u = this.next()
    const v = this.next()
    const r = Math.sqrt(-2 * Math.log(u))
    this.spareNormal = r * Math.sin(2 * Math.PI * v)
    return r * Math.cos(2 * Math.PI * v)
  }

  /** In-place Fisher-Yates shuffle. */
  shuffle<T>(arr: T[] | Int32Array | Uint32Array): typeof arr {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      const t = arr[i]
      arr[i] = arr[j]
      arr[j] = t
    }
    return arr
  }

  /** k distinct indices from [0, n), uniformly, in the order drawn. */
  sample(n: number, k: number): number[] {
    if (k > n) throw new RangeError(`cannot draw ${k} distinct items from ${n}`)
    if (k * 4 < n) {
      const seen = new Set<number>()
      const out: number[] = []
      while (out.length < k) {
        const i = this.int(n)
        if (!seen.has(i)) {
          seen.add(i)
          out.push(i)
        }
      }
      return out
    }
    const all = Array.from({ length: n }, (_, i) => i)
    for (let i = 0; i < k; i++) {
      const j = i + this.int(n - i)
      const t = all[i]
      all[i] = all[j]
      all[j] = t
    }
    return all.slice(0, k)
  }

  /** The generator's state, for checkpoints. */
  state(): [number, number, number, number] {
    return [this.s0, this.s1, this.s2, this.s3]
  }

  static fromState(st: [number, number, number, number]): Rng {
    const r = new Rng(0)
    ;[r.s0, r.s1, r.s2, r.s3] = st.map((x) => x >>> 0) as [number, number, number, number]
    return r
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0
}

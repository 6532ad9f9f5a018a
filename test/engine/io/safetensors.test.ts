/**
 * safetensors: round trips of every dtype, exact float16/bfloat16 conversion (exhaustively, and against
 * torch's own rounding in test/fixtures/io/dtypes.safetensors), and one specific error per kind of
 * corrupt or hostile file, each naming the file (and the tensor) and creating nothing.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  bf16ToF32,
  f16ToF32,
  f32ToBf16,
  f32ToF16,
  MAX_HEADER_BYTES,
  readSafetensors,
  readSafetensorsHeader,
  readTensors,
  SafetensorsError,
  serializeSafetensors,
  toFloat32,
  writeSafetensors,
  type TensorInput
} from '../../../src/engine/io/safetensors'
import { cleanTempDirs, IO_FIXTURES, rawSafetensors, sameBits, snapshot, tempDir } from './helpers'

afterAll(cleanTempDirs)

const ref = JSON.parse(readFileSync(join(IO_FIXTURES, 'reference.json'), 'utf8')) as {
  dtypes: { f64: number[]; ints: Record<string, string[]>; shapes: Record<string, number[]> }
}

describe('safetensors round trip', () => {
  it('writes and reads back every dtype bit for bit, with metadata', () => {
    const dir = tempDir()
    const file = join(dir, 't.safetensors')
    const tensors: Record<string, TensorInput> = {
      f64: { dtype: 'F64', shape: [3], data: new Float64Array([1.5, -0, 1e300]) },
      f32: { dtype: 'F32', shape: [2, 2], data: new Float32Array([1, -2, 3.5, NaN]) },
      f16: { dtype: 'F16', shape: [2], data: new Uint16Array([0x3c00, 0xfc00]) },
      bf16: { dtype: 'BF16', shape: [2], data: new Uint16Array([0x3f80, 0x7fc1]) },
      i64: { dtype: 'I64', shape: [2], data: new BigInt64Array([-(2n ** 63n), 2n ** 62n + 1n]) },
      u64: { dtype: 'U64', shape: [1], data: new BigUint64Array([2n ** 64n - 1n]) },
      i32: { dtype: 'I32', shape: [1], data: new Int32Array([-7]) },
      u32: { dtype: 'U32', shape: [1], data: new Uint32Array([4e9]) },
      i16: { dtype: 'I16', shape: [1], data: new Int16Array([-300]) },
      u16: { dtype: 'U16', shape: [1], data: new Uint16Array([65535]) },
      i8: { dtype: 'I8', shape: [3], data: new Int8Array([-128, 0, 127]) },
      u8: { dtype: 'U8', shape: [3], data: new Uint8Array([0, 1, 255]) },
      bool: { dtype: 'BOOL', shape: [3], data: new Uint8Array([1, 0, 1]) },
      empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
      scalar: { dtype: 'F32', shape: [], data: new Float32Array([7]) },
      __proto__: { dtype: 'U8', shape: [1], data: new Uint8Array([9]) }
    }
    // `__proto__` in an object literal sets the prototype; make it an own key explicitly.
    Object.defineProperty(tensors, '__proto__', { value: { dtype: 'U8', shape: [1], data: new Uint8Array([9]) }, enumerable: true })
    const bytes = writeSafetensors(file, tensors, { format: 'pt', note: 'ü' })
    expect(readFileSync(file).length).toBe(bytes)
    const r = readSafetensors(file)
    expect(r.metadata).toEqual({ format: 'pt', note: 'ü' })
    expect([...r.tensors.keys()].sort()).toEqual(Object.keys(tensors).sort())
    for (const [name, t] of Object.entries(tensors)) {
      const got = r.tensors.get(name)!
      expect(got.dtype, name).toBe(t.dtype)
      expect(got.shape, name).toEqual(t.shape)
      expect(Buffer.from(got.data.buffer, got.data.byteOffset, got.data.byteLength).equals(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)), name).toBe(true)
    }
    // Only the files written: no temp file left behind.
    expect(readdirSync(dir)).toEqual(['t.safetensors'])
  })

  it('lays the file out like the Python library: space-padded header, 8-aligned data, larger dtypes first then by name', () => {
    const { chunks } = serializeSafetensors({
      b: { dtype: 'F32', shape: [1], data: new Float32Array([1]) },
      a: { dtype: 'F32', shape: [1], data: new Float32Array([2]) },
      c: { dtype: 'U8', shape: [3], data: new Uint8Array([1, 2, 3]) },
      d: { dtype: 'F64', shape: [1], data: new Float64Array([3]) }
    })
    const buf = Buffer.concat(chunks)
    const n = Number(buf.readBigUInt64LE(0))
    expect((8 + n) % 8).toBe(0)
    const text = buf.subarray(8, 8 + n).toString('utf8')
    expect(text).toMatch(/^\{.*\} *$/)
    expect(text.trimEnd()).toBe(
      '{"d":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},' +
        '"b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]},"c":{"dtype":"U8","shape":[3],"data_offsets":[16,19]}}'
    )
  })

  it('converts Float32Array data to F16/BF16 on write, with round to nearest even', () => {
    const file = join(tempDir(), 'h.safetensors')
    // 1 + 2^-11 is halfway between two float16s: ties go to the even one (1); 1 + 3·2^-11 goes up.
    // Likewise 1 + 2^-8 and 1 + 3·2^-8 for bfloat16 (7 mantissa bits); 2^-25 is half the smallest float16 subnormal.
    const x = new Float32Array([1 + 2 ** -11, 1 + 3 * 2 ** -11, 65520, 2 ** -25, 3 * 2 ** -25, 1 + 2 ** -8, 1 + 3 * 2 ** -8])
    writeSafetensors(file, { h: { dtype: 'F16', shape: [7], data: x }, b: { dtype: 'BF16', shape: [7], data: x } })
    const r = readSafetensors(file).tensors
    expect(Array.from(toFloat32(r.get('h')!))).toEqual([1, 1 + 2 ** -9, Infinity, 0, 2 ** -23, 1 + 2 ** -8, 1 + 3 * 2 ** -8])
    expect(Array.from(toFloat32(r.get('b')!))).toEqual([1, 1, 65536, 2 ** -25, 3 * 2 ** -25, 1, 1 + 2 ** -6])
  })

  it('reads only the header, and single tensors through it', () => {
    const h = readSafetensorsHeader(join(IO_FIXTURES, 'dtypes.safetensors'))
    expect(h.metadata).toEqual({ format: 'pt', note: 'written by make_checkpoints.py' })
    expect(h.tensors.get('i32')).toMatchObject({ dtype: 'I32', shape: [2, 2] })
    expect(h.dataStart % 8).toBe(0)
    const one = readTensors(h, ['u8'])
    expect([...one.keys()]).toEqual(['u8'])
    expect(Array.from(one.get('u8')!.data as Uint8Array)).toEqual([0, 255, 17])
    expect(() => readTensors(h, ['nope'])).toThrow(/tensor "nope": not in this file/)
  })
})

describe('float16 / bfloat16 conversion', () => {
  it('is exact both ways for all 65536 float16 and bfloat16 bit patterns (NaN payloads kept)', () => {
    const all = new Uint16Array(65536).map((_, i) => i)
    expect(Buffer.from(f32ToF16(f16ToF32(all)).buffer).equals(Buffer.from(all.buffer))).toBe(true)
    expect(Buffer.from(f32ToBf16(bf16ToF32(all)).buffer).equals(Buffer.from(all.buffer))).toBe(true)
  })

  it('matches torch bit for bit (x.half(), x.bfloat16(), and back to float) on edge cases and random values', () => {
    const t = readSafetensors(join(IO_FIXTURES, 'dtypes.safetensors')).tensors
    const x = t.get('x')!.data as Float32Array
    expect(x.length).toBeGreaterThan(1000)
    // torch writes its own NaN pattern (0xffff for bfloat16 in 1.13); any NaN for NaN is right.
    const eqBits = (a: Uint16Array, b: Uint16Array, expMask: number) => {
      const isNaN16 = (h: number) => (h & expMask) === expMask && (h & ~expMask & 0x7fff) !== 0
      const bad: string[] = []
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(isNaN16(a[i]) && isNaN16(b[i]))) bad.push(`x[${i}]=${x[i]}: ours 0x${a[i].toString(16)}, torch 0x${b[i].toString(16)}`)
      return bad.slice(0, 5)
    }
    expect(eqBits(f32ToF16(x), t.get('x_f16')!.data as Uint16Array, 0x7c00)).toEqual([])
    expect(eqBits(f32ToBf16(x), t.get('x_bf16')!.data as Uint16Array, 0x7f80)).toEqual([])
    expect(sameBits(toFloat32(t.get('x_f16')!), t.get('x_f16_back')!.data as Float32Array)).toBe(true)
    const back = toFloat32(t.get('x_bf16')!)
    const torchBack = t.get('x_bf16_back')!.data as Float32Array
    expect(Array.from(back).every((v, i) => Object.is(v, torchBack[i]))).toBe(true)
  })

  it('reads every dtype torch wrote, with the values torch reported', () => {
    const t = readSafetensors(join(IO_FIXTURES, 'dtypes.safetensors')).tensors
    for (const [name, shape] of Object.entries(ref.dtypes.shapes)) expect(t.get(name)!.shape, name).toEqual(shape)
    expect(Array.from(t.get('f64')!.data as Float64Array)).toEqual(ref.dtypes.f64)
    for (const [name, values] of Object.entries(ref.dtypes.ints)) {
      const d = t.get(name)!.data
      const got = name === 'bool' ? Array.from(d as Uint8Array, (v) => String(v === 1)) : Array.from(d as ArrayLike<number | bigint>, (v) => String(v))
      expect(got, name).toEqual(values)
    }
    expect(Array.from(toFloat32(t.get('bool')!))).toEqual([1, 0, 1])
    expect(Array.from(toFloat32(t.get('i64')!)).slice(0, 3)).toEqual([0, -1, Math.fround(2 ** 40)])
    expect(t.get('scalar')!.shape).toEqual([])
    expect(Array.from(t.get('scalar')!.data as Float32Array)).toEqual([2.5])
  })
})

describe('hostile and corrupt files', () => {
  const dir = tempDir()
  const f32 = (name: string, begin: number, end: number, shape = [(end - begin) / 4]) => ({ [name]: { dtype: 'F32', shape, data_offsets: [begin, end] } })
  const cases: Array<[string, Buffer, RegExp, string?]> = [
    ['shorter than the length prefix', Buffer.from([1, 2, 3]), /3 bytes long, too short/],
    ['header length above the 100 MB cap', rawSafetensors({}, 0, { length: BigInt(MAX_HEADER_BYTES) + 1n }), /exceeds the 100 MB limit/],
    ['header length 2^64-1', rawSafetensors({}, 0, { length: 2n ** 64n - 1n }), /exceeds the 100 MB limit/],
    ['header length past the end of the file', rawSafetensors({}, 0, { length: 1000n }), /header length 1000 runs past the end of the \d+-byte file/],
    ['invalid JSON', rawSafetensors('{"a": {"dtype": "F32",,}}'), /invalid JSON at line 1, column 23/],
    ['header not UTF-8', rawSafetensors(Buffer.from('{"\xff":1}', 'latin1')), /the header is not valid UTF-8/],
    ['header an array', rawSafetensors('[1,2]'), /must be a JSON object/],
    ['unknown dtype', rawSafetensors({ w: { dtype: 'F8_E4M3', shape: [2], data_offsets: [0, 2] } }, 2), /tensor "w": unknown dtype "F8_E4M3"/, 'w'],
    ['shape that does not match the byte length', rawSafetensors({ w: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 20] } }, 20), /tensor "w": dtype F32 with shape \[2,3\] needs 24 bytes, but data_offsets \[0, 20\] span 20 bytes/, 'w'],
    ['negative shape', rawSafetensors({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 0] } }), /tensor "w": "shape" must be an array of non-negative integers/, 'w'],
    ['fractional offsets', rawSafetensors({ w: { dtype: 'U8', shape: [1], data_offsets: [0.5, 1.5] } }, 2), /tensor "w": "data_offsets" must be/, 'w'],
    ['offsets ending before they begin', rawSafetensors({ w: { dtype: 'U8', shape: [0], data_offsets: [4, 0] } }, 4), /tensor "w": data_offsets \[4, 0\] end before/, 'w'],
    ['offsets beyond the data (truncated)', rawSafetensors({ ...f32('a', 0, 8), ...f32('b', 8, 16) }, 12), /tensor "b": data ends at byte 16 of the data section, but the file holds only 12 bytes after the header: the file is truncated/, 'b'],
    ['overlapping tensors', rawSafetensors({ ...f32('a', 0, 8), ...f32('b', 4, 12) }, 12), /tensor "b": data_offsets \[4, 12\] overlap tensor "a"/, 'b'],
    ['a hole between tensors', rawSafetensors({ ...f32('a', 0, 4), ...f32('b', 8, 12) }, 12), /tensor "b": bytes 4\.\.8 of the data section belong to no tensor/, 'b'],
    ['a hole at the start', rawSafetensors(f32('a', 4, 8), 8), /tensor "a": bytes 0\.\.4 .*hole at the start/, 'a'],
    ['trailing bytes after the last tensor', rawSafetensors(f32('a', 0, 4), 9), /5 bytes after the last tensor \("a"\) belong to no tensor/],
    ['duplicate tensor names', rawSafetensors('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1), /duplicate key "a" at line 1, column 54/],
    ['duplicate keys inside an entry', rawSafetensors('{"a":{"dtype":"U8","dtype":"F32","shape":[1],"data_offsets":[0,1]}}', 1), /duplicate key "dtype"/],
    ['non-string metadata', rawSafetensors({ __metadata__: { step: 3 } }), /"__metadata__" values must be strings, but "step" is 3/],
    ['an entry that is not an object', rawSafetensors({ w: 5 }), /tensor "w": header entry must be an object/, 'w']
  ]
  for (const [what, bytes, message, tensor] of cases) {
    it(`${what}: specific error naming the file${tensor ? ' and tensor' : ''}, nothing created`, () => {
      const file = join(dir, `${what.replace(/\W+/g, '-')}.safetensors`)
      writeFileSync(file, bytes)
      const before = snapshot(dir)
      for (const read of [() => readSafetensors(file), () => readSafetensorsHeader(file)]) {
        let err: unknown
        try {
          read()
        } catch (e) {
          err = e
        }
        expect(err).toBeInstanceOf(SafetensorsError)
        const e = err as SafetensorsError
        expect(e.message).toMatch(message)
        expect(e.message.startsWith(file)).toBe(true)
        expect(e.file).toBe(file)
        if (tensor) expect(e.tensor).toBe(tensor)
      }
      expect(snapshot(dir)).toEqual(before)
    })
  }

  it('a valid file cut short anywhere is refused', () => {
    const good = Buffer.concat(
      serializeSafetensors({ a: { dtype: 'F32', shape: [4], data: new Float32Array(4) }, b: { dtype: 'F16', shape: [3], data: new Uint16Array(3) } }).chunks
    )
    for (let len = 0; len < good.length; len++) {
      const file = join(dir, 'cut.safetensors')
      writeFileSync(file, good.subarray(0, len))
      expect(() => readSafetensors(file), `length ${len}`).toThrow(SafetensorsError)
    }
  })

  it('a missing file or a folder gives a clear error', () => {
    expect(() => readSafetensors(join(dir, 'nope.safetensors'))).toThrow(/nope\.safetensors: file not found/)
    expect(() => readSafetensors(dir)).toThrow(/is a folder|not a regular file/)
  })
})

describe('writer refuses bad input and writes nothing', () => {
  const dir = tempDir()
  const file = join(dir, 'w.safetensors')
  const cases: Array<[string, Record<string, TensorInput>, RegExp, Record<string, string>?]> = [
    ['length ≠ numel', { w: { dtype: 'F32', shape: [2, 2], data: new Float32Array(3) } }, /tensor "w": shape \[2,2\] has 4 elements but the data holds 3/],
    ['wrong array type', { w: { dtype: 'I32', shape: [1], data: new Float32Array(1) } }, /tensor "w": data for dtype I32 must be a Int32Array, found Float32Array/],
    ['reserved name', { __metadata__: { dtype: 'U8', shape: [1], data: new Uint8Array(1) } }, /"__metadata__" cannot be a tensor name/],
    ['unknown dtype', { w: { dtype: 'Q4' as 'U8', shape: [1], data: new Uint8Array(1) } }, /unknown dtype "Q4"/],
    ['non-string metadata', { w: { dtype: 'U8', shape: [1], data: new Uint8Array(1) } }, /"__metadata__" values must be strings/, { n: 1 as unknown as string }]
  ]
  for (const [what, tensors, message, meta] of cases) {
    it(what, () => {
      expect(() => writeSafetensors(file, tensors, meta)).toThrow(message)
      expect(existsSync(file)).toBe(false)
      expect(readdirSync(dir)).toEqual([])
    })
  }
})

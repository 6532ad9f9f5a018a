/**
 * Installers: electron-builder.yml packs an unpacked Linux app offline (`--dir`) from a stand-in Electron
 * distribution (a fake `electron` executable and the few files electron-builder copies), through
 * scripts/dist.mjs as `npm run dist` runs it; and the wrapper explains a missing Electron instead of
 * downloading. The project is a temp copy with stub build output (out/ is rebuilt concurrently by others)
 * and a hard-linked copy of the real node_modules (plus a stand-in @tensorflow/tfjs-node, which cannot be
 * installed offline), so the real dependency filters and asarUnpack rules are exercised.
 */
import { spawnSync } from 'node:child_process'
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../helpers/shared-data'

const tmp = mkdtempSync(join(tmpdir(), 'ird-dist-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
const DIST = join(REPO_ROOT, 'scripts/dist.mjs')
const electronVersion = JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules/electron/package.json'), 'utf8')).version as string

function fakeElectron(dir: string): string {
  mkdirSync(join(dir, 'resources'), { recursive: true })
  writeFileSync(join(dir, 'electron'), '#!/bin/sh\necho "stand-in electron $@"\n')
  chmodSync(join(dir, 'electron'), 0o755)
  writeFileSync(join(dir, 'version'), electronVersion)
  writeFileSync(join(dir, 'LICENSE'), 'MIT')
  writeFileSync(join(dir, 'LICENSES.chromium.html'), '<html></html>')
  return dir
}

function project(dir: string): string {
  mkdirSync(join(dir, 'out/main'), { recursive: true })
  mkdirSync(join(dir, 'out/renderer'), { recursive: true })
  mkdirSync(join(dir, 'resources/data/sst2-demo'), { recursive: true })
  mkdirSync(join(dir, 'src'), { recursive: true })
  for (const f of ['electron-builder.yml', 'package.json', 'package-lock.json']) copyFileSync(join(REPO_ROOT, f), join(dir, f))
  cpSync(join(REPO_ROOT, 'bin'), join(dir, 'bin'), { recursive: true })
  copyFileSync(join(REPO_ROOT, 'resources/icon.png'), join(dir, 'resources/icon.png'))
  writeFileSync(join(dir, 'resources/data/sst2-demo/train.tsv'), 'sentence\tlabel\ngood\t1\n')
  writeFileSync(join(dir, 'out/main/index.js'), 'console.log("main")\n')
  writeFileSync(join(dir, 'out/renderer/index.html'), '<!doctype html>\n')
  writeFileSync(join(dir, 'src/secret.ts'), 'export const source = true\n')
  // hard links: real folders (electron-builder resolves dependencies by path), no copying, read only here
  const cp = spawnSync('cp', ['-al', join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules')])
  if (cp.status !== 0) symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir')
  const tfn = join(dir, 'node_modules/@tensorflow/tfjs-node')
  if (cp.status === 0 && !existsSync(tfn)) {
    const files: Record<string, string> = {
      'package.json': JSON.stringify({ name: '@tensorflow/tfjs-node', version: '4.22.0', main: 'dist/index.js' }),
      'dist/index.js': 'module.exports = {}\n',
      'dist/nodejs_kernel_backend.js': 'module.exports = {}\n',
      'lib/napi-v8/tfjs_binding.node': 'binary',
      'deps/lib/libtensorflow.so.2': 'binary',
      'deps/include/tensorflow/c/c_api.h': '// header',
      'src/tfjs_backend.cc': '// source',
      'binding.gyp': '{}',
      'scripts/install.js': '// downloads libtensorflow'
    }
    for (const [f, text] of Object.entries(files)) {
      mkdirSync(join(tfn, f, '..'), { recursive: true })
      writeFileSync(join(tfn, f), text)
    }
  }
  return dir
}

function dist(env: Record<string, string>, ...args: string[]) {
  const r = spawnSync(process.execPath, [DIST, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 180_000, env: { ...process.env, ...env } })
  return { code: r.status, out: r.stdout + r.stderr }
}

describe('npm run dist', () => {
  it('the app icon is a 512x512 PNG', () => {
    const png = readFileSync(join(REPO_ROOT, 'resources/icon.png'))
    expect(png.subarray(1, 4).toString()).toBe('PNG')
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([512, 512])
  })

  it('explains a missing Electron distribution and exits 1 without building', () => {
    const r = dist({ ELECTRON_DIST: join(tmp, 'no-such-electron') }, '--dir', '--skip-build', '--project-dir', join(tmp, 'nothing'))
    expect(r.code).toBe(1)
    expect(r.out).toContain('ELECTRON_DIST is set but unusable')
    expect(r.out).toContain(`Electron ${electronVersion}`)
    const empty = join(tmp, 'empty-electron')
    mkdirSync(empty)
    const r2 = dist({ ELECTRON_DIST: empty }, '--dir', '--skip-build')
    expect(r2.code).toBe(1)
    expect(r2.out).toMatch(new RegExp(`holds neither the electron executable nor electron-v${electronVersion.replace(/\./g, '\\.')}-linux-x64\\.zip`))
  })

  it.skipIf(process.platform !== 'linux')('packs an unpacked Linux app offline from a stand-in Electron (--dir)', () => {
    const electron = fakeElectron(join(tmp, 'electron'))
    const proj = project(join(tmp, 'proj'))
    const out = join(tmp, 'release')
    const r = dist({ ELECTRON_DIST: electron }, '--linux', '--dir', '--skip-build', '--project-dir', proj, '--output', out)
    expect(r.code, r.out).toBe(0)
    const app = join(out, 'linux-unpacked')
    expect(existsSync(join(app, 'ird-studio')), 'the executable, renamed').toBe(true)
    expect(spawnSync(join(app, 'ird-studio'), [], { encoding: 'utf8' }).stdout).toContain('stand-in electron')
    expect(existsSync(join(app, 'resources/data/sst2-demo/train.tsv')), 'extraResources').toBe(true)
    const asar = createRequire(import.meta.url)('@electron/asar') as { listPackage(f: string): string[] }
    const files = asar.listPackage(join(app, 'resources/app.asar')).map((f) => f.replace(/\\/g, '/'))
    expect(files).toContain('/out/main/index.js')
    expect(files).toContain('/package.json')
    expect(files).toContain('/node_modules/@tensorflow/tfjs/dist/tf.node.js')
    expect(files).toContain('/node_modules/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.node.js')
    expect(files).toContain('/node_modules/fflate/package.json')
    expect(files.filter((f) => f.startsWith('/src') || f.startsWith('/test') || f.startsWith('/resources'))).toEqual([])
    expect(files.filter((f) => f.endsWith('.map') || f.endsWith('.ts'))).toEqual([])
    expect(files).not.toContain('/node_modules/@tensorflow/tfjs/dist/tf.min.js')
    expect(files.some((f) => f.startsWith('/node_modules/electron/') || f.startsWith('/node_modules/vue/'))).toBe(false)
    // tfjs-node: the binding and libtensorflow unpacked (dlopen needs real files), its build sources not shipped
    const unpacked = join(app, 'resources/app.asar.unpacked/node_modules')
    if (existsSync(join(proj, 'node_modules/@tensorflow/tfjs-node/binding.gyp'))) {
      for (const f of ['lib/napi-v8/tfjs_binding.node', 'deps/lib/libtensorflow.so.2', 'dist/index.js', 'package.json']) {
        expect(existsSync(join(unpacked, '@tensorflow/tfjs-node', f)), f).toBe(true)
      }
      for (const f of ['src/tfjs_backend.cc', 'binding.gyp', 'scripts/install.js', 'deps/include/tensorflow/c/c_api.h']) {
        expect(existsSync(join(unpacked, '@tensorflow/tfjs-node', f)), f).toBe(false)
        expect(files).not.toContain(`/node_modules/@tensorflow/tfjs-node/${f}`)
      }
    } else console.warn('no hard-linked node_modules copy: the tfjs-node packaging rules were not checked')
    // WebGPU: Dawn's N-API addon is a real file next to the asar (dlopen), the backend's Node bundle inside
    if (existsSync(join(proj, 'node_modules/webgpu/dist/linux-x64/dawn.node'))) {
      expect(existsSync(join(unpacked, 'webgpu/dist/linux-x64/dawn.node')), 'dawn.node unpacked').toBe(true)
      expect(files).toContain('/node_modules/@tensorflow/tfjs-backend-webgpu/dist/tf-backend-webgpu.node.js')
      expect(files).not.toContain('/node_modules/@tensorflow/tfjs-backend-webgpu/dist/tf-backend-webgpu.min.js')
    }
    // wasm binaries are real files next to the asar
    for (const w of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm']) {
      expect(existsSync(join(app, 'resources/app.asar.unpacked/node_modules/@tensorflow/tfjs-backend-wasm/dist', w)), w).toBe(true)
    }
  })
})

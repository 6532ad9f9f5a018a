import { resolve } from 'node:path'
import { defineConfig } from 'electron-vite'
import type { Plugin } from 'vite'
import vue from '@vitejs/plugin-vue'
import { contentSecurityPolicy } from './src/main/security'

/**
 * Writes the renderer's CSP <meta> from src/main/security.ts (one source of truth): the strict policy in
 * builds, the dev-server variant (inline styles from Vite, HMR websocket) under `electron-vite dev`.
 */
function cspMeta(): Plugin {
  return {
    name: 'ird:csp-meta',
    transformIndexHtml(html, ctx) {
      const pattern = /(<meta\s+http-equiv="Content-Security-Policy"\s+content=")[^"]*(")/
      if (!pattern.test(html)) throw new Error('src/renderer/index.html has no Content-Security-Policy <meta>')
      // Under the dev server: its actual origin (Vite moves to another port when 5173 is taken).
      const local = ctx.server?.resolvedUrls?.local[0]
      const devServerOrigin = ctx.server ? new URL(local ?? `http://localhost:${ctx.server.config.server.port}`).origin : undefined
      return html.replace(pattern, `$1${contentSecurityPolicy({ forMeta: true, devServerOrigin })}$2`)
    }
  }
}

// Dependencies are externalised by default (electron-vite 6 `build.externalizeDeps`): tfjs loads from
// node_modules at run time, in the engine process only.
export default defineConfig({
  main: {
    resolve: { alias: { '@shared': resolve('src/shared'), '@engine': resolve('src/engine') } },
    build: {
      rollupOptions: {
        input: {
          index: resolve('src/main/index.ts'),
          // the engine runs in its own process (utilityProcess), built as a separate entry
          'engine-process': resolve('src/engine/process.ts'),
          // the headless command line (bin/ird-studio.js runs it when the TypeScript source is absent)
          cli: resolve('src/cli/index.ts'),
          // Fisher worker threads: src/engine/fisher/parallel.ts finds out/main/fisher-worker.js
          'fisher-worker': resolve('src/engine/fisher/worker.ts'),
          // data-parallel training threads: src/engine/train/grad-pool.ts finds out/main/train-worker.js
          'train-worker': resolve('src/engine/train/grad-worker.ts')
        }
      }
    }
  },
  preload: {
    resolve: { alias: { '@shared': resolve('src/shared') } },
    build: {
      // Sandboxed preloads cannot be ES modules: CommonJS, out/preload/index.cjs.
      rollupOptions: { output: { format: 'cjs', entryFileNames: '[name].cjs' } }
    }
  },
  renderer: {
    root: resolve('src/renderer'),
    resolve: { alias: { '@shared': resolve('src/shared'), '@renderer': resolve('src/renderer/src') } },
    plugins: [vue(), cspMeta()],
    // electron-vite leaves every bundle unminified; the renderer is loaded by every window (and served by
    // `ird-studio serve`), so it is minified. Main, preload and the engine stay readable for stack traces.
    build: { minify: true }
  }
})

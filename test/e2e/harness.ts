/**
 * End-to-end harness: finds Debian's Chromium, makes sure the renderer is built (out/renderer), makes the
 * fixtures (a tiny random BERT through the CLI, the first rows of SST-2 train/dev, a broken TSV), starts
 * browser mode (src/server/server.ts: static renderer + WebSocket with a token, real engine process) and
 * launches Chromium through playwright-core. Screenshots go to a temp folder and, with
 * UPDATE_SCREENSHOTS=1, to docs/screenshots.
 * Must not: download a browser, or leave processes behind (close() stops the server, engine and browser).
 */
import { execFile } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { chromium, type Browser, type Locator, type Page } from 'playwright-core'
import { SHARED_DATA } from '../helpers/shared-data'

const run = promisify(execFile)
export const ROOT = resolve(import.meta.dirname, '..', '..')

/** Chromium from Debian (`apt-get install chromium`); IRD_CHROMIUM overrides. Null when absent. */
export function findChromium(): string | null {
  for (const p of [process.env.IRD_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean) as string[]) if (existsSync(p)) return p
  return null
}

/** Builds the renderer unless out/renderer is there (CI's `npm run check` builds before testing). */
export async function ensureRendererBuilt(): Promise<string> {
  const dir = join(ROOT, 'out', 'renderer')
  if (existsSync(join(dir, 'index.html')) && process.env.IRD_E2E_REBUILD !== '1') return dir
  await run(process.execPath, [join(ROOT, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build'], { cwd: ROOT, maxBuffer: 64 << 20 })
  if (!existsSync(join(dir, 'index.html'))) throw new Error(`electron-vite build did not write ${dir}/index.html`)
  return dir
}

export interface Fixtures {
  dir: string
  model: string
  train: string
  dev: string
  broken: string
}

/** Tiny model (1 layer, hidden 32) through `ird-studio init-model`, and small data files. */
export async function makeFixtures(): Promise<Fixtures> {
  const dir = mkdtempSync(join(tmpdir(), 'ird-e2e-'))
  const head = (file: string, n: number) => readFileSync(file, 'utf8').split('\n').slice(0, n + 1).join('\n') + '\n'
  const train = join(dir, 'sst2-train.tsv')
  const dev = join(dir, 'sst2-dev.tsv')
  writeFileSync(train, head(join(SHARED_DATA, 'glue', 'SST-2', 'train.tsv'), 200))
  writeFileSync(dev, head(join(SHARED_DATA, 'glue', 'SST-2', 'dev.tsv'), 100))
  // Broken on purpose: a missing label (line 3), a label outside {0, 1} (line 4), an extra column (line 6).
  const broken = join(dir, 'broken.tsv')
  writeFileSync(broken, 'sentence\tlabel\na fine movie\t1\nno label here\t\nodd label\t7\nthe plot drags\t0\ntoo\tmany\tcolumns\nsolid acting\t1\n')
  const model = join(dir, 'tiny-model')
  await run(process.execPath, [join(ROOT, 'bin', 'ird-studio.js'), 'init-model', '--out', model, '--vocab', join(SHARED_DATA, 'vocab', 'bert-base-uncased-vocab.txt'), '--layers', '1', '--hidden', '32', '--heads', '2', '--intermediate', '64', '--max-positions', '128'], { cwd: ROOT })
  return { dir, model, train, dev, broken }
}

export interface Session {
  url: string
  browser: Browser
  page: Page
  /** Messages from the page's console errors and uncaught exceptions. */
  pageErrors: string[]
  close(): Promise<void>
}

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']

export async function startSession(opts: { chromium: string; rendererDir: string; dataDir: string; runsDir: string }): Promise<Session> {
  const { startServer } = await import('../../src/server/server')
  const server = await startServer({ port: 0, rendererDir: opts.rendererDir, dataDir: opts.dataDir, runsDir: opts.runsDir, log: () => {} })
  let browser: Browser | null = null
  try {
    browser = await chromium.launch({ executablePath: opts.chromium, args: CHROMIUM_ARGS })
    const context = await browser.newContext({ viewport: { width: 1360, height: 900 }, acceptDownloads: true, colorScheme: 'light', reducedMotion: 'reduce' })
    const page = await context.newPage()
    const pageErrors: string[] = []
    page.on('pageerror', (e) => pageErrors.push(`uncaught: ${e.message}`))
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`)
    })
    const b = browser
    return {
      url: server.url,
      browser: b,
      page,
      pageErrors,
      close: async () => {
        await b.close().catch(() => {})
        await server.close()
      }
    }
  } catch (e) {
    await browser?.close().catch(() => {})
    await server.close()
    throw e
  }
}

export const SCREENSHOT_DIR = join(tmpdir(), 'ird-studio-screenshots')
const DOCS_SCREENSHOTS = join(ROOT, 'docs', 'screenshots')

/** Saves a full-page screenshot to the temp folder, and to docs/screenshots with UPDATE_SCREENSHOTS=1. */
/** A screenshot of one element (a chart), kept like the page screenshots (docs/screenshots with UPDATE_SCREENSHOTS=1). */
export async function elementScreenshot(el: Locator, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true })
  const file = join(SCREENSHOT_DIR, `${name}.png`)
  await el.scrollIntoViewIfNeeded()
  await el.page().waitForTimeout(400)
  await el.screenshot({ path: file })
  if (process.env.UPDATE_SCREENSHOTS === '1') {
    mkdirSync(DOCS_SCREENSHOTS, { recursive: true })
    copyFileSync(file, join(DOCS_SCREENSHOTS, `${name}.png`))
  }
  return file
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true })
  const file = join(SCREENSHOT_DIR, `${name}.png`)
  // Let charts finish drawing (animation is off under reduced motion, but layout settles a frame later).
  await page.waitForTimeout(400)
  await page.screenshot({ path: file, fullPage: true })
  if (process.env.UPDATE_SCREENSHOTS === '1') {
    mkdirSync(DOCS_SCREENSHOTS, { recursive: true })
    copyFileSync(file, join(DOCS_SCREENSHOTS, `${name}.png`))
  }
  return file
}

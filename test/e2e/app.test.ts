/**
 * End to end, in Chromium against browser mode and the real engine on a tiny model: import datasets
 * (drag and drop, file picker with a broken file, a path), add the model, start runs and watch progress
 * and the Fisher charts update, reload mid-run and find the run still running, stop it, compare two runs
 * and export the table. Takes the README screenshots on the way (docs/screenshots with UPDATE_SCREENSHOTS=1).
 * Skips, loudly, only when Chromium is absent (Debian: apt-get install -y chromium).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureRendererBuilt, findChromium, makeFixtures, elementScreenshot, screenshot, startSession, type Fixtures, type Session } from './harness'

// The callbacks given to page.evaluate/$eval run in the page; this file is type-checked without the DOM
// library (tsconfig.json), so the little of the DOM they touch is declared here, for this module only.
interface PageElement {
  id: string
  textContent: string | null
  tabIndex: number
  focus(): void
  removeAttribute(name: string): void
  hasAttribute(name: string): boolean
}
declare const document: { body: PageElement; activeElement: PageElement | null; querySelector(selector: string): PageElement | null }
declare const window: { scrollTo(x: number, y: number): void }
declare class DataTransfer {
  items: { add(file: unknown): void }
}
type SelectElement = { options: ArrayLike<{ text: string; value: string }> }

const CHROMIUM = findChromium()
if (!CHROMIUM) {
  console.warn(
    '\n' + '!'.repeat(100) + '\n!!! test/e2e SKIPPED: no Chromium at /usr/bin/chromium (install it: apt-get install -y chromium, or set IRD_CHROMIUM)\n' + '!'.repeat(100) + '\n'
  )
}

describe.skipIf(!CHROMIUM)('IRD Studio in a browser (browser mode, real engine)', () => {
  let fx: Fixtures
  let s: Session
  const runIds: string[] = []

  beforeAll(async () => {
    const [rendererDir, fixtures] = await Promise.all([ensureRendererBuilt(), makeFixtures()])
    fx = fixtures
    s = await startSession({ chromium: CHROMIUM!, rendererDir, dataDir: join(fx.dir, 'data'), runsDir: join(fx.dir, 'runs') })
    await s.page.goto(s.url)
    await s.page.waitForSelector('.backend-badge[data-state="ready"]', { timeout: 60_000 })
  }, 180_000)

  afterAll(async () => {
    await s?.close()
  })

  const page = () => s.page
  const go = async (screen: string) => {
    await page().click(`nav a[data-screen="${screen}"]`)
    await page().waitForSelector(`main h2:focus, main h2`)
  }

  it('shows the backend that runs and the empty states', async () => {
    expect(await page().textContent('[data-testid="backend-name"]')).toMatch(/WebAssembly|JavaScript|TensorFlow/)
    expect(await page().textContent('main')).toContain('No datasets yet')
    await go('runs')
    expect(await page().textContent('main')).toContain('No saved runs')
    await go('monitor')
    expect(await page().textContent('main')).toContain('No runs yet')
    await go('engine')
    await page().waitForSelector('.engine-panel .facts')
    // a WebGPU adapter, when Dawn finds one, is named with whether it runs (auto never takes a software one)
    const adapter = await page().$('[data-testid="gpu-adapter"]')
    if (adapter) expect(await adapter.textContent()).toMatch(/buffers up to \d+ MiB.*(software rasteriser.*not used|\))/s)
    await screenshot(page(), 'engine')
    await go('datasets')
  })

  it('imports a broken file from the picker: every problem with its line, then drops the bad rows', async () => {
    const p = page()
    await p.setInputFiles('[data-testid="file-input"]', { name: 'broken.tsv', mimeType: 'text/tab-separated-values', buffer: readFileSync(fx.broken) })
    await p.waitForSelector('.preview-table')
    await p.selectOption('#ds-task', 'sst2')
    await p.click('text=Check the whole file')
    await p.waitForSelector('[data-testid="report"] .verdict-line[data-usable="false"]')
    const problems = await p.$$eval('table.problems tbody tr', (rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent?.trim() ?? '')))
    const lines = problems.map((r) => r[2])
    expect(lines).toEqual(expect.arrayContaining(['3', '4', '6']))
    expect(problems.every((r) => r[1] === 'broken.tsv')).toBe(true)
    expect(problems.find((r) => r[2] === '4')?.[4]).toMatch(/7/)
    await screenshot(p, 'datasets-report')
    await p.check('[data-testid="drop-bad-rows"]')
    await p.click('text=Check the whole file')
    await p.waitForSelector('[data-testid="report"] .verdict-line[data-usable="true"]')
    expect(await p.textContent('[data-testid="report"]')).toMatch(/rows kept out/)
  })

  it('imports training data by drag and drop and dev data by path, with statistics', async () => {
    const p = page()
    const dt = await p.evaluateHandle((text) => {
      const d = new DataTransfer()
      d.items.add(new File([text], 'sst2-train.tsv', { type: 'text/tab-separated-values' }))
      return d
    }, readFileSync(fx.train, 'utf8'))
    await p.dispatchEvent('[data-testid="drop-zone"]', 'drop', { dataTransfer: dt })
    await p.waitForSelector('.pick[aria-pressed="true"][data-dataset="sst2-train.tsv"]')
    await p.waitForSelector('.preview-table')
    await p.click('text=Check the whole file')
    await p.waitForSelector('[data-testid="stats"] .chart-card canvas', { timeout: 30_000 })
    expect(await p.textContent('[data-testid="stats"]')).toContain('Label distribution')

    await p.fill('#dataset-path', fx.dev)
    await p.click('form.inline-form button[type="submit"]')
    await p.waitForSelector('.pick[aria-pressed="true"][data-dataset="sst2-dev.tsv"]')
    await p.waitForSelector('.preview-table')
    await p.selectOption('#ds-split', 'dev')
    const trainId = await p.$eval('#ds-pair', (el) => Array.from((el as unknown as SelectElement).options).find((o) => o.text === 'sst2-train.tsv')?.value ?? '')
    await p.selectOption('#ds-pair', trainId)
    await p.click('text=Check the whole file')
    await p.waitForSelector('[data-testid="stats"] .chart-card canvas', { timeout: 30_000 })
    expect(await p.textContent('[data-testid="stats"]')).toMatch(/Train\/dev overlap/)
    await p.click('.pick[data-dataset="sst2-train.tsv"]')
    await p.waitForSelector('[data-testid="stats"] .chart-card canvas', { timeout: 30_000 })
    await screenshot(p, 'datasets')
  })

  it('is usable from the keyboard: skip link, screen links, focus on the new screen’s heading', async () => {
    const p = page()
    // Start from the top of the document, as after loading the page.
    await p.evaluate(() => {
      window.scrollTo(0, 0)
      document.body.tabIndex = -1
      document.body.focus()
      document.body.removeAttribute('tabindex')
    })
    await p.keyboard.press('Tab')
    expect(await p.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content')
    await p.focus('nav a[data-screen="models"]')
    await p.keyboard.press('Enter')
    await p.waitForFunction(() => document.activeElement?.id === 'models-heading')
    await p.keyboard.press('Tab')
    expect(await p.evaluate(() => document.activeElement?.id)).toBe('model-path')
  })

  it('adds the model folder and shows its summary; a wrong folder gets the engine’s reason', async () => {
    const p = page()
    await go('models')
    await p.fill('#model-path', join(fx.dir, 'no-such-model'))
    await p.click('text=Check and add')
    const err = await p.waitForSelector('.error-box')
    expect(await err.textContent()).toContain('no-such-model')
    expect(await err.textContent()).not.toMatch(/an error (has )?occurred/i)
    await p.fill('#model-path', fx.model)
    await p.click('text=Check and add')
    const card = await p.waitForSelector('.model-card[data-kind="user"]')
    const text = (await card.textContent()) ?? ''
    expect(text).toMatch(/Layers\s*1/)
    expect(text).toMatch(/Hidden\s*32/)
    expect(text).toMatch(/30,522/)
    await screenshot(p, 'models')
  })

  async function newRun(opts: { method: string; epochs?: number; name: string }): Promise<string> {
    const p = page()
    await go('new-run')
    await p.click('label.preset:has-text("Quick check")')
    const pick = (sel: string, name: string) => p.$eval(sel, (el, n) => Array.from((el as unknown as SelectElement).options).find((o) => o.text.startsWith(n))?.value ?? '', name)
    await p.selectOption('#run-train', await pick('#run-train', 'sst2-train.tsv'))
    await p.selectOption('#run-dev', await pick('#run-dev', 'sst2-dev.tsv'))
    await p.selectOption('#run-model', await pick('#run-model', 'tiny-model'))
    await p.check(`input[name="method"][value="${opts.method}"]`)
    await p.fill('#run-name', opts.name)
    if (opts.epochs) await p.fill('#tr-epochs', String(opts.epochs))
    await p.waitForFunction(() => !document.querySelector('[data-testid="start-run"]')?.hasAttribute('disabled'), undefined, { timeout: 30_000 })
    if (opts.name === 'e2e ird') {
      await p.waitForSelector('[data-testid="estimate-k"]')
      expect(Number((await p.textContent('[data-testid="estimate-k"]'))?.replace(/[^0-9].*$/, '').replace(/,/g, ''))).toBeGreaterThan(0)
      await screenshot(p, 'new-run')
    }
    await p.click('[data-testid="start-run"]')
    await p.waitForURL(/#\/monitor\/.+/, { timeout: 30_000 })
    const id = decodeURIComponent(new URL(p.url()).hash.split('/')[2])
    runIds.push(id)
    return id
  }

  it('runs IRD to completion with live Fisher charts', async () => {
    const p = page()
    await newRun({ method: 'ird', name: 'e2e ird' })
    await p.waitForSelector('[data-testid="run-head"][data-status="completed"]', { timeout: 90_000 })
    await p.waitForSelector('figure[data-chart="ird-rounds-s-p-and-mass-kept"] canvas')
    await p.waitForSelector('figure[data-chart="fisher-mass-and-selection-per-layer"] canvas')
    expect(await p.textContent('[data-testid="run-head"]')).toMatch(/Main dev score/)
    // the constant-prediction warning is shown exactly when the engine recorded it for this run
    const id = runIds.at(-1)!
    const summary = JSON.parse(readFileSync(join(fx.dir, 'runs', id, 'summary.json'), 'utf8')) as { warnings?: string[] }
    expect(await p.locator('[data-testid="run-warning"]').count()).toBe(summary.warnings?.length ?? 0)
    if (summary.warnings?.length) expect(await p.textContent('[data-testid="run-warning"]')).toContain('constant predictor')
    await screenshot(p, 'run-monitor-completed')
    // the log-Fisher histogram: entries with F = 0 are counted apart, never drawn as a bar at log10 F = 0
    const stats = JSON.parse(readFileSync(join(fx.dir, 'runs', id, 'fisher-stats.json'), 'utf8')) as { fisher?: { histogram?: { zeros?: number } } }
    const zeros = stats.fisher?.histogram?.zeros ?? 0
    // a tiny model and few Fisher samples: most embedding rows never get a gradient
    expect(zeros).toBeGreaterThan(0)
    const hist = p.locator('figure.chart-card', { has: p.locator('h3', { hasText: 'Fisher histogram' }) })
    const histText = (await hist.locator('p.sr-only').textContent()) ?? ''
    expect(histText).toContain(`${zeros.toLocaleString('en')} ${zeros === 1 ? 'entry has' : 'entries have'} F = 0`)
    await elementScreenshot(hist, 'fisher-histogram')
  }, 120_000)

  it('runs FISH to completion, and starts a new run from it', async () => {
    const p = page()
    const id = await newRun({ method: 'fish', name: 'e2e fish' })
    await p.waitForSelector('[data-testid="run-head"][data-status="completed"]', { timeout: 90_000 })
    await p.click('text=New run from this run')
    await p.waitForSelector('#new-run-heading')
    expect(await p.textContent('main .hint-box')).toContain(id)
    expect(await p.isChecked('input[name="method"][value="fish"]')).toBe(true)
    expect(await p.inputValue('#run-name')).toBe('')
    expect(await p.inputValue('#tr-epochs')).toBe('1')
  }, 120_000)

  it('watches a long run, finds it still running after a reload, and stops it', async () => {
    const p = page()
    const id = await newRun({ method: 'ird', name: 'e2e long', epochs: 1000 })
    // Training has begun: the loss curve has points and the Fisher charts are drawn.
    await p.waitForSelector('figure[data-chart="training-loss"] canvas', { timeout: 60_000 })
    await p.waitForSelector('figure[data-chart="fisher-mass-and-selection-per-layer"] canvas')
    const before = await p.textContent('[data-testid="run-phase"]')
    expect(before).toMatch(/Training|Evaluating/)
    await p.waitForTimeout(1500)
    await screenshot(p, 'run-monitor')

    await p.reload()
    // the engine trains on every core meanwhile, so the reloaded page may take a while to render
    await p.waitForSelector('[data-testid="run-head"][data-status="running"]', { timeout: 60_000 })
    expect(p.url()).toContain(id)
    const elapsed1 = await p.textContent('[data-testid="run-elapsed"]')
    await p.waitForFunction((prev) => document.querySelector('[data-testid="run-elapsed"]')?.textContent !== prev, elapsed1, { timeout: 20_000 })

    await p.click('[data-testid="stop-run"]')
    await p.waitForSelector('[data-testid="run-head"][data-status="cancelled"]', { timeout: 60_000 })
  }, 150_000)

  it('compares two runs with a pinned baseline, mask overlap and config diff, and exports the table', async () => {
    const p = page()
    await go('runs')
    await p.waitForSelector('[data-testid="runs-table"] tbody tr')
    // a mark next to the score of each run the engine found to predict a constant, and only there
    const flagged = runIds.filter((id) => (JSON.parse(readFileSync(join(fx.dir, 'runs', id, 'summary.json'), 'utf8')) as { warnings?: string[] }).warnings?.length)
    expect(await p.locator('[data-testid="run-warning-mark"]').count()).toBe(flagged.length)
    for (const id of runIds.slice(0, 2)) await p.check(`tr[data-run="${id}"] input[type="checkbox"]`)
    await p.click(`tr[data-run="${runIds[0]}"] button[data-pin]`)
    await p.waitForSelector(`tr.baseline[data-run="${runIds[0]}"]`)
    expect(await p.$eval('[data-testid="runs-table"] tbody tr', (tr) => tr.getAttribute('data-run'))).toBe(runIds[0])
    await p.waitForSelector('text=Settings that differ', { state: 'attached' })
    const diff = (await p.textContent('main')) ?? ''
    expect(diff).toMatch(/method/)
    await p.waitForSelector('figure[data-chart="mask-overlap"] canvas', { timeout: 30_000 })
    await p.waitForSelector('figure[data-chart="runs-loss"] canvas')
    await p.$eval('.table-scroll', (el) => el.scrollTo(0, 0))
    await screenshot(p, 'runs-compare')

    const [download] = await Promise.all([p.waitForEvent('download'), p.click('[data-testid="export-csv"]')])
    const csv = readFileSync((await download.path())!, 'utf8')
    expect(csv.split('\n')[0]).toMatch(/^run,id,task,method/)
    for (const id of runIds) expect(csv).toContain(id)
    const [md] = await Promise.all([p.waitForEvent('download'), p.click('[data-testid="export-latex"]')])
    expect(readFileSync((await md.path())!, 'utf8')).toContain('\\begin{tabular}')

    // Charts export as SVG (a document of its own) and PNG.
    const [svg] = await Promise.all([p.waitForEvent('download'), p.click('figure[data-chart="mask-overlap"] button:has-text("SVG")')])
    expect(svg.suggestedFilename()).toBe('mask-overlap.svg')
    expect(readFileSync((await svg.path())!, 'utf8').trim()).toMatch(/^<svg[\s\S]*<\/svg>$/)
    const [png] = await Promise.all([p.waitForEvent('download'), p.click('figure[data-chart="runs-loss"] button:has-text("PNG")')])
    expect(readFileSync((await png.path())!).subarray(1, 4).toString()).toBe('PNG')
  }, 90_000)

  it('raised no uncaught errors in the page', () => {
    expect(s.pageErrors).toEqual([])
  })
})

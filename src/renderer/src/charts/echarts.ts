/**
 * The one place echarts is configured: tree-shaken registration (echarts/core + only the charts and
 * components the views use, both renderers: canvas on screen, SVG for export), and the export helpers.
 * Must not: build chart options (views do, with their data).
 */
import { BarChart, HeatmapChart, LineChart } from 'echarts/charts'
import { AriaComponent, GridComponent, LegendComponent, TitleComponent, TooltipComponent, VisualMapComponent } from 'echarts/components'
import { init, use, type ECharts } from 'echarts/core'
import { CanvasRenderer, SVGRenderer } from 'echarts/renderers'
import type { ChartOption } from './chart-option'

export type { ChartOption } from './chart-option'

use([
  LineChart,
  BarChart,
  HeatmapChart,
  GridComponent,
  TooltipComponent,
  LegendComponent,
  VisualMapComponent,
  AriaComponent,
  TitleComponent,
  CanvasRenderer,
  SVGRenderer
])

/** Colours that read on white and on the dark theme alike (Okabe–Ito, colour-blind safe). */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#F0E442', '#000000']

/** Chart text colour from the page's CSS variables, so charts follow light/dark. */
export function themeColors(): { fg: string; muted: string; border: string; bg: string } {
  const css = getComputedStyle(document.documentElement)
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback
  return { fg: v('--fg', '#1b1f24'), muted: v('--muted', '#57606a'), border: v('--border', '#d0d7de'), bg: v('--card', '#ffffff') }
}

/** The same option rendered as an SVG document (a throwaway SVG-renderer instance in SSR mode). */
export function renderSvg(option: ChartOption, width: number, height: number): string {
  const chart: ECharts = init(null, null, { renderer: 'svg', ssr: true, width, height })
  try {
    chart.setOption({ ...option, animation: false })
    return chart.renderToSVGString()
  } finally {
    chart.dispose()
  }
}

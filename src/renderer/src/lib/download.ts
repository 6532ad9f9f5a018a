/**
 * Saving something the user exported (a table, a chart, a run config) as a file: a Blob and an <a download>
 * click. Works in a browser and in Electron (whose main process shows the save dialog for downloads).
 * Must not: touch window.api or read files.
 */
export function saveBlob(filename: string, blob: Blob): void {
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = filename
  a.rel = 'noopener'
  a.hidden = true
  document.body.appendChild(a)
  a.click()
  a.remove()
  // Revoke later: Chromium starts the download asynchronously after the click.
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

export function saveText(filename: string, text: string, type = 'text/plain'): void {
  saveBlob(filename, new Blob([text], { type: `${type};charset=utf-8` }))
}

/** A data: URL (echarts' getDataURL) → Blob, without fetch (the CSP's connect-src does not cover data:). */
export function dataUrlToBlob(url: string): Blob {
  const comma = url.indexOf(',')
  if (!url.startsWith('data:') || comma < 0) throw new Error(`not a data: URL (starts with "${url.slice(0, 20)}")`)
  const meta = url.slice(5, comma)
  const type = meta.split(';')[0] || 'application/octet-stream'
  const body = url.slice(comma + 1)
  if (meta.endsWith(';base64')) {
    const bin = atob(body)
    const out = new Uint8Array(bin.length)
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
    return new Blob([out], { type })
  }
  return new Blob([decodeURIComponent(body)], { type })
}

/** A file name part from free text: "SST-2 / IRD 0.5%" → "sst-2-ird-0-5". */
export function fileSlug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60) || 'export'
}

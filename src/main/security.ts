/**
 * Security policy of the desktop shell as plain functions: the Content-Security-Policy and the rule for
 * which URLs belong to the app (navigation and IPC senders are checked against it).
 *
 * Owns: the CSP text (one source for the response header, the <meta> in src/renderer/index.html, which
 * electron.vite.config.ts rewrites from here and test/main/security.test.ts checks) and isAppUrl.
 * Must not: import electron (this module is unit-tested under plain Node) or allow remote origins:
 * the app loads nothing from the network, no CDN, no web fonts.
 */

/** Where the renderer's page lives: the Vite dev server (development only) or the built index.html. */
export type AppLocation = { kind: 'dev-server'; origin: string } | { kind: 'file'; indexUrl: string }

export interface CspOptions {
  /** The Vite dev server: allows its inline <style> injection and its HMR websocket. */
  devServerOrigin?: string
  /** `frame-ancestors` works only as a header; in a <meta> Chromium ignores it with a console warning. */
  forMeta?: boolean
  /** Browser mode: the server's own WebSocket origin (ws://127.0.0.1:PORT), besides 'self'. */
  connectOrigins?: string[]
}

export function contentSecurityPolicy(opts: CspOptions = {}): string {
  const dev = opts.devServerOrigin
  const directives: Array<[string, string]> = [
    ['default-src', "'none'"],
    ['script-src', "'self'"],
    // Vue's :style bindings go through CSSOM, which CSP allows; only dev-mode Vite injects <style> tags.
    ['style-src', dev ? "'self' 'unsafe-inline'" : "'self'"],
    ['img-src', "'self' data:"],
    ['font-src', "'self'"],
    ['connect-src', [dev ? `'self' ${dev.replace(/^http/, 'ws')}` : "'self'", ...(opts.connectOrigins ?? [])].join(' ')],
    ['worker-src', "'self'"],
    ['object-src', "'none'"],
    ['base-uri', "'none'"],
    ['form-action', "'none'"]
  ]
  if (!opts.forMeta) directives.push(['frame-ancestors', "'none'"])
  return directives.map(([k, v]) => `${k} ${v}`).join('; ')
}

/** True when `url` is the app's own page (any hash or query), so navigation to it and IPC from it are allowed. */
export function isAppUrl(url: string | undefined | null, location: AppLocation): boolean {
  if (!url) return false
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return false
  }
  if (location.kind === 'dev-server') return parsed.origin === location.origin
  const index = new URL(location.indexUrl)
  return parsed.protocol === 'file:' && parsed.host === index.host && parsed.pathname === index.pathname
}

/** Network schemes the session filters (see isAllowedNetworkRequest); file: and data: are not network. */
export const NETWORK_URL_PATTERNS = ['http://*/*', 'https://*/*', 'ws://*/*', 'wss://*/*']

/**
 * Whether the renderer may make this network request: never in the built app (it loads only its own
 * files), and only to the Vite dev server (page, modules, HMR websocket) in development.
 */
export function isAllowedNetworkRequest(url: string, location: AppLocation): boolean {
  if (location.kind !== 'dev-server') return false
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return false
  }
  const server = new URL(location.origin)
  const sameScheme = parsed.protocol === server.protocol || parsed.protocol === server.protocol.replace('http', 'ws')
  return sameScheme && parsed.host === server.host
}

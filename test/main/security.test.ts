/** The shell's security policy: CSP text, the <meta> copy in index.html, app-URL and network rules. */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  contentSecurityPolicy,
  isAllowedNetworkRequest,
  isAppUrl,
  type AppLocation
} from '../../src/main/security'

const built: AppLocation = { kind: 'file', indexUrl: 'file:///opt/IRD%20Studio/resources/app.asar/out/renderer/index.html' }
const dev: AppLocation = { kind: 'dev-server', origin: 'http://localhost:5173' }

describe('content security policy', () => {
  it('is strict: nothing remote, no inline script, no eval', () => {
    const csp = contentSecurityPolicy()
    expect(csp).toContain("default-src 'none'")
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain("style-src 'self';")
    expect(csp).toContain("frame-ancestors 'none'")
    expect(csp).not.toMatch(/unsafe-eval|unsafe-inline|https?:|\*/)
  })

  it('relaxes only what the dev server needs, only in development', () => {
    const csp = contentSecurityPolicy({ devServerOrigin: 'http://localhost:5173' })
    expect(csp).toContain("style-src 'self' 'unsafe-inline'")
    expect(csp).toContain("connect-src 'self' ws://localhost:5173")
    expect(csp).toContain("script-src 'self';")
  })

  it('is the policy in src/renderer/index.html', () => {
    const html = readFileSync(new URL('../../src/renderer/index.html', import.meta.url), 'utf8')
    const meta = /<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]*)"/.exec(html)
    expect(meta?.[1]).toBe(contentSecurityPolicy({ forMeta: true }))
  })
})

describe('isAppUrl', () => {
  it('accepts the built index.html, with hash or query', () => {
    expect(isAppUrl(built.kind === 'file' ? built.indexUrl : '', built)).toBe(true)
    expect(isAppUrl('file:///opt/IRD%20Studio/resources/app.asar/out/renderer/index.html#/runs/3', built)).toBe(true)
  })

  it('rejects other files, remote pages and junk', () => {
    expect(isAppUrl('file:///etc/passwd', built)).toBe(false)
    expect(isAppUrl('file:///opt/IRD%20Studio/resources/app.asar/out/renderer/other.html', built)).toBe(false)
    expect(isAppUrl('https://example.com/index.html', built)).toBe(false)
    expect(isAppUrl('not a url', built)).toBe(false)
    expect(isAppUrl(undefined, built)).toBe(false)
    expect(isAppUrl('', built)).toBe(false)
  })

  it('accepts only the dev server origin in development', () => {
    expect(isAppUrl('http://localhost:5173/', dev)).toBe(true)
    expect(isAppUrl('http://localhost:5174/', dev)).toBe(false)
    expect(isAppUrl('http://localhost.evil.com:5173/', dev)).toBe(false)
    expect(isAppUrl('file:///opt/index.html', dev)).toBe(false)
  })
})

describe('isAllowedNetworkRequest', () => {
  it('blocks every network request in the built app', () => {
    expect(isAllowedNetworkRequest('https://cdn.jsdelivr.net/npm/vue', built)).toBe(false)
    expect(isAllowedNetworkRequest('http://localhost:5173/src/main.ts', built)).toBe(false)
  })

  it('allows the dev server and its HMR websocket in development, nothing else', () => {
    expect(isAllowedNetworkRequest('http://localhost:5173/src/main.ts', dev)).toBe(true)
    expect(isAllowedNetworkRequest('ws://localhost:5173/', dev)).toBe(true)
    expect(isAllowedNetworkRequest('https://fonts.googleapis.com/css', dev)).toBe(false)
    expect(isAllowedNetworkRequest('http://localhost:8080/', dev)).toBe(false)
  })
})

/**
 * Turns anything thrown (a RemoteError from the other process, an Error, a SerializedError) into what the
 * UI shows: message, code, name, details as readable pairs and, for known codes, what to do.
 * Must not: hide the message behind a generic text.
 */
export interface ErrorView {
  name: string
  message: string
  code?: string
  details: Array<[string, string]>
  advice?: string
}

const ADVICE: Record<string, string> = {
  ENGINE_NOT_RUNNING: 'Restart the engine in the Engine panel, then try again.',
  ENGINE_EXITED: 'The engine process ended while working on this; its log in the Engine panel says why. Restart it and try again.',
  SHUTTING_DOWN: 'The engine is stopping; wait for it to restart.',
  TIMEOUT: 'No answer in time; the engine may still finish it. Check the Runs list before retrying.',
  BACKEND_UNAVAILABLE: 'Choose another backend in the Engine panel (Automatic picks one that works).',
  INTERNAL: 'This is a bug: the engine log in the Engine panel has the details.',
  FORBIDDEN: 'The request was refused: reload the page from the link the app printed (it carries the access token).'
}

function show(v: unknown): string {
  if (typeof v === 'string') return v
  try {
    return JSON.stringify(v)
  } catch {
    return String(v)
  }
}

export function describeError(e: unknown): ErrorView {
  if (e && typeof e === 'object' && 'message' in e && typeof (e as { message: unknown }).message === 'string') {
    const x = e as { name?: unknown; message: string; code?: unknown; details?: unknown }
    const code = typeof x.code === 'string' ? x.code : undefined
    const details: Array<[string, string]> =
      x.details && typeof x.details === 'object' ? Object.entries(x.details as Record<string, unknown>).map(([k, v]) => [k, show(v)]) : []
    return { name: typeof x.name === 'string' && x.name ? x.name : 'Error', message: x.message || '(no message)', code, details, advice: code ? ADVICE[code] : undefined }
  }
  return { name: 'Error', message: typeof e === 'string' ? e : `unexpected value thrown: ${show(e)}`, details: [] }
}

/** One line: "message (CODE)". */
export function errorLine(e: unknown): string {
  const v = describeError(e)
  return v.code ? `${v.message} (${v.code})` : v.message
}

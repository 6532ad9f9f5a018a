/**
 * Progress display for long CLI work: on a terminal one redrawn line on stderr
 * ("fisher ▕██████░░░░▏ 62%  1m10s elapsed, ETA 43s"); elsewhere a plain line every few seconds;
 * with --json the events themselves go to stdout as JSON lines, nothing else.
 * Must not: write to stdout unless in JSON mode (stdout carries results).
 */

export interface ProgressEvent {
  phase: string
  done?: number
  total?: number
  message?: string
  [key: string]: unknown
}

/** A duration for people: 42s, 3m05s, 1h07m. */
export function dur(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}

export class Progress {
  private phase = ''
  private phaseStart = Date.now()
  private readonly start = Date.now()
  private lastDraw = 0
  private readonly tty: boolean

  constructor(private readonly json: boolean) {
    this.tty = Boolean(process.stderr.isTTY) && !json
  }

  update(e: ProgressEvent): void {
    if (this.json) {
      process.stdout.write(JSON.stringify({ time: new Date().toISOString(), elapsedMs: Date.now() - this.start, ...e }) + '\n')
      return
    }
    const now = Date.now()
    const changed = e.phase !== this.phase
    if (changed) {
      if (this.tty && this.phase) process.stderr.write('\n')
      this.phase = e.phase
      this.phaseStart = now
    }
    if (!changed && now - this.lastDraw < (this.tty ? 100 : 5000) && e.done !== e.total) return
    this.lastDraw = now
    let line = `${e.phase}`
    if (e.total) {
      const frac = Math.min(1, (e.done ?? 0) / e.total)
      const width = 24
      const bar = '█'.repeat(Math.round(frac * width)).padEnd(width, '░')
      const elapsed = now - this.phaseStart
      const eta = frac > 0 ? (elapsed / frac) * (1 - frac) : undefined
      line += ` ▕${bar}▏ ${(100 * frac).toFixed(0).padStart(3)}%  ${e.done}/${e.total}  ${dur(elapsed)} elapsed${eta !== undefined && frac < 1 ? `, ETA ${dur(eta)}` : ''}`
    }
    if (e.message) line += `  ${e.message}`
    if (this.tty) process.stderr.write(`\r\x1b[2K${line}`)
    else process.stderr.write(line + '\n')
  }

  log(message: string): void {
    if (this.json) return this.update({ phase: 'log', message })
    if (this.tty && this.phase) process.stderr.write('\n')
    this.phase = ''
    process.stderr.write(message + '\n')
  }

  end(): void {
    if (this.tty && this.phase) process.stderr.write('\n')
    this.phase = ''
  }
}

/**
 * `ird-studio serve`: the app's interface in a browser (browser mode, src/server/server.ts). Prints the URL
 * with its one-time token and serves until Ctrl-C, which stops the engine (a live run is cancelled at the
 * next batch boundary and recorded as cancelled).
 * Must not: listen beyond 127.0.0.1 or print the token anywhere but the terminal that started it.
 */
import { BACKEND_FLAG, type Command, type CommandTable } from '../command'
import { CliError, requireWritable } from '../common'
import type { Flags } from '../args'
import type { Progress } from '../progress'
import { defaultAppDataDir, defaultRunsDir } from '../../engine/host/paths'

const serve: Command = {
  summary: 'serve the interface to a browser on 127.0.0.1 (URL with a one-time token)',
  flags: {
    port: { type: 'int', help: 'port on 127.0.0.1 (0 = any free port)', default: 0, min: 0, max: 65535 },
    runs: { type: 'string', help: 'runs folder (default: $IRD_RUNS_DIR, else <data>/runs, shared with the desktop app and the CLI)', metavar: 'DIR' },
    data: { type: 'string', help: 'app data folder: dataset and model registries, uploads (default: $IRD_DATA_DIR, else the desktop app\'s)', metavar: 'DIR' },
    renderer: { type: 'string', help: 'the built interface (default: out/renderer; `npm run build` makes it)', metavar: 'DIR' },
    backend: { ...BACKEND_FLAG, help: 'TensorFlow.js backend of the engine (default: $IRD_BACKEND, else auto)' }
  },
  async run(flags: Flags, progress: Progress): Promise<number> {
    const { startServer } = await import('../../server/server')
    const dataDir = flags.data ? String(flags.data) : defaultAppDataDir()
    const runsDir = flags.runs ? String(flags.runs) : defaultRunsDir(dataDir)
    if (flags.backend) process.env.IRD_BACKEND = String(flags.backend) // the engine process reads it
    // the registries, uploads and runs are written there: a read-only or full disk is said before the engine starts
    requireWritable(flags.data ? 'data' : null, dataDir, 'folder')
    requireWritable(flags.runs ? 'runs' : null, runsDir, 'folder')
    let server
    try {
      server = await startServer({
        port: Number(flags.port ?? 0),
        dataDir,
        runsDir,
        rendererDir: flags.renderer ? String(flags.renderer) : undefined,
        log: (line) => progress.log(line)
      })
    } catch (e) {
      throw new CliError((e as Error).message)
    }
    process.stdout.write(`IRD Studio is served at ${server.url}\n  (127.0.0.1 only; the token is new each start; data ${dataDir}, runs ${server.host.store.root})\nPress Ctrl-C to stop.\n`)
    await new Promise<void>((resolve) => {
      const stop = () => resolve()
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
    })
    progress.log('stopping the server and the engine…')
    await server.close()
    return 0
  }
}

export const serveCommands: CommandTable = { serve }

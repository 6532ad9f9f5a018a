/**
 * Starts the engine as an Electron utilityProcess (a Node process that Electron supervises and ends with
 * the app) and adapts it to EngineHost's EngineChild interface.
 *
 * Owns: the utilityProcess options (service name, piped stdio, inherited environment so IRD_BACKEND and
 * CUDA variables reach the engine). Must not: hold engine state or talk to windows (EngineHost and
 * src/main/index.ts do that).
 */
import { utilityProcess } from 'electron'
import type { EngineChild, EngineExit, EngineSpawner } from '../engine/host/engine-host'

/** The name Electron reports in app 'child-process-gone' details for the engine. */
export const ENGINE_SERVICE_NAME = 'IRD Studio engine'

export function utilityProcessSpawner(modulePath: string): EngineSpawner {
  return (): EngineChild => {
    const child = utilityProcess.fork(modulePath, [], { serviceName: ENGINE_SERVICE_NAME, stdio: 'pipe', env: process.env })
    let exited = false
    const exitListeners: Array<(exit: EngineExit) => void> = []
    // utilityProcess reports an exit code only (no signal); app 'child-process-gone' adds the reason.
    child.once('exit', (code) => {
      exited = true
      for (const l of exitListeners) l({ code, signal: null })
    })
    return {
      get pid() {
        return child.pid
      },
      send: (message) => {
        if (exited) throw new Error('the engine process has exited')
        child.postMessage(message)
      },
      kill: () => {
        child.kill()
      },
      onMessage: (listener) => child.on('message', listener),
      onExit: (listener) => exitListeners.push(listener),
      onOutput: (listener) => {
        child.stdout?.on('data', (d: Buffer) => listener('stdout', d.toString('utf8')))
        child.stderr?.on('data', (d: Buffer) => listener('stderr', d.toString('utf8')))
      }
    }
  }
}

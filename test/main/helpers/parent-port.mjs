/**
 * Test helper (node --import): emulates Electron's process.parentPort over Node's fork IPC and hides
 * process.send, so src/engine/process.ts takes its utilityProcess path under plain Node.
 */
const send = process.send.bind(process)
const listeners = []
process.on('message', (data) => listeners.forEach((listener) => listener({ data })))
process.parentPort = {
  postMessage: (message) => send(message),
  on: (event, listener) => {
    if (event === 'message') listeners.push(listener)
  }
}
process.send = undefined
// Electron ends a utility process when its parent goes away; a plain fork child would live on (an orphan
// that kept running a test's run for an hour was found), so end it the same way here.
process.on('disconnect', () => process.exit(0))

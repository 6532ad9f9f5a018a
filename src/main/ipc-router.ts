/**
 * Main's call routing for Electron IPC: the shared router (src/engine/host/call-router.ts), which the
 * browser-mode server uses too. Kept as its own module so the shell's imports read as before.
 * Must not: import electron (unit-tested under plain Node).
 */
export {
  createCallRouter,
  type CallRouter,
  type CallRouterOptions,
  type EngineRequester,
  type HostHandlers,
  type MainCallName,
  type MainHandlers
} from '../engine/host/call-router'

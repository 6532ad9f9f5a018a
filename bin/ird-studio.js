#!/usr/bin/env node
// ird-studio launcher: the built CLI (out/main/cli.js) when present, else the TypeScript source through tsx
// (a development checkout: `npx ird-studio …` works without a build).
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const source = join(root, 'src', 'cli', 'index.ts')
const built = join(root, 'out', 'main', 'cli.js')
if (existsSync(source) && process.env.IRD_CLI_BUILT !== '1') {
  const { register } = await import('tsx/esm/api')
  register()
  await import(pathToFileURL(source).href)
} else if (existsSync(built)) {
  await import(pathToFileURL(built).href)
} else {
  process.stderr.write('ird-studio: neither src/cli/index.ts nor out/main/cli.js found; run `npm run build`\n')
  process.exit(1)
}

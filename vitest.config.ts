import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // the app data folder (and so the default runs folder) of every test is a temporary one
    globalSetup: ['test/helpers/isolate-app-data.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // tfjs keeps global backend state: one file per worker process, files in parallel on 2 cores.
    pool: 'forks',
    reporters: ['default']
  }
})

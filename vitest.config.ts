import { defineConfig } from 'vitest/config'
import { fileURLToPath } from 'node:url'

// In the repository, the public entry points are their sources (demo/ imports them by name).
const alias = {
  'vigil/verify': fileURLToPath(new URL('./verify/src/index.ts', import.meta.url)),
  'vigil/collector': fileURLToPath(new URL('./collector-server/src/index.ts', import.meta.url)),
}

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        resolve: { alias },
        test: {
          name: 'unit',
          sequence: { groupOrder: 0 },
          globalSetup: ['test/support/redis-setup.ts', 'test/support/redis-cluster-setup.ts'],
          include: ['{core,sdk,collector-server,verify,model,demo}/**/*.test.ts', 'test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        resolve: { alias },
        test: {
          name: 'e2e',
          // After the unit tests, with at most two browsers at once (two cores).
          sequence: { groupOrder: 1 },
          include: ['test/e2e/**/*.test.ts', 'test/redteam/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/global-setup.ts', 'test/support/redis-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          maxWorkers: 2,
        },
      },
    ],
  },
})

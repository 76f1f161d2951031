import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: [
      'kernel/**/*.test.ts',
      'gateway/**/*.test.ts',
      'connectors/**/*.test.ts',
      'test/**/*.test.ts',
      'bench/**/*.test.ts',
    ],
    // Two cores: one worker per core; integration tests start real servers on loopback.
    maxWorkers: 2,
    testTimeout: 20_000,
    hookTimeout: 30_000,
    restoreMocks: true,
  },
})

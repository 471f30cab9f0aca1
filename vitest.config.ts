import { defineConfig } from 'vitest/config'

/**
 * Two tiers, each runnable alone (`vitest run --project unit|integration`):
 * - unit: tests beside the code in src/ and scripts/; they start no processes (seconds);
 * - integration: test/, real `chat-node` processes on 127.0.0.1, real sockets and files.
 */
export default defineConfig({
  test: {
    // Integration tests start real node processes; two cores run two files at a time well.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['src/**/*.test.ts', 'scripts/**/*.test.ts'] },
      },
      { extends: true, test: { name: 'integration', include: ['test/**/*.test.ts'] } },
    ],
  },
})

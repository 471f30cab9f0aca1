import { defineConfig } from '@playwright/test'

/**
 * End-to-end tests: Debian's Chromium (never a downloaded browser) against real headless nodes
 * that each test starts on 127.0.0.1, serving the built UI (`npm run build` first).
 */
export default defineConfig({
  testDir: 'e2e',
  outputDir: 'test-results',
  // Real node processes and browsers on a two-core machine: one test at a time.
  workers: 1,
  timeout: 90_000,
  expect: { timeout: 15_000 },
  reporter: [['list']],
  use: {
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  projects: [
    { name: 'browser', testMatch: /.*\.browser\.spec\.ts/ },
    { name: 'electron', testMatch: /.*\.electron\.spec\.ts/ },
  ],
})

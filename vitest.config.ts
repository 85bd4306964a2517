import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/build.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests start servers and namespaces; keep them from fighting over 2 cores.
    fileParallelism: true,
    maxWorkers: 2,
  },
});

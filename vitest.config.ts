import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'tests/unit/**/*.test.ts',
      'tests/integration/**/*.test.ts',
      'tests/e2e/**/*.test.ts',
      'tests/security/**/*.test.ts',
      'tests/chaos/**/*.test.ts',
      'tests/bench/**/*.test.ts',
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration files each create their own database and Redis prefix, so they may run in parallel;
    // two cores: keep the pool small so worker processes spawned by tests get CPU.
    maxWorkers: 2,
    fileParallelism: true,
  },
});

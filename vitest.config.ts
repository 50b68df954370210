import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'bench/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests spawn real processes under the real interposer; two workers fit a 2-core machine.
    pool: 'forks',
    maxWorkers: 2,
  },
});

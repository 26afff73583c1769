import { defineConfig } from 'vitest/config';

/**
 * Files that assert a latency bound of a live node (`/healthz` within 100 ms while it is
 * attacked): they run after everything else, one at a time, so the bound measures the
 * node and not two cores shared with other test files.
 */
const TIMED = ['test/integration/soak.test.ts', 'test/integration/http-bounds.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Compiles the command once for the tests that run it as a child process (see the file).
    globalSetup: ['test/support/build.ts'],
    projects: [
      {
        extends: true,
        test: { name: 'suite', include: ['test/**/*.test.ts'], exclude: TIMED, sequence: { groupOrder: 0 } },
      },
      { extends: true, test: { name: 'timed', include: TIMED, fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
  },
});

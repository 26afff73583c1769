import { defineConfig } from 'vitest/config';

/**
 * Files that assert a latency bound of a live node (`/healthz` within 100 ms while it is
 * attacked; mqtt-bounds: a PUBACK within 2 s while subscribers stall), or a heap bound
 * measured in the test process (persistence: 100k twins under an LRU limit): they run
 * after everything else, one at a time, each in a fresh process, so the bound measures the
 * node and not two cores shared with other test files, nor the heap of a process that ran
 * them (V8 lets a big heap grow further before it collects: 243 MB over a 200 MB bound).
 */
const TIMED = [
  'test/integration/soak.test.ts',
  'test/integration/http-bounds.test.ts',
  'test/integration/mqtt-bounds.test.ts',
  'test/integration/persistence.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Compiles the command once for the tests that run it as a child process (see the file).
    globalSetup: ['test/support/build.ts'],
    // The support modules' cleanups after each test, in every file (see test/support/cleanup.ts).
    setupFiles: ['test/support/after-each.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'suite',
          include: ['test/**/*.test.ts'],
          exclude: TIMED,
          sequence: { groupOrder: 0 },
          // One process runs the files one after another and keeps the modules it loaded:
          // each file no longer loads src/ and its dependencies (fastify, aedes, mqtt, lmdb,
          // nats) anew, ~1.2 s per file on the 2-core machine (of a ~17 min suite, ~2.5 min).
          // Every file still gets its own test modules and, through the setup file, its
          // cleanups; mocks are restored between files. (The pool isolates per file unless a
          // project runs in a single fork: `isolate` alone only stops resetting modules.)
          isolate: false,
          poolOptions: { forks: { singleFork: true } },
        },
      },
      {
        extends: true,
        // Isolated (a fresh process per file): the latency bounds measure a node, not the heap
        // of a process that ran the suite.
        test: { name: 'timed', include: TIMED, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});

/**
 * What the support modules clean up after each test (runtimes, nodes, child processes,
 * sockets, temp dirs), run by test/support/after-each.ts, a setup file.
 *
 * Why not an `afterEach` at the top of each support module: the `suite` project runs its
 * files in one process without isolation (vitest.config.ts), so a support module is
 * evaluated once, by the first file that imports it, and a hook it registered then would
 * belong to that file only. Setup files run again before every file: theirs is every file's.
 */
type Cleanup = () => unknown;

const closers: Cleanup[] = [];
const removers: Cleanup[] = [];

/**
 * Runs `fn` after every test. `last`: after every other cleanup (temp dirs: removed once
 * the runtimes, nodes and processes that wrote them are gone).
 */
export function afterEachTest(fn: Cleanup, order: 'first' | 'last' = 'first'): void {
  (order === 'last' ? removers : closers).push(fn);
}

/** Runs every cleanup, the latest registered first (as vitest runs hooks); each runs even if one fails. */
export async function runCleanups(): Promise<void> {
  const errors: unknown[] = [];
  for (const fn of [...closers].reverse().concat(removers)) {
    try {
      await fn();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, 'cleanups after the test failed');
}

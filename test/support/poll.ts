/**
 * Polls `read` every 200 ms until `ok` holds for what it returns, for tests of things that
 * settle in the background (vshards taken, events applied across nodes). A read that
 * throws counts as "not yet" (a node still starting answers with errors); after `ms`
 * the last value and the last error are in the failure.
 */
export async function pollUntil<T>(
  what: string,
  ms: number,
  read: () => Promise<T>,
  ok: (v: T) => boolean,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: T | undefined;
  let error: unknown;
  while (Date.now() < deadline) {
    try {
      last = await read();
      if (ok(last)) return last;
    } catch (err) {
      error = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(
    `not within ${ms} ms: ${what}; last ${JSON.stringify(last)} ${error instanceof Error ? error.message : ''}`,
  );
}

/**
 * Waits event-loop turns (setImmediate) until `cond` holds: for tests that step a store or
 * a runtime by hand and wait for it to reach a point (no timers involved, so no clock).
 */
export async function turnsUntil(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setImmediate(r));
}

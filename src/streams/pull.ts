/** What an async-iterable link exposes to {@link pull}. */
export interface PullSource<T> {
  /** The next buffered item, if any. */
  take(): T | undefined;
  /** An error that ends iteration (thrown after the buffer is drained). */
  failure(): unknown;
  closed(): boolean;
  /** Resolves when something was buffered, failed or closed. */
  wait(): Promise<void>;
  /** Called when iteration ends, also on `break`. */
  close(): void;
}

/**
 * The iteration loop shared by every link: drain the buffer, then end with the failure
 * or when closed, else wait; breaking out of `for await` closes (unlinks) the source.
 *
 * @example
 * ```ts
 * [Symbol.asyncIterator]() { return pull({ take: () => q.shift(), failure: () => err, closed: () => done, wait, close }); }
 * ```
 */
export async function* pull<T>(source: PullSource<T>): AsyncGenerator<T> {
  try {
    for (;;) {
      const next = source.take();
      if (next !== undefined) {
        yield next;
        continue;
      }
      const failure = source.failure();
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- a link ends with what its source failed with, as it is
      if (failure) throw failure;
      if (source.closed()) return;
      await source.wait();
    }
  } finally {
    source.close();
  }
}

import type { JetStreamManager } from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/transport-node';

/** Reads in flight at once (each a message get of ~0.3 ms). */
const CONCURRENCY = 32;

/** The last message of `subject` in `stream`, or null when it has none (or the stream is missing). */
export async function lastOf(
  jsm: JetStreamManager,
  stream: string,
  subject: string,
): Promise<{ seq: number; data: Uint8Array; header: MsgHdrs | undefined } | null> {
  try {
    const m = await jsm.streams.getMessage(stream, { last_by_subj: subject });
    return m === null ? null : { seq: m.seq, data: m.data, header: m.header };
  } catch (err) {
    if (/no message found|not found/i.test((err as Error).message)) return null;
    throw err;
  }
}

/** `fn` over `items`, at most {@link CONCURRENCY} at once, results in order. */
export async function inParallel<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

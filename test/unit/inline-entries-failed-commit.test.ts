/**
 * A failed group commit sends its twins back to their stored state, while the commits of
 * later steps, built on the state the failed one held and already handed to the store, may
 * still commit (group-commit.ts: up to four in flight). With entries stored per key, that
 * lost only the failed commit's own changes. A keyed lane that moves out of its twin's
 * record (inline-entries.ts) must not turn that into the loss of every entry it held, all
 * of them acknowledged long before.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import {
  createRuntime,
  defineTwin,
  map,
  MemoryStateStore,
  SimulatedClock,
  value,
  type StateWrite,
} from '../../src/index.js';
import { INLINE_MAX_ENTRIES } from '../../src/lanes/inline-entries.js';
import { T0 } from '../support/runtime.js';
import { turnsUntil } from '../support/poll.js';

/** Commits at once, or (once `hold` is set) only when the test finishes or fails them. */
class HeldStore extends MemoryStateStore {
  hold = false;
  readonly pending: { batch: readonly StateWrite[]; finish: () => void; fail: () => void }[] = [];
  override write(batch: readonly StateWrite[]): Promise<void> {
    if (!this.hold) return super.write(batch);
    return new Promise((resolve, reject) =>
      this.pending.push({
        batch,
        finish: () => void super.write(batch).then(resolve),
        fail: () => reject(new Error('EIO: injected disk error')),
      }),
    );
  }
}

const hub = defineTwin({
  name: 'hub',
  route: '/h/:hub',
  lanes: { tags: map<string>(), count: value(0) },
  on: {
    tag(ctx, e) {
      const { key, text } = e.data as { key: string; text: string };
      ctx.lanes.tags.update(key, text);
      ctx.lanes.count.set(ctx.lanes.count.get() + 1); // the record is written with every tag
    },
  },
});

describe('a failed commit of a lane moving out of its record', () => {
  it('keeps the entries acknowledged before it', async () => {
    const store = new HeldStore();
    const rt = createRuntime({
      models: [hub],
      logger: pino({ level: 'silent' }),
      store,
      clock: new SimulatedClock(T0),
    });
    const acknowledged: Record<string, string> = {};
    for (let i = 0; i < INLINE_MAX_ENTRIES; i++) {
      await rt.ingest({ subject: '/h/1', type: 'tag', data: { key: `k${i}`, text: 'a' } });
      acknowledged[`k${i}`] = 'a';
    }
    store.hold = true;
    // Step N: the 33rd entry moves the lane out of the record (every entry put, the record without it).
    const moving = rt.ingest({ subject: '/h/1', type: 'tag', data: { key: 'moved', text: 'b' } });
    await turnsUntil(() => store.pending.length === 1);
    // Step N+1, built while N is in flight: one entry put, and the record (count changed).
    // It is handed to the store at once, or held back until N settled.
    const next = rt.ingest({ subject: '/h/1', type: 'tag', data: { key: 'k0', text: 'c' } });
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    store.pending[1]?.finish();
    store.pending[0]!.fail();
    await expect(moving).rejects.toMatchObject({ code: 'TWIN_STORE_FAILED' });
    // Built on the move that was lost, step N+1 fails too (it never reached the store).
    await expect(next).rejects.toMatchObject({ code: 'TWIN_STORE_FAILED' });
    store.hold = false;
    await rt.settle();
    // The twin went back to its stored state: every entry acknowledged before step N is in it.
    const tags = (await rt.get('/h/1', 'tags')) as Record<string, string>;
    for (const key of Object.keys(acknowledged)) expect(tags[key], key).toBeDefined();
    await rt.close();
  });
});

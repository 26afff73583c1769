import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { buildingModels } from '../../models/index.js';
import { createRuntime, MemoryStateStore, SimulatedClock, type StateWrite } from '../../src/index.js';
import { T0 } from '../support/runtime.js';
import { turnsUntil } from '../support/poll.js';

/** A store (the public StateStore port) whose commits finish only when the test says so. */
class ManualStore extends MemoryStateStore {
  readonly pending: { batch: readonly StateWrite[]; finish: () => void }[] = [];
  /** Commit at once from now on (and everything still pending). */
  auto = false;
  override write(batch: readonly StateWrite[]): Promise<void> {
    if (this.auto) return super.write(batch);
    return new Promise((resolve) => this.pending.push({ batch, finish: () => void super.write(batch).then(resolve) }));
  }
  release(): void {
    this.auto = true;
    for (const p of this.pending.splice(0)) p.finish();
  }
}

/** A store whose next commit fails (a disk error, which a real LMDB in a temp dir cannot be made to have on cue). */
class FailingStore extends MemoryStateStore {
  failNext = false;
  override write(batch: readonly StateWrite[]): Promise<void> {
    if (!this.failNext) return super.write(batch);
    this.failNext = false;
    return Promise.reject(new Error('EIO: injected disk error'));
  }
}

const sensor = (i: number) => `/org/o/site/s/building/1/floor/1/unit/a/room/${i}/sensors/occupancy`;

describe('group commit', () => {
  it('hands later steps to the store before earlier commits finish, and acknowledges in step order', async () => {
    const store = new ManualStore();
    const rt = createRuntime({
      models: buildingModels(),
      logger: pino({ level: 'silent' }),
      store,
      clock: new SimulatedClock(T0),
    });
    const acked: number[] = [];
    const first = rt.ingest({ subject: sensor(1), data: { occupied: true } }).then(() => acked.push(1));
    await turnsUntil(() => store.pending.length === 1);
    const second = rt.ingest({ subject: sensor(2), data: { occupied: true } }).then(() => acked.push(2));
    await turnsUntil(() => store.pending.length === 2); // the second step was written while the first is in flight
    store.pending[1]!.finish(); // the later commit finishes first
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
    expect(acked).toEqual([]); // ... but is not acknowledged before the earlier one
    store.pending[0]!.finish();
    await Promise.all([first, second]);
    expect(acked).toEqual([1, 2]);
    store.release();
    await rt.close();
  });

  it('starts a stopped twin again after the commit holding its final writes, not after later ones', async () => {
    const store = new ManualStore();
    const rt = createRuntime({
      models: buildingModels(),
      logger: pino({ level: 'silent' }),
      store,
      clock: new SimulatedClock(T0),
    });
    void rt.ingest({ subject: sensor(1), data: { occupied: true } });
    await turnsUntil(() => store.pending.length === 1);
    void rt.stop(sensor(1));
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r)); // the stop's own step
    void rt.ingest({ subject: sensor(2), data: { occupied: true } }); // a later step, committing behind it
    await turnsUntil(() => store.pending.length === 2);
    const started = rt.stats().started;
    const reading = rt.read(sensor(1), ['latest']);
    const restarted = async (): Promise<boolean> => {
      for (let i = 0; i < 50; i++) {
        if (rt.stats().started > started) return true;
        await new Promise((r) => setImmediate(r));
      }
      return false;
    };
    expect(await restarted()).toBe(false); // its last write is not committed: the restart waits
    store.pending[0]!.finish();
    expect(await restarted()).toBe(true); // ... for that commit only: the later one is still pending
    expect(store.pending.length).toBe(2);
    store.release();
    expect((await reading).lanes.latest).toEqual({ occupied: true });
    await rt.close();
  });

  it('a failed commit fails every ticket with an item in it, also one that completes in a later step, and resets its twins', async () => {
    const store = new FailingStore();
    // One item per step: the batch's second event completes its ticket in the step after the failing commit.
    const rt = createRuntime({
      models: buildingModels(),
      logger: pino({ level: 'silent' }),
      store,
      clock: new SimulatedClock(T0),
      stepBudget: 1,
    });
    store.failNext = true;
    const batch = rt.ingest([
      { subject: sensor(1), data: { occupied: true }, id: 'a', source: 't' },
      { subject: sensor(2), data: { occupied: true }, id: 'b', source: 't' },
    ]);
    await expect(batch).rejects.toMatchObject({ code: 'TWIN_STORE_FAILED' });
    await rt.settle();
    // The twin whose write was lost is back at its stored state (none): memory and disk agree.
    expect((await rt.read(sensor(1), ['latest'])).lanes.latest).toBe(null);
    // Resent, the batch is applied (sensor 2's event committed the first time: it is a duplicate, acknowledged).
    const again = await rt.ingest([
      { subject: sensor(1), data: { occupied: true }, id: 'a', source: 't' },
      { subject: sensor(2), data: { occupied: true }, id: 'b', source: 't' },
    ]);
    expect(again.accepted).toBe(2);
    expect((await rt.read(sensor(1), ['latest'])).lanes.latest).toEqual({ occupied: true });
    await rt.close();
  });
});

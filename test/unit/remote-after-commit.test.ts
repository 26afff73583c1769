/**
 * `remoteAfterCommit` (cluster mode): a join for a parent owned elsewhere leaves only once
 * the step that produced it committed, and never when that commit failed — a node whose
 * commit the state log refuses (it lost its vshard and does not know yet) must not hand a
 * parent a value that never happened. Without the option a join leaves as its turn ends
 * (worker threads of one node share one store).
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { buildingModels } from '../../models/index.js';
import { ModelCatalog } from '../../src/actors/catalog.js';
import type { RemoteMessage } from '../../src/actors/shard-options.js';
import { Ticket } from '../../src/actors/work.js';
import { LocalShardHost } from '../../src/hosting/shard-host.js';
import { MemoryStateStore, SimulatedClock, type StateWrite } from '../../src/index.js';
import { T0 } from '../support/runtime.js';

const SENSOR = '/org/o/site/s/building/1/floor/1/unit/a/room/1/sensors/climate';

/** Commits wait for the test; `fail` makes the held ones fail (the log refused them). */
class HeldStore extends MemoryStateStore {
  readonly held: { batch: readonly StateWrite[]; ok: () => void; fail: () => void }[] = [];
  override write(batch: readonly StateWrite[]): Promise<void> {
    return new Promise((resolve, reject) =>
      this.held.push({
        batch,
        ok: () => void super.write(batch).then(resolve),
        fail: () => reject(new Error('TWIN_FENCED: another owner wrote the state log')),
      }),
    );
  }
}

const turns = async (n = 20): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

function shard(remoteAfterCommit: boolean): { host: LocalShardHost; store: HeldStore; sent: RemoteMessage[] } {
  const store = new HeldStore();
  const sent: RemoteMessage[] = [];
  const host = new LocalShardHost(
    {
      catalog: new ModelCatalog(buildingModels()),
      store,
      clock: new SimulatedClock(T0),
      log: pino({ level: 'silent' }),
      owns: (path) => path.endsWith('/sensors/climate'), // the room, its parent, runs elsewhere
      onRemote: (m) => sent.push(m),
      remoteAfterCommit,
    },
    store,
  );
  return { host, store, sent };
}

function reading(host: LocalShardHost, id: string, temperature: number): Ticket {
  const ticket = new Ticket(1);
  host.submitEvent(
    { id, source: 'test', type: 'reading', subject: SENSOR, time: T0, data: { temperature, humidity: 40 } },
    ticket,
    0,
  );
  return ticket;
}

describe('joins to twins elsewhere with remoteAfterCommit', () => {
  it('leave only after their step committed, and not at all when it failed', async () => {
    const { host, store, sent } = shard(true);
    const refused = reading(host, 'e1', 21);
    await turns();
    expect(store.held.length).toBeGreaterThan(0);
    expect(sent).toEqual([]); // the turn ended, its commit has not
    for (const h of store.held.splice(0)) h.fail();
    await expect(refused.promise).rejects.toThrow(/TWIN_FENCED/);
    await turns();
    expect(sent).toEqual([]); // the refused turn had no effect anywhere

    const accepted = reading(host, 'e2', 23);
    await turns();
    expect(sent).toEqual([]);
    for (const h of store.held.splice(0)) h.ok();
    await accepted.promise;
    await turns();
    const joins = sent.filter((m) => m.kind === 'join');
    expect(joins.length).toBeGreaterThan(0);
    expect(JSON.stringify(joins)).toContain('23');
    expect(JSON.stringify(joins)).not.toContain('21');
    store.held.splice(0).forEach((h) => h.ok());
    const closing = host.close();
    for (let i = 0; i < 20 && store.held.length === 0; i++) await turns(1);
    store.held.splice(0).forEach((h) => h.ok());
    await closing;
  });

  it('leave with their own step when steps queue behind commits in flight, a step without any among them', async () => {
    const { host, store, sent } = shard(true);
    // 4 commits in flight (group commit's bound), held by the store: later steps queue.
    const tickets: Ticket[] = [];
    for (let i = 0; i < 4; i++) {
      tickets.push(reading(host, `a${i}`, 20 + i));
      await turns();
    }
    expect(store.held.length).toBe(4);
    // A step that sends nothing elsewhere (a resent event: no turn), queued...
    tickets.push(reading(host, 'a3', 23));
    await turns();
    // ...then one that does: its join must stay with its own step, not join the queued one.
    tickets.push(reading(host, 'b1', 31));
    await turns();
    let committed = false;
    const all = Promise.all(tickets.map((t) => t.promise)).then(() => (committed = true));
    for (let round = 0; round < 10 && !committed; round++) {
      for (const h of store.held.splice(0)) h.ok();
      await turns();
    }
    await all;
    const joins = sent.filter((m) => m.kind === 'join').map((m) => JSON.stringify(m.kind === 'join' && m.value));
    expect(joins.at(-1)).toContain('31'); // the last value the room was sent is the last reading's
    expect(sent.length).toBeLessThan(20); // nothing sent over and over
    const closing = host.close();
    for (let i = 0; i < 20 && store.held.length === 0; i++) await turns(1);
    store.held.splice(0).forEach((h) => h.ok());
    await closing;
  });

  it('without it, leave as their turn ends (before the commit)', async () => {
    const { host, store, sent } = shard(false);
    reading(host, 'e1', 21);
    await turns();
    expect(store.held.length).toBeGreaterThan(0);
    expect(sent.some((m) => m.kind === 'join')).toBe(true);
    store.held.splice(0).forEach((h) => h.ok());
    const closing = host.close();
    for (let i = 0; i < 20 && store.held.length === 0; i++) await turns(1);
    store.held.splice(0).forEach((h) => h.ok());
    await closing;
  });
});

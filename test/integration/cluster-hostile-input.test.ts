/**
 * Input a vshard can never apply, published straight on its input subject (another
 * writer's bytes, a node with another `--cluster-vshards` or model set): refused for good
 * where it is taken, counted, and passed by the vshard's restart point, so the space
 * settles, the vshard does not restart for it and its node still stops. Two nodes in this
 * process on one real nats-server; the hostile messages are msgpack as input-codec.ts
 * encodes input, published with the NATS client.
 *
 * - a batch with a null (and an incomplete) event: the valid event of the same message is
 *   applied, the space settles, both nodes close within 10 s (the null used to throw
 *   between the in-flight count and its ticket: the owner's stop waited forever);
 * - events for an unrouted path and for a twin of another vshard: the space settles, the
 *   vshard does not restart (it used to restart from its log several times a second, for
 *   ever), and a later event for a twin of that vshard is applied and readable.
 */
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Packr, pack } from 'msgpackr';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ModelCatalog } from '../../src/actors/catalog.js';
import { decodeInput, encodeInput } from '../../src/cluster/input-codec.js';
import { vshardOf } from '../../src/cluster/vshards.js';
import { TwinError } from '../../src/errors.js';
import { createRuntime, type Runtime } from '../../src/index.js';
import type { TwinEvent } from '../../src/model/twin-model.js';
import { modelSet } from '../support/counter-models.js';
import { hasNatsServer, natsCluster } from '../support/nats.js';
import { untilBothOwnAll } from '../support/cluster-pair.js';

const VSHARDS = 16;
const catalog = new ModelCatalog(modelSet.models(), modelSet.shardKey);
const counter = (k: number): string => `/group/g/counter/${k}`;
const vshard = (path: string): number => vshardOf(catalog, path, VSHARDS);
/** Two counters in different vshards. */
const X = counter(0);
const Y = counter(Array.from({ length: 64 }, (_, k) => k).find((k) => vshard(counter(k)) !== vshard(X))!);
const tick = (id: string, subject: string): TwinEvent => ({
  id,
  source: 'test',
  type: 'tick',
  subject,
  time: Date.now(),
  data: {},
});

const RESTART = 'cluster: the vshard restarts from its log';
const NOT_APPLIED = 'cluster: input was not applied';

const runtimes: Runtime[] = [];
afterEach(async () => {
  // Bounded: a node that cannot stop (the bug) must not hold the next test up.
  await Promise.all(runtimes.splice(0).map((rt) => within(10_000, rt.close()).catch(() => undefined)));
});

async function within<T>(ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Two nodes of a space on `servers`, every vshard owned; the warnings they logged, parsed. */
async function twoNodes(servers: string[]): Promise<{ a: Runtime; b: Runtime; logs: Record<string, unknown>[] }> {
  const logs: Record<string, unknown>[] = [];
  const node = (id: string): Runtime => {
    const logger = pino(
      { level: 'warn', base: { node: id } },
      { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
    );
    const rt = createRuntime({ modelSet, logger, cluster: { servers, nodeId: id, vshards: VSHARDS, leaseMs: 3_000 } });
    runtimes.push(rt);
    return rt;
  };
  const a = node('a');
  const b = node('b');
  await untilBothOwnAll(a, b, VSHARDS);
  return { a, b, logs };
}

/** Publishes `message` (msgpack, as input-codec.ts encodes input) on vshard `v`'s input subject. */
async function publishRaw(servers: string[], v: number, ...messages: unknown[]): Promise<void> {
  const nc = await connect({ servers });
  try {
    const js = jetstream(nc);
    for (const m of messages) await js.publish(`twinflow.in.${v}`, pack(m));
  } finally {
    await nc.close();
  }
}

/** What both nodes counted of input not applied, and of vshard restarts from the log. */
function refusedCounts(...rts: Runtime[]): { refused: number; retried: number; resets: number } {
  const sum = (pick: (s: ReturnType<Runtime['stats']>) => number): number =>
    rts.reduce((n, rt) => n + pick(rt.stats()), 0);
  return {
    refused: sum((s) => s.inputLog.refused),
    retried: sum((s) => s.inputLog.retried),
    resets: sum((s) => s.inputLog.resets),
  };
}

const applied = async (rt: Runtime, path: string): Promise<Record<string, number>> =>
  (await rt.read(path, ['applied'])).lanes.applied as Record<string, number>;

describe('decodeInput: each event of a batch checked once, as the fronts check events', () => {
  it('keeps valid events and puts each malformed one’s refusal in its place', () => {
    const good = tick('g', X);
    const { time: _time, ...timeless } = tick('t', X);
    // With msgpackr's extensions on, as a hostile writer may: a Set decodes as a Set.
    const decoded = decodeInput(
      new Packr({ moreTypes: true }).pack({
        k: 'b',
        evs: [
          good,
          null,
          'x',
          [good],
          { ...good, subject: 7 },
          timeless,
          { ...good, subject: '/group/g//counter/0/' }, // not canonical: no front writes it
          { ...good, data: new Set([1]) }, // not plain data
          { ...good, extra: 1, data: undefined },
        ],
      }),
    );
    if (decoded.k !== 'b') throw new Error('not decoded as a batch');
    const evs = decoded.evs;
    expect(evs[0]).toEqual(good);
    for (const i of [1, 2, 3, 4, 5, 6, 7])
      expect(evs[i], `item ${i}`).toEqual(expect.objectContaining({ status: 400, name: 'TwinError' }));
    expect(evs[8]).toEqual({ ...good, data: null });
    // Whole messages that are not input: refused as such.
    expect(() => decodeInput(pack({ k: 'b', evs: 'no' }))).toThrow(TwinError);
    expect(() => decodeInput(pack(null))).toThrow(TwinError);
    const join = { k: 'j', parent: '/group/g', lane: 'counters', child: X, value: 1, e: 3 } as const;
    expect(decodeInput(encodeInput(join))).toEqual(join);
    expect(() => decodeInput(pack({ ...join, child: null }))).toThrow(TwinError);
    expect(() => decodeInput(pack({ ...join, child: '/elsewhere/c' }))).toThrow(TwinError);
    // An epoch is a lease revision: anything else would enter the join fence and the state log.
    for (const e of [1.5, -1, Infinity, NaN, 2 ** 60, '3'])
      expect(() => decodeInput(pack({ ...join, e })), String(e)).toThrow(TwinError);
  });
});

describe.skipIf(!hasNatsServer)('cluster: input a vshard can never apply (2 nodes, a nats-server)', () => {
  it('refuses a null event of a batch and applies the rest; the space settles and the nodes stop', async () => {
    const nats = await natsCluster(1);
    const servers = nats.urls();
    const { a, b, logs } = await twoNodes(servers);
    const { time: _time, ...timeless } = tick('partial', X);
    await publishRaw(servers, vshard(X), { k: 'b', evs: [tick('good-1', X), null, timeless] });

    await within(15_000, a.settle());
    const seen = await applied(b, X);
    expect(seen['good-1']).toBe(1);
    expect(seen.partial).toBeUndefined();
    expect(logs.filter((l) => l.msg === NOT_APPLIED && l.vshard === vshard(X)).length).toBeGreaterThan(0);
    expect(logs.filter((l) => l.msg === RESTART)).toEqual([]);
    // Counted for /metrics (twinflow_cluster_input_not_applied_total): the null and the partial event.
    expect(refusedCounts(a, b)).toEqual({ refused: 2, retried: 0, resets: 0 });

    // Its owner hands it off at close (the other node takes it at once), and closes.
    await within(10_000, a.close());
    await within(10_000, b.close());
  }, 60_000);

  it('refuses input for an unrouted path or another vshard for good: no restart loop, later input applies', async () => {
    const nats = await natsCluster(1);
    const servers = nats.urls();
    const { a, b, logs } = await twoNodes(servers);
    const v = vshard(X);
    await publishRaw(
      servers,
      v,
      { k: 'b', evs: [tick('nowhere-1', '/nowhere/at/all')] },
      { k: 'b', evs: [tick('stray-1', Y)] }, // a twin of another vshard
      { k: 'j', parent: Y, lane: 'applied', child: `${Y}/x`, value: 1 }, // a join for a parent of another vshard
    );

    await within(15_000, a.settle());
    // A restart loop showed up within a fraction of a second (6-7 a second).
    await new Promise((r) => setTimeout(r, 1_500));
    expect(logs.filter((l) => l.msg === RESTART)).toEqual([]);
    const refusals = logs.filter((l) => l.msg === NOT_APPLIED && l.vshard === v);
    expect(refusals.length).toBeGreaterThan(0);

    // The vshard still takes input: an event to a twin of it applies, and reads back.
    expect((await a.ingest(tick('after-1', X))).rejected).toEqual([]);
    await within(15_000, b.settle());
    expect((await applied(a, X))['after-1']).toBe(1);
    expect((await applied(b, X))['after-1']).toBe(1);
    expect((await applied(a, Y))['stray-1']).toBeUndefined();
    expect(logs.filter((l) => l.msg === RESTART)).toEqual([]);
    expect(refusedCounts(a, b)).toEqual({ refused: 3, retried: 0, resets: 0 });
    await within(10_000, Promise.all([a.close(), b.close()]));
  }, 60_000);
});

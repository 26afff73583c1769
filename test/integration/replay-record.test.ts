import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { buildingModels, buildingModelSource } from '../../models/index.js';
import { startNode, type DerivedEvent, type TwinflowNode } from '../../src/index.js';
import { generateFleet } from '../../models/fleet.js';
import { RecordingWriter } from '../../src/recording/recording-writer.js';
import { stateDigest } from '../../src/recording/digest.js';
import { startRecording } from '../../src/recording/recorder.js';
import { runReplay } from '../../src/recording/replay-run.js';
import { tempDir } from '../support/tmp.js';

const SITE = '/org/contoso/site/berlin';
const room = (b: number, f: number, r: number): string => `${SITE}/building/${b}/floor/${f}/unit/a/room/${r}`;
const unitA = `${SITE}/building/0/floor/0/unit/a`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Derived events grouped by emitting twin, each twin's in emission order, without id and time. */
function perTwin(events: readonly DerivedEvent[]): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const e of events) (out[e.source] ??= []).push([e.type, e.data]);
  return out;
}

let node: TwinflowNode | undefined;
afterEach(async () => {
  await node?.close();
  node = undefined;
});

describe('record a live run, replay it', () => {
  it('gives the digest of the live state (LMDB on both sides, events over HTTP and the API)', async () => {
    const dir = tempDir();
    node = await startNode({
      models: buildingModels(),
      port: 0,
      logger: pino({ level: 'silent' }),
      dataDir: join(dir, 'live'),
    });
    const rec = startRecording(node.runtime, join(dir, 'live.tfr'));
    const liveDerived: DerivedEvent[] = [];
    node.runtime.onOutput((e) => liveDerived.push(e));
    // Temperatures are multiples of 1/4 so sums are exact whatever the step boundaries.
    for (let round = 0; round < 6; round++) {
      const batch = [];
      for (let r = 0; r < 8; r++) {
        const path = room(r % 2, r % 3, r);
        batch.push({
          subject: `${path}/sensors/climate`,
          source: 'test',
          id: `c${round}-${r}`,
          data: { temperature: 18 + ((r * 7 + round * 3) % 24) / 4, humidity: 40 },
        });
        batch.push({
          subject: `${path}/sensors/occupancy`,
          source: 'test',
          id: `o${round}-${r}`,
          data: { occupied: (r + round) % 3 === 0 },
        });
      }
      batch.push({
        subject: `${room(0, 0, 0)}/sensors/fire`,
        source: 'test',
        id: `f${round}`,
        data: { alarm: round === 2 },
      });
      batch.push({
        subject: `${room(0, 0, 0)}/sensors/climate`,
        source: 'test',
        id: `bad${round}`,
        data: { temperature: 'hot' },
      }); // rejected, not recorded
      if (round % 2 === 0) {
        const res = await fetch(`${node.url}/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/cloudevents-batch+json' },
          body: JSON.stringify(batch.map((e) => ({ specversion: '1.0', type: 'reading', ...e }))),
        });
        expect(res.status).toBeLessThan(500);
      } else {
        await node.runtime.ingest(batch);
      }
      // Commands are recorded too, in order with the events: secure the unit of room 0 after
      // round 1 (its room is occupied in round 3: security.alert), unsecure it after round 4.
      if (round === 1) {
        await node.runtime.command(unitA, 'secure', true);
        await expect(node.runtime.command(unitA, 'secure', 'yes')).rejects.toMatchObject({
          code: 'TWIN_PAYLOAD_REJECTED',
        }); // not recorded
      }
      if (round === 4) {
        const res = await fetch(`${node.url}/twins${unitA}/commands/secure`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: 'false',
        });
        expect(res.status).toBeLessThan(300);
      }
      await sleep(3);
    }
    // A redelivery (same source+id): acknowledged without effect, recorded, deduplicated again on replay.
    await node.runtime.ingest({
      subject: `${room(1, 1, 1)}/sensors/climate`,
      source: 'test',
      id: 'c0-1',
      data: { temperature: 35, humidity: 40 },
    });
    const live = await stateDigest(node.runtime);
    await node.close();
    node = undefined;
    await rec.stop();
    expect(rec.count).toBe(6 * 17 + 1 + 2);

    // The recording keeps each ingest call as a batch; replay runs each as one step, as live did.
    const replayed = await runReplay(join(dir, 'live.tfr'), {
      models: buildingModels(),
      dataDir: join(dir, 'replay'),
      collectDerived: true,
    });
    expect(replayed.events).toBe(rec.count);
    expect(replayed.rejected).toBe(0);
    expect(replayed.twins).toBe(live.twins);
    expect(replayed.digest).toBe(live.digest);
    expect(replayed.derivedByType).toMatchObject({
      evacuation: 1,
      'evacuation.cleared': 1,
      'security.alert': 1,
      'security.alert.cleared': 1,
    });
    // Same derived events per emitting twin, in the same order (times differ: live stamps
    // the wall clock at the turn, replay the batch's event time).
    expect(perTwin(replayed.derived!)).toEqual(perTwin(liveDerived));
  });
});

describe('replay determinism', () => {
  it('replaying the same recording twice gives equal digests and equal derived events', async () => {
    const dir = tempDir();
    const file = join(dir, 'fleet.tfr');
    // 1 site × 2 buildings × 2 floors × 2 units × 3 rooms × 4 sensors = 96 sensors, 3 hours,
    // with silent sensors (offline timers) and alarms (evacuation), and a floor band that trips.
    const w = RecordingWriter.create(file, { created: 0 });
    for (const chunk of generateFleet({
      seed: 7,
      sites: 1,
      buildings: 2,
      floors: 2,
      units: 2,
      rooms: 3,
      events: 96 * 180,
      silentShare: 0.1,
      alarmChance: 0.01,
    })) {
      for (const e of chunk) w.append(e);
    }
    await w.close();
    const models = buildingModels({ hvacBand: 1 });
    const a = await runReplay(file, { models, collectDerived: true, tailMs: 3_600_000, memory: false }); // a temp LMDB directory
    const b = await runReplay(file, { models, collectDerived: true, tailMs: 3_600_000, tickMs: 1000 }); // in memory (the default)
    expect(a.events).toBe(96 * 180);
    expect(b.digest).toBe(a.digest);
    expect(b.derived).toEqual(a.derived);
    expect(a.derivedByType['sensor.offline']).toBeGreaterThan(0);
    expect(a.derivedByType.evacuation).toBeGreaterThan(0);
    expect(a.derivedByType['hvac.adjust']).toBeGreaterThan(0);
    // Each twin's derived events are in time order.
    const last = new Map<string, string>();
    for (const e of a.derived!) {
      expect(e.time >= (last.get(e.source) ?? '')).toBe(true);
      last.set(e.source, e.time);
    }
  });

  it('replays at 0, 1 and 2 worker threads with equal digests and equal derived events per twin', async () => {
    const dir = tempDir();
    const file = join(dir, 'fleet.tfr');
    const w = RecordingWriter.create(file, { created: 0 });
    for (const chunk of generateFleet({
      seed: 3,
      sites: 2,
      buildings: 2,
      floors: 2,
      units: 1,
      rooms: 2,
      events: 64 * 60,
      silentShare: 0.1,
      alarmChance: 0.02,
    })) {
      for (const e of chunk) w.append(e);
    }
    await w.close();
    const params = { hvacBand: 1 };
    const runs = [];
    for (const workers of [0, 1, 2]) {
      runs.push(
        await runReplay(file, {
          models: buildingModels(params),
          modelSource: buildingModelSource(params),
          workers,
          collectDerived: true,
          tailMs: 3_600_000,
        }),
      );
    }
    const perTwin = (derived: DerivedEvent[]) => {
      const by: Record<string, string[]> = {};
      for (const e of derived) (by[e.source] ??= []).push(`${e.type}@${e.time}`);
      return by;
    };
    const [base, ...rest] = runs;
    expect(base!.derivedByType.evacuation).toBeGreaterThan(0);
    for (const r of rest) {
      expect(r.twins).toBe(base!.twins);
      expect(r.digest).toBe(base!.digest);
      expect(perTwin(r.derived!)).toEqual(perTwin(base!.derived!));
    }
  }, 60_000);
});

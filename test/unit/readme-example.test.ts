/**
 * The examples of README.md: every ```ts block compiles under the repo's strict options
 * without a cast, and the model example, copied here verbatim (checked below), behaves as
 * documented. A block marked ```ts fragment would be left out; none is. A block marked
 * ```ts file=garage.ts is checked as that file, so the next block can import it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildingModels } from '../../models/index.js';
import {
  command,
  createRuntime,
  defineTwin,
  join,
  jsonEquals,
  reject,
  SimulatedClock,
  SortedSet,
  value,
  window,
  type DerivedEvent,
} from '../../src/index.js';
import { pino } from 'pino';
import { advance, simulatedRuntime } from '../support/runtime.js';
import { castsIn, typecheck, typescriptBlockFiles, typescriptBlocks } from '../support/typecheck.js';

interface Reading {
  temperature?: number;
  occupied?: boolean;
}
const isReading = (data: unknown): data is Reading => typeof data === 'object' && data !== null;

// A sensor: keeps its last reading, goes "offline" after 10 minutes of silence.
const sensor = defineTwin({
  name: 'sensor',
  route: '/site/:site/room/:room/sensors/:sensor',
  lanes: {
    latest: value<Reading | null>(null),
    status: value<'ok' | 'offline'>('ok'),
    hourly: window({
      source: 'latest',
      sample: (r: Reading | null) => r?.temperature,
      kind: 'tumbling',
      size: 3_600_000,
    }),
  },
  on: {
    reading(ctx, event) {
      if (!isReading(event.data)) reject('a reading is a JSON object'); // the sender gets TWIN_PAYLOAD_REJECTED
      ctx.lanes.latest.set(event.data); // a Reading here: reject() returns never
      ctx.lanes.status.set('ok');
      ctx.timers.set('offline', 10 * 60_000); // re-armed on every reading: absence detection
    },
  },
  onTimer: {
    offline(ctx) {
      ctx.lanes.status.set('offline');
      ctx.emit('sensor.offline', { path: ctx.path });
    },
  },
});

// A room joins its sensors' `latest` lane (a child announces itself once it has state)
// and keeps aggregates incrementally from (key, value, old).
const room = defineTwin({
  name: 'room',
  route: '/site/:site/room/:room',
  lanes: {
    sensors: join<Reading | null>({ from: 'sensor', lane: 'latest' }),
    occupied: value(false),
    occupiedBy: value<string[]>([], { equals: jsonEquals }),
    locked: value(false),
    lock: command<boolean>({
      parse: (v) => {
        if (typeof v !== 'boolean') throw new Error('true or false');
        return v;
      },
    }),
  },
  onJoin: {
    sensors: {
      update(ctx, sensorPath, reading, old) {
        if (Boolean(reading?.occupied) === Boolean(old?.occupied)) return;
        const who = SortedSet.fromSorted(ctx.lanes.occupiedBy.get());
        if (reading?.occupied) who.add(sensorPath);
        else who.delete(sensorPath);
        ctx.lanes.occupiedBy.set(who.toArray());
        ctx.lanes.occupied.set(who.size > 0);
      },
    },
  },
  onCommand: { lock: (ctx, locked) => ctx.lanes.locked.set(locked) },
  // onSet hooks run at the end of the turn, on the settled value.
  onSet: {
    occupied: (ctx, occupied) => {
      if (occupied && ctx.lanes.locked.get()) ctx.emit('security.alert');
    },
  },
});

describe('the README model example', () => {
  it('aggregates, reacts, rejects and detects absence as documented', async () => {
    const { rt, clock } = simulatedRuntime({ models: [sensor, room] });
    const out: DerivedEvent[] = [];
    rt.onOutput((e) => out.push(e));
    await rt.command('/site/a/room/1', 'lock', true);
    const report = await rt.ingest([
      { subject: '/site/a/room/1/sensors/pir', data: { occupied: true } },
      { subject: '/site/a/room/1/sensors/pir', data: 'nope' },
    ]);
    expect(report.rejected.map((r) => r.error.code)).toEqual(['TWIN_PAYLOAD_REJECTED']);
    expect(await rt.read('/site/a/room/1', ['occupied', 'occupiedBy'])).toMatchObject({
      lanes: { occupied: true, occupiedBy: ['/site/a/room/1/sensors/pir'] },
    });
    await advance(rt, clock, 11 * 60_000);
    expect(out.map((e) => e.type)).toEqual(['security.alert', 'sensor.offline']);
  });
});

describe('the README "Using the runtime from code" example', () => {
  // Its steps in order: before, its `for await` waited for a change that never came.
  it('runs to the end: the loop over the link breaks once the alarm clears', async () => {
    const clock = new SimulatedClock(Date.parse('2026-01-01T00:00:00Z'));
    const rt = createRuntime({ models: buildingModels(), clock, logger: pino({ level: 'silent' }) });
    const outputs: string[] = [];
    rt.onOutput((e) => outputs.push(`${e.type} ${e.subject}`));
    const fire = '/org/o/site/s/building/1/floor/1/unit/a/room/1/sensors/fire';
    expect(await rt.ingest([{ subject: fire, data: { alarm: true } }])).toEqual({ accepted: 1, rejected: [] });
    expect(await rt.get('/org/o/site/s', 'alarm')).toBe(true);
    expect(await rt.read('/org/o/site/s/building/1', ['alarm'])).toMatchObject({ lanes: { alarm: true } });
    await rt.command('/org/o/site/s/building/1/floor/1/unit/a', 'secure', true);
    const seen: unknown[] = [];
    const cleared = (async () => {
      for await (const event of rt.link('/org/o/site/s', 'alarm')) {
        if (event.type === 'value') seen.push(event.value);
        if (event.type === 'value' && event.value === false) break;
      }
    })();
    await rt.ingest([{ subject: fire, data: { alarm: false } }]);
    await cleared;
    // The link's state is read when the link starts, possibly after the second ingest: either way the loop ends.
    expect(seen.at(-1)).toBe(false);
    clock.advance(11 * 60_000);
    await rt.settle();
    await rt.close();
    expect(outputs).toEqual(['evacuation /org/o/site/s', 'evacuation.cleared /org/o/site/s', `sensor.offline ${fire}`]);
  });
});

describe('the README code blocks', () => {
  const blocks = typescriptBlocks('README.md');

  it('compile under strict, as a user project importing twinflow would, without casts', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(3); // the model, the runtime from code, the client
    const results = typecheck(typescriptBlockFiles('README.md'));
    const failures = [...results].filter(([, errors]) => errors.length > 0);
    expect(failures, 'README examples that do not compile').toEqual([]);
    expect(
      blocks.map((b, i) => [i + 1, castsIn(b)]).filter(([, casts]) => (casts as string[]).length > 0),
      'casts in README examples',
    ).toEqual([]);
  }, 60_000);

  it('the model example is the one this file runs, verbatim', () => {
    const model = blocks[0]!.split('\n').slice(1).join('\n').replaceAll('export const', 'const');
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain(model);
  });
});

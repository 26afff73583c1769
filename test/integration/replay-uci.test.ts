import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { buildingModels, defaultParams } from '../../models/index.js';
import { startNode, type WindowResult } from '../../src/index.js';
import { importCsv, roomPathOf, DEFAULT_ROOM_TEMPLATE, UCI_MAPPING } from '../../src/recording/csv-import.js';
import { RecordingWriter } from '../../src/recording/recording-writer.js';
import { explainHvac } from '../../models/hvac-explain.js';
import { runReplay } from '../../src/recording/replay-run.js';
import { compareDerived } from '../../src/recording/whatif.js';
import { tempDir } from '../support/tmp.js';

const HOUR = 3_600_000;
const CSV = fileURLToPath(new URL('../fixtures/uci-occupancy/datatraining.txt', import.meta.url));
const ROOM = roomPathOf(DEFAULT_ROOM_TEMPLATE, 0);

async function uciRecording(fanOut = 1): Promise<string> {
  const file = join(tempDir(), 'uci.tfr');
  const w = RecordingWriter.create(file, { created: 0 });
  for (const e of importCsv(readFileSync(CSV, 'utf8'), UCI_MAPPING, { fanOut })) w.append(e);
  await w.close();
  return file;
}

/** Hourly temperatures straight from the CSV text (UTC hours; the file has no zone). */
function csvHours(): Map<number, number[]> {
  const hours = new Map<number, number[]>();
  for (const line of readFileSync(CSV, 'utf8').trim().split('\n').slice(1)) {
    const [date, temperature] = line.split(',');
    const t = Date.parse(`${date!.replaceAll('"', '').replace(' ', 'T')}Z`);
    const hour = t - (t % HOUR);
    hours.set(hour, [...(hours.get(hour) ?? []), Number(temperature)]);
  }
  return hours;
}

describe('the UCI occupancy recording', () => {
  it('replayed at --max gives the hourly temperature averages computed from the CSV, far faster than real time', async () => {
    const file = await uciRecording();
    let windows: WindowResult[] = [];
    const result = await runReplay(file, {
      models: buildingModels(),
      speed: 0,
      tailMs: HOUR,
      inspect: async (rt) => {
        windows = Object.values(
          (await rt.get(`${ROOM}/sensors/climate`, 'hourlyTemperature')) as Record<string, WindowResult>,
        );
      },
    });
    expect(result.events).toBe(8143 * 2);
    expect(result.rejected).toBe(0);
    const expected = csvHours();
    expect(windows).toHaveLength(48); // the lane keeps the last 48 hours
    expect(windows.map((w) => w.start)).toEqual([...expected.keys()].slice(-48));
    for (const w of windows) {
      const temps = expected.get(w.start)!;
      expect(w.closed).toBe(true);
      expect(w.count).toBe(temps.length);
      expect(w.avg!).toBeCloseTo(temps.reduce((a, b) => a + b, 0) / temps.length, 9);
    }
    // 5.6 days of readings: well over 1000x real time even on a slow CI machine.
    expect(result.speedUp).toBeGreaterThan(1000);
  });

  it('what-if: a narrower HVAC band, replayed in isolation while a live node keeps running, gives explained hvac.adjust changes', async () => {
    const file = await uciRecording();
    const live = await startNode({
      models: buildingModels(),
      port: 0,
      logger: pino({ level: 'silent' }),
      dataDir: join(tempDir(), 'live'),
    });
    try {
      const LIVE_ROOM = '/org/contoso/site/berlin/building/41/floor/3/unit/j/room/4';
      let n = 0;
      const feeding = (async () => {
        for (; n < 200; n++)
          await live.runtime.ingest({
            subject: `${LIVE_ROOM}/sensors/climate`,
            source: 'live',
            id: `l${n}`,
            data: { temperature: 20 + (n % 8) / 4, humidity: 40 },
          });
      })();
      const narrow = { ...defaultParams, hvacBand: 1.5 };
      const [baseline, whatIf] = await Promise.all([
        runReplay(file, { models: buildingModels(), collectDerived: true }),
        runReplay(file, { models: buildingModels(narrow), collectDerived: true }),
      ]);
      await feeding;
      const diff = compareDerived(baseline.derived!, whatIf.derived!, explainHvac(defaultParams, narrow));
      const adjust = diff.byType['hvac.adjust']!;
      expect(adjust.whatIf).toBeGreaterThan(adjust.baseline);
      const changed = diff.changes.filter((c) => c.event.type === 'hvac.adjust');
      expect(changed.length).toBeGreaterThan(0);
      for (const c of changed) {
        const { average, setpoint } = c.event.data as { average: number; setpoint: number };
        const dev = Math.abs(average - setpoint);
        expect(c.explanation).toBeDefined();
        // An event of one run only is out of that run's band; when inside the other's, the explanation says so.
        expect(dev).toBeGreaterThan(c.side === 'whatIf' ? 1.5 : 2);
        if (c.side === 'whatIf' && dev <= 2)
          expect(c.explanation).toContain('outside what-if band ±1.5, inside baseline band ±2');
      }
      expect(changed.some((c) => c.explanation!.includes('inside baseline band ±2'))).toBe(true);
      // The live node was not touched by either replay.
      expect(n).toBe(200);
      expect(await live.runtime.get(`${LIVE_ROOM}/sensors/climate`, 'latest')).toEqual({
        temperature: 20 + (199 % 8) / 4,
        humidity: 40,
      });
      expect(await live.runtime.listTwins('/org/uci/**')).toEqual([]);
    } finally {
      await live.close();
    }
  });
});

/** The demo's feed: every sensor once per round, and the episodes that make each reaction show. */
import { describe, expect, it } from 'vitest';
import { DEMO_EPISODES, demoFeed, demoSecuredUnits } from '../../models/index.js';
import type { TwinEvent } from '../../src/index.js';

const SENSORS = 2 * 4 * 4 * 3 * 4; // buildings × floors × units × rooms × kinds

function rounds(n: number): TwinEvent[][] {
  const out: TwinEvent[][] = [];
  const feed = demoFeed({ seed: 3 });
  for (let i = 0; i < n; i++) out.push(feed.next().value as TwinEvent[]);
  return out;
}

const alarms = (round: TwinEvent[], kind: string) =>
  round
    .filter((e) => e.subject.endsWith(`/sensors/${kind}`) && (e.data as { alarm: boolean }).alarm)
    .map((e) => e.subject);

describe('demoFeed', () => {
  it('reports every sensor once per round, with unique ids', () => {
    const [first = [], second = []] = rounds(2);
    expect(first).toHaveLength(SENSORS);
    expect(new Set(first.map((e) => e.subject)).size).toBe(SENSORS);
    expect(new Set([...first, ...second].map((e) => e.id)).size).toBe(2 * SENSORS);
  });

  it('runs its episodes in turn from round 2: fire, occupancy in a secured unit, heat, gas, a silent sensor', () => {
    expect(DEMO_EPISODES).toEqual(['fire', 'occupancy', 'heat', 'gas', 'silent']);
    const all = rounds(40);
    expect(alarms(all[1]!, 'fire')).toEqual([]);
    expect(alarms(all[2]!, 'fire')).toHaveLength(1);
    // The secured units stay empty until people turn up in one of them (round 10).
    const secured = demoSecuredUnits();
    const occupiedSecured = (i: number) =>
      new Set(
        all[i]!.filter(
          (e) =>
            e.subject.endsWith('/sensors/occupancy') &&
            (e.data as { occupied: boolean }).occupied &&
            secured.some((u) => e.subject.startsWith(u + '/')),
        ).map((e) => e.subject.slice(0, e.subject.indexOf('/room/'))),
      );
    expect(occupiedSecured(9).size).toBe(0);
    expect(occupiedSecured(10).size).toBe(1);
    // Heat: one floor's rooms 6 °C above their usual (round 18 on).
    const hottest = Math.max(
      ...all[18]!
        .filter((e) => e.subject.endsWith('/climate'))
        .map((e) => (e.data as { temperature: number }).temperature),
    );
    expect(hottest).toBeGreaterThan(25);
    expect(alarms(all[26]!, 'gasbio')).toHaveLength(1);
    expect(all[34]).toHaveLength(SENSORS - 1);
  });
});

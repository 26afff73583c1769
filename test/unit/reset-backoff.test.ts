import { describe, expect, it } from 'vitest';
import { RESET_MAX_WAIT_MS, RESET_QUIET_MS, ResetBackoff } from '../../src/cluster/reset-backoff.js';

describe('ResetBackoff (how long a vshard waits before restarting from its log again)', () => {
  it('waits nothing for the first restart, then doubles from 200 ms up to 2 s while restarts keep coming', () => {
    let now = 0;
    const b = new ResetBackoff(() => now);
    const waits: number[] = [];
    for (let i = 0; i < 12; i++) {
      waits.push(b.next(3));
      now += 1_000;
    }
    expect(waits).toEqual([0, 200, 400, 800, 1600, RESET_MAX_WAIT_MS, 2000, 2000, 2000, 2000, 2000, 2000]);
  });

  it('starts over after a quiet minute, per vshard, and when the vshard left the node', () => {
    let now = 0;
    const b = new ResetBackoff(() => now);
    expect([b.next(1), b.next(1), b.next(1)]).toEqual([0, 200, 400]);
    expect(b.next(2)).toBe(0); // another vshard counts its own
    now += RESET_QUIET_MS;
    expect(b.next(1)).toBe(0);
    expect(b.next(1)).toBe(200);
    b.forget(1);
    expect(b.next(1)).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { ThrottledWarning } from '../../src/logger.js';

describe('ThrottledWarning', () => {
  it('logs the first occurrence at once, then at most once per interval with the count it stands for', () => {
    const lines: { fields: Record<string, unknown>; message: string }[] = [];
    const log = { warn: (fields: object, message: string) => lines.push({ fields: { ...fields }, message }) };
    const w = new ThrottledWarning(log, 'input was not applied', 1000, 'failed');
    w.note({ vshard: 3 }, 0);
    for (let t = 1; t < 1000; t += 10) w.note({ vshard: 3 }, t); // 100 more within the interval
    w.note({ vshard: 4 }, 1000);
    w.note({ vshard: 4 }, 1500);
    expect(lines).toEqual([
      { fields: { vshard: 3, failed: 1 }, message: 'input was not applied' },
      { fields: { vshard: 4, failed: 101 }, message: 'input was not applied' },
    ]);
    w.note({ vshard: 5 }, 2000); // the one at 1500 is counted into this line
    expect(lines[2]).toEqual({ fields: { vshard: 5, failed: 2 }, message: 'input was not applied' });
  });
});

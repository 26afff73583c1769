import { describe, expect, it } from 'vitest';
import { Rejections } from '../../src/node/rejections.js';

/** A logger that keeps what it was given (the Logger shape Rejections uses). */
function memoryLogger() {
  const lines: { level: string; fields: Record<string, unknown>; msg: string }[] = [];
  const at = (level: string) => (fields: Record<string, unknown>, msg: string) => lines.push({ level, fields, msg });
  return { lines, logger: { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') } as never };
}

describe('Rejections', () => {
  it('counts every refusal, logs at most N lines per kind per window, then says how many it left out', () => {
    let now = 0;
    const { lines, logger } = memoryLogger();
    const r = new Rejections(logger, { linesPerWindow: 3, windowMs: 1000, now: () => now });
    for (let i = 0; i < 100; i++) r.note('mqtt.topic_invalid', { i }, 'refused');
    r.note('http.TWIN_PATH_INVALID', {}, 'refused'); // another kind has its own budget
    expect(r.count('mqtt.topic_invalid')).toBe(100);
    expect(lines.filter((l) => l.fields.kind === 'mqtt.topic_invalid')).toHaveLength(3);
    expect(lines.filter((l) => l.fields.kind === 'http.TWIN_PATH_INVALID')).toHaveLength(1);

    now = 1000; // the next window: first the summary of the last one, then lines again
    r.note('mqtt.topic_invalid', {}, 'refused');
    const last = lines.slice(-2);
    expect(last[0]!.fields).toMatchObject({ kind: 'mqtt.topic_invalid', suppressed: 97 });
    expect(last[1]!.msg).toBe('refused');
    expect(Object.fromEntries(r.counts())).toEqual({ 'mqtt.topic_invalid': 101, 'http.TWIN_PATH_INVALID': 1 });
  });
});

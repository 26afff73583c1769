import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EventColumnDecoder,
  EventColumnEncoder,
  type ColumnEvent,
  type EventColumns,
} from '../../src/hosting/event-columns.js';

const event = fc.record({
  id: fc.string({ maxLength: 8 }),
  source: fc.constantFrom('dev/a', 'dev/b', 'mqtt:x'),
  type: fc.constantFrom('reading', 'alarm'),
  subject: fc.constantFrom(...Array.from({ length: 12 }, (_, i) => `/org/o/site/s/building/b${i}`)),
  time: fc.integer({ min: 0, max: 2 ** 45 }),
  data: fc.oneof(fc.constant(null), fc.record({ t: fc.double({ noNaN: true }) })),
});

/** A post as a worker receives it: structured-cloned through a real MessagePort. */
function cloned(cols: EventColumns): EventColumns {
  const { port1, port2 } = new MessageChannel();
  port1.postMessage(cols);
  const received = receiveMessageOnPort(port2)!.message as EventColumns;
  port1.close();
  return received;
}

describe('event columns between the main thread and a shard worker', () => {
  it('give the worker the events posted, across posts, lost posts and tables that start over', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ events: fc.array(event, { minLength: 1, maxLength: 20 }), lost: fc.boolean() }), {
          maxLength: 30,
        }),
        fc.integer({ min: 3, max: 80 }),
        (posts, limit) => {
          const encoder = new EventColumnEncoder(limit);
          const decoder = new EventColumnDecoder();
          let request = 0;
          for (const post of posts) {
            const sent: ColumnEvent[] = post.events.map((e) => ({ id: request++, event: e }));
            const cols = encoder.encode(sent);
            if (post.lost) {
              encoder.lost(); // never reached the worker: the next post starts the table over
              continue;
            }
            const back = cloned(cols);
            expect(decoder.decode(back)).toEqual(sent.map((s) => s.event));
            expect(back.requests).toEqual(sent.map((s) => s.id));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('send each string once until the table is full, then start over', () => {
    const encoder = new EventColumnEncoder(10);
    const e = (subject: string): ColumnEvent => ({
      id: 0,
      event: { id: 'x', source: 's', type: 'reading', subject, time: 0, data: null },
    });
    const first = encoder.encode([e('/a'), e('/b')]);
    expect(first).toMatchObject({ reset: false, strings: ['/a', 's', 'reading', '/b'], subjects: [0, 3] });
    expect(encoder.encode([e('/a'), e('/b')])).toMatchObject({ reset: false, strings: [], subjects: [0, 3] });
    // 4 strings held + up to 3 per event of 3 events would pass 10: the worker is told to start over.
    expect(encoder.encode([e('/c'), e('/a'), e('/c')])).toMatchObject({
      reset: true,
      strings: ['/c', 's', 'reading', '/a'],
      subjects: [0, 3, 0],
    });
  });
});

import { describe, expect, it } from 'vitest';
import { Inbox, type InboxConsumer } from '../../src/actors/inbox.js';
import { Ticket, type Work } from '../../src/actors/work.js';
import type { TwinEvent } from '../../src/model/twin-model.js';
import { seeded } from '../support/fleet.js';

/** What the inbox hands out, as the consumer sees it, for comparison with the model. */
type Taken = { work: Work } | { event: TwinEvent; ticket: Ticket | null; index: number };

function event(n: number): TwinEvent {
  return { id: String(n), source: 's', type: 'reading', subject: `/t/${n % 5}`, time: n, data: n };
}

function stop(n: number): Work {
  return { kind: 'stop', path: `/t/${n}`, ticket: null };
}

describe('Inbox', () => {
  it('hands out work and events in arrival order, work put in front first, like an array queue', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const rnd = seeded(seed);
      const inbox = new Inbox();
      const model: Taken[] = [];
      const taken: Taken[] = [];
      const consumer: InboxConsumer = {
        process: (work) => taken.push({ work }),
        processEvent: (e, ticket, index) => taken.push({ event: e, ticket, index }),
      };
      const ticket = new Ticket(1_000_000);
      let n = 0;
      for (let op = 0; op < 4_000; op++) {
        const r = rnd();
        if (r < 0.35) {
          const e = event(n++);
          const t = rnd() < 0.2 ? null : ticket;
          inbox.pushEvent(e, t, n);
          model.push({ event: e, ticket: t, index: n });
        } else if (r < 0.5) {
          const w = stop(n++);
          inbox.push(w);
          model.push({ work: w });
        } else if (r < 0.55) {
          // Work that waited for its twin's state goes first, in its own order.
          const front = Array.from({ length: 1 + Math.floor(rnd() * 6) }, () => stop(n++));
          inbox.pushFront(front);
          model.unshift(...front.map((work) => ({ work })));
        } else {
          // Take a few (sometimes everything), as a step with a budget does.
          let k = rnd() < 0.1 ? Infinity : Math.floor(rnd() * 4);
          while (inbox.size > 0 && k-- > 0) {
            inbox.runNext(consumer);
            expect(taken.at(-1)).toEqual(model.shift());
          }
        }
        expect(inbox.size).toBe(model.length);
      }
      while (inbox.size > 0) {
        inbox.runNext(consumer);
        expect(taken.at(-1)).toEqual(model.shift());
      }
      expect(model).toEqual([]);
    }
  });

  it('takes work queued while an item runs after what was already waiting', () => {
    const inbox = new Inbox();
    const order: string[] = [];
    const consumer: InboxConsumer = {
      process: (work) => order.push(work.path),
      processEvent: (e) => {
        order.push(e.subject);
        if (e.subject === '/t/0') inbox.push(stop(9)); // a command a turn sends to a twin of this shard
      },
    };
    inbox.pushEvent(event(0), null, 0);
    inbox.runNext(consumer); // the inbox was emptied before the item ran
    inbox.pushEvent(event(1), null, 1);
    while (inbox.size > 0) inbox.runNext(consumer);
    expect(order).toEqual(['/t/0', '/t/9', '/t/1']);
  });
});

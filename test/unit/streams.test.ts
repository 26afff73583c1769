import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../src/index.js';
import type { LaneEvent } from '../../src/protocol/lane-events.js';
import { BoundedQueue } from '../../src/streams/bounded-queue.js';
import { LinkOutbox } from '../../src/streams/link-outbox.js';
import { StateOutbox, StreamOutbox, outboxFor } from '../../src/streams/outbox.js';
import { RateGate } from '../../src/streams/rate-gate.js';

const v = (value: unknown): LaneEvent => ({ type: 'value', value });
const up = (key: string, value: unknown): LaneEvent => ({ type: 'update', key, value });
const rm = (key: string): LaneEvent => ({ type: 'remove', key });
const CLEAR: LaneEvent = { type: 'clear' };

function drain(box: { shift(): LaneEvent | undefined }): LaneEvent[] {
  const out: LaneEvent[] = [];
  for (let e = box.shift(); e; e = box.shift()) out.push(e);
  return out;
}

describe('outboxes', () => {
  it('state: keeps the latest value, the latest event per key in first-seen order, and a clear first', () => {
    const s = new StateOutbox();
    s.push(v(1));
    s.push(v(2));
    expect([s.size, s.lost]).toEqual([1, 1]);
    expect(drain(s)).toEqual([v(2)]);

    s.push(up('a', 1));
    s.push(up('b', 1));
    s.push(up('a', 2));
    expect(drain(s)).toEqual([up('a', 2), up('b', 1)]);

    s.push(up('a', 3));
    s.push(CLEAR);
    s.push(up('c', 1));
    expect(drain(s)).toEqual([CLEAR, up('c', 1)]);
    expect(s.lost).toBe(3);
  });

  it("state: a remove takes its key's slot; clear drops what came before it (each counted)", () => {
    // (was the Conflator test of lanes.test.ts)
    const c = new StateOutbox();
    c.push(v(1));
    c.push(v(2));
    expect(drain(c)).toEqual([v(2)]);
    c.push(up('a', 1));
    c.push(up('b', 1));
    c.push(up('a', 2));
    c.push(rm('b'));
    expect(drain(c)).toEqual([up('a', 2), rm('b')]);
    c.push(up('a', 3));
    c.push(CLEAR);
    c.push(up('c', 1));
    expect(drain(c)).toEqual([CLEAR, up('c', 1)]);
    expect(c.lost).toBe(4);
  });

  it('stream: delivers every event in order, drops the oldest past the limit, and is overflowing until drained', () => {
    const q = new StreamOutbox(3);
    for (let i = 1; i <= 5; i++) q.push(v(i));
    expect([q.size, q.lost, q.overflowing]).toEqual([3, 2, true]);
    expect(q.shift()).toEqual(v(3));
    expect(q.overflowing).toBe(true);
    q.push(v(6));
    expect(drain(q)).toEqual([v(4), v(5), v(6)]);
    expect(q.overflowing).toBe(false);

    // (was the Conflator stream test of lanes.test.ts)
    const c = new StreamOutbox(3);
    for (let i = 0; i < 10; i++) c.push(v(i));
    expect(drain(c)).toEqual([v(7), v(8), v(9)]);
    expect(c.lost).toBe(7);
  });

  it('picks the discipline by lane kind: command and supply queue, everything else (and unknown) conflates', () => {
    expect(outboxFor('command', 4).stream).toBe(true);
    expect(outboxFor('supply', 4).stream).toBe(true);
    for (const kind of ['value', 'map', 'join', 'demand', 'window', undefined])
      expect(outboxFor(kind, 4).stream).toBe(false);
  });
});

describe('BoundedQueue', () => {
  it("grows to its limit keeping order across the ring's wrap, then drops the oldest", () => {
    const q = new BoundedQueue<number>(20);
    for (let i = 0; i < 5; i++) q.push(i);
    expect([q.shift(), q.shift()]).toEqual([0, 1]); // head moves: the next growth copies a wrapped ring
    for (let i = 5; i < 25; i++) q.push(i);
    expect([q.size, q.lost]).toEqual([20, 3]);
    const out: number[] = [];
    for (let x = q.shift(); x !== undefined; x = q.shift()) out.push(x);
    expect(out).toEqual(Array.from({ length: 20 }, (_, i) => i + 5));
  });

  it('refuses a limit below one', () => {
    expect(() => new BoundedQueue(0)).toThrow(expect.objectContaining({ code: 'TWIN_CONFIG_INVALID' }));
  });
});

describe('LinkOutbox', () => {
  it('single: one outbox for one twin, named on the way out; discard keeps the counters', () => {
    const box = LinkOutbox.single('/a', 'value', 4);
    box.push(v(1), '/a');
    box.push(v(2), '/a');
    expect([box.size, box.empty, box.conflated, box.dropped]).toEqual([1, false, 1, 0]);
    expect(box.shiftEntry()).toEqual({ path: '/a', event: v(2) });
    expect(box.empty).toBe(true);
    box.push(v(3), '/a');
    box.discard();
    expect([box.size, box.conflated]).toEqual([0, 1]);
  });

  it('single: switching to a stream moves what is pending and keeps counting', () => {
    const box = LinkOutbox.single('/a', undefined, 4);
    box.push(v(1), '/a');
    box.push(v(2), '/a'); // conflated: still state
    box.useStream(2);
    for (const x of [3, 4]) box.push(v(x), '/a');
    expect([box.conflated, box.dropped, box.overflowing]).toEqual([1, 1, true]);
    expect(drain(box)).toEqual([v(3), v(4)]);
    expect(box.overflowing).toBe(false);
  });

  it('per twin: drains twins in order of their first pending event, each by its own discipline', () => {
    const box = LinkOutbox.perTwin((path) => (path === '/cmd' ? 'command' : 'value'), 2);
    for (const [path, x] of [
      ['/b', 1],
      ['/cmd', 'x'],
      ['/a', 1],
      ['/b', 2],
      ['/cmd', 'y'],
      ['/cmd', 'z'],
    ] as const)
      box.push(v(x), path);
    expect([box.size, box.conflated, box.dropped, box.overflowing]).toEqual([4, 1, 1, true]);
    const got: string[] = [];
    box.drain({
      accept: (event, path) => {
        got.push(`${path}=${String((event as { value: unknown }).value)}`);
        return true;
      },
    });
    expect(got).toEqual(['/b=2', '/cmd=y', '/cmd=z', '/a=1']);
    // Drained twins are dropped, their counters kept.
    expect([box.empty, box.size, box.conflated, box.dropped, box.overflowing]).toEqual([true, 0, 1, 1, false]);
  });

  it('per twin: a drain that runs out of room stops and the next one resumes where it stopped', () => {
    const box = LinkOutbox.perTwin(() => 'map', 8);
    for (const k of ['x', 'y', 'z']) box.push(up(k, 1), '/a');
    box.push(up('x', 1), '/b');
    const got: string[] = [];
    const take = (room: number): boolean =>
      box.drain({
        accept: (event, path) => {
          got.push(`${path}:${(event as { key: string }).key}`);
          return --room > 0;
        },
      });
    expect(take(2)).toBe(false);
    expect(got).toEqual(['/a:x', '/a:y']);
    box.push(up('w', 1), '/a'); // the twin still pending keeps its place in line
    expect(take(1)).toBe(false);
    expect(take(10)).toBe(true);
    expect(got).toEqual(['/a:x', '/a:y', '/a:z', '/a:w', '/b:x']);
    expect(box.shiftEntry()).toBeUndefined();
  });
});

describe('RateGate', () => {
  it('lets the sync through, then releases at most one batch per interval of the clock', () => {
    const clock = new SimulatedClock(0);
    let released = 0;
    const gate = new RateGate(100, clock, () => void released++);
    expect([gate.open, gate.admit()]).toEqual([true, true]); // syncing: nothing is held
    gate.live(false);
    gate.sent(); // the state left at t=0
    expect([gate.admit(), gate.open]).toEqual([false, false]);
    expect(gate.admit()).toBe(false); // one timer, however many events wait
    clock.advance(100);
    expect([released, gate.open]).toEqual([1, true]);
    gate.sent();
    clock.advance(150);
    expect(gate.admit()).toBe(true); // after a quiet interval an event goes at once
    gate.sent();
    expect(gate.admit()).toBe(false);
    gate.close();
    clock.advance(1000);
    expect([released, clock.pending]).toEqual([1, 0]);
  });
});

// ---- properties: the outboxes against naive models ---------------------------------

type Op = { push: LaneEvent } | { take: number };
const KEYS = ['a', 'b', 'c', 'd'];

const valueEvent = fc.integer().map(v);
const keyedEvent = fc.oneof(
  { arbitrary: fc.tuple(fc.constantFrom(...KEYS), fc.integer()).map(([k, x]) => up(k, x)), weight: 6 },
  { arbitrary: fc.constantFrom(...KEYS).map(rm), weight: 3 },
  { arbitrary: fc.constant(CLEAR), weight: 1 },
);
const ops = (event: fc.Arbitrary<LaneEvent>): fc.Arbitrary<Op[]> =>
  fc.array(
    fc.oneof(
      { arbitrary: event.map((e) => ({ push: e })), weight: 5 },
      { arbitrary: fc.nat(4).map((n) => ({ take: n })), weight: 1 },
    ),
    { maxLength: 200 },
  );

/** What a consumer holds after applying lane events: the latest value, and the entries. */
class LaneState {
  value: unknown = undefined;
  readonly entries = new Map<string, unknown>();
  apply(e: LaneEvent): void {
    if (e.type === 'value') this.value = e.value;
    else if (e.type === 'update') this.entries.set(e.key, e.value);
    else if (e.type === 'remove') this.entries.delete(e.key);
    else this.entries.clear();
  }
  snapshot(): unknown {
    return { value: this.value, entries: [...this.entries].sort(([a], [b]) => (a < b ? -1 : 1)) };
  }
}

describe('outbox properties', () => {
  it('state: after draining, the consumer holds exactly the latest state; memory never exceeds keys + clear', () => {
    fc.assert(
      fc.property(
        fc.boolean().chain((keyed) => ops(keyed ? keyedEvent : valueEvent)),
        (script) => {
          const box = new StateOutbox();
          const truth = new LaneState();
          const seen = new LaneState();
          let pushed = 0;
          let delivered = 0;
          for (const op of script) {
            if ('push' in op) {
              box.push(op.push);
              truth.apply(op.push);
              pushed++;
            } else {
              for (let i = 0; i < op.take; i++) {
                const e = box.shift();
                if (!e) break;
                seen.apply(e);
                delivered++;
              }
            }
            expect(box.size).toBeLessThanOrEqual(KEYS.length + 1);
            expect(pushed).toBe(delivered + box.lost + box.size); // every event is delivered, replaced or pending
          }
          for (const e of drain(box)) seen.apply(e);
          expect(seen.snapshot()).toEqual(truth.snapshot());
        },
      ),
    );
  });

  it('stream: delivers what a naive drop-oldest queue would, in order, never holding more than the limit', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), ops(valueEvent), (limit, script) => {
        const box = new StreamOutbox(limit);
        const naive: LaneEvent[] = [];
        let dropped = 0;
        let overflowing = false; // from a drop until the queue is next emptied
        for (const op of script) {
          if ('push' in op) {
            box.push(op.push);
            naive.push(op.push);
            if (naive.length > limit) {
              naive.shift();
              dropped++;
              overflowing = true;
            }
          } else {
            for (let i = 0; i < op.take && naive.length > 0; i++) {
              expect(box.shift()).toEqual(naive.shift());
              if (naive.length === 0) overflowing = false;
            }
          }
          expect(box.size).toBe(naive.length);
          expect(box.size).toBeLessThanOrEqual(limit);
          expect([box.lost, box.overflowing]).toEqual([dropped, overflowing]);
        }
        expect(drain(box)).toEqual(naive);
      }),
    );
  });

  it('link outbox per twin: each twin converges on its latest state, streams lose only their oldest, memory is bounded per twin', () => {
    const PATHS = ['/value', '/map', '/cmd'];
    const kindOf = (path: string) => (path === '/value' ? 'value' : path === '/map' ? 'map' : 'command');
    const LIMIT = 5;
    const event = fc.oneof(
      valueEvent.map((e) => ({ path: '/value', e })),
      keyedEvent.map((e) => ({ path: '/map', e })),
      valueEvent.map((e) => ({ path: '/cmd', e })),
    );
    const script = fc.array(
      fc.oneof(
        { arbitrary: event.map((p) => ({ push: p })), weight: 5 },
        { arbitrary: fc.nat(6).map((n) => ({ room: n })), weight: 1 },
      ),
      { maxLength: 300 },
    );
    fc.assert(
      fc.property(script, (steps) => {
        const box = LinkOutbox.perTwin(kindOf, LIMIT);
        const truth = new Map(PATHS.map((p) => [p, new LaneState()]));
        const seen = new Map(PATHS.map((p) => [p, new LaneState()]));
        const naive: unknown[] = []; // the command twin's queue, as a drop-oldest FIFO would hold it
        let pushed = 0;
        let delivered = 0;
        const take = (room: number): void => {
          if (room === 0) return;
          box.drain({
            accept: (e, path) => {
              seen.get(path)!.apply(e);
              if (path === '/cmd') expect((e as { value: unknown }).value).toEqual(naive.shift());
              delivered++;
              return --room > 0;
            },
          });
        };
        for (const step of steps) {
          if ('push' in step) {
            box.push(step.push.e, step.push.path);
            truth.get(step.push.path)!.apply(step.push.e);
            pushed++;
            if (step.push.path === '/cmd') {
              naive.push((step.push.e as { value: unknown }).value);
              if (naive.length > LIMIT) naive.shift();
            }
          } else {
            take(step.room);
          }
          expect(box.size).toBeLessThanOrEqual(1 + (KEYS.length + 1) + LIMIT);
          expect(pushed).toBe(delivered + box.conflated + box.dropped + box.size);
        }
        take(Infinity);
        expect(box.empty).toBe(true);
        for (const p of PATHS) expect(seen.get(p)!.snapshot()).toEqual(truth.get(p)!.snapshot());
        expect(naive).toEqual([]);
      }),
    );
  });
});

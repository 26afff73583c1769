import type { TwinEvent } from '../model/twin-model.js';

/**
 * The events of one post to a shard worker, as columns instead of one message object per
 * event. Structured cloning costs per object and per string: an event as
 * `{ t, id, event: { id, source, type, subject, time, data } }` took ~2.8 µs to receive on
 * the worker (and ~1.6 µs to post), as columns with the repeated strings as indices ~0.9 µs
 * (and ~0.4 µs): on the default 2 workers that was the largest cost the worker had beside
 * the turns themselves.
 *
 * Subjects, sources and types repeat from post to post (a device reports again and again),
 * so each side keeps a table of them: the main thread sends a string once, with the post
 * that first uses it, and an index after that. The worker's events then share one string
 * per subject, which its shard finds by identity in its maps. The table is bounded: past
 * {@link EventColumnEncoder.limit} strings the encoder starts over and tells the worker to.
 */
export interface EventColumns {
  /** The worker drops its table before adding {@link strings}. */
  readonly reset: boolean;
  /** Strings the table gains, in order, before the events are read. */
  readonly strings: readonly string[];
  /** Per event: the main thread's request id, answered with the event's outcome. */
  readonly requests: readonly number[];
  /** Per event: its `id`, then subject, source and type as table indices, then time and data. */
  readonly ids: readonly string[];
  readonly subjects: readonly number[];
  readonly sources: readonly number[];
  readonly types: readonly number[];
  readonly times: readonly number[];
  readonly data: readonly unknown[];
}

/** One event of a post: the request id it answers and the event. */
export interface ColumnEvent {
  readonly id: number;
  readonly event: TwinEvent;
}

/**
 * The main thread's side: the strings the worker holds (as of the last post that reached it).
 *
 * @example
 * ```ts
 * const enc = new EventColumnEncoder();
 * const cols = enc.encode(events);
 * try { worker.postMessage({ events: cols, messages }); } catch { enc.lost(); }
 * ```
 */
export class EventColumnEncoder {
  private index = new Map<string, number>();
  /** The worker's table is unknown (a post was lost): the next post starts it over. */
  private unsure = false;

  /** @param limit most strings the tables hold before they start over. */
  constructor(readonly limit = 200_000) {}

  encode(events: readonly ColumnEvent[]): EventColumns {
    const reset = this.unsure || this.index.size + 3 * events.length > this.limit;
    if (reset) this.index = new Map();
    this.unsure = false;
    const strings: string[] = [];
    const n = events.length;
    // Filled by push, not preallocated: V8 clones an array made with `new Array(n)` (holey,
    // even once full) as a sparse one, index by index.
    const requests: number[] = [];
    const ids: string[] = [];
    const subjects: number[] = [];
    const sources: number[] = [];
    const types: number[] = [];
    const times: number[] = [];
    const data: unknown[] = [];
    const at = (s: string): number => {
      let i = this.index.get(s);
      if (i === undefined) {
        i = this.index.size;
        this.index.set(s, i);
        strings.push(s);
      }
      return i;
    };
    // A post's events mostly share a source and a type: looked up when they change only.
    let source = '';
    let sourceAt = -1;
    let type = '';
    let typeAt = -1;
    for (let k = 0; k < n; k++) {
      const { id, event } = events[k]!;
      requests.push(id);
      ids.push(event.id);
      subjects.push(at(event.subject));
      if (event.source !== source || sourceAt < 0) sourceAt = at((source = event.source));
      sources.push(sourceAt);
      if (event.type !== type || typeAt < 0) typeAt = at((type = event.type));
      types.push(typeAt);
      times.push(event.time);
      data.push(event.data);
    }
    return { reset, strings, requests, ids, subjects, sources, types, times, data };
  }

  /** The last encoded post did not reach the worker: its strings are not in the worker's table. */
  lost(): void {
    this.unsure = true;
  }
}

/** The worker's side: the table the main thread's posts built. */
export class EventColumnDecoder {
  private table: string[] = [];

  /** The events of a post, as the main thread's runtime normalised them. */
  decode(cols: EventColumns): TwinEvent[] {
    if (cols.reset) this.table = [];
    const table = this.table;
    for (const s of cols.strings) table.push(s);
    const n = cols.ids.length;
    const events = new Array<TwinEvent>(n);
    for (let k = 0; k < n; k++) {
      // The property order of EventNormaliser.event: one hidden class for every event.
      events[k] = {
        id: cols.ids[k]!,
        source: table[cols.sources[k]!]!,
        type: table[cols.types[k]!]!,
        subject: table[cols.subjects[k]!]!,
        time: cols.times[k]!,
        data: cols.data[k],
      };
    }
    return events;
  }
}
